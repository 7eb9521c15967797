//! PSIRT in the API: the product catalogue, product vulnerabilities with the state of every
//! version, advisories, their draft, and revisions (propose, approve against the hash, move
//! the release time).

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hikeshi_app::psirt::advisories::{self, AdvisoryView, NewAdvisory, NewRevision};
use hikeshi_app::psirt::exports::{self, ExportFormat};
use hikeshi_app::psirt::products::{self, NewProduct, NewVersion, ProductView};
use hikeshi_app::psirt::sboms::{self, Assessment, Finding, Package};
use hikeshi_app::psirt::vulns::{self, NewProductVuln, ProductVulnView, VersionStateInput};
use hikeshi_app::Lang;
use hikeshi_store::{
    Advisory, AdvisoryRevision, Product, ProductSbom, ProductVersion, ShippedComponent,
};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/psirt/products",
            get(list_products).post(create_product),
        )
        .route("/api/v1/psirt/products/{id}/versions", post(add_version))
        .route(
            "/api/v1/psirt/products/{id}/versions/{version_id}/sbom",
            put(import_sbom),
        )
        .route("/api/v1/psirt/components", get(where_used))
        .route("/api/v1/psirt/vulnerabilities/{id}/assess", post(assess))
        .route("/api/v1/psirt/vulnerabilities", post(open_vuln))
        .route("/api/v1/psirt/vulnerabilities/{id}", get(one_vuln))
        .route(
            "/api/v1/psirt/vulnerabilities/{id}/versions",
            put(save_states),
        )
        .route(
            "/api/v1/psirt/vulnerabilities/{id}/advisories",
            post(create_advisory),
        )
        .route("/api/v1/psirt/vulnerabilities/{id}/export", get(export))
        .route("/api/v1/psirt/advisories/{id}", get(one_advisory))
        .route("/api/v1/psirt/advisories/{id}/draft", get(draft))
        .route("/api/v1/psirt/advisories/{id}/revisions", post(propose))
        .route(
            "/api/v1/psirt/advisories/{id}/revisions/{seq}/document",
            get(revision_document),
        )
        .route(
            "/api/v1/psirt/advisories/{id}/revisions/{seq}/approve",
            post(approve),
        )
        .route(
            "/api/v1/psirt/advisories/{id}/revisions/{seq}/release",
            put(move_release),
        )
}

/// A revision's number in the path (1, 2, …), refused as JSON like every other input.
fn seq_of(text: &str) -> ApiResult<i64> {
    text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::invalid(
            "seq",
            format!("seq: `{text}` is not a revision number (1, 2, …)"),
        )
    })
}

fn csaf_json(document: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document).into_response()
}

async fn list_products(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<ProductView>>> {
    Ok(Json(products::list(&state, &who).await?))
}

async fn create_product(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    Ok((
        StatusCode::CREATED,
        Json(products::create(&state, &who, input).await?),
    ))
}

async fn add_version(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewVersion>,
) -> ApiResult<(StatusCode, Json<ProductVersion>)> {
    Ok((
        StatusCode::CREATED,
        Json(products::add_version(&state, &who, &id, input).await?),
    ))
}

/// A CycloneDX or SPDX JSON SBOM for one version, replacing the one before.
async fn import_sbom(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((id, version_id)): Path<(String, String)>,
    body: axum::body::Body,
) -> ApiResult<Json<ProductSbom>> {
    sboms::may_import(&who)?;
    let body = crate::body::read_large(&state, body, sboms::MAX_SBOM_BYTES).await?;
    Ok(Json(
        sboms::import(&state, &who, &id, &version_id, &body.bytes).await?,
    ))
}

async fn where_used(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<Package>,
) -> ApiResult<Json<Vec<ShippedComponent>>> {
    Ok(Json(sboms::where_used(&state, &who, &q).await?))
}

async fn assess(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Finding>,
) -> ApiResult<Json<Assessment>> {
    Ok(Json(sboms::assess(&state, &who, &id, input).await?))
}

async fn open_vuln(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<NewProductVuln>,
) -> ApiResult<(StatusCode, Json<ProductVulnView>)> {
    let lang = who.lang_or(Lang::En);
    Ok((
        StatusCode::CREATED,
        Json(vulns::open(&state, &who, input, lang).await?),
    ))
}

async fn one_vuln(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductVulnView>> {
    Ok(Json(vulns::view(&state, &who, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct States {
    versions: Vec<VersionStateInput>,
}

async fn save_states(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<States>,
) -> ApiResult<Json<ProductVulnView>> {
    Ok(Json(
        vulns::save_states(&state, &who, &id, input.versions).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: ExportFormat,
}

async fn export(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    Ok(csaf_json(
        exports::export(&state, &who, &id, q.format).await?,
    ))
}

async fn create_advisory(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewAdvisory>,
) -> ApiResult<(StatusCode, Json<Advisory>)> {
    Ok((
        StatusCode::CREATED,
        Json(advisories::create(&state, &who, &id, input).await?),
    ))
}

async fn one_advisory(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<AdvisoryView>> {
    Ok(Json(advisories::view(&state, &who, &id).await?))
}

async fn draft(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(csaf_json(advisories::draft(&state, &who, &id).await?))
}

async fn propose(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewRevision>,
) -> ApiResult<(StatusCode, Json<AdvisoryRevision>)> {
    Ok((
        StatusCode::CREATED,
        Json(advisories::propose(&state, &who, &id, input).await?),
    ))
}

async fn revision_document(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((id, seq)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(csaf_json(
        advisories::revision_document(&state, &who, &id, seq_of(&seq)?).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    sha256: String,
}

async fn approve(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((id, seq)): Path<(String, String)>,
    ApiJson(body): ApiJson<Approval>,
) -> ApiResult<Json<AdvisoryRevision>> {
    Ok(Json(
        advisories::approve(&state, &who, &id, seq_of(&seq)?, &body.sha256).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    release_at: String,
}

async fn move_release(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((id, seq)): Path<(String, String)>,
    ApiJson(body): ApiJson<Release>,
) -> ApiResult<Json<AdvisoryRevision>> {
    Ok(Json(
        advisories::move_release(&state, &who, &id, seq_of(&seq)?, &body.release_at).await?,
    ))
}
