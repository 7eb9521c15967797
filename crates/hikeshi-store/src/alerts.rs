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
    pub src_ip: String,
    pub dst_ip: String,
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
    /// The case it was escalated to.
    pub case_id: Option<String>,
    /// The suppression rule that silenced it (status `suppressed`).
    pub suppression_id: Option<String>,
}

/// One detection to record.
#[derive(Debug, Clone)]
pub struct NewHit {
    /// The event's identity and the rule: a hit with a key already recorded is not counted again.
    pub hit_key: String,
    pub dedup_key: String,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub tags: String,
    pub source: String,
    pub host: String,
    pub user_name: String,
    pub src_ip: String,
    pub dst_ip: String,
    pub event_json: String,
    pub seen_at: i64,
    /// Set when a suppression rule matched: the hit is counted on a `suppressed` alert.
    pub suppression_id: Option<String>,
    /// The event says a control stopped it (firewall deny, EDR block…).
    pub blocked: bool,
}

/// What recording a batch of hits did.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Alerts created by this batch (not suppressed ones).
    pub created: Vec<Alert>,
    /// Hits counted onto an alert.
    pub counted: usize,
    /// Hits already recorded before (a resent or redelivered event).
    pub repeated: usize,
    pub suppressed: usize,
    /// Each hit counted for the first time and not suppressed: (its index in the batch, the
    /// alert it went to). What response policies look at.
    pub fresh: Vec<(usize, String)>,
}

/// Events kept per alert; the count goes on.
pub const KEEP_EVENTS: usize = 10;

const ALERT_COLUMNS: &str = "id, dedup_key, rule_id, rule_title, level, tags, source, host, user_name, src_ip, dst_ip, status, count, events, first_seen, last_seen, created_at, status_reason, status_by, status_at, case_id, suppression_id";
/// The columns a new alert is inserted with (the status columns keep their defaults).
const INSERT_COLUMNS: &str = "id, dedup_key, rule_id, rule_title, level, tags, source, host, user_name, src_ip, dst_ip, status, count, events, first_seen, last_seen, created_at, suppression_id, blocked";

/// Where new hits fold: open alerts, or the suppressed alert of the same key.
const OPEN_STATES: &str = "'new', 'acknowledged', 'escalated'";

impl Store {
    /// Records a batch of hits in one transaction: each folds into an open alert with the same
    /// key seen within `window_ms`, or starts a new one. A hit whose key was recorded before is
    /// skipped, so a batch can be safely written again after a crash or a redelivery.
    pub async fn record_hits(&self, hits: &[NewHit], window_ms: i64) -> Result<Recorded> {
        let mut out = Recorded::default();
        if hits.is_empty() {
            return Ok(out);
        }
        // One order for every writer, so two transactions never wait on each other's keys.
        let mut order: Vec<(usize, &NewHit)> = hits.iter().enumerate().collect();
        order.sort_by(|(_, a), (_, b)| (&a.dedup_key, &a.hit_key).cmp(&(&b.dedup_key, &b.hit_key)));
        let mut tx = self.writer.begin().await?;
        for (index, hit) in order {
            sqlx::query(
                "INSERT INTO alert_locks (dedup_key) VALUES ($1) ON CONFLICT (dedup_key) DO UPDATE SET dedup_key = excluded.dedup_key",
            )
            .bind(&hit.dedup_key)
            .execute(&mut *tx)
            .await?;
            let states = if hit.suppression_id.is_some() {
                "'suppressed'"
            } else {
                OPEN_STATES
            };
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE dedup_key = $1 AND status IN ({states}) AND last_seen >= $2 ORDER BY last_seen DESC LIMIT 1"
            );
            let open: Option<Alert> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&hit.dedup_key)
                .bind(hit.seen_at - window_ms)
                .fetch_optional(&mut *tx)
                .await?;
            let alert_id = open.as_ref().map(|a| a.id.clone()).unwrap_or_else(new_id);
            let fresh = sqlx::query(
                "INSERT INTO alert_hits (hit_key, alert_id, seen_at) VALUES ($1, $2, $3) ON CONFLICT (hit_key) DO NOTHING",
            )
            .bind(&hit.hit_key)
            .bind(&alert_id)
            .bind(hit.seen_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if fresh == 0 {
                out.repeated += 1;
                continue;
            }
            out.counted += 1;
            if hit.suppression_id.is_none() {
                out.fresh.push((index, alert_id.clone()));
            }
            if let Some(id) = &hit.suppression_id {
                out.suppressed += 1;
                sqlx::query("UPDATE suppressions SET hits = hits + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
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
                    let status = if hit.suppression_id.is_some() {
                        "suppressed"
                    } else {
                        "new"
                    };
                    let sql = format!("INSERT INTO alerts ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15, $16, $17, $18)");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&alert_id)
                        .bind(&hit.dedup_key)
                        .bind(&hit.rule_id)
                        .bind(&hit.rule_title)
                        .bind(&hit.level)
                        .bind(&hit.tags)
                        .bind(&hit.source)
                        .bind(&hit.host)
                        .bind(&hit.user_name)
                        .bind(&hit.src_ip)
                        .bind(&hit.dst_ip)
                        .bind(status)
                        .bind(format!("[{}]", hit.event_json))
                        .bind(hit.seen_at)
                        .bind(hit.seen_at)
                        .bind(crate::now_ms())
                        .bind(&hit.suppression_id)
                        .bind(i64::from(hit.blocked))
                        .execute(&mut *tx)
                        .await?;
                    if hit.suppression_id.is_none() {
                        out.created.push(alert_in_tx(&mut tx, &alert_id).await?);
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn alert_by_id(&self, id: &str) -> Result<Alert> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("alert {id}")))
    }

