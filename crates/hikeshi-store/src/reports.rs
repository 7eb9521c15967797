//! Reports that came in through the point of contact, their indicators and attachments, the
//! triage decision on each, and the team's published profile.

use crate::audit::{record, NONE};
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Report {
    pub id: String,
    pub tracking: String,
    pub source: String,
    pub status: String,
    pub lang: String,
    pub reporter_name: String,
    pub reporter_contact: String,
    pub reporter_org: String,
    pub subject: String,
    pub body: String,
    pub occurred: String,
    pub affected: String,
    pub indicators: String,
    pub tlp: String,
    pub suggested_category: String,
    pub suggestion_reason_ja: String,
    pub suggestion_reason_en: String,
    pub remote_addr: String,
    pub case_id: Option<String>,
    pub decision_reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    /// `incident`, or `product_vulnerability` (the reporter chose the PSIRT).
    pub kind: String,
    /// How a researcher wants to be named in an advisory; empty: not credited.
    pub credit: String,
}

/// A report to store: the caller has validated the fields and made the tracking number.
#[derive(Debug, Clone, Default)]
pub struct NewReport {
    pub tracking: String,
    pub source: String,
    pub lang: String,
    pub reporter_name: String,
    pub reporter_contact: String,
    pub reporter_org: String,
    pub subject: String,
    pub body: String,
    pub occurred: String,
    pub affected: String,
    pub indicators: String,
    pub tlp: String,
    pub suggested_category: String,
    pub suggestion_reason_ja: String,
    pub suggestion_reason_en: String,
    pub remote_addr: String,
    pub kind: String,
    pub credit: String,
    /// Canonical (kind, value) pairs found in the report.
    pub observables: Vec<(String, String)>,
    pub attachments: Vec<NewAttachment>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub content_type: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportAttachment {
    pub id: String,
    pub report_id: String,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportObservable {
    pub kind: String,
    pub value: String,
}

/// Another report that looks like the same thing, and why.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportDuplicate {
    pub tracking: String,
    pub subject: String,
    pub created_at: i64,
    /// `kind:value` of a shared indicator, or `reporter`.
    pub reason: String,
}

/// A triage decision.
#[derive(Debug, Clone)]
pub struct Decision {
    pub status: String,
    pub case_id: Option<String>,
    pub reason: String,
}

const REPORT_COLUMNS: &str =
    "id, tracking, source, status, lang, reporter_name, reporter_contact, \
    reporter_org, subject, body, occurred, affected, indicators, tlp, suggested_category, \
    suggestion_reason_ja, suggestion_reason_en, remote_addr, case_id, decision_reason, decided_by, \
    decided_at, created_by, created_at, kind, credit";

/// Reports older than this are not offered as duplicates.
const DUPLICATE_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

impl Store {
    pub async fn create_report(&self, new: &NewReport, actor: &Actor) -> Result<Report> {
        let mut tx = self.begin().await?;
        let out = tx.create_report(new, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Reports, newest first; `status` narrows to one triage state.
    pub async fn list_reports(&self, status: Option<&str>, limit: i64) -> Result<Vec<Report>> {
        let (sql, bind_status) = match status {
            Some(_) => (
                format!("SELECT {REPORT_COLUMNS} FROM reports WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT $2"),
                true,
            ),
            None => (
                format!("SELECT {REPORT_COLUMNS} FROM reports ORDER BY created_at DESC, id DESC LIMIT $1"),
                false,
            ),
        };
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        if bind_status {
            q = q.bind(status.unwrap_or_default());
        }
        Ok(q.bind(limit).fetch_all(&self.reader).await?)
    }

    pub async fn report_by_tracking(&self, tracking: &str) -> Result<Report> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE tracking = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(tracking)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report {tracking}")))
    }

    pub async fn report_observables(&self, report_id: &str) -> Result<Vec<ReportObservable>> {
        Ok(sqlx::query_as(
            "SELECT kind, value FROM report_observables WHERE report_id = $1 ORDER BY kind, value",
        )
        .bind(report_id)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn report_attachments(&self, report_id: &str) -> Result<Vec<ReportAttachment>> {
        Ok(sqlx::query_as(
            "SELECT id, report_id, file_name, sha256, size_bytes, content_type, created_at
             FROM report_attachments WHERE report_id = $1 ORDER BY created_at, id",
        )
        .bind(report_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Other reports of the last week sharing an indicator with this one, or sent from the
    /// same contact.
    pub async fn report_duplicates(&self, report: &Report) -> Result<Vec<ReportDuplicate>> {
        let since = report.created_at - DUPLICATE_WINDOW_MS;
        let mut found: Vec<ReportDuplicate> = sqlx::query_as(
            "SELECT r.tracking, r.subject, r.created_at, o.kind || ':' || o.value AS reason
             FROM report_observables mine
             JOIN report_observables o ON o.kind = mine.kind AND o.value = mine.value AND o.report_id <> mine.report_id
             JOIN reports r ON r.id = o.report_id
             WHERE mine.report_id = $1 AND r.created_at >= $2
             ORDER BY r.created_at DESC LIMIT 50",
        )
        .bind(&report.id)
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        if !report.reporter_contact.is_empty() {
            let same: Vec<ReportDuplicate> = sqlx::query_as(
                "SELECT tracking, subject, created_at, 'reporter' AS reason FROM reports
                 WHERE reporter_contact = $1 AND id <> $2 AND created_at >= $3
                 ORDER BY created_at DESC LIMIT 20",
            )
            .bind(&report.reporter_contact)
            .bind(&report.id)
            .bind(since)
            .fetch_all(&self.reader)
            .await?;
            found.extend(same);
        }
        Ok(found)
    }

    /// Records the triage decision. Refused (conflict) when the report was already decided, so
    /// two handlers cannot both act on it.
    pub async fn decide_report(
        &self,
        tracking: &str,
        decision: &Decision,
        actor: &Actor,
    ) -> Result<Report> {
        let mut tx = self.begin().await?;
        let out = tx.decide_report(tracking, decision, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The team profile as (key, value) pairs.
    pub async fn team_profile(&self) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT key, value FROM team_profile ORDER BY key")
                .fetch_all(&self.reader)
                .await?,
        )
    }

    /// Replaces the given profile entries (others stay), audited.
    pub async fn set_team_profile(
        &self,
        entries: &[(String, String)],
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let before: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM team_profile ORDER BY key")
                .fetch_all(&mut *tx)
                .await?;
        for (key, value) in entries {
            sqlx::query("DELETE FROM team_profile WHERE key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO team_profile (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(value)
            .bind(&actor.username)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        record(
            &mut tx,
            actor,
            "team_profile.update",
            "team_profile",
            "team",
            Some(&before),
            Some(&entries),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl crate::Tx {
    /// Records the triage decision. Refused (conflict) when the report was already decided, so
    /// two handlers cannot both act on it.
    pub async fn decide_report(
        &mut self,
        tracking: &str,
        decision: &Decision,
        actor: &Actor,
    ) -> Result<Report> {
        let tx = self.conn();
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE tracking = $1");
        let before: Report = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(tracking)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report {tracking}")))?;
        if before.status != "new" {
            return Err(StoreError::Conflict(format!(
                "report {tracking} was already decided ({})",
                before.status
            )));
        }
        let now = now_ms();
        let changed = sqlx::query(
            "UPDATE reports SET status = $1, case_id = $2, decision_reason = $3, decided_by = $4, decided_at = $5
             WHERE id = $6 AND status = 'new'",
        )
        .bind(&decision.status)
        .bind(&decision.case_id)
        .bind(&decision.reason)
        .bind(&actor.username)
        .bind(now)
        .bind(&before.id)
        .execute(&mut *tx)
        .await?;
        // A concurrent decision committed between the read and this update (PostgreSQL re-checks
        // the condition after waiting for the row): this one loses, and its transaction with it.
        if changed.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "report {tracking} was already decided"
            )));
        }
        let after: Report = sqlx::query_as(AssertSqlSafe(sql))
            .bind(tracking)
            .fetch_one(&mut *tx)
            .await?;
        record(
            &mut *tx,
            actor,
            "report.decide",
            "report",
            &after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        Ok(after)
    }

    pub async fn create_report(&mut self, new: &NewReport, actor: &Actor) -> Result<Report> {
        let now = now_ms();
        let report = Report {
            id: new_id(),
            tracking: new.tracking.clone(),
            source: new.source.clone(),
            status: "new".into(),
            lang: new.lang.clone(),
            reporter_name: new.reporter_name.clone(),
            reporter_contact: new.reporter_contact.clone(),
            reporter_org: new.reporter_org.clone(),
            subject: new.subject.clone(),
            body: new.body.clone(),
            occurred: new.occurred.clone(),
            affected: new.affected.clone(),
            indicators: new.indicators.clone(),
            tlp: new.tlp.clone(),
            suggested_category: new.suggested_category.clone(),
            suggestion_reason_ja: new.suggestion_reason_ja.clone(),
            suggestion_reason_en: new.suggestion_reason_en.clone(),
            remote_addr: new.remote_addr.clone(),
            case_id: None,
            decision_reason: String::new(),
            decided_by: None,
            decided_at: None,
            created_by: actor.username.clone(),
            created_at: now,
            kind: if new.kind.is_empty() {
                "incident".into()
            } else {
                new.kind.clone()
            },
            credit: new.credit.clone(),
        };
        let tx = self.conn();
        let sql = format!(
            "INSERT INTO reports ({REPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(&report.id)
            .bind(&report.tracking)
            .bind(&report.source)
            .bind(&report.status)
            .bind(&report.lang)
            .bind(&report.reporter_name)
            .bind(&report.reporter_contact)
            .bind(&report.reporter_org)
            .bind(&report.subject)
            .bind(&report.body)
            .bind(&report.occurred)
            .bind(&report.affected)
            .bind(&report.indicators)
            .bind(&report.tlp)
            .bind(&report.suggested_category)
            .bind(&report.suggestion_reason_ja)
            .bind(&report.suggestion_reason_en)
            .bind(&report.remote_addr)
            .bind(&report.case_id)
            .bind(&report.decision_reason)
            .bind(&report.decided_by)
            .bind(report.decided_at)
            .bind(&report.created_by)
            .bind(report.created_at)
            .bind(&report.kind)
            .bind(&report.credit)
            .execute(&mut *tx)
            .await?;
        for (kind, value) in &new.observables {
            sqlx::query(
                "INSERT INTO report_observables (report_id, kind, value, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&report.id)
            .bind(kind)
            .bind(value)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for a in &new.attachments {
            sqlx::query(
                "INSERT INTO report_attachments (id, report_id, file_name, sha256, size_bytes, content_type, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(&report.id)
            .bind(&a.file_name)
            .bind(&a.sha256)
            .bind(a.size_bytes)
            .bind(&a.content_type)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        record(
            &mut *tx,
            actor,
            "report.create",
            "report",
            &report.id,
            NONE,
            Some(&report),
        )
        .await?;
        Ok(report)
    }
}
