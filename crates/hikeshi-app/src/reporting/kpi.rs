//! The CISO dashboard: four KPI groups for a month, each with a headline number, a level
//! 1–3 from the configured thresholds (or a CISO's audited override), a technical and an
//! overview row, and the previous month for the trend.

use super::period::Month;
use super::settings::ReportingSettings;
use crate::error::AppResult;
use crate::vulns::matching::AssetIndex;
use crate::App;
use hikeshi_model::reporting::{EntryKind, Kpi};
use hikeshi_model::Severity;
use hikeshi_store::{Entry, KpiOverride, PatchState, RuleCount};
use serde::Serialize;
use std::collections::BTreeMap;

/// One figure on a KPI row: a locale key for its label and the value as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub key: &'static str,
    pub value: String,
}

fn metric(key: &'static str, value: impl ToString) -> Metric {
    Metric {
        key,
        value: value.to_string(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiCard {
    pub kpi: Kpi,
    /// In force: the override's when there is one, else the computed one.
    pub level: u8,
    pub computed_level: u8,
    pub headline: i64,
    pub previous_headline: i64,
    pub previous_level: u8,
    pub technical: Vec<Metric>,
    pub overview: Vec<Metric>,
    /// Locale key of the automatic remark; `{n}` in it is the headline.
    pub remark_key: String,
    /// The override in force, with its remark and reason.
    pub override_in_force: Option<KpiOverride>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub month: String,
    pub previous_month: String,
    pub cards: Vec<KpiCard>,
    /// Alerts of the month by level, most severe first.
    pub alerts_by_level: Vec<(String, i64)>,
    /// Departments whose assets were hit, most alerted first (`""`: hosts not in the inventory).
    pub departments: Vec<(String, i64)>,
    pub top_rules: Vec<RuleCount>,
    pub entries: Vec<Entry>,
    pub overrides: Vec<KpiOverride>,
}

/// The raw numbers of one month that the levels are computed from.
struct Facts {
    by_level: BTreeMap<String, i64>,
    high_alerts: i64,
    alerts: i64,
    blocked: i64,
    suspicious_alerts: i64,
    rules: Vec<RuleCount>,
    external_events: i64,
    patch: PatchState,
    ineffective_controls: i64,
    not_contained: i64,
    hr_open: i64,
    intel: i64,
    entries: Vec<Entry>,
}

fn level_rank(level: &str) -> u8 {
    Severity::parse(level).map_or(0, |s| match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Info => 1,
    })
}

/// Suspicious: a configured tag, or an inside-the-network tactic at the configured level.
pub fn is_suspicious(settings: &ReportingSettings, rule: &RuleCount) -> bool {
    // Stored as a JSON list or a plain list; either way tags are runs of these characters.
    let tags: Vec<&str> = rule
        .tags
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .filter(|t| !t.is_empty())
        .collect();
    if tags
        .iter()
        .any(|t| settings.suspicious_tags.iter().any(|s| s == t))
    {
        return true;
    }
    level_rank(&rule.level) >= level_rank(&settings.suspicious_min_level)
        && tags
            .iter()
            .any(|t| super::settings::INSIDE_TACTICS.contains(t))
}

async fn facts(app: &App, month: Month, offset: i64) -> AppResult<Facts> {
    let store = &app.store;
    let settings = &app.config.reporting;
    let (from, to) = (month.start_ms(offset), month.end_ms(offset));
    let now = hikeshi_store::now_ms();
    let at = to.min(now);
    let rules = store.alert_counts_by_rule(from, to).await?;
    let mut by_level: BTreeMap<String, i64> = BTreeMap::new();
    let mut suspicious_alerts = 0;
    for r in &rules {
        *by_level.entry(r.level.clone()).or_default() += r.alerts;
        if is_suspicious(settings, r) {
            suspicious_alerts += r.alerts;
        }
    }
    let alerts: i64 = rules.iter().map(|r| r.alerts).sum();
    let blocked: i64 = rules.iter().map(|r| r.blocked).sum();
    let high_alerts =
        by_level.get("high").copied().unwrap_or(0) + by_level.get("critical").copied().unwrap_or(0);
    let entries = store.entries_for_month(&month.code()).await?;
    let this_month = |e: &&Entry| e.month == month.code();
    let kind = |e: &Entry| EntryKind::parse(&e.kind).ok();
    let external_events = entries
        .iter()
        .filter(this_month)
        .filter(|e| kind(e) == Some(EntryKind::ExternalEvent))
        .count() as i64;
    let hr_open = entries
        .iter()
        .filter(|e| {
            e.is_open == 1
                && matches!(
                    kind(e),
                    Some(EntryKind::Leaver | EntryKind::LostDevice | EntryKind::VendorChange)
                )
        })
        .count() as i64;
    let intel = entries
        .iter()
        .filter(this_month)
        .filter(|e| kind(e) == Some(EntryKind::Intel))
        .count() as i64;
    let ineffective_controls = store
        .controls()
        .await?
        .iter()
        .filter(|c| c.effectiveness == "ineffective")
        .count() as i64;
    Ok(Facts {
        by_level,
        high_alerts,
        alerts,
        blocked,
        suspicious_alerts,
        rules,
        external_events,
        patch: store.patch_state_at(at).await?,
        ineffective_controls,
        not_contained: store.cases_not_contained_at(at).await?,
        hr_open,
        intel,
        entries,
    })
}

/// (headline, computed level) of each KPI for one month's facts.
fn levels(settings: &ReportingSettings, f: &Facts) -> [(Kpi, i64, u8); 4] {
    let t = settings.thresholds;
    let attack = f.high_alerts + f.external_events;
    let protect = f.patch.open_urgent;
    let mut protect_level = t.protect.level(protect);
    // Controls that do not work or assets nobody scans are a caution even with no findings.
    if protect_level == 1 && (f.ineffective_controls > 0 || f.patch.assets_not_scanned > 0) {
        protect_level = 2;
    }
    let suspicious = f.suspicious_alerts + f.not_contained;
    let indirect = f.hr_open + f.intel;
    [
        (Kpi::Attack, attack, t.attack.level(attack)),
        (Kpi::Protect, protect, protect_level),
        (Kpi::Suspicious, suspicious, t.suspicious.level(suspicious)),
        (Kpi::Indirect, indirect, t.indirect.level(indirect)),
    ]
}

async fn departments(app: &App, month: Month, offset: i64) -> AppResult<Vec<(String, i64)>> {
    let index = AssetIndex::load(&app.store).await?;
    let department_of = |host: &str| super::rollup::department(&index, host);
    let mut out = app
        .store
        .alert_counts_by_department(month.start_ms(offset), month.end_ms(offset), &department_of)
        .await?;
    out.truncate(10);
    Ok(out)
}

pub async fn dashboard(app: &App, month: Month) -> AppResult<Dashboard> {
    let settings = &app.config.reporting;
    let offset = settings
        .offset_ms()
        .map_err(crate::error::AppError::internal)?;
    let current = facts(app, month, offset).await?;
    let previous = facts(app, month.shift(-1), offset).await?;
    let overrides = app.store.overrides_for_month(&month.code()).await?;
    let now_levels = levels(settings, &current);
    let before = levels(settings, &previous);
    let mut cards = Vec::new();
    for (i, (kpi, headline, computed)) in now_levels.into_iter().enumerate() {
        let in_force = overrides
            .iter()
            .rev()
            .find(|o| o.kpi == kpi.code())
            .cloned();
        let level = in_force
            .as_ref()
            .map_or(computed, |o| o.level.clamp(1, 3) as u8);
        cards.push(KpiCard {
            kpi,
            level,
            computed_level: computed,
            headline,
            previous_headline: before[i].1,
            previous_level: before[i].2,
            technical: technical_row(kpi, &current),
            overview: overview_row(kpi, &current),
            remark_key: format!("kpi.{}.remark.{computed}", kpi.code()),
            override_in_force: in_force,
        });
    }
    let mut alerts_by_level: Vec<(String, i64)> = current.by_level.clone().into_iter().collect();
    alerts_by_level.sort_by_key(|(l, _)| std::cmp::Reverse(level_rank(l)));
    let mut top_rules = current.rules.clone();
    top_rules.truncate(5);
    Ok(Dashboard {
        month: month.code(),
        previous_month: month.shift(-1).code(),
        departments: departments(app, month, offset).await?,
        cards,
        alerts_by_level,
        top_rules,
        entries: current.entries,
        overrides,
    })
}

fn technical_row(kpi: Kpi, f: &Facts) -> Vec<Metric> {
    let level = |l: &str| f.by_level.get(l).copied().unwrap_or(0);
    match kpi {
        Kpi::Attack => vec![
            metric("kpi.m.alerts_critical", level("critical")),
            metric("kpi.m.alerts_high", level("high")),
            metric("kpi.m.alerts_medium", level("medium")),
            metric(
                "kpi.m.alerts_low",
                level("low") + level("informational") + level("info"),
            ),
            metric("kpi.m.blocked", f.blocked),
            metric("kpi.m.not_blocked", f.alerts - f.blocked),
        ],
        Kpi::Protect => vec![
            metric("kpi.m.open_kev", f.patch.open_kev),
            metric("kpi.m.open_critical", f.patch.open_critical),
            metric(
                "kpi.m.median_age",
                f.patch
                    .median_age_days
                    .map_or("-".into(), |d| d.to_string()),
            ),
            metric(
                "kpi.m.not_scanned",
                format!("{}/{}", f.patch.assets_not_scanned, f.patch.assets),
            ),
        ],
        Kpi::Suspicious => vec![
            metric("kpi.m.suspicious_alerts", f.suspicious_alerts),
            metric("kpi.m.not_contained", f.not_contained),
        ],
        Kpi::Indirect => vec![
            metric("kpi.m.hr_open", f.hr_open),
            metric("kpi.m.intel", f.intel),
        ],
    }
}

fn overview_row(kpi: Kpi, f: &Facts) -> Vec<Metric> {
    match kpi {
        Kpi::Attack => vec![
            metric("kpi.m.high_alerts", f.high_alerts),
            metric("kpi.m.external_events", f.external_events),
        ],
        Kpi::Protect => vec![
            metric("kpi.m.open_urgent", f.patch.open_urgent),
            metric("kpi.m.ineffective_controls", f.ineffective_controls),
        ],
        Kpi::Suspicious => vec![metric(
            "kpi.m.suspicious_total",
            f.suspicious_alerts + f.not_contained,
        )],
        Kpi::Indirect => vec![metric("kpi.m.indirect_total", f.hr_open + f.intel)],
    }
}
