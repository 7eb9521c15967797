//! Live monitoring in the API: `POST /api/v1/events` takes NDJSON from log shippers and agents;
//! `GET /api/v1/alerts` lists what the rules found.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::ApiQuery;
use crate::live::{self, IngestResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_store::Alert;
use serde::Deserialize;

/// Largest NDJSON body accepted in one request.
pub const MAX_EVENTS_BODY: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/events",
            post(ingest).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY)),
        )
        .route("/api/v1/alerts", get(alerts))
}

async fn ingest(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<IngestResult>> {
    let source = format!("http:{}", who.user.username);
    Ok(Json(live::ingest_ndjson(&state, body, &source).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    status: Option<String>,
    level: Option<String>,
    rule: Option<String>,
    host: Option<String>,
    limit: Option<i64>,
}

async fn alerts(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(
        state
            .store
            .list_alerts(
                q.status.as_deref(),
                q.level.as_deref(),
                q.rule.as_deref(),
                q.host.as_deref(),
                q.limit.unwrap_or(100).clamp(1, 1000),
            )
            .await?,
    ))
}
