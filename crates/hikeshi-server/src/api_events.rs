//! Live monitoring in the API: `POST /api/v1/events` takes NDJSON from log shippers and agents;
//! `GET /api/v1/alerts` lists what the rules found.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, ApiQuery};
use crate::live::{self, IngestResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_model::AlertStatus;
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
        .route(
            "/api/v1/alerts/{id}",
            get(crate::api_alerts::one).patch(set_status),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: AlertStatus,
    #[serde(default)]
    reason: String,
}

/// Acknowledge, close or judge an alert a false positive (with a reason). `escalated` is set
/// by escalating to a case, not here.
async fn set_status(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusInput>,
) -> ApiResult<Json<Alert>> {
    who.require(who.role.can_edit_cases(), "change alerts")?;
    let required = input.status == AlertStatus::FalsePositive;
    let reason = crate::service::text_field("reason", &input.reason, required, 5_000)?;
    if matches!(
        input.status,
        AlertStatus::Escalated | AlertStatus::Suppressed
    ) {
        return Err(ApiError::invalid(
            "status",
            "status: `escalated` is set by escalating to a case, `suppressed` by a suppression rule",
        ));
    }
    Ok(Json(
        state
            .store
            .set_alert_status(&id, input.status.code(), &reason, &who.actor())
            .await?,
    ))
}

async fn ingest(
    State(state): State<AppState>,
    who: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<IngestResult>> {
    let source = format!("http:{}", who.user.username);
    Ok(Json(
        live::ingest_ndjson(state.live.as_ref(), body, &source).await?,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    status: Option<String>,
    level: Option<String>,
    rule: Option<String>,
    host: Option<String>,
    limit: Option<i64>,
    /// `priority`: highest priority first (default: most recently seen first).
    sort: Option<String>,
}

/// Alerts with their priority: what they hit (asset value, exposure, open findings) weighs in,
/// and the reasons are listed.
async fn alerts(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Vec<crate::vulns::triage::RankedAlert>>> {
    let list = state
        .store
        .list_alerts(
            q.status.as_deref(),
            q.level.as_deref(),
            q.rule.as_deref(),
            q.host.as_deref(),
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await?;
    let mut ranked = crate::vulns::triage::rank_alerts(&state.store, list).await?;
    if q.sort.as_deref() == Some("priority") {
        ranked.sort_by_key(|a| std::cmp::Reverse(a.priority));
    }
    Ok(Json(ranked))
}
