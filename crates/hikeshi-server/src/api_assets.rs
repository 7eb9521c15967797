//! Assets, vulnerability findings and intelligence in the API: the inventory, report imports
//! (Vuls, Trivy, CSV), KEV and EPSS loads, and findings ordered by an explained priority.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::vulns::{self, risk, ImportFailure};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_model::{AssetKind, Environment};
use hikeshi_store::{Asset, Finding, FindingFilter, ImportOutcome, NewAsset};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    let report_limit = DefaultBodyLimit::max(vulns::MAX_REPORT_BYTES as usize);
    Router::new()
        .route("/api/v1/assets", get(list_assets).post(create_asset))
        .route("/api/v1/assets/risk", get(risk_ranking))
        .route("/api/v1/assets.csv", get(export_csv))
        .route(
            "/api/v1/assets/import",
            post(import_csv).layer(DefaultBodyLimit::max(crate::asset_csv::MAX_BYTES)),
        )
        .route(
            "/api/v1/assets/{id}",
            get(asset_detail).put(update_asset).delete(delete_asset),
        )
        .route("/api/v1/findings", get(findings))
        .route(
            "/api/v1/imports/vulns",
            post(import_vulns).layer(report_limit),
        )
        .route(
            "/api/v1/intel/kev",
            post(load_kev).layer(DefaultBodyLimit::max(64 << 20)),
        )
        .route(
            "/api/v1/intel/epss",
            post(load_epss).layer(DefaultBodyLimit::max(64 << 20)),
        )
}

fn check_list(field: &str, items: &[String], ip: bool) -> ApiResult<Vec<String>> {
    if items.len() > 100 {
        return Err(ApiError::invalid(
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
            return Err(ApiError::invalid(
                field,
                format!(
                    "{field}: `{}…` is too long",
                    t.chars().take(40).collect::<String>()
                ),
            ));
        }
        if ip && t.parse::<std::net::IpAddr>().is_err() && t.parse::<ipnet::IpNet>().is_err() {
            return Err(ApiError::invalid(
                field,
                format!("{field}: `{t}` is not an IP address or CIDR range"),
            ));
        }
        out.push(t.to_string());
    }
    Ok(out)
}

/// Checks an asset from outside; every field is named in its error.
pub fn check_asset(a: &NewAsset) -> ApiResult<NewAsset> {
    let text = crate::service::text_field;
    AssetKind::parse(&a.kind)?;
    Environment::parse(&a.environment)?;
    for (field, v) in [
        ("value_c", a.value_c),
        ("value_i", a.value_i),
        ("value_a", a.value_a),
    ] {
        if !(1..=5).contains(&v) {
            return Err(ApiError::invalid(field, format!("{field}: from 1 to 5")));
        }
    }
    Ok(NewAsset {
        name: text("name", &a.name, true, 200)?,
        kind: a.kind.clone(),
        hostnames: check_list("hostnames", &a.hostnames, false)?,
        ips: check_list("ips", &a.ips, true)?,
        cloud_ids: check_list("cloud_ids", &a.cloud_ids, false)?,
        macs: check_list("macs", &a.macs, false)?,
        administrator: text("administrator", &a.administrator, false, 200)?,
        department: text("department", &a.department, false, 200)?,
        location: text("location", &a.location, false, 200)?,
        environment: a.environment.clone(),
        internet_facing: a.internet_facing,
        value_c: a.value_c,
        value_i: a.value_i,
        value_a: a.value_a,
        tags: crate::service::check_tags(&a.tags)?,
        data_held: text("data_held", &a.data_held, false, 2000)?,
        os: text("os", &a.os, false, 200)?,
    })
}

async fn list_assets(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<Asset>>> {
    Ok(Json(state.store.list_assets().await?))
}

async fn create_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<NewAsset>,
) -> ApiResult<(StatusCode, Json<Asset>)> {
    who.require(who.role.can_edit_cases(), "add assets")?;
    let a = check_asset(&input)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_asset(&a, &who.actor()).await?),
    ))
}

async fn update_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewAsset>,
) -> ApiResult<Json<Asset>> {
    who.require(who.role.can_edit_cases(), "change assets")?;
    let a = check_asset(&input)?;
    let current = state.store.asset_by_id(&id).await?;
    Ok(Json(
        state
            .store
            .update_asset(&current.id, &a, &who.actor())
            .await?,
    ))
}

