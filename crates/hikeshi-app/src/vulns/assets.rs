//! The asset inventory and the vulnerability queue as use cases: assets added, changed and
//! removed (checked field by field), findings ranked by their explained priority, scanner
//! reports, KEV and EPSS loaded (each followed by the automatic case rule and a new point in
//! the risk history), and the inventory as CSV.

use super::{risk, triage, ImportFailure};
use crate::error::{AppError, AppResult};
use crate::validate::{check_tags, text_field};
use crate::who::Who;
use crate::App;
use hikeshi_model::{AssetKind, Environment};
use hikeshi_store::{Asset, Finding, FindingFilter, ImportOutcome, NewAsset};
use serde::{Deserialize, Serialize};

fn check_list(field: &str, items: &[String], ip: bool) -> AppResult<Vec<String>> {
    if items.len() > 100 {
        return Err(AppError::invalid(
            field,
            format!("{field}: at most 100 entries"),
        ));
    }
    let mut out = Vec::new();
    for item in items {
        let t = item.trim();
        if t.is_empty() {
            continue;
        }
        if t.len() > 255 {
            return Err(AppError::invalid(
                field,
                format!(
                    "{field}: `{}…` is too long",
                    t.chars().take(40).collect::<String>()
                ),
            ));
        }
        if ip && t.parse::<std::net::IpAddr>().is_err() && t.parse::<ipnet::IpNet>().is_err() {
            return Err(AppError::invalid(
                field,
                format!("{field}: `{t}` is not an IP address or CIDR range"),
            ));
        }
        out.push(t.to_string());
    }
    Ok(out)
}

/// Checks an asset from outside; every field is named in its error.
pub fn check_asset(a: &NewAsset) -> AppResult<NewAsset> {
    AssetKind::parse(&a.kind)?;
    Environment::parse(&a.environment)?;
    for (field, v) in [
        ("value_c", a.value_c),
        ("value_i", a.value_i),
        ("value_a", a.value_a),
    ] {
        if !(1..=5).contains(&v) {
            return Err(AppError::invalid(field, format!("{field}: from 1 to 5")));
        }
    }
    Ok(NewAsset {
        name: text_field("name", &a.name, true, 200)?,
        kind: a.kind.clone(),
        hostnames: check_list("hostnames", &a.hostnames, false)?,
        ips: check_list("ips", &a.ips, true)?,
        cloud_ids: check_list("cloud_ids", &a.cloud_ids, false)?,
        macs: check_list("macs", &a.macs, false)?,
        administrator: text_field("administrator", &a.administrator, false, 200)?,
        department: text_field("department", &a.department, false, 200)?,
        location: text_field("location", &a.location, false, 200)?,
        environment: a.environment.clone(),
        internet_facing: a.internet_facing,
        value_c: a.value_c,
        value_i: a.value_i,
        value_a: a.value_a,
        tags: check_tags(&a.tags)?,
        data_held: text_field("data_held", &a.data_held, false, 2000)?,
        os: text_field("os", &a.os, false, 200)?,
    })
}

pub async fn list_assets(app: &App, _who: &Who) -> AppResult<Vec<Asset>> {
    Ok(app.store.list_assets().await?)
}

pub async fn create_asset(app: &App, who: &Who, input: &NewAsset) -> AppResult<Asset> {
    who.require_edit("add assets")?;
    let a = check_asset(input)?;
    Ok(app.store.create_asset(&a, &who.actor()).await?)
}

pub async fn update_asset(app: &App, who: &Who, id: &str, input: &NewAsset) -> AppResult<Asset> {
    who.require_edit("change assets")?;
    let a = check_asset(input)?;
    let current = app.store.asset_by_id(id).await?;
    Ok(app
        .store
        .update_asset(&current.id, &a, &who.actor())
        .await?)
}

/// Removes an asset and its findings (managers and administrators; audited).
pub async fn delete_asset(app: &App, who: &Who, id: &str) -> AppResult<()> {
    who.require_command("delete assets")?;
    let current = app.store.asset_by_id(id).await?;
    app.store.delete_asset(&current.id, &who.actor()).await?;
    Ok(())
}

