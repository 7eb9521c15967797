//! The monthly management report: one month's KPIs with levels and remarks, the incidents of
//! the month, response times, decisions asked of management and next month's plan. Built once
//! as plain data with every label already in the reader's language; the HTML page and the PDF
//! are two renderings of the same data, so they cannot disagree.

use super::kpi::{self, Dashboard};
use super::period::{Month, PeriodKind};
use super::stats::{self, Statistics};
use crate::error::AppResult;
use crate::i18n::{text, Lang};
use crate::App;
use hikeshi_model::reporting::EntryKind;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Labelled {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiLine {
    pub code: String,
    pub name: String,
    pub level: u8,
    pub level_text: String,
    pub computed_level: u8,
    pub overridden: bool,
    pub headline: i64,
    pub previous_headline: i64,
    pub trend: String,
    pub technical: Vec<Labelled>,
    pub overview: Vec<Labelled>,
    pub remark: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub label: String,
    pub current: i64,
    pub previous: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentLine {
    pub number: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub status: String,
    pub impact: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub lang: String,
    pub month: String,
    pub team: String,
    pub title: String,
    /// Every fixed text of the layout, by role, in the report's language.
    pub t: std::collections::BTreeMap<&'static str, String>,
    pub kpis: Vec<KpiLine>,
    pub incident_total: i64,
    pub incident_previous: i64,
    pub by_category: Vec<Bar>,
    pub by_severity: Vec<Bar>,
    pub alerts_by_level: Vec<Bar>,
    pub trend: Vec<Bar>,
    pub incidents: Vec<IncidentLine>,
    pub incidents_more: i64,
    pub response: Vec<Labelled>,
    pub sla: String,
    pub decisions: Vec<Labelled>,
    pub plans: Vec<Labelled>,
    pub notable: Vec<Labelled>,
    /// Font families for the PDF, filled in by the PDF renderer.
    pub fonts: Vec<String>,
}

/// Most incidents listed in the report; the rest are counted.
const LIST_LIMIT: i64 = 50;

fn minutes_text(lang: Lang, m: Option<i64>) -> String {
    match m {
        None => "-".into(),
        Some(m) if m < 120 => format!("{m} {}", text(lang, "unit.minutes")),
        Some(m) => format!("{:.1} {}", m as f64 / 60.0, text(lang, "unit.hours")),
    }
}

fn trend(lang: Lang, now: i64, before: i64) -> String {
    let key = match now.cmp(&before) {
        std::cmp::Ordering::Greater => "trend.up",
        std::cmp::Ordering::Less => "trend.down",
        std::cmp::Ordering::Equal => "trend.same",
    };
    format!("{} ({before} → {now})", text(lang, key))
}

fn label(lang: Lang, prefix: &str, code: &str) -> String {
    let key = format!("{prefix}.{code}");
    let t = text(lang, &key);
    if t == key {
        code.to_string()
    } else {
        t
    }
}

pub fn kpi_lines(lang: Lang, d: &Dashboard) -> Vec<KpiLine> {
    let m = |v: &[kpi::Metric]| {
        v.iter()
            .map(|x| Labelled {
                label: text(lang, x.key),
                value: x.value.clone(),
            })
            .collect()
    };
    d.cards
        .iter()
        .map(|c| {
            let remark = match &c.override_in_force {
                Some(o) if !o.remark.trim().is_empty() => o.remark.clone(),
                _ => text(lang, &c.remark_key).replace("{n}", &c.headline.to_string()),
            };
            KpiLine {
                code: c.kpi.code().into(),
                name: text(lang, &c.kpi.message_key()),
                level: c.level,
                level_text: text(lang, &format!("kpi.level.{}", c.level)),
                computed_level: c.computed_level,
                overridden: c.override_in_force.is_some(),
                headline: c.headline,
                previous_headline: c.previous_headline,
                trend: trend(lang, c.headline, c.previous_headline),
                technical: m(&c.technical),
                overview: m(&c.overview),
                remark,
            }
        })
        .collect()
}

pub async fn build(app: &App, month: Month, lang: Lang) -> AppResult<ReportData> {
    let dashboard = kpi::dashboard(app, month).await?;
    let stats: Statistics = stats::statistics(app, PeriodKind::Month, month).await?;
    let offset = app
        .config
        .reporting
        .offset_ms()
        .map_err(crate::error::AppError::internal)?;
    let (from, to) = (month.start_ms(offset), month.end_ms(offset));
    let categories = app.store.categories().await?;
    let category_label = |code: &str| {
        categories
            .iter()
            .find(|c| c.code == code)
            .map(|c| {
                if lang == Lang::Ja {
                    c.label_ja.clone()
                } else {
                    c.label_en.clone()
                }
            })
            .unwrap_or_else(|| code.to_string())
    };
    let bars = |dim: &str, prefix: &str| -> Vec<Bar> {
        stats
            .breakdowns
            .iter()
            .find(|b| b.dimension == dim)
            .map(|b| {
                b.rows
                    .iter()
                    .map(|r| Bar {
                        label: if dim == "category" {
                            category_label(&r.code)
                        } else {
                            label(lang, prefix, &r.code)
                        },
                        current: r.current,
                        previous: r.previous,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let lines = app.store.case_lines(from, to, LIST_LIMIT).await?;
    let incidents = lines
        .iter()
        .map(|c| IncidentLine {
            number: c.number.clone(),
            title: c.title.clone(),
            category: category_label(&c.category),
            severity: label(lang, "severity", &c.severity),
            status: label(lang, "status", &c.status),
            impact: c.business_impact.clone(),
        })
        .collect();
    let entries = |kind: EntryKind| -> Vec<Labelled> {
        dashboard
            .entries
            .iter()
            .filter(|e| e.kind == kind.code() && e.month == month.code())
            .map(|e| Labelled {
                label: e.title.clone(),
                value: e.detail.clone(),
            })
            .collect()
    };
    let mut notable = entries(EntryKind::ExternalEvent);
    for kind in [
        EntryKind::Leaver,
        EntryKind::LostDevice,
        EntryKind::VendorChange,
        EntryKind::Intel,
    ] {
        for e in dashboard.entries.iter().filter(|e| e.kind == kind.code()) {
            notable.push(Labelled {
                label: format!("[{}] {}", text(lang, &kind.message_key()), e.title),
                value: e.detail.clone(),
            });
        }
    }
    let team = app
        .store
        .team_profile()
        .await?
        .into_iter()
        .find(|(k, _)| k == "team_name")
        .map(|(_, v)| v)
        .unwrap_or_else(|| "hikeshi".into());
    let mut t = std::collections::BTreeMap::new();
    for key in [
        "kpis",
        "kpi",
        "level",
        "headline",
        "trend",
        "remark",
        "technical",
        "overview",
        "incidents",
        "incident_total",
        "by_category",
        "by_severity",
        "alerts_by_level",
        "trend_13",
        "incident_list",
        "number",
        "title_col",
        "category",
        "severity",
        "status",
        "impact",
        "more",
        "response",
        "sla",
        "decisions",
        "plans",
        "notable",
        "none",
        "overridden",
        "current",
        "previous",
    ] {
        t.insert(key, text(lang, &format!("monthly.{key}")));
    }
    Ok(ReportData {
        lang: lang.code().into(),
        month: month.code(),
        title: text(lang, "monthly.heading").replace("{month}", &month.code()),
        team,
        t,
        kpis: kpi_lines(lang, &dashboard),
        incident_total: stats.total,
        incident_previous: stats.previous_total,
        by_category: bars("category", "category"),
        by_severity: bars("severity", "severity"),
        alerts_by_level: dashboard
            .alerts_by_level
            .iter()
            .map(|(l, n)| Bar {
                label: label(lang, "level", l),
                current: *n,
                previous: 0,
            })
            .collect(),
        trend: stats
            .monthly
            .iter()
            .map(|(m, n)| Bar {
                label: m.clone(),
                current: *n,
                previous: 0,
            })
            .collect(),
        incidents,
        incidents_more: (stats.total - lines.len() as i64).max(0),
        response: stats
            .response
            .iter()
            .map(|r| Labelled {
                label: text(lang, &format!("stats.response.{}", r.measure)),
                value: format!(
                    "{} {} / p90 {} ({} {})",
                    text(lang, "stats.median"),
                    minutes_text(lang, r.median_minutes),
                    minutes_text(lang, r.p90_minutes),
                    r.cases,
                    text(lang, "unit.cases")
                ),
            })
            .collect(),
        sla: text(lang, "monthly.sla_text")
            .replace("{with}", &stats.sla.with_sla.to_string())
            .replace("{breached}", &stats.sla.breached.to_string())
            .replace("{open}", &stats.sla.open_breached.to_string()),
        decisions: entries(EntryKind::Decision),
        plans: entries(EntryKind::Plan),
        notable,
        fonts: Vec::new(),
    })
}
