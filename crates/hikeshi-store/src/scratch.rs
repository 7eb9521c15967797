//! Scratch PostgreSQL databases for tests and benchmarks: a fresh database per run on a
//! running server, so runs never see each other's data.

use crate::{new_id, Result};
use sqlx::{AssertSqlSafe, Connection};

/// Where the test PostgreSQL server is: `HIKESHI_TEST_POSTGRES`, else the local default.
pub fn test_postgres_admin_url() -> String {
    std::env::var("HIKESHI_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Creates an empty database named after `prefix` and returns its URL.
pub async fn create_scratch_postgres(admin_url: &str, prefix: &str) -> Result<String> {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", new_id());
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    Ok(format!("{base}/{name}"))
}
