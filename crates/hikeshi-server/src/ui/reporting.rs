//! Management reporting as pages: the CISO dashboard (with entries and overrides), incident
//! statistics, the countermeasure map, the maturity self-check and the monthly report.

use super::{
    category_choices, category_label, choices, page_or_error, redirect_or_error, Choice, I18n, Nav,
    SignedIn,
};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hikeshi_app::i18n::Lang;
use hikeshi_app::reporting::charts;
use hikeshi_app::reporting::coverage::{self, Coverage};
use hikeshi_app::reporting::kpi::{self};
use hikeshi_app::reporting::maturity::{self, AssessmentInput, RatingInput};
use hikeshi_app::reporting::monthly::{self, KpiLine};
use hikeshi_app::reporting::programme::{
    self as programme, ControlInput, EntryInput, MonthlyQuery, OverrideInput, StatsQuery,
};
use hikeshi_app::reporting::stats::Statistics;
use hikeshi_model::reporting::{
    CsfFunction, DefenceLayer, Effectiveness, EntryKind, Kpi, Sourcing, MATURITY_AREAS,
    MATURITY_LEVELS, MATURITY_SERVICES,
};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard_page))
        .route("/dashboard/entries", axum::routing::post(add_entry))
        .route(
            "/dashboard/entries/{id}/done",
            axum::routing::post(close_entry),
        )
        .route("/dashboard/overrides", axum::routing::post(add_override))
        .route("/dashboard/issue", axum::routing::post(issue_report))
        .route("/stats", get(stats_page))
        .route("/coverage", get(coverage_page).post(add_control))
        .route("/maturity", get(maturity_page).post(add_assessment))
        .route("/monthly", get(monthly_page))
}

fn lang_of(i: &I18n) -> Lang {
    i.lang
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    i: I18n,
    nav: Option<Nav>,
    month: String,
    previous_month: String,
    cards: Vec<KpiLine>,
    alerts_by_level: Vec<(String, i64)>,
    departments: Vec<(String, i64)>,
    top_rules: Vec<(String, String, i64)>,
    entries: Vec<hikeshi_store::Entry>,
    overrides: Vec<hikeshi_store::KpiOverride>,
    entry_kinds: Vec<Choice>,
    kpis: Vec<Choice>,
    issued: Vec<hikeshi_store::IssuedReport>,
}

#[derive(Deserialize, Default)]
struct MonthParam {
    #[serde(default)]
    month: String,
}

async fn dashboard_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<MonthParam>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let month = programme::month_or_current(&state, Some(&q.month))?;
        let d = kpi::dashboard(&state, month).await?;
        Ok::<_, ApiError>(DashboardPage {
            cards: monthly::kpi_lines(lang_of(&i), &d),
            month: d.month.clone(),
            previous_month: d.previous_month.clone(),
            alerts_by_level: d.alerts_by_level.clone(),
            departments: d.departments.clone(),
            top_rules: d
                .top_rules
                .iter()
                .map(|r| (r.rule_title.clone(), r.level.clone(), r.alerts))
                .collect(),
            entries: d.entries.clone(),
            overrides: d.overrides.clone(),
            entry_kinds: choices(&i, "kind", EntryKind::ALL, EntryKind::code),
            kpis: choices(&i, "kpi", Kpi::ALL, Kpi::code),
            issued: state
                .store
                .issued_reports()
                .await?
                .into_iter()
                .filter(|r| r.month == d.month)
                .collect(),
            nav: Some(s.nav.clone()),
            i: i.clone(),
        })
    }
    .await;
    page_or_error(&i, s.nav, result)
}

#[derive(Deserialize)]
struct EntryForm {
    csrf: String,
    kind: String,
    month: String,
    title: String,
    #[serde(default)]
    detail: String,
}

async fn add_entry(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<EntryForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = EntryInput {
            kind: EntryKind::parse(&f.kind)?,
            month: Some(f.month.clone()),
            title: f.title.clone(),
            detail: f.detail.clone(),
            open: None,
        };
        programme::add_entry(&state, &s.who, input).await
    }
    .await;
    redirect_or_error(&i, s.nav, result, |e| {
        format!("/dashboard?month={}", e.month)
    })
}

#[derive(Deserialize)]
struct DoneForm {
    csrf: String,
    #[serde(default)]
    month: String,
}

