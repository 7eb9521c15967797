//! Assets, vulnerability findings and intelligence in the API: the inventory, report imports
//! (Vuls, Trivy, CSV), KEV and EPSS loads, and findings ordered by an explained priority.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::vulns::assets::{self, AssetDetail, FindingQuery, Imported, RankedFinding};
use hikeshi_app::vulns::{self, asset_csv, risk};
use hikeshi_store::{Asset, NewAsset};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    let report_limit = DefaultBodyLimit::max(vulns::MAX_REPORT_BYTES as usize);
    Router::new()
        .route("/api/v1/assets", get(list_assets).post(create_asset))
        .route("/api/v1/assets/risk", get(risk_ranking))
        .route("/api/v1/assets.csv", get(export_csv))
        .route(
            "/api/v1/assets/import",
            post(import_csv).layer(DefaultBodyLimit::max(asset_csv::MAX_BYTES)),
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
    body: Bytes,
) -> ApiResult<Json<Imported>> {
    let name = q.name.unwrap_or_else(|| "report".into());
    Ok(Json(
        assets::import_report(&state, &who, &name, &body, q.format.as_deref()).await?,
    ))
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
    let entries = assets::load_kev(&state, &who, &body).await?;
    Ok(Json(Loaded { entries }))
}

async fn load_epss(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<Loaded>> {
    let entries = assets::load_epss(&state, &who, &body).await?;
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
    body: Bytes,
) -> ApiResult<(StatusCode, Json<asset_csv::Plan>)> {
    let plan = assets::import_csv(&state, &who, &body, q.dry_run).await?;
    let status = if plan.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(plan)))
}
