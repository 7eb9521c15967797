//! The outbound mail queue and the messages received for existing reports.

use crate::{new_id, now_ms, Result, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboundMail {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub purpose: String,
    pub report_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct ReportMessage {
    pub id: String,
    pub report_id: String,
    pub from_addr: String,
    pub subject: String,
    pub body: String,
    pub eml_sha256: String,
    pub received_at: i64,
}

const MAIL_COLUMNS: &str = "id, to_addr, subject, body, purpose, report_id, status, attempts, next_attempt_at, last_error, created_at, sent_at";

impl Store {
    /// Queues a message and the job that sends it.
    pub async fn enqueue_mail(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        purpose: &str,
        report_id: Option<&str>,
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        let out = tx
            .enqueue_mail(to, subject, body, purpose, report_id)
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn mail_by_id(&self, id: &str) -> Result<OutboundMail> {
        let sql = format!("SELECT {MAIL_COLUMNS} FROM outbound_mail WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("mail {id}")))
    }

    pub async fn mark_mail_sent(&self, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE outbound_mail SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = '' WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_at`, or given up (`None`).
    pub async fn mark_mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let (status, next) = match retry_at {
            Some(t) => ("queued", t),
            None => ("failed", now_ms()),
        };
        sqlx::query(
            "UPDATE outbound_mail SET status = $1, attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(next)
        .bind(error.chars().take(1000).collect::<String>())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The queue, newest first, for the admin page and the API.
    pub async fn list_mail(&self, limit: i64) -> Result<Vec<OutboundMail>> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM outbound_mail ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn add_report_message(
        &self,
        report_id: &str,
        from: &str,
        subject: &str,
        body: &str,
        eml_sha256: &str,
    ) -> Result<ReportMessage> {
        let m = ReportMessage {
            id: new_id(),
            report_id: report_id.to_string(),
            from_addr: from.to_string(),
            subject: subject.to_string(),
            body: body.to_string(),
            eml_sha256: eml_sha256.to_string(),
            received_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO report_messages (id, report_id, from_addr, subject, body, eml_sha256, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&m.id)
        .bind(&m.report_id)
        .bind(&m.from_addr)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(&m.eml_sha256)
        .bind(m.received_at)
        .execute(&self.writer)
        .await?;
        Ok(m)
    }

    pub async fn report_messages(&self, report_id: &str) -> Result<Vec<ReportMessage>> {
        Ok(sqlx::query_as(
            "SELECT id, report_id, from_addr, subject, body, eml_sha256, received_at FROM report_messages WHERE report_id = $1 ORDER BY received_at, id",
        )
        .bind(report_id)
        .fetch_all(&self.reader)
        .await?)
    }
}

impl crate::Tx {
    /// Queues a message and the job that sends it.
    pub async fn enqueue_mail(
        &mut self,
        to: &str,
        subject: &str,
        body: &str,
        purpose: &str,
        report_id: Option<&str>,
    ) -> Result<String> {
        let tx = self.conn();
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO outbound_mail (id, to_addr, subject, body, purpose, report_id, status, attempts, next_attempt_at, last_error, created_at, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, '', $8, NULL)",
        )
        .bind(&id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(purpose)
        .bind(report_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        crate::jobs::enqueue_mail_job(tx, &id).await?;
        Ok(id)
    }
}

impl crate::Tx {
    /// Messages of `purpose` queued to `to` since `since` (ms), in this transaction's view.
    pub async fn count_mail_to(&mut self, to: &str, purpose: &str, since: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbound_mail WHERE lower(to_addr) = lower($1) AND purpose = $2 AND created_at >= $3",
        )
        .bind(to)
        .bind(purpose)
        .bind(since)
        .fetch_one(self.conn())
        .await?;
        Ok(n)
    }
}
