//! The asset inventory: what the team protects, who runs it, how much it is worth, and the
//! identifiers (host names, addresses, cloud IDs, MACs) events and scans are matched by.

use crate::{new_id, Actor, Result, Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AssetRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub hostnames: String,
    pub ips: String,
    pub cloud_ids: String,
    pub macs: String,
    pub administrator: String,
    pub department: String,
    pub location: String,
    pub environment: String,
    pub internet_facing: i64,
    pub value_c: i64,
    pub value_i: i64,
    pub value_a: i64,
    pub tags: String,
    pub data_held: String,
    pub os: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An asset as the API shows it (lists decoded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Asset {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub hostnames: Vec<String>,
    pub ips: Vec<String>,
    pub cloud_ids: Vec<String>,
    pub macs: Vec<String>,
    pub administrator: String,
    pub department: String,
    pub location: String,
    pub environment: String,
    pub internet_facing: bool,
    pub value_c: i64,
    pub value_i: i64,
    pub value_a: i64,
    pub tags: Vec<String>,
    pub data_held: String,
    pub os: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl From<AssetRow> for Asset {
    fn from(r: AssetRow) -> Asset {
        Asset {
            hostnames: list(&r.hostnames),
            ips: list(&r.ips),
            cloud_ids: list(&r.cloud_ids),
            macs: list(&r.macs),
            tags: list(&r.tags),
            internet_facing: r.internet_facing != 0,
            id: r.id,
            name: r.name,
            kind: r.kind,
            administrator: r.administrator,
            department: r.department,
            location: r.location,
            environment: r.environment,
            value_c: r.value_c,
            value_i: r.value_i,
            value_a: r.value_a,
            data_held: r.data_held,
            os: r.os,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What an asset is made of, already checked by the caller. Fields left out of a request take
/// the defaults: a production server of middle value (3) that is not internet-facing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NewAsset {
    pub name: String,
    pub kind: String,
    pub hostnames: Vec<String>,
    pub ips: Vec<String>,
    pub cloud_ids: Vec<String>,
    pub macs: Vec<String>,
    pub administrator: String,
    pub department: String,
    pub location: String,
    pub environment: String,
    pub internet_facing: bool,
    pub value_c: i64,
    pub value_i: i64,
    pub value_a: i64,
    pub tags: Vec<String>,
    pub data_held: String,
    pub os: String,
}

impl Default for NewAsset {
    fn default() -> Self {
        NewAsset {
            name: String::new(),
            kind: "server".into(),
            hostnames: Vec::new(),
            ips: Vec::new(),
            cloud_ids: Vec::new(),
            macs: Vec::new(),
            administrator: String::new(),
            department: String::new(),
            location: String::new(),
            environment: "production".into(),
            internet_facing: false,
            value_c: 3,
            value_i: 3,
            value_a: 3,
            tags: Vec::new(),
            data_held: String::new(),
            os: String::new(),
        }
    }
}

pub(crate) const ASSET_COLUMNS: &str = "id, name, kind, hostnames, ips, cloud_ids, macs, administrator, department, location, environment, internet_facing, value_c, value_i, value_a, tags, data_held, os, created_at, updated_at";

/// The identifier rows an asset is found by: host names in full and short form, lower-cased.
pub(crate) fn identifiers(a: &NewAsset) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for h in &a.hostnames {
        let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        if h.is_empty() {
            continue;
        }
        if let Some((short, _)) = h.split_once('.') {
            if short.parse::<u8>().is_err() {
                out.push(("host", short.to_string()));
            }
        }
        out.push(("host", h));
    }
    for ip in &a.ips {
        out.push(("ip", ip.trim().to_ascii_lowercase()));
    }
    for c in &a.cloud_ids {
        out.push(("cloud", c.trim().to_string()));
    }
    for m in &a.macs {
        out.push(("mac", m.trim().to_ascii_lowercase().replace('-', ":")));
    }
    out.sort();
    out.dedup();
    out
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(crate) async fn write_asset(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    a: &NewAsset,
    created_at: i64,
) -> Result<()> {
    let now = crate::now_ms();
    sqlx::query("DELETE FROM assets WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let sql = format!("INSERT INTO assets ({ASSET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(&a.name)
        .bind(&a.kind)
        .bind(json(&a.hostnames))
        .bind(json(&a.ips))
        .bind(json(&a.cloud_ids))
        .bind(json(&a.macs))
        .bind(&a.administrator)
        .bind(&a.department)
        .bind(&a.location)
        .bind(&a.environment)
        .bind(i64::from(a.internet_facing))
        .bind(a.value_c)
        .bind(a.value_i)
        .bind(a.value_a)
        .bind(json(&a.tags))
        .bind(&a.data_held)
        .bind(&a.os)
        .bind(created_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM asset_identifiers WHERE asset_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (kind, value) in identifiers(a) {
        sqlx::query("INSERT INTO asset_identifiers (kind, value, asset_id) VALUES ($1, $2, $3)")
            .bind(kind)
            .bind(value)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn asset_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<Option<Asset>> {
    let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1");
    let row: Option<AssetRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(Asset::from))
}

impl Store {
    pub async fn create_asset(&self, a: &NewAsset, actor: &Actor) -> Result<Asset> {
        let mut tx = self.writer.begin().await?;
        let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM assets WHERE name = $1")
            .bind(&a.name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "an asset named `{}` exists",
                a.name
            )));
        }
        let id = new_id();
        write_asset(&mut tx, &id, a, crate::now_ms()).await?;
        let after = asset_in_tx(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        crate::audit::record(
            &mut tx,
            actor,
            "asset.create",
            "asset",
            &id,
            crate::audit::NONE,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Replaces an asset's description (its findings and history stay).
    pub async fn update_asset(&self, id: &str, a: &NewAsset, actor: &Actor) -> Result<Asset> {
        let mut tx = self.writer.begin().await?;
        let before = asset_in_tx(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        let clash: Option<(String,)> =
            sqlx::query_as("SELECT id FROM assets WHERE name = $1 AND id <> $2")
                .bind(&a.name)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if clash.is_some() {
            return Err(StoreError::Conflict(format!(
                "an asset named `{}` exists",
                a.name
            )));
        }
        write_asset(&mut tx, id, a, before.created_at).await?;
        let after = asset_in_tx(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        crate::audit::record(
            &mut tx,
            actor,
            "asset.update",
            "asset",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes an asset with its identifiers, packages, findings and history (audited with what
    /// it was). Cases and alerts that mention it stay.
    pub async fn delete_asset(&self, id: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let before = asset_in_tx(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        for sql in [
            "DELETE FROM finding_actions WHERE finding_id IN (SELECT id FROM findings WHERE asset_id = $1)",
            "DELETE FROM findings WHERE asset_id = $1",
            "DELETE FROM asset_packages WHERE asset_id = $1",
            "DELETE FROM asset_identifiers WHERE asset_id = $1",
            "DELETE FROM asset_risk_history WHERE asset_id = $1",
            "DELETE FROM assets WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        crate::audit::record(
            &mut tx,
            actor,
            "asset.delete",
            "asset",
            id,
            Some(&before),
            crate::audit::NONE,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn asset_by_id(&self, id: &str) -> Result<Asset> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1 OR name = $1");
        let row: Option<AssetRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(Asset::from)
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))
    }

    pub async fn list_assets(&self) -> Result<Vec<Asset>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets ORDER BY name");
        let rows: Vec<AssetRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.into_iter().map(Asset::from).collect())
    }

    /// Assets known by any of these identifiers (`host`, `ip`, `cloud`, `mac`; values
    /// normalised as stored).
    pub async fn assets_by_identifiers(&self, wanted: &[(&str, String)]) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for (kind, value) in wanted {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT asset_id FROM asset_identifiers WHERE kind = $1 AND value = $2",
            )
            .bind(*kind)
            .bind(value)
            .fetch_all(&self.reader)
            .await?;
            ids.extend(rows.into_iter().map(|r| r.0));
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

impl Store {
    /// Every identifier row: (kind, value, asset id). Small enough to hold in memory for
    /// matching a page of alerts at once.
    pub async fn asset_identifier_rows(&self) -> Result<Vec<(String, String, String)>> {
        Ok(
            sqlx::query_as("SELECT kind, value, asset_id FROM asset_identifiers")
                .fetch_all(&self.reader)
                .await?,
        )
    }

    /// Per asset: alerts (not suppressed or judged false positives) last seen since `since`,
    /// and the cases those alerts went to.
    pub async fn alert_activity_since(
        &self,
        since: i64,
    ) -> Result<Vec<(String, String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT host, src_ip || ' ' || dst_ip, case_id FROM alerts WHERE last_seen >= $1 AND status NOT IN ('suppressed', 'false_positive')",
        )
        .bind(since)
        .fetch_all(&self.reader)
        .await?)
    }
}

impl Store {
    /// Records (or replaces) an asset's risk for a day: (asset id, damage, open, KEV).
    pub async fn record_risk(&self, day: &str, rows: &[(String, f64, i64, i64)]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for (asset, damage, open, kev) in rows {
            sqlx::query(
                "INSERT INTO asset_risk_history (asset_id, day, expected_damage, open_findings, kev_findings) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (asset_id, day) DO UPDATE SET expected_damage = excluded.expected_damage, open_findings = excluded.open_findings, kev_findings = excluded.kev_findings",
            )
            .bind(asset)
            .bind(day)
            .bind(*damage)
            .bind(*open)
            .bind(*kev)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An asset's risk by day, newest first: (day, damage, open findings, KEV findings).
    pub async fn risk_history(
        &self,
        asset_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, f64, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT day, expected_damage, open_findings, kev_findings FROM asset_risk_history WHERE asset_id = $1 ORDER BY day DESC LIMIT $2",
        )
        .bind(asset_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }
}
