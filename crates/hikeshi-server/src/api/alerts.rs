//! The alert queue in the API: alerts with their priority, one alert, state changes (one or
//! many), escalation to a case, suppression rules, rule reload, and a change feed
//! (Server-Sent Events) for the page.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use hikeshi_app::alerts::{
    self, AlertQuery, BulkInput, EscalateInput, StatusInput, SuppressionInput,
};
use hikeshi_app::vulns::triage::RankedAlert;
use hikeshi_store::{Alert, Case, Suppression};
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/{id}", get(one).patch(set_status))
        .route("/api/v1/alerts/bulk", post(bulk_status))
        .route("/api/v1/alerts/escalate", post(escalate))
        .route("/api/v1/alerts/stream", get(stream))
        .route(
            "/api/v1/suppressions",
            get(list_suppressions).post(create_suppression),
        )
        .route("/api/v1/suppressions/{id}/revoke", post(revoke_suppression))
        .route("/api/v1/rules/reload", post(reload_rules))
}

async fn list(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Vec<RankedAlert>>> {
    Ok(Json(alerts::list(&state, &who, &q).await?))
}

async fn one(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(alerts::alert(&state, &who, &id).await?))
}

/// Acknowledge, close or judge an alert a false positive (with a reason). `escalated` is set
/// by escalating to a case, not here.
async fn set_status(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusInput>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(alerts::set_status(&state, &who, &id, input).await?))
}

async fn bulk_status(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<BulkInput>,
) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(alerts::set_many(&state, &who, input).await?))
}

async fn escalate(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<EscalateInput>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    Ok((
        StatusCode::OK,
        Json(alerts::escalate_alerts(&state, &who, input).await?),
    ))
}

async fn create_suppression(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<SuppressionInput>,
) -> ApiResult<(StatusCode, Json<Suppression>)> {
    Ok((
        StatusCode::CREATED,
        Json(alerts::add_suppression(&state, &who, input).await?),
    ))
}

async fn list_suppressions(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<Suppression>>> {
    Ok(Json(alerts::list_suppressions(&state, &who).await?))
}

async fn revoke_suppression(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Suppression>> {
    Ok(Json(alerts::end_suppression(&state, &who, &id).await?))
}

#[derive(Serialize)]
struct Reloaded {
    loaded: String,
}

async fn reload_rules(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Reloaded>> {
    let loaded = hikeshi_app::live::reload_rules(&state, &who).await?;
    Ok(Json(Reloaded { loaded }))
}

/// Sends `changed` whenever alerts were added to or changed; the page then fetches the list.
/// It polls a cheap watermark, so changes made by other nodes and workers show too.
async fn stream(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let store = state.store.clone();
    let events = futures_util::stream::unfold(None, move |last| {
        let store = store.clone();
        async move {
            loop {
                let now = store.alerts_watermark().await.ok();
                if now.is_some() && now != last {
                    let data = now.map(|(c, t)| format!("{c}:{t}")).unwrap_or_default();
                    let event = Event::default().event("changed").data(data);
                    return Some((Ok(event), now));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
