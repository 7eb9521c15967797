//! Assets, vulnerability findings and intelligence in the API: the inventory, report imports
//! (Vuls, Trivy, CSV), KEV and EPSS loads, and findings ordered by an explained priority.

use crate::auth::{CurrentUser, Scanner};
use crate::body::read_large;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::vulns::assets::{self, AssetDetail, FindingQuery, Imported, RankedFinding};
use hikeshi_app::vulns::{self, asset_csv, delivery, risk};
use hikeshi_store::{Asset, NewAsset};
use serde::{Deserialize, Serialize};

/// KEV and EPSS files larger than this are refused (the catalogue is ~1 MB, EPSS ~10 MB).
const INTEL_LIMIT: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/assets", get(list_assets).post(create_asset))
        .route("/api/v1/assets/risk", get(risk_ranking))
        .route("/api/v1/assets.csv", get(export_csv))
        .route("/api/v1/assets/import", post(import_csv))
        .route(
            "/api/v1/assets/{id}",
            get(asset_detail).put(update_asset).delete(delete_asset),
        )
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/imports/vulns", post(import_vulns))
        .route("/api/v1/imports/vuls-http", post(deliver_vuls))
        .route("/api/v1/imports/vuls-http/{id}", get(delivery_status))
        .route("/api/v1/intel/kev", post(load_kev))
        .route("/api/v1/intel/epss", post(load_epss))
}

async fn list_assets(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<Asset>>> {
    Ok(Json(assets::list_assets(&state, &who).await?))
}

async fn create_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<NewAsset>,
) -> ApiResult<(StatusCode, Json<Asset>)> {
    Ok((
        StatusCode::CREATED,
        Json(assets::create_asset(&state, &who, &input).await?),
    ))
}

async fn update_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewAsset>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(assets::update_asset(&state, &who, &id, &input).await?))
}

/// Removes an asset and its findings (managers and administrators; audited).
async fn delete_asset(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    assets::delete_asset(&state, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assets by expected damage (value × impact × frequency), highest first.
async fn risk_ranking(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<risk::ExpectedDamage>>> {
    Ok(Json(assets::risk_ranking(&state, &who).await?))
}

async fn asset_detail(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetDetail>> {
    Ok(Json(assets::asset_detail(&state, &who, &id).await?))
}

/// Findings, highest priority first: the vulnerability queue, and "which assets have CVE-X?".
async fn findings(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<Vec<RankedFinding>>> {
    Ok(Json(assets::findings(&state, &who, q).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// A name for the report in errors and the audit log.
    name: Option<String>,
    format: Option<String>,
}

async fn import_vulns(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Body,
) -> ApiResult<Json<Imported>> {
    assets::may_import(&who)?;
    let body = read_large(&state, body, vulns::MAX_REPORT_BYTES as usize).await?;
    let name = q.name.unwrap_or_else(|| "report".into());
    Ok(Json(
        assets::import_report(&state, &who, &name, &body.bytes, q.format.as_deref()).await?,
    ))
}

/// `vuls report -to-http`: one scan result, stored before it is answered, imported by a job.
/// Answered 200 (not 202): Vuls counts anything else as a failed delivery.
async fn deliver_vuls(
    State(state): State<AppState>,
    Scanner(who): Scanner,
    body: Body,
) -> ApiResult<Json<delivery::Receipt>> {
    let limit = state
        .config
        .vulns
        .http_max_bytes
        .unwrap_or(delivery::DEFAULT_MAX_BYTES)
        .min(vulns::MAX_REPORT_BYTES);
    let body = read_large(&state, body, limit as usize).await?;
    Ok(Json(delivery::receive(&state, &who, &body.bytes).await?))
}

async fn delivery_status(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<hikeshi_store::VulsDelivery>> {
    Ok(Json(delivery::status(&state, &who, &id).await?))
}

#[derive(Serialize)]
struct Loaded {
    entries: usize,
}

async fn load_kev(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Body,
) -> ApiResult<Json<Loaded>> {
    assets::may_load_intel(&who, "the KEV catalogue")?;
    let body = read_large(&state, body, INTEL_LIMIT).await?;
    let entries = assets::load_kev(&state, &who, &body.bytes).await?;
    Ok(Json(Loaded { entries }))
}

async fn load_epss(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Body,
) -> ApiResult<Json<Loaded>> {
    assets::may_load_intel(&who, "EPSS scores")?;
    let body = read_large(&state, body, INTEL_LIMIT).await?;
    let entries = assets::load_epss(&state, &who, &body.bytes).await?;
    Ok(Json(Loaded { entries }))
}

async fn export_csv(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<impl axum::response::IntoResponse> {
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"assets.csv\"",
            ),
        ],
        assets::export_csv(&state, &who).await?,
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
    body: Body,
) -> ApiResult<(StatusCode, Json<asset_csv::Plan>)> {
    assets::may_import_assets(&who)?;
    let body = read_large(&state, body, asset_csv::MAX_BYTES).await?;
    let plan = assets::import_csv(&state, &who, &body.bytes, q.dry_run).await?;
    let status = if plan.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(plan)))
}
