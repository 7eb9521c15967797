//! Alerts into cases: by hand (an analyst selects alerts and escalates them) or by grouping
//! rules (alerts on the same host, user, rule or source address within a window go to one
//! case), copying the host, user and addresses as observables.

use super::Live;
use crate::config::SlaHours;
use hikeshi_detect::Level;
use hikeshi_model::{normalise_observable, ObservableKind, Severity};
use hikeshi_store::{Actor, Alert, Case, NewCase, NewObservable, NewTimelineEntry, Store};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Host,
    User,
    Rule,
    SrcIp,
}

/// One grouping rule, e.g. `{ by = "host", window_hours = 24, min_level = "high" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupingRule {
    pub by: GroupBy,
    #[serde(default = "default_window_hours")]
    pub window_hours: u32,
    /// Alerts below this level are left in the queue.
    #[serde(default = "default_min_level")]
    pub min_level: String,
}

fn default_window_hours() -> u32 {
    24
}
fn default_min_level() -> String {
    "high".into()
}

impl GroupingRule {
    /// The value alerts are grouped on; `None` when the alert lacks it or is below the level.
    fn key(&self, alert: &Alert) -> Option<String> {
        let min = Level::parse(&self.min_level).unwrap_or(Level::High);
        if Level::parse(&alert.level).unwrap_or(Level::Informational) < min {
            return None;
        }
        let (name, value) = match self.by {
            GroupBy::Host => ("host", alert.host.to_ascii_lowercase()),
            GroupBy::User => ("user", alert.user_name.to_ascii_lowercase()),
            GroupBy::Rule => ("rule", alert.rule_id.clone()),
            GroupBy::SrcIp => ("src_ip", alert.src_ip.clone()),
        };
        (!value.is_empty()).then(|| format!("{name}:{value}"))
    }
}

/// The actor grouping rules act as, in the audit log.
fn grouping_actor() -> Actor {
    Actor::user("hikeshi-grouping")
}

/// Applies the grouping rules to new alerts; returns how many went to a case.
pub async fn group_new_alerts(live: &Live, created: &[Alert]) -> usize {
    let mut grouped = 0;
    for alert in created {
        // The first rule that gives a key decides.
        let Some((rule, key)) = live
            .settings
            .grouping
            .iter()
            .find_map(|r| r.key(alert).map(|k| (r, k)))
        else {
            continue;
        };
        let since = hikeshi_store::now_ms() - i64::from(rule.window_hours) * 3_600_000;
        let result = async {
            let case = match live.store.group_case(&key, since).await? {
                Some(id) => Some(live.store.case_by_id(&id).await?),
                None => None,
            };
            let fresh = case.is_none();
            let title = format!("[auto] {} ({key})", alert.rule_title);
            let case = escalate(
                &live.store,
                &live.settings.sla,
                std::slice::from_ref(alert),
                case,
                &title,
                &grouping_actor(),
            )
            .await?;
            if fresh {
                live.store.remember_group(&key, &case.id).await?;
            }
            Ok::<_, hikeshi_store::StoreError>(())
        }
        .await;
        match result {
            Ok(()) => grouped += 1,
            Err(e) => tracing::warn!(error = %e, alert = %alert.id, "grouping failed"),
        }
    }
    grouped
}

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

/// Puts alerts on a case: `into`, or a new one titled `title`. Each alert is marked
/// escalated, its host, user and addresses become observables, and the timeline says so.
pub async fn escalate(
    store: &Store,
    sla: &SlaHours,
    alerts: &[Alert],
    into: Option<Case>,
    title: &str,
    actor: &Actor,
) -> hikeshi_store::Result<Case> {
    let case = match into {
        Some(c) => c,
        None => {
            let severity = severity_of(alerts);
            let now = hikeshi_store::now_ms();
            let year = chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Tokyo)
                .format("%Y")
                .to_string();
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
            let new = NewCase {
                year: year.parse().unwrap_or(1970),
                title: title.chars().take(200).collect(),
                description,
                category: "other".into(),
                severity: severity.code().into(),
                tlp: "amber".into(),
                pap: "amber".into(),
                phase: "detection_analysis".into(),
                assignee: None,
                tags: vec!["alert".into()],
                affected_assets: String::new(),
                sla_due_at: sla.due_at(severity, now),
                tasks: Vec::new(),
                source: "detection".into(),
                business_impact: String::new(),
            };
            store.create_case(&new, actor).await?
        }
    };
    for alert in alerts {
        store.link_alert_to_case(&alert.id, &case.id, actor).await?;
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
            store.add_observable(&case.id, &new, actor).await?;
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
        store
            .add_timeline_entry(&case.number, &entry, actor)
            .await?;
    }
    Ok(case)
}