/// Marks an HR or physical entry done (the account removed, the device found).
async fn close_entry(
    State(state): State<AppState>,
    s: SignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<DoneForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        Ok::<_, ApiError>(programme::set_entry_open(&state, &s.who, &id, false).await?)
    }
    .await;
    redirect_or_error(&i, s.nav, result, |_| {
        format!("/dashboard?month={}", urlencoding::encode(&f.month))
    })
}

#[derive(Deserialize)]
struct IssueForm {
    csrf: String,
    month: String,
    lang: String,
}

async fn issue_report(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<IssueForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = programme::IssueInput {
            month: f.month.clone(),
            lang: f.lang.clone(),
        };
        programme::issue_report(&state, &s.who, &input).await
    }
    .await;
    redirect_or_error(&i, s.nav, result, |r| {
        format!("/dashboard?month={}", r.month)
    })
}

#[derive(Deserialize)]
struct OverrideForm {
    csrf: String,
    month: String,
    kpi: String,
    level: String,
    #[serde(default)]
    remark: String,
    #[serde(default)]
    reason: String,
}

async fn add_override(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<OverrideForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = OverrideInput {
            month: f.month.clone(),
            kpi: Kpi::parse(&f.kpi)?,
            level: f
                .level
                .trim()
                .parse()
                .map_err(|_| ApiError::invalid("level", "level: 1, 2 or 3"))?,
            remark: f.remark.clone(),
            reason: f.reason.clone(),
        };
        programme::override_level(&state, &s.who, input).await
    }
    .await;
    redirect_or_error(&i, s.nav, result, |o| {
        format!("/dashboard?month={}", o.month)
    })
}

/// A breakdown row as shown: label, this period, the period before.
type CountLine = (String, i64, i64);

struct ResponseRow {
    measure: String,
    cases: usize,
    median: String,
    p90: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    i: I18n,
    nav: Option<Nav>,
    s: Statistics,
    period: String,
    at: String,
    charts: Vec<(String, String, Vec<CountLine>)>,
    monthly_chart: String,
    quarterly_chart: String,
    response: Vec<ResponseRow>,
    csv_link: String,
}

fn duration_text(i: &I18n, minutes: Option<i64>) -> String {
    match minutes {
        None => "-".into(),
        Some(m) if m < 120 => format!("{m} {}", i.t("unit.minutes")),
        Some(m) => format!("{:.1} {}", m as f64 / 60.0, i.t("unit.hours")),
    }
}

async fn stats_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<StatsQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let stats = programme::statistics(&state, &s.who, &q).await?;
        let categories = category_choices(&i, &state.store.categories().await?);
        let label = |dim: &str, code: &str| -> String {
            if dim == "category" {
                category_label(&categories, code)
            } else {
                i.label(dim, code)
            }
        };
        let legend = (stats.period.label.as_str(), stats.previous.label.as_str());
        let charts_svg = stats
            .breakdowns
            .iter()
            .map(|b| {
                let rows: Vec<(String, i64, i64)> = b
                    .rows
                    .iter()
                    .map(|r| (label(b.dimension, &r.code), r.current, r.previous))
                    .collect();
                let title = i.t(&format!("stats.by_{}", b.dimension));
                let chart = charts::paired_bars(
                    charts::ChartName {
                        id: &format!("chart-{}", b.dimension),
                        title: &title,
                    },
                    &rows,
                    legend,
                );
                (title, chart, rows)
            })
            .collect();
        let at =
            q.at.clone()
                .unwrap_or_else(|| stats.period.last_month().code());
        Ok::<_, ApiError>(StatsPage {
            monthly_chart: charts::columns(
                charts::ChartName {
                    id: "chart-monthly",
                    title: &i.t("stats.monthly"),
                },
                &stats.monthly,
            ),
            quarterly_chart: charts::columns(
                charts::ChartName {
                    id: "chart-quarterly",
                    title: &i.t("stats.quarterly"),
                },
                &stats.quarterly,
            ),
            response: stats
                .response
                .iter()
                .map(|r| ResponseRow {
                    measure: i.t(&format!("stats.response.{}", r.measure)),
                    cases: r.cases,
                    median: duration_text(&i, r.median_minutes),
                    p90: duration_text(&i, r.p90_minutes),
                })
                .collect(),
            csv_link: format!(
                "/api/v1/stats.csv?period={}&at={}",
                q.period.as_deref().unwrap_or("month"),
                at
            ),
            period: q.period.clone().unwrap_or_else(|| "month".into()),
            at,
            charts: charts_svg,
            s: stats,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        })
    }
    .await;
    page_or_error(&i, s.nav, result)
}

