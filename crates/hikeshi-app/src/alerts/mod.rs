//! Working the alert queue: reading alerts with their priority, moving them between states
//! (one or many, each change audited), escalating them to a case (`escalate`) and suppression
//! rules (`suppressions`).

mod detail;
mod escalate;
mod suppressions;

pub use detail::{
    alert_detail, attack_link, suppress_from_alert, AlertDetail, HitAsset, RuleFacts, ShownEvent,
    ShownField, SuppressScope, TagLink,
};
pub use escalate::{escalate_alerts, escalate_in, EscalateInput};
pub use suppressions::{
    add_suppression, end_suppression, list_suppressions, SuppressionInput, MAX_SUPPRESSION_DAYS,
};

use crate::error::{AppError, AppResult};
use crate::validate::text_field;
use crate::vulns::triage::{rank_alerts, RankedAlert};
use crate::who::Who;
use crate::App;
use hikeshi_model::AlertStatus;
use hikeshi_store::Alert;
use serde::Deserialize;

/// Alerts one bulk request may touch.
pub const MAX_BULK: usize = 500;

pub(crate) fn check_ids(ids: &[String]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(AppError::invalid(
            "alert_ids",
            "alert_ids: give at least one alert",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::invalid(
            "alert_ids",
            format!("alert_ids: at most {MAX_BULK} alerts per request"),
        ));
    }
    Ok(())
}

/// A state a person may set, with the reason it needs.
fn checked_state(status: AlertStatus, reason: &str) -> AppResult<String> {
    if matches!(status, AlertStatus::Escalated | AlertStatus::Suppressed) {
        return Err(AppError::invalid(
            "status",
            "status: `escalated` is set by escalating to a case, `suppressed` by a suppression rule",
        ));
    }
    let required = status == AlertStatus::FalsePositive;
    text_field("reason", reason, required, 5_000)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    pub status: AlertStatus,
    #[serde(default)]
    pub reason: String,
}

/// Acknowledge, close or judge an alert a false positive (with a reason).
pub async fn set_status(app: &App, who: &Who, id: &str, input: StatusInput) -> AppResult<Alert> {
    who.require_edit("change alerts")?;
    let reason = checked_state(input.status, &input.reason)?;
    Ok(app
        .store
        .set_alert_status(id, input.status.code(), &reason, &who.actor())
        .await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub alert_ids: Vec<String>,
    pub status: AlertStatus,
    #[serde(default)]
    pub reason: String,
}

/// Sets one state on many alerts in one transaction; each change is audited on its own.
pub async fn set_many(app: &App, who: &Who, input: BulkInput) -> AppResult<Vec<Alert>> {
    who.require_edit("change alerts")?;
    check_ids(&input.alert_ids)?;
    let reason = checked_state(input.status, &input.reason)?;
    let actor = who.actor();
    app.store
        .write(async |tx| {
            let mut out = Vec::new();
            for id in &input.alert_ids {
                out.push(
                    tx.set_alert_status(id, input.status.code(), &reason, &actor)
                        .await?,
                );
            }
            Ok::<_, AppError>(out)
        })
        .await
}

pub async fn alert(app: &App, _who: &Who, id: &str) -> AppResult<Alert> {
    Ok(app.store.alert_by_id(id).await?)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    pub status: Option<String>,
    pub level: Option<String>,
    pub rule: Option<String>,
    pub host: Option<String>,
    pub limit: Option<i64>,
    /// `priority`: highest priority first (default: most recently seen first).
    pub sort: Option<String>,
}

/// Alerts with their priority: what they hit (asset value, exposure, open findings) weighs in,
/// and the reasons are listed.
pub async fn list(app: &App, _who: &Who, q: &AlertQuery) -> AppResult<Vec<RankedAlert>> {
    let list = app
        .store
        .list_alerts(
            q.status.as_deref(),
            q.level.as_deref(),
            q.rule.as_deref(),
            q.host.as_deref(),
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await?;
    let mut ranked = rank_alerts(&app.store, list).await?;
    if q.sort.as_deref() == Some("priority") {
        ranked.sort_by_key(|a| std::cmp::Reverse(a.priority));
    }
    Ok(ranked)
}
