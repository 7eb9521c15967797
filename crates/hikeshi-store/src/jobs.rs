//! The durable jobs table: work queued in a use case's transaction and done later by a runner.
//! A runner claims due jobs with a lease (`locked_until`); a job whose runner died is claimed
//! again when its lease runs out. PostgreSQL runners skip rows another runner holds
//! (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, which serialises the claims anyway.

use crate::{new_id, now_ms, Backend, Result, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    /// JSON, the job's own input.
    pub payload: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    /// Attempts started, this one included while it runs.
    pub attempts: i64,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, run_at, locked_until, last_error, created_at, updated_at, finished_at";

/// The states a job can be in, for filters.
pub const JOB_STATES: &[&str] = &["queued", "running", "done", "dead"];

impl crate::Tx {
    /// Queues a job that becomes due at `run_at` (now when `None`); it runs only if this
    /// transaction commits. Returns its id.
    pub async fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Option<i64>,
    ) -> Result<String> {
        let id = new_id();
        insert_job(self.conn(), &id, kind, payload, run_at).await?;
        Ok(id)
    }
}

async fn insert_job(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    kind: &str,
    payload: &serde_json::Value,
    run_at: Option<i64>,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, run_at, locked_until, last_error, created_at, updated_at, finished_at)
         VALUES ($1, $2, $3, 'queued', 0, $4, NULL, '', $5, $5, NULL)",
    )
    .bind(id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(run_at.unwrap_or(now))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn enqueue_job(
        &self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Option<i64>,
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue_job(kind, payload, run_at).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims up to `limit` due jobs of the given kinds for `lease_ms`, counting the attempt.
    /// Jobs whose lease ran out (their runner stopped mid-way) are due again.
    pub async fn claim_jobs(&self, kinds: &[&str], lease_ms: i64, limit: i64) -> Result<Vec<Job>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let kind_list = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2
             WHERE id IN (SELECT id FROM jobs
                 WHERE ((state = 'queued' AND run_at <= $2) OR (state = 'running' AND locked_until < $2))
                   AND kind IN ({kind_list})
                 ORDER BY run_at LIMIT $3{skip_locked})
             RETURNING {JOB_COLUMNS}"
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        Ok(query.fetch_all(&self.writer).await?)
    }

    /// The job is done.
    pub async fn finish_job(&self, id: &str) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'done', locked_until = NULL, last_error = '', updated_at = $1, finished_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The attempt failed: due again at `retry_at`, or `dead` (no more attempts) when `None`.
    pub async fn fail_job(&self, id: &str, error: &str, retry_at: Option<i64>) -> Result<()> {
        let now = now_ms();
        let error: String = error.chars().take(2000).collect();
        let (state, run_at, finished) = match retry_at {
            Some(t) => ("queued", t, None),
            None => ("dead", now, Some(now)),
        };
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, locked_until = NULL, last_error = $3, updated_at = $4, finished_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(now)
        .bind(finished)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A dead job is queued again with its attempts reset (a person decided to retry it).
    pub async fn retry_job(&self, id: &str, actor: &crate::Actor) -> Result<Job> {
        let mut tx = self.begin().await?;
        let before = job_in_tx(tx.conn(), id).await?;
        if before.state != "dead" {
            return Err(crate::StoreError::Conflict(format!(
                "job {id} is {}, only dead jobs are retried",
                before.state
            )));
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        let after = job_in_tx(tx.conn(), id).await?;
        crate::audit::record(
            tx.conn(),
            actor,
            "job.retry",
            "job",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn job(&self, id: &str) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("job {id}")))
    }

    /// Jobs, newest first, optionally of one state.
    pub async fn list_jobs(&self, state: Option<&str>, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = '' OR state = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(state.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Jobs per state, for the page's summary.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
                .fetch_all(&self.reader)
                .await?,
        )
    }

    /// Forgets finished jobs older than `before` (dead ones stay until someone retries them).
    pub async fn purge_done_jobs(&self, before: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
                .bind(before)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }
}

async fn job_in_tx(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Job> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| crate::StoreError::NotFound(format!("job {id}")))
}

/// Queues the sending of a mail row in the same transaction.
pub(crate) async fn enqueue_mail_job(conn: &mut sqlx::AnyConnection, mail_id: &str) -> Result<()> {
    let payload = serde_json::json!({ "mail_id": mail_id });
    insert_job(conn, &format!("mail-{mail_id}"), MAIL_SEND, &payload, None).await
}

/// The kind of the job that sends one row of `outbound_mail`.
pub const MAIL_SEND: &str = "mail.send";
