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
use hikeshi_app::intel::{self, ShareFormat, ShareRequest};
use hikeshi_app::Lang;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases/{number}/share", get(share_preview))
        .route("/api/v1/cases/{number}/stix", get(case_stix))
        .route("/api/v1/cases/{number}/misp", get(case_misp))
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
    state: State<AppState>,
    who: CurrentUser,
    number: Path<String>,
    query: ApiQuery<ShareQuery>,
) -> ApiResult<Response> {
    export(state, who, number, query, ShareFormat::Stix).await
}

async fn case_misp(
    state: State<AppState>,
    who: CurrentUser,
    number: Path<String>,
    query: ApiQuery<ShareQuery>,
) -> ApiResult<Response> {
    export(state, who, number, query, ShareFormat::Misp).await
}

async fn export(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiQuery(q): ApiQuery<ShareQuery>,
    format: ShareFormat,
) -> ApiResult<Response> {
    let request = q.request()?;
    let lang = who.lang_or(Lang::En);
    let document = intel::case_export(&state, &who, &number, request, lang, format).await?;
    Ok(share_download(&number, request, format, &document))
}

/// A shared document as a file named after the case, the audience and the format.
pub(crate) fn share_download(
    number: &str,
    request: ShareRequest,
    format: ShareFormat,
    document: &serde_json::Value,
) -> Response {
    match format {
        ShareFormat::Stix => attachment(
            number,
            request,
            "stix.json",
            hikeshi_exchange::stix::MEDIA_TYPE,
            document,
        ),
        ShareFormat::Misp => attachment(number, request, "misp.json", "application/json", document),
    }
}

/// A shared document as a file: `case-2026-0001-partner.stix.json`.
fn attachment(
    number: &str,
    request: ShareRequest,
    extension: &str,
    media_type: &str,
    document: &serde_json::Value,
) -> Response {
    let name: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let file = format!("case-{name}-{}.{extension}", request.audience.code());
    (
        [
            (header::CONTENT_TYPE, media_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        document.to_string(),
    )
        .into_response()
}
