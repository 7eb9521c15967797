//! The triage queue: reports as they came in, each with its indicators, a suggested category
//! and likely duplicates, and the four decisions (open a case, attach to a case, reject with a
//! reason, spam).

use super::{
    category_choices, category_label, error_page, render, see_other, Choice, I18n, Nav, SignedIn,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::i18n::Lang;
use hikeshi_app::intake::{self, ReportView};
use hikeshi_model::ReportStatus;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(list_page))
        .route("/reports/{tracking}", get(report_page))
        .route("/reports/{tracking}/decide", post(decide))
}

struct Row {
    tracking: String,
    subject: String,
    source: String,
    status: String,
    age: String,
    received: String,
    suggested: String,
    reporter: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ListPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<Row>,
    status: String,
    statuses: Vec<Choice>,
}

/// The label of a suggested category; empty when nothing was suggested.
fn suggested_label(cats: &[Choice], code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        category_label(cats, code)
    }
}

/// "3 h", "2 d": how long a report has waited, in the viewer's language.
fn age(i: &I18n, since_ms: i64) -> String {
    let minutes = ((hikeshi_store::now_ms() - since_ms) / 60_000).max(0);
    let (n, unit) = if minutes < 60 {
        (minutes, "age.minutes")
    } else if minutes < 48 * 60 {
        (minutes / 60, "age.hours")
    } else {
        (minutes / 1440, "age.days")
    };
    i.t(unit).replace("{n}", &n.to_string())
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let status = q
        .status
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| "new".to_string());
    let filter = (status != "all").then_some(status.as_str());
    let reports = match intake::list_reports(&state, filter, 200).await {
        Ok(r) => r,
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    let cats = category_choices(&i, &state.store.categories().await.unwrap_or_default());
    let mut rows = Vec::with_capacity(reports.len());
    for r in reports {
        rows.push(Row {
            suggested: suggested_label(&cats, &r.suggested_category),
            age: age(&i, r.created_at),
            received: i.time(r.created_at),
            source: i.label("report_source", &r.source),
            status: i.label("report_status", &r.status),
            reporter: if r.reporter_contact.is_empty() {
                i.t("report.anonymous")
            } else {
                r.reporter_contact.clone()
            },
            tracking: r.tracking,
            subject: r.subject,
        });
    }
    let mut statuses: Vec<Choice> = ReportStatus::ALL
        .iter()
        .map(|st| Choice {
            code: st.code().into(),
            label: i.label("report_status", st.code()),
        })
        .collect();
    statuses.push(Choice {
        code: "all".into(),
        label: i.t("reports.all"),
    });
    render(&ListPage {
        i,
        nav: Some(s.nav),
        rows,
        status,
        statuses,
    })
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    i: I18n,
    nav: Option<Nav>,
    v: ReportView,
    received: String,
    source: String,
    status: String,
    suggested: String,
    reason: String,
    undecided: bool,
    /// Assets the report's addresses and host names point at: (id, name).
    assets_hit: Vec<(String, String)>,
}

async fn report_page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(tracking): Path<String>,
) -> Response {
    let i = s.viewer.i.clone();
    let v = match intake::report_view(&state, &tracking).await {
        Ok(v) => v,
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    let reason = if i.lang == Lang::Ja {
        v.report.suggestion_reason_ja.clone()
    } else {
        v.report.suggestion_reason_en.clone()
    };
    let cats = category_choices(&i, &state.store.categories().await.unwrap_or_default());
    let suggested = suggested_label(&cats, &v.report.suggested_category);
    // A report about one of our own machines (an address or host name in it) says so.
    let assets_hit = match hikeshi_app::vulns::matching::AssetIndex::load(&state.store).await {
        Ok(index) => {
            let of = |kinds: &[&str]| -> Vec<&str> {
                v.observables
                    .iter()
                    .filter(|o| kinds.contains(&o.kind.as_str()))
                    .map(|o| o.value.as_str())
                    .collect()
            };
            index
                .matching(&of(&["domain", "host"]), &of(&["ip"]))
                .into_iter()
                .filter_map(|id| {
                    index
                        .assets
                        .get(&id)
                        .map(|a| (a.id.clone(), a.name.clone()))
                })
                .collect()
        }
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    render(&ReportPage {
        assets_hit,
        suggested,
        received: i.time(v.report.created_at),
        source: i.label("report_source", &v.report.source),
        status: i.label("report_status", &v.report.status),
        undecided: v.report.status == ReportStatus::New.code(),
        reason,
        i,
        nav: Some(s.nav),
        v,
    })
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    action: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    reason: String,
    /// Ticked: the reporter's name and contact are copied into the new case.
    #[serde(default)]
    include_reporter: String,
}

async fn decide(
    State(state): State<AppState>,
    s: SignedIn,
    Path(tracking): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let i = s.viewer.i.clone();
    if let Err(e) = s.who.check_csrf(Some(&form.csrf)) {
        return error_page(&i, Some(s.nav), e);
    }
    let done = match form.action.as_str() {
        "case" => {
            let how = intake::CarryOver {
                lang: i.lang,
                include_reporter: form.include_reporter == "1",
            };
            intake::create_case_from_report(&state, &s.who, &tracking, how).await
        }
        .map(|c| format!("/cases/{}", c.number)),
        "attach" => intake::attach_report(&state, &s.who, &tracking, &form.case, i.lang)
            .await
            .map(|c| format!("/cases/{}", c.number)),
        "reject" => intake::close_report(
            &state,
            &s.who,
            &tracking,
            ReportStatus::Rejected,
            &form.reason,
        )
        .await
        .map(|r| format!("/reports/{}", r.tracking)),
        "spam" => intake::close_report(&state, &s.who, &tracking, ReportStatus::Spam, &form.reason)
            .await
            .map(|r| format!("/reports/{}", r.tracking)),
        other => Err(hikeshi_app::AppError::invalid(
            "action",
            format!("action: unknown value `{other}`"),
        )),
    };
    match done {
        Ok(path) => see_other(&path),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}
