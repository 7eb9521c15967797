//! PSIRT rows: products and versions, product vulnerabilities and the state of each version,
//! advisories and their revisions. Methods a use case combines are on [`Tx`]; the public
//! provider folder reads only what [`Store::visible_revisions`] gives, so its one query is where
//! an embargo holds.

use crate::{audit, Actor, Result, Store, Tx};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: String,
    pub vendor: String,
    pub name: String,
    pub owner: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProductVersion {
    pub id: String,
    pub product_id: String,
    pub version: String,
    pub purl: String,
    pub cpe: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProductVuln {
    pub id: String,
    pub case_id: String,
    pub title: String,
    pub description: String,
    /// The description in Japanese (CVE records and JVN carry both).
    pub description_ja: String,
    pub cve: String,
    pub cwe_id: String,
    pub cwe_name: String,
    pub cvss3_vector: String,
    pub cvss4_vector: String,
    pub finder: String,
    /// How the finder is named in public; empty: not credited.
    pub credit: String,
    pub coordinator: String,
    pub coordinator_ref: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version's state for one vulnerability, with the version and product it belongs to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VersionState {
    pub vuln_id: String,
    pub version_id: String,
    pub status: String,
    pub justification: String,
    pub impact: String,
    pub remediation: String,
    pub remediation_details: String,
    pub remediation_url: String,
    pub product_id: String,
    pub vendor: String,
    pub product: String,
    pub version: String,
    pub purl: String,
    pub cpe: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Advisory {
    pub id: String,
    pub vuln_id: String,
    pub tracking_id: String,
    pub file_name: String,
    pub profile: String,
    pub tlp: String,
    pub title: String,
    pub summary: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AdvisoryRevision {
    pub advisory_id: String,
    pub seq: i64,
    pub number: String,
    pub status: String,
    pub summary: String,
    pub release_at: i64,
    /// `pending` (waiting for a second person), `scheduled` (approved, waiting for its time),
    /// `published`.
    pub state: String,
    /// The initial release's year: the provider folder it lives in.
    pub year: i64,
    #[serde(skip)]
    pub document: String,
    pub sha256: String,
    pub sha512: String,
    /// Detached OpenPGP signature (armoured) of the document; empty without a signing key.
    #[serde(skip)]
    pub signature: String,
    /// The fingerprint of the key that made `signature`.
    pub signing_key: String,
    pub proposed_by: String,
    pub approved_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the public folder lists: an advisory's newest revision whose time has come.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisibleRevision {
    pub file_name: String,
    pub tracking_id: String,
    pub title: String,
    pub seq: i64,
    pub number: String,
    pub year: i64,
    pub release_at: i64,
    pub initial_release_at: i64,
    pub document: String,
    pub sha256: String,
    pub sha512: String,
    pub signature: String,
}

/// The job kind that marks a scheduled revision published once its time has come.
pub const CSAF_PUBLISH_JOB: &str = "csaf-publish";

const PRODUCT: &str = "id, vendor, name, owner, created_by, created_at";
const VERSION: &str = "id, product_id, version, purl, cpe, created_at";
const VULN: &str = "id, case_id, title, description, description_ja, cve, cwe_id, cwe_name, cvss3_vector, cvss4_vector, finder, credit, coordinator, coordinator_ref, created_at, updated_at";
const ADVISORY: &str =
    "id, vuln_id, tracking_id, file_name, profile, tlp, title, summary, created_by, created_at";
const REVISION: &str = "advisory_id, seq, number, status, summary, release_at, state, year, document, sha256, sha512, signature, signing_key, proposed_by, approved_by, created_at, updated_at";

impl Store {
    pub async fn create_product(&self, p: &Product, actor: &Actor) -> Result<()> {
        self.write(async |tx| {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO products ({PRODUCT}) VALUES ($1, $2, $3, $4, $5, $6)"
            )))
            .bind(&p.id)
            .bind(&p.vendor)
            .bind(&p.name)
            .bind(&p.owner)
            .bind(&p.created_by)
            .bind(p.created_at)
            .execute(tx.conn())
            .await?;
            audit::record(
                tx.conn(),
                actor,
                "psirt.product_created",
                "product",
                &p.id,
                audit::NONE,
                Some(p),
            )
            .await
        })
        .await
    }

    pub async fn add_product_version(&self, v: &ProductVersion, actor: &Actor) -> Result<()> {
        self.write(async |tx| {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO product_versions ({VERSION}) VALUES ($1, $2, $3, $4, $5, $6)"
            )))
            .bind(&v.id)
            .bind(&v.product_id)
            .bind(&v.version)
            .bind(&v.purl)
            .bind(&v.cpe)
            .bind(v.created_at)
            .execute(tx.conn())
            .await?;
            audit::record(
                tx.conn(),
                actor,
                "psirt.version_added",
                "product",
                &v.product_id,
                audit::NONE,
                Some(v),
            )
            .await
        })
        .await
    }

    pub async fn products(&self) -> Result<Vec<Product>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {PRODUCT} FROM products ORDER BY vendor, name"
        )))
        .fetch_all(&self.writer)
        .await?)
    }

    pub async fn product(&self, id: &str) -> Result<Option<Product>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {PRODUCT} FROM products WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?)
    }

    pub async fn product_versions(&self) -> Result<Vec<ProductVersion>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {VERSION} FROM product_versions ORDER BY product_id, created_at, id"
        )))
        .fetch_all(&self.writer)
        .await?)
    }

    pub async fn product_vuln(&self, id: &str) -> Result<Option<ProductVuln>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {VULN} FROM product_vulns WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?)
    }

    pub async fn version_states(&self, vuln_id: &str) -> Result<Vec<VersionState>> {
        Ok(sqlx::query_as(
            "SELECT s.vuln_id, s.version_id, s.status, s.justification, s.impact, s.remediation,
                    s.remediation_details, s.remediation_url, p.id AS product_id, p.vendor,
                    p.name AS product, v.version, v.purl, v.cpe
             FROM product_vuln_versions s
             JOIN product_versions v ON v.id = s.version_id
             JOIN products p ON p.id = v.product_id
             WHERE s.vuln_id = $1
             ORDER BY p.vendor, p.name, v.created_at, v.id",
        )
        .bind(vuln_id)
        .fetch_all(&self.writer)
        .await?)
    }

    pub async fn advisories_of(&self, vuln_id: &str) -> Result<Vec<Advisory>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ADVISORY} FROM advisories WHERE vuln_id = $1 ORDER BY created_at, id"
        )))
        .bind(vuln_id)
        .fetch_all(&self.writer)
        .await?)
    }

    pub async fn advisory(&self, id: &str) -> Result<Option<Advisory>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ADVISORY} FROM advisories WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?)
    }

    pub async fn revisions(&self, advisory_id: &str) -> Result<Vec<AdvisoryRevision>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {REVISION} FROM advisory_revisions WHERE advisory_id = $1 ORDER BY seq"
        )))
        .bind(advisory_id)
        .fetch_all(&self.writer)
        .await?)
    }

    /// Every advisory's newest approved revision released at or before `now`: the whole
    /// public provider folder. Nothing else reads revisions for the public.
    pub async fn visible_revisions(&self, now: i64) -> Result<Vec<VisibleRevision>> {
        Ok(sqlx::query_as(
            "SELECT a.file_name, a.tracking_id, a.title, r.seq, r.number, r.year, r.release_at,
                    (SELECT f.release_at FROM advisory_revisions f
                      WHERE f.advisory_id = a.id AND f.seq = 1) AS initial_release_at,
                    r.document, r.sha256, r.sha512, r.signature
             FROM advisories a
             JOIN advisory_revisions r ON r.advisory_id = a.id
             WHERE r.state IN ('scheduled', 'published') AND r.release_at <= $1
               AND r.seq = (SELECT MAX(m.seq) FROM advisory_revisions m
                             WHERE m.advisory_id = a.id AND m.state IN ('scheduled', 'published')
                               AND m.release_at <= $1)
             ORDER BY r.release_at DESC, a.file_name",
        )
        .bind(now)
        .fetch_all(&self.writer)
        .await?)
    }

    /// Revisions not signed by `key` (none yet, or by a key since replaced).
    pub async fn revisions_not_signed_by(&self, key: &str) -> Result<Vec<AdvisoryRevision>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {REVISION} FROM advisory_revisions WHERE signing_key <> $1
             ORDER BY advisory_id, seq"
        )))
        .bind(key)
        .fetch_all(&self.writer)
        .await?)
    }

    /// Stores a new signature of an unchanged document (the team's key was replaced); audited
    /// with the old and new key, so a consumer's question "why did the signature change" has an
    /// answer.
    pub async fn resign_revision(
        &self,
        advisory_id: &str,
        seq: i64,
        old_key: &str,
        signature: &str,
        key: &str,
    ) -> Result<()> {
        self.write(async |tx| {
            sqlx::query(
                "UPDATE advisory_revisions SET signature = $1, signing_key = $2
                 WHERE advisory_id = $3 AND seq = $4",
            )
            .bind(signature)
            .bind(key)
            .bind(advisory_id)
            .bind(seq)
            .execute(tx.conn())
            .await?;
            audit::record(
                tx.conn(),
                &Actor::user("hikeshi-csaf-sign"),
                "psirt.revision_resigned",
                "advisory",
                &format!("{advisory_id}#{seq}"),
                Some(&serde_json::json!({ "signing_key": old_key })),
                Some(&serde_json::json!({ "signing_key": key })),
            )
            .await
        })
        .await
    }

    /// The job's step: a scheduled revision whose time has come becomes `published`.
    pub async fn mark_published(&self, advisory_id: &str, seq: i64, now: i64) -> Result<bool> {
        self.write(async |tx| {
            let done = sqlx::query(
                "UPDATE advisory_revisions SET state = 'published', updated_at = $1
                 WHERE advisory_id = $2 AND seq = $3 AND state = 'scheduled' AND release_at <= $1",
            )
            .bind(now)
            .bind(advisory_id)
            .bind(seq)
            .execute(tx.conn())
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let id = format!("{advisory_id}#{seq}");
            audit::record(
                tx.conn(),
                &Actor::user("hikeshi-csaf-publish"),
                "psirt.revision_published",
                "advisory",
                &id,
                audit::NONE,
                audit::NONE,
            )
            .await?;
            Ok(true)
        })
        .await
    }
}

