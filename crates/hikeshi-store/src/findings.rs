//! Vulnerability findings from scanners (Vuls, Trivy, CSV) and the intelligence that weighs
//! them (CISA KEV, EPSS). An import is one transaction per scanned host: the asset, its
//! packages and its findings are written together or not at all.

use crate::assets::{asset_in_tx, write_asset, Asset, NewAsset};
use crate::{new_id, Actor, Result, Store, StoreError};
use serde::Serialize;

/// One finding as a scanner reported it.
#[derive(Debug, Clone, Default)]
pub struct NewFinding {
    pub cve_id: String,
    pub package: String,
    pub fixed_in: String,
    pub fix_state: String,
    pub confidence: i64,
    pub cvss2_score: f64,
    pub cvss2_vector: String,
    pub cvss3_score: f64,
    pub cvss3_vector: String,
    pub cvss4_score: f64,
    pub cvss4_vector: String,
    /// JSON: per source, its scores and vectors.
    pub scores: String,
    pub title: String,
}

#[derive(Debug, Clone, Default)]
pub struct ScanPackage {
    pub name: String,
    pub version: String,
    pub new_version: String,
    pub arch: String,
}

impl ScanImport {
    /// Every text with NUL characters replaced (hikeshi_model::without_nul): scanner output is
    /// outside input, and PostgreSQL refuses U+0000.
    pub fn without_nul(&self) -> ScanImport {
        use hikeshi_model::strip_nul as s;
        let mut c = self.clone();
        s(&mut c.source);
        let a = &mut c.asset;
        for t in [
            &mut a.name,
            &mut a.kind,
            &mut a.administrator,
            &mut a.department,
            &mut a.location,
            &mut a.environment,
            &mut a.data_held,
            &mut a.os,
        ] {
            s(t);
        }
        for list in [
            &mut a.hostnames,
            &mut a.ips,
            &mut a.cloud_ids,
            &mut a.macs,
            &mut a.tags,
        ] {
            list.iter_mut().for_each(s);
        }
        for p in &mut c.packages {
            for t in [&mut p.name, &mut p.version, &mut p.new_version, &mut p.arch] {
                s(t);
            }
        }
        for f in &mut c.findings {
            for t in [
                &mut f.cve_id,
                &mut f.package,
                &mut f.fixed_in,
                &mut f.fix_state,
                &mut f.cvss2_vector,
                &mut f.cvss3_vector,
                &mut f.cvss4_vector,
                &mut f.scores,
                &mut f.title,
            ] {
                s(t);
            }
        }
        c
    }
}

