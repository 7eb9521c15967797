//! Automated response in the API: the action queue, one action with its history, approve
//! (bound to the plan hash the approver saw), reject and revoke; connector health.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::response::{self, decide::ActionList, ActionView};
use hikeshi_store::{ConnectorHealth, ResponseAction};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/response/actions", get(list))
        .route("/api/v1/response/actions/{id}", get(one))
        .route("/api/v1/response/actions/{id}/approve", post(approve))
        .route("/api/v1/response/actions/{id}/reject", post(reject))
        .route("/api/v1/response/actions/{id}/revoke", post(revoke))
        .route("/api/v1/response/connectors", get(connectors))
}

async fn list(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<ActionList>,
) -> ApiResult<Json<Vec<ResponseAction>>> {
    Ok(Json(response::decide::list(&state, &who, &q).await?))
}

async fn one(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ActionView>> {
    Ok(Json(response::decide::view(&state, &who, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    plan_hash: String,
}

async fn approve(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Approval>,
) -> ApiResult<Json<ResponseAction>> {
    Ok(Json(
        response::approve(&state, &who, &id, &body.plan_hash).await?,
    ))
}

async fn reject(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ResponseAction>> {
    Ok(Json(response::reject(&state, &who, &id).await?))
}

async fn revoke(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ResponseAction>> {
    Ok(Json(response::revoke(&state, &who, &id).await?))
}

async fn connectors(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<ConnectorHealth>>> {
    Ok(Json(response::decide::connectors(&state, &who).await?))
}