impl Tx {
    pub async fn insert_product_vuln(&mut self, v: &ProductVuln, actor: &Actor) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO product_vulns ({VULN}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )))
        .bind(&v.id)
        .bind(&v.case_id)
        .bind(&v.title)
        .bind(&v.description)
        .bind(&v.description_ja)
        .bind(&v.cve)
        .bind(&v.cwe_id)
        .bind(&v.cwe_name)
        .bind(&v.cvss3_vector)
        .bind(&v.cvss4_vector)
        .bind(&v.finder)
        .bind(&v.credit)
        .bind(&v.coordinator)
        .bind(&v.coordinator_ref)
        .bind(v.created_at)
        .bind(v.updated_at)
        .execute(self.conn())
        .await?;
        audit::record(
            self.conn(),
            actor,
            "psirt.vulnerability_opened",
            "product_vuln",
            &v.id,
            audit::NONE,
            Some(v),
        )
        .await
    }

    /// Replaces every version's state for a vulnerability with `states` (the whole table, as
    /// the analyst last saved it).
    pub async fn replace_version_states(
        &mut self,
        vuln_id: &str,
        states: &[VersionState],
        actor: &Actor,
        now: i64,
    ) -> Result<()> {
        sqlx::query("DELETE FROM product_vuln_versions WHERE vuln_id = $1")
            .bind(vuln_id)
            .execute(self.conn())
            .await?;
        for s in states {
            sqlx::query(
                "INSERT INTO product_vuln_versions (vuln_id, version_id, status, justification, impact,
                    remediation, remediation_details, remediation_url)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(vuln_id)
            .bind(&s.version_id)
            .bind(&s.status)
            .bind(&s.justification)
            .bind(&s.impact)
            .bind(&s.remediation)
            .bind(&s.remediation_details)
            .bind(&s.remediation_url)
            .execute(self.conn())
            .await?;
        }
        sqlx::query("UPDATE product_vulns SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(vuln_id)
            .execute(self.conn())
            .await?;
        audit::record(
            self.conn(),
            actor,
            "psirt.status_saved",
            "product_vuln",
            vuln_id,
            audit::NONE,
            Some(&states),
        )
        .await
    }

    pub async fn insert_advisory(&mut self, a: &Advisory, actor: &Actor) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO advisories ({ADVISORY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(&a.id)
        .bind(&a.vuln_id)
        .bind(&a.tracking_id)
        .bind(&a.file_name)
        .bind(&a.profile)
        .bind(&a.tlp)
        .bind(&a.title)
        .bind(&a.summary)
        .bind(&a.created_by)
        .bind(a.created_at)
        .execute(self.conn())
        .await?;
        audit::record(
            self.conn(),
            actor,
            "psirt.advisory_created",
            "advisory",
            &a.id,
            audit::NONE,
            Some(a),
        )
        .await
    }

    pub async fn insert_revision(&mut self, r: &AdvisoryRevision, actor: &Actor) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO advisory_revisions ({REVISION}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )))
        .bind(&r.advisory_id)
        .bind(r.seq)
        .bind(&r.number)
        .bind(&r.status)
        .bind(&r.summary)
        .bind(r.release_at)
        .bind(&r.state)
        .bind(r.year)
        .bind(&r.document)
        .bind(&r.sha256)
        .bind(&r.sha512)
        .bind(&r.signature)
        .bind(&r.signing_key)
        .bind(&r.proposed_by)
        .bind(&r.approved_by)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(self.conn())
        .await?;
        let id = format!("{}#{}", r.advisory_id, r.seq);
        audit::record(
            self.conn(),
            actor,
            "psirt.revision_proposed",
            "advisory",
            &id,
            audit::NONE,
            Some(r),
        )
        .await
    }

    /// Writes a revision's new state, document and release time, auditing before and after
    /// under `action` (approval, a moved release time).
    pub async fn update_revision(
        &mut self,
        before: &AdvisoryRevision,
        after: &AdvisoryRevision,
        action: &str,
        actor: &Actor,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE advisory_revisions SET state = $1, release_at = $2, year = $3, document = $4,
                sha256 = $5, sha512 = $6, approved_by = $7, updated_at = $8, proposed_by = $11,
                signature = $12, signing_key = $13
             WHERE advisory_id = $9 AND seq = $10",
        )
        .bind(&after.state)
        .bind(after.release_at)
        .bind(after.year)
        .bind(&after.document)
        .bind(&after.sha256)
        .bind(&after.sha512)
        .bind(&after.approved_by)
        .bind(after.updated_at)
        .bind(&after.advisory_id)
        .bind(after.seq)
        .bind(&after.proposed_by)
        .bind(&after.signature)
        .bind(&after.signing_key)
        .execute(self.conn())
        .await?;
        let id = format!("{}#{}", after.advisory_id, after.seq);
        audit::record(
            self.conn(),
            actor,
            action,
            "advisory",
            &id,
            Some(before),
            Some(after),
        )
        .await
    }

    pub async fn revisions_in(&mut self, advisory_id: &str) -> Result<Vec<AdvisoryRevision>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {REVISION} FROM advisory_revisions WHERE advisory_id = $1 ORDER BY seq"
        )))
        .bind(advisory_id)
        .fetch_all(self.conn())
        .await?)
    }
}