struct MapCell {
    coverage: &'static str,
    names: String,
}

struct MapRow {
    layer: String,
    cells: Vec<MapCell>,
    detect_note: String,
}

#[derive(Template)]
#[template(path = "coverage.html")]
struct CoveragePage {
    i: I18n,
    nav: Option<Nav>,
    functions: Vec<Choice>,
    layers: Vec<Choice>,
    effectiveness: Vec<Choice>,
    rows: Vec<MapRow>,
    gaps: Vec<(String, String, String)>,
    sources: Vec<(String, i64, String)>,
    controls: Vec<hikeshi_store::Control>,
}

fn coverage_code(c: Coverage) -> &'static str {
    match c {
        Coverage::None => "none",
        Coverage::Planned => "planned",
        Coverage::Partial => "partial",
        Coverage::Covered => "covered",
    }
}

async fn coverage_page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let map = coverage::coverage_map(&state).await?;
        let rows = DefenceLayer::ALL
            .iter()
            .map(|layer| {
                let cells = map
                    .cells
                    .iter()
                    .filter(|c| c.layer == *layer)
                    .map(|c| MapCell {
                        coverage: coverage_code(c.coverage),
                        names: c
                            .controls
                            .iter()
                            .map(|x| x.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                    .collect();
                let detect_note = map
                    .detect
                    .get(layer.code())
                    .map(|d| {
                        i.t("coverage.detect_note")
                            .replace("{rules}", &d.rules_enabled.to_string())
                            .replace("{fired}", &d.rules_fired_30d.to_string())
                    })
                    .unwrap_or_default();
                MapRow {
                    layer: i.label("layer", layer.code()),
                    cells,
                    detect_note,
                }
            })
            .collect();
        Ok::<_, ApiError>(CoveragePage {
            functions: choices(&i, "function", CsfFunction::ALL, CsfFunction::code),
            layers: choices(&i, "layer", DefenceLayer::ALL, DefenceLayer::code),
            effectiveness: choices(&i, "effectiveness", Effectiveness::ALL, Effectiveness::code),
            rows,
            gaps: map
                .gaps
                .iter()
                .map(|g| {
                    (
                        i.label("layer", g.layer.code()),
                        i.label("function", g.function.code()),
                        i.t(&format!("coverage.gap.{}", g.reason)),
                    )
                })
                .collect(),
            sources: map
                .active_sources
                .iter()
                .map(|a| (a.source.clone(), a.events, i.time(a.last_seen)))
                .collect(),
            controls: state.store.controls().await?,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        })
    }
    .await;
    page_or_error(&i, s.nav, result)
}

#[derive(Deserialize)]
struct ControlForm {
    csrf: String,
    name: String,
    layer: String,
    function: String,
    #[serde(default)]
    owner: String,
    effectiveness: String,
    #[serde(default)]
    evidence: String,
}

async fn add_control(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<ControlForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = ControlInput {
            name: f.name.clone(),
            layer: DefenceLayer::parse(&f.layer)?,
            function: CsfFunction::parse(&f.function)?,
            owner: f.owner.clone(),
            effectiveness: Effectiveness::parse(&f.effectiveness)?,
            evidence: f.evidence.clone(),
        };
        Ok::<_, ApiError>(programme::create_control(&state, &s.who, &input).await?)
    }
    .await;
    redirect_or_error(&i, s.nav, result, |_| "/coverage".to_string())
}

struct ServiceRow {
    code: &'static str,
    area: String,
    name: String,
    question: String,
    as_is: i64,
    to_be: i64,
    sourcing: String,
}

struct HistoryRow {
    title: String,
    at: String,
    areas: Vec<String>,
}

#[derive(Template)]
#[template(path = "maturity.html")]
struct MaturityPage {
    i: I18n,
    nav: Option<Nav>,
    radar: String,
    latest_title: String,
    gaps: Vec<(String, String, i64, i64, i64, String)>,
    services: Vec<ServiceRow>,
    levels: Vec<(i64, String)>,
    sourcing: Vec<Choice>,
    area_names: Vec<String>,
    history: Vec<HistoryRow>,
}