/// A finding with its priority and the reasons for it.
#[derive(Debug, Serialize)]
pub struct RankedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub priority: i64,
    pub factors: Vec<risk::Factor>,
    pub explanation: String,
}

pub fn rank(findings: Vec<Finding>) -> Vec<RankedFinding> {
    let w = risk::RiskWeights::configured();
    let mut out: Vec<RankedFinding> = findings
        .into_iter()
        .map(|f| {
            let p = risk::finding_priority(&w, &f);
            RankedFinding {
                explanation: p.explain(),
                priority: p.score,
                factors: p.factors,
                finding: f,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.finding.cve_id.cmp(&b.finding.cve_id))
    });
    out
}

/// Assets by expected damage (value × impact × frequency), highest first.
pub async fn risk_ranking(app: &App, _who: &Who) -> AppResult<Vec<risk::ExpectedDamage>> {
    Ok(triage::damage_ranking(&app.store).await?)
}

#[derive(Debug, Serialize)]
pub struct AssetDetail {
    pub asset: Asset,
    /// (name, version, arch) as last reported by a scanner.
    pub packages: Vec<(String, String, String)>,
    pub findings: Vec<RankedFinding>,
    /// Recent alerts that hit it, with their priority.
    pub alerts: Vec<triage::RankedAlert>,
    pub expected_damage: risk::ExpectedDamage,
}