    /// Marks an alert escalated to a case, audited. An alert already on a case keeps it.
    pub async fn link_alert_to_case(
        &self,
        id: &str,
        case_id: &str,
        actor: &crate::Actor,
    ) -> Result<Alert> {
        let mut tx = self.begin().await?;
        let out = tx.link_alert_to_case(id, case_id, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The open case that alerts with this grouping key go to, if one was made since `since`.
    pub async fn group_case(&self, group_key: &str, since: i64) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let out = tx.group_case(group_key, since).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn remember_group(&self, group_key: &str, case_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.remember_group(group_key, case_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Alerts on a case, first seen first.
    pub async fn alerts_of_case(&self, case_id: &str) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE case_id = $1 ORDER BY first_seen, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Newest hit and newest state change over all alerts: a cheap "has anything changed?".
    /// Each maximum is read from its own index, so the cost does not grow with the table (a
    /// new alert or a folded hit moves `last_seen`, a state change moves `status_at`).
    pub async fn alerts_watermark(&self) -> Result<(i64, i64)> {
        let row: (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT MAX(last_seen) FROM alerts), (SELECT MAX(status_at) FROM alerts)",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok((row.0.unwrap_or(0), row.1.unwrap_or(0)))
    }

    /// Moves an alert to another state, audited with before and after.
    pub async fn set_alert_status(
        &self,
        id: &str,
        status: &str,
        reason: &str,
        actor: &crate::Actor,
    ) -> Result<Alert> {
        let mut tx = self.begin().await?;
        let out = tx.set_alert_status(id, status, reason, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Alerts, most recently seen first, optionally narrowed by status (one or a comma-separated
    /// list), level, rule or host.
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
        // Several states may be asked for at once: `new,acknowledged`.
        if let Some(list) = status {
            let states: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| params.text(s))
                .collect();
            if !states.is_empty() {
                clauses.push(format!("status IN ({})", states.join(", ")));
            }
        }
        for (column, value) in [("level", level), ("rule_id", rule), ("host", host)] {
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

impl Store {
    /// Alerts first seen from `since` on, oldest first (a replay's input), at most `limit`.
    pub async fn alerts_since(&self, since: i64, limit: i64) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE first_seen >= $1 ORDER BY first_seen, id LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?)
    }
}

async fn alert_in_tx(tx: &mut sqlx::AnyConnection, id: &str) -> Result<Alert> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| crate::StoreError::NotFound(format!("alert {id}")))
}

/// Reads the alert as changed and records the change with before and after.
async fn finish_change(
    tx: &mut sqlx::AnyConnection,
    actor: &crate::Actor,
    action: &str,
    before: Alert,
) -> Result<Alert> {
    let after = alert_in_tx(tx, &before.id).await?;
    crate::audit::record(
        tx,
        actor,
        action,
        "alert",
        &before.id,
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}

impl crate::Tx {
    /// Marks an alert escalated to a case, audited. An alert already on a case keeps it.
    pub async fn link_alert_to_case(
        &mut self,
        id: &str,
        case_id: &str,
        actor: &crate::Actor,
    ) -> Result<Alert> {
        let tx = self.conn();
        let before = alert_in_tx(&mut *tx, id).await?;
        if let Some(existing) = &before.case_id {
            if existing != case_id {
                return Err(crate::StoreError::Conflict(format!(
                    "alert {id} is already on another case"
                )));
            }
        }
        sqlx::query(
            "UPDATE alerts SET status = 'escalated', case_id = $1, status_by = $2, status_at = $3 WHERE id = $4",
        )
        .bind(case_id)
        .bind(&actor.username)
        .bind(crate::now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = finish_change(&mut *tx, actor, "alert.escalate", before).await?;
        Ok(after)
    }

    /// Moves an alert to another state, audited with before and after.
    pub async fn set_alert_status(
        &mut self,
        id: &str,
        status: &str,
        reason: &str,
        actor: &crate::Actor,
    ) -> Result<Alert> {
        let tx = self.conn();
        let before = alert_in_tx(&mut *tx, id).await?;
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
        let after = finish_change(&mut *tx, actor, "alert.status", before).await?;
        Ok(after)
    }

    pub async fn remember_group(&mut self, group_key: &str, case_id: &str) -> Result<()> {
        let tx = self.conn();
        sqlx::query(
            "INSERT INTO alert_groups (group_key, case_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(group_key)
        .bind(case_id)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

impl crate::Tx {
    /// The open case that alerts with this grouping key go to, if one was made since `since`.
    pub async fn group_case(&mut self, group_key: &str, since: i64) -> Result<Option<String>> {
        let tx = self.conn();
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT g.case_id FROM alert_groups g JOIN cases c ON c.id = g.case_id WHERE g.group_key = $1 AND g.created_at >= $2 AND c.status IN ('new', 'triage', 'in_progress') AND c.merged_into IS NULL ORDER BY g.created_at DESC LIMIT 1",
        )
        .bind(group_key)
        .bind(since)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.map(|r| r.0))
    }
}
