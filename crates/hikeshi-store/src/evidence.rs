//! Evidence records and their chain of custody. The bytes live content-addressed on disk (the
//! server's job); this layer keeps who uploaded and downloaded what, when.

use crate::audit::{record, NONE};
use crate::cases::touch_case;
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Evidence {
    pub id: String,
    pub case_id: String,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub description: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CustodyEntry {
    pub id: String,
    pub evidence_id: String,
    pub action: String,
    pub actor: String,
    pub at: i64,
    pub detail: String,
}

const EVIDENCE_COLUMNS: &str = "id, case_id, sha256, filename, content_type, size_bytes, description, uploaded_by, uploaded_at";

async fn custody(
    conn: &mut sqlx::AnyConnection,
    evidence_id: &str,
    action: &str,
    actor: &Actor,
    detail: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO custody_log (id, evidence_id, action, actor, at, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id())
        .bind(evidence_id)
        .bind(action)
        .bind(&actor.username)
        .bind(now_ms())
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    pub async fn add_evidence(
        &self,
        case_id: &str,
        new: &NewEvidence,
        actor: &Actor,
    ) -> Result<Evidence> {
        let mut tx = self.begin().await?;
        let out = tx.add_evidence(case_id, new, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn evidence_list(&self, case_id: &str) -> Result<Vec<Evidence>> {
        let sql = format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE case_id = $1 ORDER BY uploaded_at, id"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn evidence(&self, evidence_id: &str) -> Result<Evidence> {
        let sql = format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(evidence_id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("evidence {evidence_id}")))
    }

    /// Records a download in the chain of custody before the bytes are served.
    pub async fn record_evidence_download(
        &self,
        evidence_id: &str,
        actor: &Actor,
        detail: &str,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        custody(&mut tx, evidence_id, "download", actor, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn custody_log(&self, evidence_id: &str) -> Result<Vec<CustodyEntry>> {
        Ok(sqlx::query_as(
            "SELECT id, evidence_id, action, actor, at, detail FROM custody_log WHERE evidence_id = $1 ORDER BY at, id",
        )
        .bind(evidence_id)
        .fetch_all(&self.reader)
        .await?)
    }
}

impl crate::Tx {
    pub async fn add_evidence(
        &mut self,
        case_id: &str,
        new: &NewEvidence,
        actor: &Actor,
    ) -> Result<Evidence> {
        let ev = Evidence {
            id: new_id(),
            case_id: case_id.to_string(),
            sha256: new.sha256.clone(),
            filename: new.filename.clone(),
            content_type: new.content_type.clone(),
            size_bytes: new.size_bytes,
            description: new.description.clone(),
            uploaded_by: actor.username.clone(),
            uploaded_at: now_ms(),
        };
        let tx = self.conn();
        sqlx::query(
            "INSERT INTO evidence (id, case_id, sha256, filename, content_type, size_bytes, description, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&ev.id)
        .bind(&ev.case_id)
        .bind(&ev.sha256)
        .bind(&ev.filename)
        .bind(&ev.content_type)
        .bind(ev.size_bytes)
        .bind(&ev.description)
        .bind(&ev.uploaded_by)
        .bind(ev.uploaded_at)
        .execute(&mut *tx)
        .await?;
        custody(
            &mut *tx,
            &ev.id,
            "upload",
            actor,
            &format!("sha256={} size={}", ev.sha256, ev.size_bytes),
        )
        .await?;
        touch_case(&mut *tx, case_id).await?;
        record(
            &mut *tx,
            actor,
            "evidence.create",
            "evidence",
            &ev.id,
            NONE,
            Some(&ev),
        )
        .await?;
        Ok(ev)
    }
}

impl Store {
    /// Every hash a record points to (evidence, report attachments, received mail, issued
    /// reports): what the evidence folder must keep.
    pub async fn referenced_file_hashes(&self) -> Result<std::collections::HashSet<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT sha256 FROM evidence UNION SELECT sha256 FROM report_attachments
             UNION SELECT eml_sha256 FROM report_messages UNION SELECT sha256 FROM issued_reports",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