async fn maturity_page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let ja = i.lang == Lang::Ja;
    let result = async {
        let history = maturity::history(&state).await?;
        let latest = history.last();
        let area_names: Vec<String> = MATURITY_AREAS
            .iter()
            .map(|a| if ja { a.name_ja } else { a.name_en }.to_string())
            .collect();
        let service_name = |code: &str| {
            MATURITY_SERVICES
                .iter()
                .find(|s| s.code == code)
                .map(|s| if ja { s.name_ja } else { s.name_en }.to_string())
                .unwrap_or_else(|| code.to_string())
        };
        let area_name = |code: &str| {
            MATURITY_AREAS
                .iter()
                .find(|a| a.code == code)
                .map(|a| if ja { a.name_ja } else { a.name_en }.to_string())
                .unwrap_or_default()
        };
        let radar = latest
            .map(|v| {
                charts::radar(
                    charts::ChartName {
                        id: "maturity-radar",
                        title: &i.t("maturity.radar"),
                    },
                    &area_names,
                    &v.areas.iter().map(|a| a.as_is).collect::<Vec<_>>(),
                    &v.areas.iter().map(|a| a.to_be).collect::<Vec<_>>(),
                    (&i.t("maturity.as_is"), &i.t("maturity.to_be")),
                )
            })
            .unwrap_or_default();
        let services = MATURITY_SERVICES
            .iter()
            .map(|svc| {
                let previous =
                    latest.and_then(|v| v.ratings.iter().find(|r| r.service == svc.code));
                ServiceRow {
                    code: svc.code,
                    area: area_name(svc.area),
                    name: if ja { svc.name_ja } else { svc.name_en }.to_string(),
                    question: if ja { svc.question_ja } else { svc.question_en }.to_string(),
                    as_is: previous.map_or(0, |r| r.as_is),
                    to_be: previous.map_or(0, |r| r.to_be),
                    sourcing: previous.map_or("in_house".into(), |r| r.sourcing.clone()),
                }
            })
            .collect();
        Ok::<_, ApiError>(MaturityPage {
            radar,
            latest_title: latest
                .map(|v| v.assessment.title.clone())
                .unwrap_or_default(),
            gaps: latest
                .map(|v| {
                    v.gaps
                        .iter()
                        .map(|g| {
                            (
                                service_name(g.service),
                                area_name(g.area),
                                g.as_is,
                                g.to_be,
                                g.gap,
                                g.notes.clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            services,
            levels: MATURITY_LEVELS
                .iter()
                .map(|(l, lja, len)| (i64::from(*l), if ja { lja } else { len }.to_string()))
                .collect(),
            sourcing: choices(&i, "sourcing", Sourcing::ALL, Sourcing::code),
            history: history
                .iter()
                .rev()
                .map(|v| HistoryRow {
                    title: v.assessment.title.clone(),
                    at: i.time(v.assessment.created_at),
                    areas: v
                        .areas
                        .iter()
                        .map(|a| format!("{:.1} / {:.1}", a.as_is, a.to_be))
                        .collect(),
                })
                .collect(),
            area_names,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        })
    }
    .await;
    page_or_error(&i, s.nav, result)
}

async fn add_assessment(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(f.get("csrf").map(String::as_str))?;
        let level = |key: String| -> Result<i64, ApiError> {
            f.get(&key)
                .map(|v| v.trim().parse::<i64>())
                .unwrap_or(Ok(0))
                .map_err(|_| ApiError::invalid(&key, format!("{key}: a level from 0 to 4")))
        };
        let mut ratings = Vec::new();
        for svc in MATURITY_SERVICES {
            ratings.push(RatingInput {
                service: svc.code.into(),
                as_is: level(format!("as_is_{}", svc.code))?,
                to_be: level(format!("to_be_{}", svc.code))?,
                sourcing: Sourcing::parse(
                    f.get(&format!("sourcing_{}", svc.code))
                        .map_or("in_house", String::as_str),
                )?,
                notes: f
                    .get(&format!("notes_{}", svc.code))
                    .cloned()
                    .unwrap_or_default(),
            });
        }
        let input = AssessmentInput {
            title: f.get("title").cloned().unwrap_or_default(),
            ratings,
        };
        Ok::<_, ApiError>(programme::add_assessment(&state, &s.who, &input).await?)
    }
    .await;
    redirect_or_error(&i, s.nav, result, |_| "/maturity".to_string())
}

async fn monthly_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<MonthlyQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    match programme::monthly_report(&state, &s.who, &q, i.lang).await {
        Ok(r) => crate::monthly_html::monthly_response(r),
        Err(e) => super::error_page(&i, Some(s.nav), e),
    }
}