/// Removes an asset and its findings (managers and administrators; audited).
async fn delete_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require(who.role.can_command(), "delete assets")?;
    let current = state.store.asset_by_id(&id).await?;
    state.store.delete_asset(&current.id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A finding with its priority and the reasons for it.
#[derive(Serialize)]
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
async fn risk_ranking(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<vulns::risk::ExpectedDamage>>> {
    Ok(Json(vulns::triage::damage_ranking(&state.store).await?))
}

#[derive(Serialize)]
struct AssetDetail {
    asset: Asset,
    /// (name, version, arch) as last reported by a scanner.
    packages: Vec<(String, String, String)>,
    findings: Vec<RankedFinding>,
    /// Recent alerts that hit it, with their priority.
    alerts: Vec<vulns::triage::RankedAlert>,
    expected_damage: vulns::risk::ExpectedDamage,
}

async fn asset_detail(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetDetail>> {
    let asset = state.store.asset_by_id(&id).await?;
    let findings = state
        .store
        .list_findings(&FindingFilter {
            asset_id: Some(asset.id.clone()),
            limit: 10_000,
            ..FindingFilter::default()
        })
        .await?;
    let packages = state.store.asset_packages(&asset.id).await?;
    let recent = state
        .store
        .list_alerts(None, None, None, None, 1000)
        .await?;
    let index = vulns::triage::index_for(&state.store, &recent).await?;
    let alerts: Vec<_> = vulns::triage::rank_with(&index, recent)
        .into_iter()
        .filter(|a| a.assets.contains(&asset.name))
        .collect();
    let expected_damage = vulns::triage::damage_ranking(&state.store)
        .await?
        .into_iter()
        .find(|d| d.asset_id == asset.id)
        .unwrap_or_else(|| vulns::risk::expected_damage(&asset, None, 0));
    Ok(Json(AssetDetail {
        asset,
        packages,
        findings: rank(findings),
        alerts,
        expected_damage,
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FindingQuery {
    status: Option<String>,
    cve: Option<String>,
    asset: Option<String>,
    #[serde(default)]
    kev: bool,
    #[serde(default)]
    internet_facing: bool,
    #[serde(default)]
    fix_available: bool,
    limit: Option<i64>,
}

/// Findings, highest priority first: the vulnerability queue, and "which assets have CVE-X?".
async fn findings(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<Vec<RankedFinding>>> {
    let asset_id = match q.asset.as_deref() {
        Some(a) => Some(state.store.asset_by_id(a).await?.id),
        None => None,
    };
    let limit = q.limit.unwrap_or(500).clamp(1, 10_000);
    let list = state
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
    Ok(Json(ranked))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// A name for the report in errors and the audit log.
    name: Option<String>,
    format: Option<String>,
}

#[derive(Serialize)]
struct Imported {
    hosts: Vec<ImportOutcome>,
    /// Cases opened by the automatic rule (`[vulns] auto_case`).
    cases_opened: Vec<String>,
}

/// Runs the automatic rule, if one is configured.
async fn auto_cases(state: &AppState) -> ApiResult<Vec<String>> {
    match &state.config.vuln_auto_case {
        Some(rule) => Ok(vulns::actions::apply(&state.store, rule, &state.config.sla).await?),
        None => Ok(Vec::new()),
    }
}

fn failure(e: ImportFailure) -> ApiError {
    match e {
        ImportFailure::Invalid(e) => ApiError::invalid(&e.field, e.to_string()),
        ImportFailure::Store(e) => e.into(),
    }
}

async fn import_vulns(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<Imported>> {
    who.require(who.role.can_edit_cases(), "import vulnerability reports")?;
    let name = q.name.unwrap_or_else(|| "report".into());
    let hosts = vulns::import_report(
        &state.store,
        &name,
        &body,
        q.format.as_deref(),
        &who.actor(),
    )
    .await
    .map_err(failure)?;
    let cases_opened = auto_cases(&state).await?;
    vulns::triage::record_risk_snapshot(&state.store).await?;
    Ok(Json(Imported {
        hosts,
        cases_opened,
    }))
}

#[derive(Serialize)]
struct Loaded {
    entries: usize,
}

async fn load_kev(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<Loaded>> {
    who.require(who.role.can_command(), "load the KEV catalogue")?;
    let entries = vulns::intel::parse_kev("kev", &body)
        .map_err(|e| ApiError::invalid(&e.field, e.to_string()))?;
    let entries = state.store.load_kev(&entries).await?;
    auto_cases(&state).await?;
    vulns::triage::record_risk_snapshot(&state.store).await?;
    Ok(Json(Loaded { entries }))
}

async fn load_epss(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<Loaded>> {
    who.require(who.role.can_command(), "load EPSS scores")?;
    let scores = vulns::intel::parse_epss("epss", &body)
        .map_err(|e| ApiError::invalid(&e.field, e.to_string()))?;
    let entries = state.store.load_epss(&scores).await?;
    auto_cases(&state).await?;
    vulns::triage::record_risk_snapshot(&state.store).await?;
    Ok(Json(Loaded { entries }))
}

async fn export_csv(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<impl axum::response::IntoResponse> {
    let assets = state.store.list_assets().await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"assets.csv\"",
            ),
        ],
        crate::asset_csv::export(&assets),
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CsvImportQuery {
    #[serde(default)]
    dry_run: bool,
}

/// The inventory from CSV; `?dry_run=true` only says what would change. Any bad cell refuses
/// the whole file (422 with every problem by line and column).
async fn import_csv(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<CsvImportQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<crate::asset_csv::Plan>)> {
    who.require(who.role.can_edit_cases(), "import assets")?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::invalid("body", format!("body: not UTF-8 text: {e}")))?;
    let plan = crate::asset_csv::import(&state.store, text, q.dry_run, &who.actor()).await?;
    let status = if plan.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(plan)))
}
