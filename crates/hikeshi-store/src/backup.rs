//! What a backup needs from the database: a consistent SQLite copy taken beside running
//! writers, the schema version it holds, and whether a restore target is still empty.

use crate::{Backend, Result, Store, StoreError};
use std::path::Path;

impl Store {
    /// Copies the SQLite database to `dest` as one consistent snapshot. `VACUUM INTO` reads in
    /// a single read transaction, so writers go on (WAL) and the copy is compact and has no
    /// `-wal` file to forget.
    pub async fn sqlite_snapshot_into(&self, dest: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Corrupt(
                "a SQLite snapshot was asked of a PostgreSQL store".into(),
            ));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest)
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    /// The newest migration applied (0 for a database hikeshi never touched).
    pub async fn schema_version(&self) -> Result<i64> {
        if !self.has_schema().await? {
            return Ok(0);
        }
        let v: (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.reader)
            .await?;
        Ok(v.0.unwrap_or(0))
    }

    /// Whether hikeshi's tables exist here (a restore goes only into a database without them).
    pub async fn has_schema(&self) -> Result<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        };
        let n: (i64,) = sqlx::query_as(sql).fetch_one(&self.reader).await?;
        Ok(n.0 > 0)
    }
}
