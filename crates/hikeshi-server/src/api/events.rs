//! Live monitoring in the API: `POST /api/v1/events` takes NDJSON from log shippers and agents,
//! answered after the alerts are committed.

use crate::auth::Shipper;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hikeshi_app::live::{self, IngestResult};

/// Largest NDJSON body accepted in one request.
pub const MAX_EVENTS_BODY: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events", post(ingest))
}

async fn ingest(
    State(state): State<AppState>,
    Shipper(who): Shipper,
    body: Body,
) -> ApiResult<Json<IngestResult>> {
    let body = crate::body::read_large(&state, body, MAX_EVENTS_BODY).await?;
    Ok(Json(live::ingest(&state, &who, body.bytes.clone()).await?))
}
