//! Retention: old alerts go, and the raw events kept on alerts of long-closed cases are
//! cleared. An alert still tied to an open case is never deleted. One transaction, one audit
//! entry when anything changed.

use crate::audit::{self, NONE};
use crate::{Actor, Result, Store};
use serde::Serialize;

/// Cut-offs in epoch milliseconds; `None` keeps that kind of data forever.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RetentionCutoffs {
    /// Alerts last seen before this, not tied to an open case, are deleted.
    pub alerts_before: Option<i64>,
    /// Cases closed before this lose the raw events kept on their alerts.
    pub closed_case_events_before: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionOutcome {
    pub alerts_deleted: u64,
    pub hits_forgotten: u64,
    pub alerts_events_cleared: u64,
}

impl RetentionOutcome {
    pub fn changed(&self) -> bool {
        self.alerts_deleted + self.hits_forgotten + self.alerts_events_cleared > 0
    }
}

impl Store {
    pub async fn apply_retention(
        &self,
        actor: &Actor,
        cutoffs: &RetentionCutoffs,
    ) -> Result<RetentionOutcome> {
        let mut tx = self.writer.begin().await?;
        let mut outcome = RetentionOutcome::default();
        if let Some(before) = cutoffs.closed_case_events_before {
            outcome.alerts_events_cleared = sqlx::query(
                "UPDATE alerts SET events = '[]' WHERE events <> '[]' AND case_id IN
                 (SELECT id FROM cases WHERE status IN ('closed', 'rejected') AND closed_at < $1)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if let Some(before) = cutoffs.alerts_before {
            outcome.alerts_deleted = sqlx::query(
                "DELETE FROM alerts WHERE last_seen < $1 AND (case_id IS NULL OR case_id IN
                 (SELECT id FROM cases WHERE status IN ('closed', 'rejected')))",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Hit keys only stop a resent event from counting twice; past the alert window
            // nothing is resent, and the alerts they counted on may be gone.
            outcome.hits_forgotten = sqlx::query(
                "DELETE FROM alert_hits WHERE seen_at < $1
                 OR alert_id NOT IN (SELECT id FROM alerts)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if outcome.changed() {
            #[derive(Serialize)]
            struct Record<'a> {
                cutoffs: &'a RetentionCutoffs,
                outcome: &'a RetentionOutcome,
            }
            audit::record(
                &mut tx,
                actor,
                "retention.apply",
                "retention",
                "",
                NONE,
                Some(&Record {
                    cutoffs,
                    outcome: &outcome,
                }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}
