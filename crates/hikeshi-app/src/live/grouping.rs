//! Grouping rules: alerts on the same host, user, rule or source address within a window go to
//! one case, opened under the case rules by the `hikeshi-grouping` actor.

use super::Live;
use crate::alerts::escalate_in;
use crate::cases::fit_title;
use crate::error::AppError;
use crate::who::Who;
use hikeshi_detect::Level;
use hikeshi_store::Alert;
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

/// Applies the grouping rules to new alerts; returns how many went to a case. Each alert is
/// one transaction: its group's case is found or opened, and the group remembered, together.
pub async fn group_new_alerts(live: &Live, created: &[Alert]) -> usize {
    let app = &live.app;
    let who = Who::system("grouping");
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
        let since = app.calendar.now_ms() - i64::from(rule.window_hours) * 3_600_000;
        let title = fit_title(&format!("[auto] {} ({key})", alert.rule_title));
        let (who, key, title) = (&who, &key, &title);
        let result = app
            .store
            .write(async |tx| {
                let case = match tx.group_case(key, since).await? {
                    Some(id) => Some(tx.case_by_id(&id).await?),
                    None => None,
                };
                let fresh = case.is_none();
                let alerts = std::slice::from_ref(alert);
                let case = escalate_in(app, tx, who, alerts, case, title).await?;
                if fresh {
                    tx.remember_group(key, &case.id).await?;
                }
                Ok::<_, AppError>(())
            })
            .await;
        match result {
            Ok(()) => grouped += 1,
            Err(e) => tracing::warn!(error = %e, alert = %alert.id, "grouping failed"),
        }
    }
    grouped
}
