//! Live monitoring in the API: `POST /api/v1/events` takes NDJSON from log shippers and agents,
//! answered after the alerts are committed.

use crate::auth::Shipper;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use hikeshi_app::live::{self, IngestResult};

/// Largest NDJSON body accepted in one request.
pub const MAX_EVENTS_BODY: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/events",
        post(ingest).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY)),
    )
}

async fn ingest(
    State(state): State<AppState>,
    Shipper(who): Shipper,
    body: Bytes,
) -> ApiResult<Json<IngestResult>> {
    Ok(Json(live::ingest(&state, &who, body).await?))
}
