//! Alerts into a case: an analyst selects alerts and escalates them (to a new case or an open
//! one), or a grouping rule does it for new alerts. Either way it is one transaction: the case
//! is opened through [`crate::cases::open_in`], each alert is marked escalated, its host, user
//! and addresses become observables and the timeline says so — all of it or none.

use super::check_ids;
use crate::cases::{self, fit_title, CreateCaseInput};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::validate::{parse_number, text_field, MAX_TITLE};
use crate::who::Who;
use crate::App;
use hikeshi_detect::Level;
use hikeshi_model::{normalise_observable, CaseSource, ObservableKind, Severity};
use hikeshi_store::{Alert, Case, NewObservable, NewTimelineEntry, Tx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateInput {
    pub alert_ids: Vec<String>,
    /// An existing case number (e.g. `2026-0042`); without it a new case is opened.
    #[serde(default)]
    pub case: Option<String>,
    /// Title of the new case; defaults to the first alert's rule.
    #[serde(default)]
    pub title: Option<String>,
}

/// Puts the selected alerts on one case, new or existing.
pub async fn escalate_alerts(app: &App, who: &Who, input: EscalateInput) -> AppResult<Case> {
    who.require_edit("escalate alerts")?;
    check_ids(&input.alert_ids)?;
    let mut alerts = Vec::new();
    for id in &input.alert_ids {
        alerts.push(app.store.alert_by_id(id).await?);
    }
    let into = match input.case.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(number) => Some(app.store.case_by_number(&parse_number(number)?).await?),
        None => None,
    };
    let title = match input
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => text_field("title", t, true, MAX_TITLE)?,
        None => alerts
            .first()
            .map(|a| {
                fit_title(&if a.host.is_empty() {
                    a.rule_title.clone()
                } else {
                    format!("{} ({})", a.rule_title, a.host)
                })
            })
            .unwrap_or_default(),
    };
    let alerts = &alerts;
    let title = &title;
    app.store
        .write(async |tx| escalate_in(app, tx, who, alerts, into, title).await)
        .await
}

/// The case's severity: the highest alert level.
fn severity_of(alerts: &[Alert]) -> Severity {
    let top = alerts
        .iter()
        .filter_map(|a| Level::parse(&a.level))
        .max()
        .unwrap_or(Level::Medium);
    match top {
        Level::Critical => Severity::Critical,
        Level::High => Severity::High,
        Level::Medium => Severity::Medium,
        _ => Severity::Low,
    }
}

/// Inside `tx`: puts `alerts` on `into`, or on a new case titled `title`.
pub async fn escalate_in(
    app: &App,
    tx: &mut Tx,
    who: &Who,
    alerts: &[Alert],
    into: Option<Case>,
    title: &str,
) -> AppResult<Case> {
    let actor = who.actor();
    let case = match into {
        Some(c) => c,
        None => {
            let description = alerts
                .iter()
                .map(|a| {
                    format!(
                        "- {} ({}) host `{}` user `{}`, {} hit(s)",
                        a.rule_title, a.level, a.host, a.user_name, a.count
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let input = CreateCaseInput {
                title: title.to_string(),
                description: description
                    .chars()
                    .take(crate::validate::MAX_TEXT)
                    .collect(),
                category: Some("other".into()),
                severity: Some(severity_of(alerts)),
                tags: vec!["alert".into()],
                source: Some(CaseSource::Detection),
                ..CreateCaseInput::default()
            };
            cases::open_in(app, tx, who, input, Lang::En).await?
        }
    };
    if case.merged_into.is_some() {
        return Err(AppError::invalid(
            "case",
            format!(
                "case {} was merged into another; escalate to that one",
                case.number
            ),
        ));
    }
    for alert in alerts {
        tx.link_alert_to_case(&alert.id, &case.id, &actor).await?;
        let observed = [
            (ObservableKind::Host, &alert.host),
            (ObservableKind::UserAccount, &alert.user_name),
            (ObservableKind::Ip, &alert.src_ip),
            (ObservableKind::Ip, &alert.dst_ip),
        ];
        for (kind, value) in observed {
            if value.is_empty() {
                continue;
            }
            let Ok(value) = normalise_observable(kind, value) else {
                continue;
            };
            let new = NewObservable {
                kind: kind.code().into(),
                value,
                description: format!("from alert: {}", alert.rule_title),
                tlp: case.tlp.clone(),
                is_ioc: false,
            };
            tx.add_observable(&case.id, &new, &actor).await?;
        }
        let entry = NewTimelineEntry {
            occurred_at: alert.first_seen,
            kind: "observed".into(),
            text: format!(
                "Alert: {} ({}) on host {} user {}, {} hit(s)",
                alert.rule_title,
                alert.level,
                if alert.host.is_empty() {
                    "-"
                } else {
                    &alert.host
                },
                if alert.user_name.is_empty() {
                    "-"
                } else {
                    &alert.user_name
                },
                alert.count
            ),
        };
        tx.add_timeline_entry(&case.number, &entry, &actor).await?;
    }
    Ok(case)
}
