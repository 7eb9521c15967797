//! The SBOM of each product version and the components it lists. An import replaces the
//! version's components as a whole; lookups go by package (purl without its version) or by
//! name, and answer with the product version that ships it.

use crate::{audit, Actor, Result, Store};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProductSbom {
    pub version_id: String,
    pub format: String,
    pub spec_version: String,
    pub sha256: String,
    pub components: i64,
    pub imported_by: String,
    pub imported_at: i64,
}

/// A component as it goes in.
#[derive(Debug, Clone)]
pub struct NewComponent {
    pub name: String,
    pub version: String,
    pub purl: String,
    pub purl_base: String,
    pub cpe: String,
}

/// A component and the product version that ships it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ShippedComponent {
    pub product_id: String,
    pub vendor: String,
    pub product: String,
    pub version_id: String,
    pub product_version: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    pub cpe: String,
}

const SBOM: &str = "version_id, format, spec_version, sha256, components, imported_by, imported_at";
/// Rows per INSERT: 7 parameters each, well under SQLite's and PostgreSQL's limits.
const ROWS_PER_INSERT: usize = 400;

const SHIPPED: &str = "SELECT p.id AS product_id, p.vendor, p.name AS product, v.id AS version_id,
        v.version AS product_version, c.name, c.version, c.purl, c.cpe
     FROM product_components c
     JOIN product_versions v ON v.id = c.version_id
     JOIN products p ON p.id = v.product_id";

impl Store {
    /// Replaces a version's SBOM and components in one transaction, audited with the
    /// previous SBOM's summary.
    pub async fn replace_sbom(
        &self,
        sbom: &ProductSbom,
        components: &[NewComponent],
        actor: &Actor,
    ) -> Result<()> {
        self.write(async |tx| {
            let before: Option<ProductSbom> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {SBOM} FROM product_sboms WHERE version_id = $1"
            )))
            .bind(&sbom.version_id)
            .fetch_optional(tx.conn())
            .await?;
            for table in ["product_components", "product_sboms"] {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE version_id = $1"
                )))
                .bind(&sbom.version_id)
                .execute(tx.conn())
                .await?;
            }
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO product_sboms ({SBOM}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(&sbom.version_id)
            .bind(&sbom.format)
            .bind(&sbom.spec_version)
            .bind(&sbom.sha256)
            .bind(sbom.components)
            .bind(&sbom.imported_by)
            .bind(sbom.imported_at)
            .execute(tx.conn())
            .await?;
            for (chunk_no, chunk) in components.chunks(ROWS_PER_INSERT).enumerate() {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let b = i * 7;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                            b + 1,
                            b + 2,
                            b + 3,
                            b + 4,
                            b + 5,
                            b + 6,
                            b + 7
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO product_components (version_id, seq, name, version, purl, purl_base, cpe) VALUES {}",
                    rows.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (i, c) in chunk.iter().enumerate() {
                    q = q
                        .bind(&sbom.version_id)
                        .bind((chunk_no * ROWS_PER_INSERT + i) as i64)
                        .bind(&c.name)
                        .bind(&c.version)
                        .bind(&c.purl)
                        .bind(&c.purl_base)
                        .bind(&c.cpe);
                }
                q.execute(tx.conn()).await?;
            }
            audit::record(
                tx.conn(),
                actor,
                "psirt.sbom_imported",
                "product_version",
                &sbom.version_id,
                before.as_ref(),
                Some(sbom),
            )
            .await
        })
        .await
    }

    pub async fn product_sboms(&self) -> Result<Vec<ProductSbom>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {SBOM} FROM product_sboms ORDER BY version_id"
        )))
        .fetch_all(&self.writer)
        .await?)
    }

    /// Every product version shipping the package (purl without version, lower case).
    pub async fn components_by_purl(&self, purl_base: &str) -> Result<Vec<ShippedComponent>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{SHIPPED} WHERE c.purl_base = $1 ORDER BY p.vendor, p.name, v.version, c.seq"
        )))
        .bind(purl_base)
        .fetch_all(&self.writer)
        .await?)
    }

    /// Every product version shipping a component of this name (as the SBOM spells it).
    pub async fn components_by_name(&self, name: &str) -> Result<Vec<ShippedComponent>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{SHIPPED} WHERE c.name = $1 ORDER BY p.vendor, p.name, v.version, c.seq"
        )))
        .bind(name)
        .fetch_all(&self.writer)
        .await?)
    }
}
