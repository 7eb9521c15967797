//! Deliveries of `vuls report -to-http`: one row per distinct body, written with the job that
//! imports it and the audit entry in one transaction.

use crate::{Actor, Result, Store};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VulsDelivery {
    pub sha256: String,
    pub received_at: i64,
    pub bytes: i64,
    pub server_name: String,
    pub received_by: String,
    pub state: String,
    pub outcome: String,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "sha256, received_at, bytes, server_name, received_by, state, outcome, updated_at";

/// The job kind that imports a stored delivery.
pub const VULS_DELIVERY_JOB: &str = "vuls-delivery-import";

impl Store {
    /// Records a new delivery and queues its import; `false` (nothing written) when this body
    /// was delivered before.
    pub async fn record_vuls_delivery(&self, d: &VulsDelivery, actor: &Actor) -> Result<bool> {
        self.write(async |tx| {
            let sql = format!(
                "INSERT INTO vuls_deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING"
            );
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&d.sha256)
                .bind(d.received_at)
                .bind(d.bytes)
                .bind(&d.server_name)
                .bind(&d.received_by)
                .bind(&d.state)
                .bind(&d.outcome)
                .bind(d.updated_at)
                .execute(tx.conn())
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            tx.enqueue_job(
                VULS_DELIVERY_JOB,
                &serde_json::json!({ "sha256": d.sha256 }),
                None,
            )
            .await?;
            crate::audit::record(
                tx.conn(),
                actor,
                "vulns.delivery_received",
                "vuls_delivery",
                &d.sha256,
                crate::audit::NONE,
                Some(d),
            )
            .await?;
            Ok(true)
        })
        .await
    }

    pub async fn vuls_delivery(&self, sha256: &str) -> Result<Option<VulsDelivery>> {
        let sql = format!("SELECT {COLUMNS} FROM vuls_deliveries WHERE sha256 = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(sha256)
            .fetch_optional(&self.writer)
            .await?)
    }

    /// The import's end: `imported` or `refused`, with what it did or why not.
    pub async fn finish_vuls_delivery(
        &self,
        sha256: &str,
        state: &str,
        outcome: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE vuls_deliveries SET state = $1, outcome = $2, updated_at = $3 WHERE sha256 = $4",
        )
        .bind(state)
        .bind(outcome)
        .bind(now)
        .bind(sha256)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