pub async fn asset_detail(app: &App, _who: &Who, id: &str) -> AppResult<AssetDetail> {
    let store = &app.store;
    let asset = store.asset_by_id(id).await?;
    let findings = store
        .list_findings(&FindingFilter {
            asset_id: Some(asset.id.clone()),
            limit: 10_000,
            ..FindingFilter::default()
        })
        .await?;
    let packages = store.asset_packages(&asset.id).await?;
    let recent = store.list_alerts(None, None, None, None, 1000).await?;
    let index = triage::index_for(store, &recent).await?;
    let alerts: Vec<_> = triage::rank_with(&index, recent)
        .into_iter()
        .filter(|a| a.assets.contains(&asset.name))
        .collect();
    let expected_damage = triage::damage_ranking(store)
        .await?
        .into_iter()
        .find(|d| d.asset_id == asset.id)
        .unwrap_or_else(|| risk::expected_damage(&asset, None, 0));
    Ok(AssetDetail {
        asset,
        packages,
        findings: rank(findings),
        alerts,
        expected_damage,
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    pub status: Option<String>,
    pub cve: Option<String>,
    pub asset: Option<String>,
    #[serde(default)]
    pub kev: bool,
    #[serde(default)]
    pub internet_facing: bool,
    #[serde(default)]
    pub fix_available: bool,
    pub limit: Option<i64>,
}

/// Findings, highest priority first: the vulnerability queue, and "which assets have CVE-X?".
pub async fn findings(app: &App, _who: &Who, q: FindingQuery) -> AppResult<Vec<RankedFinding>> {
    let asset_id = match q.asset.as_deref() {
        Some(a) => Some(app.store.asset_by_id(a).await?.id),
        None => None,
    };
    let limit = q.limit.unwrap_or(500).clamp(1, 10_000);
    if let Some(status) = q.status.as_deref() {
        if !matches!(status, "open" | "fixed" | "all") {
            return Err(crate::AppError::invalid(
                "status",
                format!(
                    "status: `{}` is not one of open, fixed, all",
                    status.chars().take(20).collect::<String>()
                ),
            ));
        }
    }
    let list = app
        .store
        .list_findings(&FindingFilter {
            status: Some(q.status.unwrap_or_else(|| "open".into())).filter(|s| s != "all"),
            cve: q.cve,
            asset_id,
            kev_only: q.kev,
            internet_facing_only: q.internet_facing,
            fix_available_only: q.fix_available,
            // Ranked here, so read all that match, then keep the top.
            limit: 100_000,
        })
        .await?;
    let mut ranked = rank(list);
    ranked.truncate(limit as usize);
    Ok(ranked)
}

/// Runs the automatic case rule, if one is configured; returns the cases opened.
pub async fn auto_cases(app: &App) -> AppResult<Vec<String>> {
    match &app.config.vulns.auto_case {
        Some(rule) => super::actions::apply(app, rule).await,
        None => Ok(Vec::new()),
    }
}

fn failure(e: ImportFailure) -> AppError {
    match e {
        ImportFailure::Invalid(e) => AppError::invalid(&e.field, e.to_string()),
        ImportFailure::Store(e) => e.into(),
    }
}

#[derive(Debug, Serialize)]
pub struct Imported {
    pub hosts: Vec<ImportOutcome>,
    /// Cases opened by the automatic rule (`[vulns] auto_case`).
    pub cases_opened: Vec<String>,
}

/// May `who` import scanner reports? Asked before a report's body is read.
pub fn may_import(who: &Who) -> AppResult<()> {
    who.require_edit("import vulnerability reports")
}

/// May `who` load the KEV catalogue or EPSS scores?
pub fn may_load_intel(who: &Who, what: &str) -> AppResult<()> {
    who.require_command(&format!("load {what}"))
}

/// May `who` import the asset inventory?
pub fn may_import_assets(who: &Who) -> AppResult<()> {
    who.require_edit("import assets")
}

/// A scanner report (Vuls, Trivy or CSV; `format` or sniffed) named `name` in errors.
pub async fn import_report(
    app: &App,
    who: &Who,
    name: &str,
    body: &[u8],
    format: Option<&str>,
) -> AppResult<Imported> {
    may_import(who)?;
    let hosts = super::import_report(&app.store, name, body, format, &who.actor())
        .await
        .map_err(failure)?;
    let cases_opened = auto_cases(app).await?;
    let scanned: Vec<String> = hosts.iter().map(|h| h.asset_name.clone()).collect();
    super::patch::verify(app, &scanned).await?;
    triage::record_risk_snapshot(app).await?;
    Ok(Imported {
        hosts,
        cases_opened,
    })
}

/// The CISA KEV catalogue (JSON); returns the entries loaded.
pub async fn load_kev(app: &App, who: &Who, body: &[u8]) -> AppResult<usize> {
    may_load_intel(who, "the KEV catalogue")?;
    let entries = super::intel::parse_kev("kev", body)
        .map_err(|e| AppError::invalid(&e.field, e.to_string()))?;
    let loaded = app.store.load_kev(&entries).await?;
    auto_cases(app).await?;
    triage::record_risk_snapshot(app).await?;
    Ok(loaded)
}

/// EPSS scores (CSV, gzip recognised); returns the scores loaded.
pub async fn load_epss(app: &App, who: &Who, body: &[u8]) -> AppResult<usize> {
    may_load_intel(who, "EPSS scores")?;
    let scores = super::intel::parse_epss("epss", body)
        .map_err(|e| AppError::invalid(&e.field, e.to_string()))?;
    let loaded = app.store.load_epss(&scores).await?;
    auto_cases(app).await?;
    triage::record_risk_snapshot(app).await?;
    Ok(loaded)
}

pub async fn export_csv(app: &App, _who: &Who) -> AppResult<String> {
    Ok(super::asset_csv::export(&app.store.list_assets().await?))
}

/// The inventory from CSV; a dry run only says what would change. Any bad cell refuses the
/// whole file (the plan lists every problem by line and column).
pub async fn import_csv(
    app: &App,
    who: &Who,
    body: &[u8],
    dry_run: bool,
) -> AppResult<super::asset_csv::Plan> {
    may_import_assets(who)?;
    let text = std::str::from_utf8(body)
        .map_err(|e| AppError::invalid("body", format!("body: not UTF-8 text: {e}")))?;
    Ok(super::asset_csv::import(&app.store, text, dry_run, &who.actor()).await?)
}
