//! Hourly roll-ups of alerts, so that the dashboard reads a month of alerts from a few
//! thousand rows instead of millions, and the record of which log sources send events.

use crate::{now_ms, Result, Store};
use serde::Serialize;
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
/// Alerts are stamped by the writer's clock; an hour is rolled up only this long after its
/// end, so that a slow commit or a worker with a skewed clock is not left out.
const SETTLE_MS: i64 = 10 * 60_000;
/// One roll-up transaction covers at most this much time, to keep transactions short.
const CHUNK_MS: i64 = 7 * 24 * HOUR_MS;

/// Alerts of one rule at one level in a period.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RuleCount {
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    pub tags: String,
    pub alerts: i64,
    pub hits: i64,
    /// Alerts whose first event says a control stopped it.
    pub blocked: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SourceActivity {
    pub source: String,
    pub events: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Names the department of a host ('' when the host is not in the inventory).
pub type DepartmentOf<'a> = &'a (dyn Fn(&str) -> String + Sync);

/// The last hour that may be rolled up now.
pub fn settled_hour() -> i64 {
    (now_ms() - SETTLE_MS).div_euclid(HOUR_MS) * HOUR_MS
}

impl Store {
    /// Alerts created before this are in the hourly tables.
    pub async fn rolled_until(&self) -> Result<i64> {
        let (t,): (i64,) =
            sqlx::query_as("SELECT rolled_until FROM alert_rollup_state WHERE name = 'alerts'")
                .fetch_one(&self.reader)
                .await?;
        Ok(t)
    }

    /// Rolls every settled hour not yet rolled up; returns up to where alerts are rolled.
    pub async fn roll_up_alerts(&self, department_of: DepartmentOf<'_>) -> Result<i64> {
        let target = settled_hour();
        let mut chunks = 0;
        loop {
            let mut tx = self.writer.begin().await?;
            // The no-op update takes the row lock, so two servers do not roll the same hours.
            let (from,): (i64,) = sqlx::query_as(
                "UPDATE alert_rollup_state SET rolled_until = rolled_until WHERE name = 'alerts' RETURNING rolled_until",
            )
            .fetch_one(&mut *tx)
            .await?;
            if from >= target {
                tx.commit().await?;
                // After a catch-up the planner's statistics do not know the new rows yet, and
                // a month's query then scans the whole table; refresh them now.
                if chunks > 1 && self.backend() == crate::Backend::Postgres {
                    sqlx::query("ANALYZE alert_rule_hourly, alert_department_hourly")
                        .execute(&self.writer)
                        .await?;
                }
                return Ok(from);
            }
            chunks += 1;
            // The first roll-up starts at the oldest alert, not at 1970.
            let from = if from == 0 {
                let (oldest,): (Option<i64>,) =
                    sqlx::query_as("SELECT MIN(created_at) FROM alerts")
                        .fetch_one(&mut *tx)
                        .await?;
                oldest
                    .map_or(target, |t| t.div_euclid(HOUR_MS) * HOUR_MS)
                    .min(target)
            } else {
                from
            };
            let to = (from + CHUNK_MS).min(target);
            sqlx::query(
                "INSERT INTO alert_rule_hourly (hour, rule_id, level, rule_title, tags, alerts, hits, blocked)
                 SELECT (created_at / 3600000) * 3600000, rule_id, level, MAX(rule_title), MAX(tags), COUNT(*),
                        CAST(SUM(count) AS BIGINT), CAST(SUM(blocked) AS BIGINT)
                 FROM alerts WHERE created_at >= $1 AND created_at < $2
                 GROUP BY (created_at / 3600000) * 3600000, rule_id, level",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
            let by_host: Vec<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT (created_at / 3600000) * 3600000 AS hour, host, level, COUNT(*) FROM alerts
                 WHERE created_at >= $1 AND created_at < $2
                 GROUP BY (created_at / 3600000) * 3600000, host, level",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?;
            let mut by_department: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
            let mut known: std::collections::HashMap<String, String> = Default::default();
            for (hour, host, level, n) in by_host {
                let department = known
                    .entry(host)
                    .or_insert_with_key(|h| department_of(h))
                    .clone();
                *by_department.entry((hour, department, level)).or_default() += n;
            }
            for ((hour, department, level), n) in by_department {
                sqlx::query(
                    "INSERT INTO alert_department_hourly (hour, department, level, alerts) VALUES ($1, $2, $3, $4)",
                )
                .bind(hour)
                .bind(department)
                .bind(level)
                .bind(n)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE alert_rollup_state SET rolled_until = $1 WHERE name = 'alerts'")
                .bind(to)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }

    /// Alerts created in [from, to) by rule and level: rolled hours from the roll-up, the rest
    /// (the hours not rolled yet) from the alerts themselves. `from` and `to` should be whole
    /// hours.
    pub async fn alert_counts_by_rule(&self, from: i64, to: i64) -> Result<Vec<RuleCount>> {
        let rolled = self.rolled_until().await?;
        let mut rows: Vec<RuleCount> = sqlx::query_as(
            "SELECT rule_id, MAX(rule_title) AS rule_title, level, MAX(tags) AS tags,
                    CAST(SUM(alerts) AS BIGINT) AS alerts, CAST(SUM(hits) AS BIGINT) AS hits,
                    CAST(SUM(blocked) AS BIGINT) AS blocked
             FROM alert_rule_hourly WHERE hour >= $1 AND hour < $2 AND hour < $3
             GROUP BY rule_id, level",
        )
        .bind(from)
        .bind(to)
        .bind(rolled)
        .fetch_all(&self.reader)
        .await?;
        if to > rolled {
            let live: Vec<RuleCount> = sqlx::query_as(
                "SELECT rule_id, MAX(rule_title) AS rule_title, level, MAX(tags) AS tags,
                        COUNT(*) AS alerts, CAST(SUM(count) AS BIGINT) AS hits,
                        CAST(SUM(blocked) AS BIGINT) AS blocked
                 FROM alerts WHERE created_at >= $1 AND created_at < $2
                 GROUP BY rule_id, level",
            )
            .bind(from.max(rolled))
            .bind(to)
            .fetch_all(&self.reader)
            .await?;
            for row in live {
                match rows
                    .iter_mut()
                    .find(|r| r.rule_id == row.rule_id && r.level == row.level)
                {
                    Some(r) => {
                        r.alerts += row.alerts;
                        r.hits += row.hits;
                        r.blocked += row.blocked;
                    }
                    None => rows.push(row),
                }
            }
        }
        rows.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.rule_id.cmp(&b.rule_id)));
        Ok(rows)
    }

    /// Alerts created in [from, to) by the department of the host they hit, most first.
    pub async fn alert_counts_by_department(
        &self,
        from: i64,
        to: i64,
        department_of: DepartmentOf<'_>,
    ) -> Result<Vec<(String, i64)>> {
        let rolled = self.rolled_until().await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT department, CAST(SUM(alerts) AS BIGINT) FROM alert_department_hourly
             WHERE hour >= $1 AND hour < $2 AND hour < $3 GROUP BY department",
        )
        .bind(from)
        .bind(to)
        .bind(rolled)
        .fetch_all(&self.reader)
        .await?;
        let mut total: BTreeMap<String, i64> = rows.into_iter().collect();
        if to > rolled {
            let live: Vec<(String, i64)> = sqlx::query_as(
                "SELECT host, COUNT(*) FROM alerts WHERE created_at >= $1 AND created_at < $2 GROUP BY host",
            )
            .bind(from.max(rolled))
            .bind(to)
            .fetch_all(&self.reader)
            .await?;
            for (host, n) in live {
                *total.entry(department_of(&host)).or_default() += n;
            }
        }
        let mut out: Vec<(String, i64)> = total.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Counts a committed batch of events from a live source.
    pub async fn note_source_activity(&self, source: &str, events: i64) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO source_activity (source, events, first_seen, last_seen) VALUES ($1, $2, $3, $3)
             ON CONFLICT (source) DO UPDATE SET events = source_activity.events + $2, last_seen = $3",
        )
        .bind(source)
        .bind(events)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn source_activity(&self) -> Result<Vec<SourceActivity>> {
        Ok(sqlx::query_as(
            "SELECT source, events, first_seen, last_seen FROM source_activity ORDER BY source",
        )
        .fetch_all(&self.reader)
        .await?)
    }
}
