//! Sharing in the API: the gate's preview of a case for an audience, and the case as a STIX 2.1
//! report bundle made from what the gate cleared; a partner's bundle imported as a case.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::ApiQuery;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::intel::{self, ShareRequest};
use hikeshi_app::Lang;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{number}/share", get(share_preview))
        .route("/api/v1/cases/{number}/stix", get(case_stix))
        .route("/api/v1/stix/import", post(import_bundle))
}

/// A partner's bundle (the raw JSON as the body) becomes a case.
async fn import_bundle(
    State(state): State<AppState>,
    who: CurrentUser,
    body: axum::body::Body,
) -> ApiResult<impl IntoResponse> {
    who.require_edit("import shared intelligence")?;
    let limit = hikeshi_exchange::stix::import::MAX_BUNDLE_BYTES;
    let body = crate::body::read_large(&state, body, limit).await?;
    let imported = intel::import_stix(&state, &who, &body.bytes, who.lang_or(Lang::En)).await?;
    Ok((StatusCode::CREATED, Json(imported)))
}

/// `?audience=partner&include_summary=true&keep_victim_details=false`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareQuery {
    audience: Option<String>,
    #[serde(default)]
    include_summary: bool,
    #[serde(default)]
    keep_victim_details: bool,
}

impl ShareQuery {
    pub(crate) fn request(&self) -> hikeshi_app::AppResult<ShareRequest> {
        ShareRequest::parse(
            self.audience.as_deref(),
            self.include_summary,
            self.keep_victim_details,
        )
    }
}

async fn share_preview(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiQuery(q): ApiQuery<ShareQuery>,
) -> ApiResult<impl IntoResponse> {
    let preview =
        intel::case_share(&state, &who, &number, q.request()?, who.lang_or(Lang::En)).await?;
    Ok(Json(preview))
}

async fn case_stix(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiQuery(q): ApiQuery<ShareQuery>,
) -> ApiResult<Response> {
    let request = q.request()?;
    let bundle = intel::case_stix(&state, &who, &number, request, who.lang_or(Lang::En)).await?;
    Ok(stix_download(&number, request, &bundle))
}

/// The bundle as a file named after the case and the audience.
pub(crate) fn stix_download(
    number: &str,
    request: ShareRequest,
    bundle: &serde_json::Value,
) -> Response {
    let name: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (
        [
            (
                header::CONTENT_TYPE,
                hikeshi_exchange::stix::MEDIA_TYPE.to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"case-{name}-{}.stix.json\"",
                    request.audience.code()
                ),
            ),
        ],
        bundle.to_string(),
    )
        .into_response()
}
