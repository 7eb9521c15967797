//! Alerts from live monitoring. Repeats of the same rule on the same host and user within a
//! window fold into one alert with a count; a few of the matching events are kept.

use crate::{new_id, Result, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Alert {
    pub id: String,
    pub dedup_key: String,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    /// JSON array of ATT&CK and other tags.
    pub tags: String,
    pub source: String,
    pub host: String,
    pub user_name: String,
    pub status: String,
    pub count: i64,
    /// JSON array of matching events (at most `KEEP_EVENTS`, each size-capped by the caller).
    pub events: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub created_at: i64,
    pub status_reason: String,
    pub status_by: String,
    pub status_at: Option<i64>,
}

/// One detection to record.
#[derive(Debug, Clone)]
pub struct NewHit {
    pub dedup_key: String,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub tags: String,
    pub source: String,
    pub host: String,
    pub user_name: String,
    pub event_json: String,
    pub seen_at: i64,
}

/// Events kept per alert; the count goes on.
pub const KEEP_EVENTS: usize = 10;

const ALERT_COLUMNS: &str = "id, dedup_key, rule_id, rule_title, level, tags, source, host, user_name, status, count, events, first_seen, last_seen, created_at, status_reason, status_by, status_at";
/// The columns a new alert is inserted with (the status columns keep their defaults).
const INSERT_COLUMNS: &str = "id, dedup_key, rule_id, rule_title, level, tags, source, host, user_name, status, count, events, first_seen, last_seen, created_at";

impl Store {
    /// Records a batch of hits in one transaction: each folds into an open alert with the same
    /// key seen within `window_ms`, or starts a new one. Returns how many alerts were created.
    pub async fn record_hits(&self, hits: &[NewHit], window_ms: i64) -> Result<usize> {
        let mut created = 0;
        let mut tx = self.writer.begin().await?;
        for hit in hits {
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE dedup_key = $1 AND status IN ('new', 'acknowledged') AND last_seen >= $2 ORDER BY last_seen DESC LIMIT 1"
            );
            let open: Option<Alert> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&hit.dedup_key)
                .bind(hit.seen_at - window_ms)
                .fetch_optional(&mut *tx)
                .await?;
            match open {
                Some(alert) => {
                    let mut events: Vec<serde_json::Value> =
                        serde_json::from_str(&alert.events).unwrap_or_default();
                    if events.len() < KEEP_EVENTS {
                        events.push(serde_json::from_str(&hit.event_json).unwrap_or_default());
                    }
                    sqlx::query(
                        "UPDATE alerts SET count = count + 1, last_seen = $1, events = $2 WHERE id = $3",
                    )
                    .bind(hit.seen_at.max(alert.last_seen))
                    .bind(serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()))
                    .bind(&alert.id)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    let sql = format!("INSERT INTO alerts ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'new', 1, $10, $11, $12, $13)");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(new_id())
                        .bind(&hit.dedup_key)
                        .bind(&hit.rule_id)
                        .bind(&hit.rule_title)
                        .bind(&hit.level)
                        .bind(&hit.tags)
                        .bind(&hit.source)
                        .bind(&hit.host)
                        .bind(&hit.user_name)
                        .bind(format!("[{}]", hit.event_json))
                        .bind(hit.seen_at)
                        .bind(hit.seen_at)
                        .bind(crate::now_ms())
                        .execute(&mut *tx)
                        .await?;
                    created += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Moves an alert to another state, audited with before and after.
    pub async fn set_alert_status(
        &self,
        id: &str,
        status: &str,
        reason: &str,
        actor: &crate::Actor,
    ) -> Result<Alert> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let before: Alert = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("alert {id}")))?;
        sqlx::query(
            "UPDATE alerts SET status = $1, status_reason = $2, status_by = $3, status_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(reason)
        .bind(&actor.username)
        .bind(crate::now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after: Alert = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "alert.status",
            "alert",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Alerts, most recently seen first, optionally narrowed by status, level, rule or host.
    pub async fn list_alerts(
        &self,
        status: Option<&str>,
        level: Option<&str>,
        rule: Option<&str>,
        host: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Alert>> {
        let mut params = crate::params::Params::default();
        let mut clauses = Vec::new();
        for (column, value) in [
            ("status", status),
            ("level", level),
            ("rule_id", rule),
            ("host", host),
        ] {
            if let Some(v) = value {
                clauses.push(format!("{column} = {}", params.text(v)));
            }
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit_param = params.int(limit);
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {filter} ORDER BY last_seen DESC, id DESC LIMIT {limit_param}"
        );
        Ok(
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), params.into_args())
                .fetch_all(&self.reader)
                .await?,
        )
    }
}