/// One scanned host: how to find (or make) its asset, and what was found on it.
#[derive(Debug, Clone, Default)]
pub struct ScanImport {
    /// `vuls`, `trivy` or `csv`: a re-import marks fixed only what this source found before.
    pub source: String,
    /// Used for a new asset; an existing asset keeps its own description.
    pub asset: NewAsset,
    pub packages: Vec<ScanPackage>,
    /// Whether the scan lists the complete package set (replace) or none (keep).
    pub replace_packages: bool,
    pub findings: Vec<NewFinding>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportOutcome {
    pub asset_id: String,
    pub asset_name: String,
    pub asset_created: bool,
    pub packages: usize,
    pub opened: usize,
    pub updated: usize,
    pub reopened: usize,
    pub fixed: usize,
    /// Findings this import opened for the first time (for automatic actions).
    #[serde(skip)]
    pub opened_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Finding {
    pub id: String,
    pub asset_id: String,
    pub asset_name: String,
    pub cve_id: String,
    pub package: String,
    pub fixed_in: String,
    pub fix_state: String,
    pub confidence: i64,
    pub cvss2_score: f64,
    pub cvss2_vector: String,
    pub cvss3_score: f64,
    pub cvss3_vector: String,
    pub cvss4_score: f64,
    pub cvss4_vector: String,
    pub scores: String,
    pub title: String,
    pub source: String,
    pub status: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub fixed_at: Option<i64>,
    pub kev: i64,
    pub epss: f64,
    pub internet_facing: i64,
    pub environment: String,
    pub value_max: i64,
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub status: Option<String>,
    pub cve: Option<String>,
    pub asset_id: Option<String>,
    pub kev_only: bool,
    pub internet_facing_only: bool,
    pub fix_available_only: bool,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct KevEntry {
    pub cve_id: String,
    pub date_added: String,
    pub ransomware: String,
}

const FINDING_SELECT: &str = "SELECT f.id, f.asset_id, a.name AS asset_name, f.cve_id, f.package, f.fixed_in, f.fix_state, f.confidence, f.cvss2_score, f.cvss2_vector, f.cvss3_score, f.cvss3_vector, f.cvss4_score, f.cvss4_vector, f.scores, f.title, f.source, f.status, f.first_seen, f.last_seen, f.fixed_at, COALESCE(v.kev, 0) AS kev, COALESCE(v.epss, 0.0) AS epss, a.internet_facing, a.environment, CASE WHEN a.value_c >= a.value_i AND a.value_c >= a.value_a THEN a.value_c WHEN a.value_i >= a.value_a THEN a.value_i ELSE a.value_a END AS value_max FROM findings f JOIN assets a ON a.id = f.asset_id LEFT JOIN vuln_intel v ON v.cve_id = f.cve_id";

impl Store {
    /// Writes one scanned host. The asset is found by name, then by host name or address, else
    /// created. Findings of the same source that this scan no longer reports are marked fixed.
    pub async fn import_scan(&self, scan: &ScanImport, actor: &Actor) -> Result<ImportOutcome> {
        let scan = &scan.without_nul();
        let now = crate::now_ms();
        let mut tx = self.writer.begin().await?;
        let mut found: Option<String> =
            sqlx::query_as::<_, (String,)>("SELECT id FROM assets WHERE name = $1")
                .bind(&scan.asset.name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.0);
        if found.is_none() {
            let ours: Vec<String> = crate::assets::identifiers(&scan.asset)
                .into_iter()
                .filter(|(k, _)| *k == "host")
                .map(|(_, v)| v)
                .collect();
            // Host names and cloud IDs first; an address last, and only for an asset whose
            // host names do not say it is another machine (lab VMs and NAT share addresses).
            let mut wanted = crate::assets::identifiers(&scan.asset);
            wanted.retain(|(k, _)| *k != "mac");
            wanted.sort_by_key(|(k, _)| match *k {
                "host" => 0,
                "cloud" => 1,
                _ => 2,
            });
            'search: for (kind, value) in wanted {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT asset_id FROM asset_identifiers WHERE kind = $1 AND value = $2 ORDER BY asset_id",
                )
                .bind(kind)
                .bind(&value)
                .fetch_all(&mut *tx)
                .await?;
                for (candidate,) in rows {
                    if kind == "ip" && !ours.is_empty() {
                        let theirs: Vec<(String,)> = sqlx::query_as(
                            "SELECT value FROM asset_identifiers WHERE asset_id = $1 AND kind = 'host'",
                        )
                        .bind(&candidate)
                        .fetch_all(&mut *tx)
                        .await?;
                        if !theirs.is_empty() && !theirs.iter().any(|(h,)| ours.contains(h)) {
                            continue;
                        }
                    }
                    found = Some(candidate);
                    break 'search;
                }
            }
        }
        let mut out = ImportOutcome::default();
        let asset: Asset = match found {
            Some(id) => asset_in_tx(&mut tx, &id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?,
            None => {
                let id = new_id();
                write_asset(&mut tx, &id, &scan.asset, now).await?;
                out.asset_created = true;
                let a = asset_in_tx(&mut tx, &id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
                crate::audit::record(
                    &mut tx,
                    actor,
                    "asset.create",
                    "asset",
                    &id,
                    crate::audit::NONE,
                    Some(&a),
                )
                .await?;
                a
            }
        };
        out.asset_id = asset.id.clone();
        out.asset_name = asset.name.clone();
        // The dashboard's "assets without recent scans" reads this.
        sqlx::query("UPDATE assets SET last_scanned_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&asset.id)
            .execute(&mut *tx)
            .await?;
        if scan.replace_packages {
            sqlx::query("DELETE FROM asset_packages WHERE asset_id = $1")
                .bind(&asset.id)
                .execute(&mut *tx)
                .await?;
            // Many rows per statement: a host has hundreds of packages.
            for chunk in scan.packages.chunks(100) {
                let mut sql = String::from(
                    "INSERT INTO asset_packages (asset_id, name, version, new_version, arch) VALUES ",
                );
                for i in 0..chunk.len() {
                    let b = i * 5;
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    ));
                }
                sql.push_str(" ON CONFLICT (asset_id, name, arch) DO UPDATE SET version = excluded.version, new_version = excluded.new_version");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for p in chunk {
                    q = q
                        .bind(&asset.id)
                        .bind(&p.name)
                        .bind(&p.version)
                        .bind(&p.new_version)
                        .bind(&p.arch);
                }
                q.execute(&mut *tx).await?;
            }
            out.packages = scan.packages.len();
        }
        let existing: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, cve_id, package, status FROM findings WHERE asset_id = $1 AND source = $2",
        )
        .bind(&asset.id)
        .bind(&scan.source)
        .fetch_all(&mut *tx)
        .await?;
        let mut known: std::collections::HashMap<(String, String), (String, String)> = existing
            .into_iter()
            .map(|(id, cve, pkg, status)| ((cve, pkg), (id, status)))
            .collect();
        let mut fresh: Vec<(String, &NewFinding)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for f in &scan.findings {
            // A report naming the same CVE and package twice describes one finding.
            if !seen.insert((f.cve_id.as_str(), f.package.as_str())) {
                continue;
            }
            match known.remove(&(f.cve_id.clone(), f.package.clone())) {
                Some((id, status)) => {
                    sqlx::query(
                        "UPDATE findings SET fixed_in = $1, fix_state = $2, confidence = $3, cvss2_score = $4, cvss2_vector = $5, cvss3_score = $6, cvss3_vector = $7, scores = $8, title = $9, status = 'open', last_seen = $10, fixed_at = NULL, cvss4_score = $11, cvss4_vector = $12 WHERE id = $13",
                    )
                    .bind(&f.fixed_in)
                    .bind(&f.fix_state)
                    .bind(f.confidence)
                    .bind(f.cvss2_score)
                    .bind(&f.cvss2_vector)
                    .bind(f.cvss3_score)
                    .bind(&f.cvss3_vector)
                    .bind(&f.scores)
                    .bind(&f.title)
                    .bind(now)
                    .bind(f.cvss4_score)
                    .bind(&f.cvss4_vector)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                    if status == "fixed" {
                        out.reopened += 1;
                    } else {
                        out.updated += 1;
                    }
                }
                None => {
                    let id = new_id();
                    out.opened += 1;
                    out.opened_ids.push(id.clone());
                    fresh.push((id, f));
                }
            }
        }
        // New findings, many rows per statement (a first import of a host has hundreds).
        for chunk in fresh.chunks(40) {
            let mut sql = String::from(
                "INSERT INTO findings (id, asset_id, cve_id, package, fixed_in, fix_state, confidence, cvss2_score, cvss2_vector, cvss3_score, cvss3_vector, cvss4_score, cvss4_vector, scores, title, source, status, first_seen, last_seen, fixed_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 18;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for k in 1..=16 {
                    sql.push_str(&format!("${}, ", b + k));
                }
                sql.push_str(&format!("'open', ${}, ${}, NULL)", b + 17, b + 18));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, f) in chunk {
                q = q
                    .bind(id)
                    .bind(&asset.id)
                    .bind(&f.cve_id)
                    .bind(&f.package)
                    .bind(&f.fixed_in)
                    .bind(&f.fix_state)
                    .bind(f.confidence)
                    .bind(f.cvss2_score)
                    .bind(&f.cvss2_vector)
                    .bind(f.cvss3_score)
                    .bind(&f.cvss3_vector)
                    .bind(f.cvss4_score)
                    .bind(&f.cvss4_vector)
                    .bind(&f.scores)
                    .bind(&f.title)
                    .bind(&scan.source)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        // What this source found before and no longer reports has been fixed.
        for (_, (id, status)) in known {
            if status == "open" {
                sqlx::query("UPDATE findings SET status = 'fixed', fixed_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                out.fixed += 1;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn list_findings(&self, f: &FindingFilter) -> Result<Vec<Finding>> {
        let mut params = crate::params::Params::default();
        let mut clauses = Vec::new();
        if let Some(s) = &f.status {
            clauses.push(format!("f.status = {}", params.text(s)));
        }
        if let Some(c) = &f.cve {
            clauses.push(format!(
                "f.cve_id = {}",
                params.text(c.to_ascii_uppercase())
            ));
        }
        if let Some(a) = &f.asset_id {
            clauses.push(format!("f.asset_id = {}", params.text(a)));
        }
        if f.kev_only {
            clauses.push("v.kev = 1".into());
        }
        if f.internet_facing_only {
            clauses.push("a.internet_facing = 1".into());
        }
        if f.fix_available_only {
            clauses.push("f.fixed_in <> ''".into());
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = params.int(f.limit.clamp(1, 100_000));
        let sql = format!(
            "{FINDING_SELECT} {filter} ORDER BY f.cvss3_score DESC, f.cve_id, a.name LIMIT {limit}"
        );
        Ok(
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql), params.into_args())
                .fetch_all(&self.reader)
                .await?,
        )
    }

    pub async fn finding_by_id(&self, id: &str) -> Result<Finding> {
        let sql = format!("{FINDING_SELECT} WHERE f.id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("finding {id}")))
    }

    /// Claims a finding for an automatic action; false when one already acted on it.
    pub async fn claim_finding_action(&self, finding_id: &str, case_id: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let out = tx.claim_finding_action(finding_id, case_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn finding_acted_on(&self, finding_id: &str) -> Result<bool> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT case_id FROM finding_actions WHERE finding_id = $1")
                .bind(finding_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.is_some())
    }

    /// Per asset with open findings: (asset id, how many, highest v3, v4 and v2 scores).
    pub async fn open_finding_summary(&self) -> Result<Vec<(String, i64, f64, f64, f64)>> {
        Ok(sqlx::query_as(
            "SELECT asset_id, COUNT(*), MAX(cvss3_score), MAX(cvss4_score), MAX(cvss2_score) FROM findings WHERE status = 'open' GROUP BY asset_id",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Open findings listed in KEV: (asset id, CVE).
    pub async fn open_kev_findings(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT f.asset_id, f.cve_id FROM findings f JOIN vuln_intel v ON v.cve_id = f.cve_id WHERE f.status = 'open' AND v.kev = 1 ORDER BY f.cve_id",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Open findings of these CVEs: (asset id, CVE).
    pub async fn open_findings_of(&self, cves: &[String]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in cves.chunks(200) {
            let mut params = crate::params::Params::default();
            let list: Vec<String> = chunk.iter().map(|c| params.text(c)).collect();
            let sql = format!(
                "SELECT asset_id, cve_id FROM findings WHERE status = 'open' AND cve_id IN ({})",
                list.join(", ")
            );
            let rows: Vec<(String, String)> =
                sqlx::query_as_with(sqlx::AssertSqlSafe(sql), params.into_args())
                    .fetch_all(&self.reader)
                    .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The packages last reported for an asset, by name.
    pub async fn asset_packages(&self, asset_id: &str) -> Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT name, version, arch FROM asset_packages WHERE asset_id = $1 ORDER BY name, arch",
        )
        .bind(asset_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Replaces the KEV flags with this catalogue; returns how many CVEs it lists.
    pub async fn load_kev(&self, entries: &[KevEntry]) -> Result<usize> {
        let mut tx = self.writer.begin().await?;
        let now = crate::now_ms();
        sqlx::query("UPDATE vuln_intel SET kev = 0, kev_added = '', kev_ransomware = ''")
            .execute(&mut *tx)
            .await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO vuln_intel (cve_id, kev, kev_added, kev_ransomware, epss, epss_percentile, updated_at) VALUES ($1, 1, $2, $3, 0, 0, $4) ON CONFLICT (cve_id) DO UPDATE SET kev = 1, kev_added = excluded.kev_added, kev_ransomware = excluded.kev_ransomware, updated_at = excluded.updated_at",
            )
            .bind(&e.cve_id)
            .bind(&e.date_added)
            .bind(&e.ransomware)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(entries.len())
    }

    /// Sets EPSS scores: (CVE, probability, percentile).
    pub async fn load_epss(&self, scores: &[(String, f64, f64)]) -> Result<usize> {
        let mut tx = self.writer.begin().await?;
        let now = crate::now_ms();
        for (cve, epss, pct) in scores {
            sqlx::query(
                "INSERT INTO vuln_intel (cve_id, kev, kev_added, kev_ransomware, epss, epss_percentile, updated_at) VALUES ($1, 0, '', '', $2, $3, $4) ON CONFLICT (cve_id) DO UPDATE SET epss = excluded.epss, epss_percentile = excluded.epss_percentile, updated_at = excluded.updated_at",
            )
            .bind(cve)
            .bind(*epss)
            .bind(*pct)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(scores.len())
    }
}

/// Patch state of the whole estate at one moment, for the dashboard's protect condition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PatchState {
    pub open_findings: i64,
    pub open_kev: i64,
    pub open_critical: i64,
    /// Open findings that are in KEV, critical, or both: the protect headline.
    pub open_urgent: i64,
    /// Median age in days of the findings open at that moment.
    pub median_age_days: Option<i64>,
    pub assets: i64,
    /// Assets with no scan import in the 30 days before that moment.
    pub assets_not_scanned: i64,
}

impl Store {
    /// The findings open at `at` (seen by then, not fixed by then) and the assets scanned in
    /// the 30 days before it. Works for past months too, since fixes keep their time.
    pub async fn patch_state_at(&self, at: i64) -> Result<PatchState> {
        let open = "f.first_seen < $1 AND (f.fixed_at IS NULL OR f.fixed_at >= $1)";
        let (open_findings, open_kev, open_critical, open_urgent): (i64, i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN v.kev = 1 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN f.cvss3_score >= 9.0 OR f.cvss4_score >= 9.0 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN v.kev = 1 OR f.cvss3_score >= 9.0 OR f.cvss4_score >= 9.0 THEN 1 ELSE 0 END), 0)
             FROM findings f LEFT JOIN vuln_intel v ON v.cve_id = f.cve_id WHERE {open}"
        )))
        .bind(at)
        .fetch_one(&self.reader)
        .await?;
        // Ages as a histogram of days: a few hundred rows instead of every finding.
        let ages: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT ($1 - f.first_seen) / 86400000 AS age, COUNT(*) FROM findings f WHERE {open}
             GROUP BY ($1 - f.first_seen) / 86400000 ORDER BY age"
        )))
        .bind(at)
        .fetch_all(&self.reader)
        .await?;
        let median_age_days = median_of_histogram(&ages);
        let (assets, assets_not_scanned): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_scanned_at IS NULL OR last_scanned_at < $1 THEN 1 ELSE 0 END), 0)
             FROM assets WHERE created_at < $2",
        )
        .bind(at - 30 * 86_400_000)
        .bind(at)
        .fetch_one(&self.reader)
        .await?;
        Ok(PatchState {
            open_findings,
            open_kev,
            open_critical,
            open_urgent,
            median_age_days,
            assets,
            assets_not_scanned,
        })
    }
}

/// The lower median of values given as (value, how many), sorted by value.
fn median_of_histogram(rows: &[(i64, i64)]) -> Option<i64> {
    let total: i64 = rows.iter().map(|r| r.1).sum();
    if total == 0 {
        return None;
    }
    let middle = (total + 1) / 2;
    let mut seen = 0;
    for (value, count) in rows {
        seen += count;
        if seen >= middle {
            return Some(*value);
        }
    }
    None
}

impl crate::Tx {
    /// Claims a finding for an automatic action; false when one already acted on it.
    pub async fn claim_finding_action(&mut self, finding_id: &str, case_id: &str) -> Result<bool> {
        let tx = self.conn();
        let done = sqlx::query(
            "INSERT INTO finding_actions (finding_id, case_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (finding_id) DO NOTHING",
        )
        .bind(finding_id)
        .bind(case_id)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        Ok(done == 1)
    }
}
