//! `[retention]`: how long alerts and the raw events kept on them are held. Off (kept forever)
//! unless configured; applied every hour in the background. Each run that removes anything
//! leaves an audit entry.

use crate::{App, AppResult, Who};
use hikeshi_store::{RetentionCutoffs, RetentionOutcome};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const APPLY_EVERY: Duration = Duration::from_secs(3600);
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Alerts last seen more than this many days ago are deleted, unless tied to a case that
    /// is still open.
    pub alert_days: Option<u32>,
    /// The raw events kept on the alerts of cases closed more than this many days ago are
    /// cleared; the alerts themselves (rule, host, count) stay.
    pub closed_case_event_days: Option<u32>,
}

impl RetentionSettings {
    pub fn is_off(&self) -> bool {
        self.alert_days.is_none() && self.closed_case_event_days.is_none()
    }

    fn cutoffs(&self, now_ms: i64) -> RetentionCutoffs {
        let before = |days: Option<u32>| days.map(|d| now_ms - i64::from(d) * DAY_MS);
        RetentionCutoffs {
            alerts_before: before(self.alert_days),
            closed_case_events_before: before(self.closed_case_event_days),
        }
    }
}

/// Applies the configured retention now.
pub async fn apply(app: &App, who: &Who) -> AppResult<RetentionOutcome> {
    who.require(who.system || who.role.is_admin(), "apply retention")?;
    let cutoffs = app.config.retention.cutoffs(app.calendar.now_ms());
    let outcome = app.store.apply_retention(&who.actor(), &cutoffs).await?;
    if outcome.changed() {
        tracing::info!(?outcome, "retention applied");
    }
    Ok(outcome)
}
