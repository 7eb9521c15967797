//! Suppression rules: reviewed, expiring decisions to silence alerts of a rule, a host or a
//! field value. Suppressed hits are still counted, on alerts in the `suppressed` state.

use crate::{new_id, Actor, Result, Store, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Suppression {
    pub id: String,
    /// Empty: any rule.
    pub rule_id: String,
    /// Empty: any host. Compared case-insensitively.
    pub host: String,
    /// With `value`: an event field that must hold exactly this value. Empty: no field test.
    pub field: String,
    pub value: String,
    pub reason: String,
    pub author: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: String,
    /// Hits it has silenced.
    pub hits: i64,
}

#[derive(Debug, Clone)]
pub struct NewSuppression {
    pub rule_id: String,
    pub host: String,
    pub field: String,
    pub value: String,
    pub reason: String,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, rule_id, host, field, value, reason, author, created_at, expires_at, revoked_at, revoked_by, hits";

impl Store {
    pub async fn create_suppression(
        &self,
        new: &NewSuppression,
        actor: &Actor,
    ) -> Result<Suppression> {
        let row = Suppression {
            id: new_id(),
            rule_id: new.rule_id.clone(),
            host: new.host.clone(),
            field: new.field.clone(),
            value: new.value.clone(),
            reason: new.reason.clone(),
            author: actor.username.clone(),
            created_at: crate::now_ms(),
            expires_at: new.expires_at,
            revoked_at: None,
            revoked_by: String::new(),
            hits: 0,
        };
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "INSERT INTO suppressions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, '', 0)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&row.id)
            .bind(&row.rule_id)
            .bind(&row.host)
            .bind(&row.field)
            .bind(&row.value)
            .bind(&row.reason)
            .bind(&row.author)
            .bind(row.created_at)
            .bind(row.expires_at)
            .execute(&mut *tx)
            .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "suppression.create",
            "suppression",
            &row.id,
            crate::audit::NONE,
            Some(&row),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Ends a suppression early; it stays listed with who ended it.
    pub async fn revoke_suppression(&self, id: &str, actor: &Actor) -> Result<Suppression> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {COLUMNS} FROM suppressions WHERE id = $1");
        let before: Suppression = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("suppression {id}")))?;
        if before.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "suppression {id} was already revoked"
            )));
        }
        sqlx::query("UPDATE suppressions SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(crate::now_ms())
            .bind(&actor.username)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after: Suppression = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "suppression.revoke",
            "suppression",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Every suppression, newest first (expired and revoked ones too: they are the record).
    pub async fn suppressions(&self) -> Result<Vec<Suppression>> {
        let sql = format!("SELECT {COLUMNS} FROM suppressions ORDER BY created_at DESC, id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?)
    }

    /// Those in force at `now`.
    pub async fn active_suppressions(&self, now: i64) -> Result<Vec<Suppression>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM suppressions WHERE revoked_at IS NULL AND expires_at > $1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Where reading a watched file got to: (position, size at that time).
    pub async fn source_position(&self, path: &str) -> Result<Option<(i64, i64)>> {
        Ok(
            sqlx::query_as("SELECT position, size FROM source_positions WHERE path = $1")
                .bind(path)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    pub async fn save_source_position(&self, path: &str, position: i64, size: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO source_positions (path, position, size, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO UPDATE SET position = excluded.position, size = excluded.size, updated_at = excluded.updated_at",
        )
        .bind(path)
        .bind(position)
        .bind(size)
        .bind(crate::now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
