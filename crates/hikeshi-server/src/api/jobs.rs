//! Background jobs in the API (admins): the queue with its dead jobs, and retrying one.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::ApiQuery;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::jobs::{self, JobQuery};
use hikeshi_store::Job;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(list))
        .route("/api/v1/jobs/{id}", get(one))
        .route("/api/v1/jobs/{id}/retry", post(retry))
}

async fn list(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    Ok(Json(jobs::list(&state, &who, &q).await?))
}

async fn one(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(jobs::job(&state, &who, &id).await?))
}

async fn retry(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(jobs::retry(&state, &who, &id).await?))
}
