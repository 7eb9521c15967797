//! Suppression rules: a rule, a host or a field value whose hits stay out of the queue until
//! the rule expires. The live pipeline re-reads them at once on this node, within seconds
//! elsewhere.

use crate::error::{AppError, AppResult};
use crate::validate::text_field;
use crate::who::Who;
use crate::App;
use hikeshi_store::{NewSuppression, Suppression};
use serde::Deserialize;

/// Longest a suppression may run: it must be reviewed again after that.
pub const MAX_SUPPRESSION_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionInput {
    #[serde(default)]
    pub rule_id: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: String,
    pub reason: String,
    /// Days until it expires (1 to 366).
    pub days: i64,
}

pub async fn add_suppression(
    app: &App,
    who: &Who,
    input: SuppressionInput,
) -> AppResult<Suppression> {
    who.require_edit("add suppression rules")?;
    let rule_id = text_field("rule_id", &input.rule_id, false, 300)?;
    let host = text_field("host", &input.host, false, 300)?;
    let field = text_field("field", &input.field, false, 200)?;
    let value = text_field("value", &input.value, !field.is_empty(), 1_000)?;
    let reason = text_field("reason", &input.reason, true, 5_000)?;
    if rule_id.is_empty() && host.is_empty() && field.is_empty() {
        return Err(AppError::invalid(
            "rule_id",
            "rule_id: a suppression needs a rule, a host or a field value; one that matches everything would silence all monitoring",
        ));
    }
    if !(1..=MAX_SUPPRESSION_DAYS).contains(&input.days) {
        return Err(AppError::invalid(
            "days",
            format!("days: from 1 to {MAX_SUPPRESSION_DAYS}"),
        ));
    }
    let new = NewSuppression {
        rule_id,
        host,
        field,
        value,
        reason,
        expires_at: app.calendar.now_ms() + input.days * 86_400_000,
    };
    let row = app.store.create_suppression(&new, &who.actor()).await?;
    if let Some(live) = &app.live {
        live.refresh_suppressions().await?;
    }
    Ok(row)
}

pub async fn list_suppressions(app: &App, _who: &Who) -> AppResult<Vec<Suppression>> {
    Ok(app.store.suppressions().await?)
}

pub async fn end_suppression(app: &App, who: &Who, id: &str) -> AppResult<Suppression> {
    who.require_edit("revoke suppression rules")?;
    let row = app.store.revoke_suppression(id, &who.actor()).await?;
    if let Some(live) = &app.live {
        live.refresh_suppressions().await?;
    }
    Ok(row)
}
