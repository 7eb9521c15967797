//! What the team and the CISO keep by hand for management reporting: entries of the month,
//! KPI level overrides, the controls registry and maturity self-checks. Every change is
//! audited.

use crate::audit::{record, NONE};
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    /// `YYYY-MM`: the month whose report the entry belongs to.
    pub month: String,
    pub title: String,
    pub detail: String,
    /// Open entries still need something done (an account to remove, a device not found).
    pub is_open: i64,
    pub author: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: String,
    pub month: String,
    pub title: String,
    pub detail: String,
    pub is_open: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct KpiOverride {
    pub id: String,
    pub month: String,
    pub kpi: String,
    pub level: i64,
    pub remark: String,
    pub reason: String,
    pub author: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Control {
    pub id: String,
    pub name: String,
    pub layer: String,
    pub function: String,
    pub owner: String,
    pub effectiveness: String,
    pub evidence: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewControl {
    pub name: String,
    pub layer: String,
    pub function: String,
    pub owner: String,
    pub effectiveness: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Assessment {
    pub id: String,
    pub title: String,
    pub author: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rating {
    pub service: String,
    pub as_is: i64,
    pub to_be: i64,
    pub sourcing: String,
    pub notes: String,
}

const ENTRY_COLUMNS: &str =
    "id, kind, month, title, detail, is_open, author, created_at, updated_at";
const CONTROL_COLUMNS: &str =
    "id, name, layer, function, owner, effectiveness, evidence, created_at, updated_at";

impl Store {
    pub async fn create_entry(&self, e: &NewEntry, actor: &Actor) -> Result<Entry> {
        let now = now_ms();
        let entry = Entry {
            id: new_id(),
            kind: e.kind.clone(),
            month: e.month.clone(),
            title: e.title.clone(),
            detail: e.detail.clone(),
            is_open: i64::from(e.is_open),
            author: actor.username.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO management_entries (id, kind, month, title, detail, is_open, author, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&entry.id)
        .bind(&entry.kind)
        .bind(&entry.month)
        .bind(&entry.title)
        .bind(&entry.detail)
        .bind(entry.is_open)
        .bind(&entry.author)
        .bind(entry.created_at)
        .bind(entry.updated_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "entry.create",
            "entry",
            &entry.id,
            NONE,
            Some(&entry),
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Marks an entry done (or open again).
    pub async fn set_entry_open(&self, id: &str, open: bool, actor: &Actor) -> Result<Entry> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM management_entries WHERE id = $1");
        let before: Entry = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("entry {id}")))?;
        let mut after = before.clone();
        after.is_open = i64::from(open);
        after.updated_at = now_ms();
        sqlx::query("UPDATE management_entries SET is_open = $1, updated_at = $2 WHERE id = $3")
            .bind(after.is_open)
            .bind(after.updated_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "entry.update",
            "entry",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Entries of `month`, and open HR and physical entries of earlier months (they are still
    /// a risk until closed).
    pub async fn entries_for_month(&self, month: &str) -> Result<Vec<Entry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM management_entries
             WHERE month = $1 OR (month < $1 AND is_open = 1 AND kind IN ('leaver', 'lost_device', 'vendor_change'))
             ORDER BY month, created_at"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(month)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn create_override(&self, o: &KpiOverride, actor: &Actor) -> Result<KpiOverride> {
        let o = KpiOverride {
            id: new_id(),
            author: actor.username.clone(),
            created_at: now_ms(),
            ..o.clone()
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO kpi_overrides (id, month, kpi, level, remark, reason, author, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&o.id)
        .bind(&o.month)
        .bind(&o.kpi)
        .bind(o.level)
        .bind(&o.remark)
        .bind(&o.reason)
        .bind(&o.author)
        .bind(o.created_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "kpi.override",
            "kpi",
            &format!("{}/{}", o.month, o.kpi),
            NONE,
            Some(&o),
        )
        .await?;
        tx.commit().await?;
        Ok(o)
    }

    /// Every override of `month`, oldest first: the newest per KPI is in force.
    pub async fn overrides_for_month(&self, month: &str) -> Result<Vec<KpiOverride>> {
        Ok(sqlx::query_as(
            "SELECT id, month, kpi, level, remark, reason, author, created_at FROM kpi_overrides
             WHERE month = $1 ORDER BY created_at, id",
        )
        .bind(month)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn create_control(&self, c: &NewControl, actor: &Actor) -> Result<Control> {
        let now = now_ms();
        let control = Control {
            id: new_id(),
            name: c.name.clone(),
            layer: c.layer.clone(),
            function: c.function.clone(),
            owner: c.owner.clone(),
            effectiveness: c.effectiveness.clone(),
            evidence: c.evidence.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.writer.begin().await?;
        write_control(&mut tx, &control, true).await?;
        record(
            &mut tx,
            actor,
            "control.create",
            "control",
            &control.id,
            NONE,
            Some(&control),
        )
        .await?;
        tx.commit().await?;
        Ok(control)
    }

    pub async fn update_control(&self, id: &str, c: &NewControl, actor: &Actor) -> Result<Control> {
        let mut tx = self.writer.begin().await?;
        let before = control_in_tx(&mut tx, id).await?;
        let after = Control {
            name: c.name.clone(),
            layer: c.layer.clone(),
            function: c.function.clone(),
            owner: c.owner.clone(),
            effectiveness: c.effectiveness.clone(),
            evidence: c.evidence.clone(),
            updated_at: now_ms(),
            ..before.clone()
        };
        write_control(&mut tx, &after, false).await?;
        record(
            &mut tx,
            actor,
            "control.update",
            "control",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_control(&self, id: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let before = control_in_tx(&mut tx, id).await?;
        sqlx::query("DELETE FROM controls WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "control.delete",
            "control",
            id,
            Some(&before),
            NONE,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn controls(&self) -> Result<Vec<Control>> {
        let sql = format!("SELECT {CONTROL_COLUMNS} FROM controls ORDER BY layer, function, name");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?)
    }

    /// Saves a self-check: one row per rated service.
    pub async fn create_assessment(
        &self,
        title: &str,
        ratings: &[Rating],
        actor: &Actor,
    ) -> Result<Assessment> {
        let a = Assessment {
            id: new_id(),
            title: title.to_string(),
            author: actor.username.clone(),
            created_at: now_ms(),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO maturity_assessments (id, title, author, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&a.id)
        .bind(&a.title)
        .bind(&a.author)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
        for r in ratings {
            sqlx::query(
                "INSERT INTO maturity_ratings (assessment_id, service, as_is, to_be, sourcing, notes)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&a.id)
            .bind(&r.service)
            .bind(r.as_is)
            .bind(r.to_be)
            .bind(&r.sourcing)
            .bind(&r.notes)
            .execute(&mut *tx)
            .await?;
        }
        #[derive(Serialize)]
        struct Saved<'a> {
            assessment: &'a Assessment,
            ratings: &'a [Rating],
        }
        record(
            &mut tx,
            actor,
            "maturity.assess",
            "assessment",
            &a.id,
            NONE,
            Some(&Saved {
                assessment: &a,
                ratings,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Every assessment, oldest first.
    pub async fn assessments(&self) -> Result<Vec<Assessment>> {
        Ok(sqlx::query_as(
            "SELECT id, title, author, created_at FROM maturity_assessments ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn ratings(&self, assessment_id: &str) -> Result<Vec<Rating>> {
        Ok(sqlx::query_as(
            "SELECT service, as_is, to_be, sourcing, notes FROM maturity_ratings
             WHERE assessment_id = $1 ORDER BY service",
        )
        .bind(assessment_id)
        .fetch_all(&self.reader)
        .await?)
    }
}

async fn control_in_tx(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Control> {
    let sql = format!("SELECT {CONTROL_COLUMNS} FROM controls WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("control {id}")))
}

async fn write_control(conn: &mut sqlx::AnyConnection, c: &Control, insert: bool) -> Result<()> {
    let sql = if insert {
        "INSERT INTO controls (name, layer, function, owner, effectiveness, evidence, updated_at, created_at, id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    } else {
        "UPDATE controls SET name = $1, layer = $2, function = $3, owner = $4, effectiveness = $5,
         evidence = $6, updated_at = $7 WHERE created_at = $8 AND id = $9"
    };
    sqlx::query(sql)
        .bind(&c.name)
        .bind(&c.layer)
        .bind(&c.function)
        .bind(&c.owner)
        .bind(&c.effectiveness)
        .bind(&c.evidence)
        .bind(c.updated_at)
        .bind(c.created_at)
        .bind(&c.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A monthly report as issued to management.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct IssuedReport {
    pub id: String,
    pub month: String,
    pub lang: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub issued_by: String,
    pub issued_at: i64,
}

impl Store {
    /// Records an issued report whose PDF is already stored under its hash; audited.
    pub async fn record_issued_report(
        &self,
        month: &str,
        lang: &str,
        sha256: &str,
        size_bytes: i64,
        actor: &Actor,
    ) -> Result<IssuedReport> {
        let r = IssuedReport {
            id: new_id(),
            month: month.to_string(),
            lang: lang.to_string(),
            sha256: sha256.to_string(),
            size_bytes,
            issued_by: actor.username.clone(),
            issued_at: now_ms(),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO issued_reports (id, month, lang, sha256, size_bytes, issued_by, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.month)
        .bind(&r.lang)
        .bind(&r.sha256)
        .bind(r.size_bytes)
        .bind(&r.issued_by)
        .bind(r.issued_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "report.issue",
            "monthly_report",
            &r.id,
            NONE,
            Some(&r),
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Every issued report, newest first.
    pub async fn issued_reports(&self) -> Result<Vec<IssuedReport>> {
        Ok(sqlx::query_as(
            "SELECT id, month, lang, sha256, size_bytes, issued_by, issued_at FROM issued_reports
             ORDER BY issued_at DESC, id DESC",
        )
        .fetch_all(&self.reader)
        .await?)
    }
}
