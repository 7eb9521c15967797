//! Schema migrations, run at start on both engines. Each migration is one SQL file applied in
//! one transaction and recorded in `schema_migrations`.

use crate::{now_ms, Result, Store, StoreError};
use sqlx::AssertSqlSafe;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_foundation.sql")),
    (2, include_str!("../migrations/0002_intake.sql")),
    (3, include_str!("../migrations/0003_mail.sql")),
    (4, include_str!("../migrations/0004_contacts.sql")),
    (5, include_str!("../migrations/0005_alerts.sql")),
    (6, include_str!("../migrations/0006_alert_states.sql")),
    (7, include_str!("../migrations/0007_live.sql")),
    (8, include_str!("../migrations/0008_assets.sql")),
    (9, include_str!("../migrations/0009_reporting.sql")),
    (10, include_str!("../migrations/0010_jobs.sql")),
    (11, include_str!("../migrations/0011_token_scope.sql")),
    (12, include_str!("../migrations/0012_second_factor.sql")),
    (13, include_str!("../migrations/0013_search_fold.sql")),
    (14, include_str!("../migrations/0014_response.sql")),
    (15, include_str!("../migrations/0015_response_undo.sql")),
    (16, include_str!("../migrations/0016_content_baselines.sql")),
    (17, include_str!("../migrations/0017_vuls_deliveries.sql")),
    (18, include_str!("../migrations/0018_psirt.sql")),
];

/// The migration after which every case's search text is folded again in Rust (NFKC cannot be
/// written in SQL that both engines run).
const REFOLD_SEARCH_TEXT: i64 = 13;

/// Serialises migrations when several processes (`serve` and workers) start at once.
const PG_MIGRATION_LOCK: i64 = 0x6869_6b65_7368;

impl Store {
    /// Applies every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let mut tx = self.writer.begin().await?;
        self.lock_migrations(&mut tx).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut applied = 0;
        for &(version, sql) in MIGRATIONS {
            let mut tx = self.writer.begin().await?;
            self.lock_migrations(&mut tx).await?;
            let done: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            for statement in split_statements(sql) {
                sqlx::query(AssertSqlSafe(statement))
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| StoreError::Migration { version, source })?;
            }
            if version == REFOLD_SEARCH_TEXT {
                crate::cases::refold_search_text(&mut tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, "applied migration");
            applied += 1;
        }
        Ok(applied)
    }

    /// On PostgreSQL, holds a transaction-scoped advisory lock; SQLite has one writer anyway.
    async fn lock_migrations(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Splits a migration file into statements at `;` line ends, dropping `--` comment lines.
/// Our migration files keep string literals free of `;` at line ends.
fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (idx, _) in sql
        .match_indices(";\n")
        .chain(std::iter::once((sql.len(), "")))
    {
        let piece = &sql[start..idx.min(sql.len())];
        start = (idx + 2).min(sql.len());
        let meaningful = piece
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"));
        if meaningful {
            out.push(piece.trim());
        }
    }
    out
}

/// The newest schema this build knows: a backup from a newer one cannot be restored by it.
pub fn latest_schema_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}
