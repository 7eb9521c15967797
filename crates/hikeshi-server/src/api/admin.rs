//! Who am I, users, categories, templates, the audit log and the OpenAPI document.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hikeshi_app::{cases, users};
use hikeshi_model::{case_templates, Role};
use hikeshi_store::{AuditQuery, Category};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/categories", get(categories).post(create_category))
        .route("/api/v1/templates", get(templates))
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/openapi.json", get(super::openapi::document))
}

#[derive(Serialize)]
struct Me {
    username: String,
    display_name: String,
    role: Role,
    lang: Option<String>,
    time_zone: Option<String>,
}

async fn me(who: CurrentUser) -> Json<Me> {
    Json(Me {
        username: who.user.username.clone(),
        display_name: who.user.display_name.clone(),
        role: who.role,
        lang: who.user.lang.clone(),
        time_zone: who.user.time_zone.clone(),
    })
}

async fn categories(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(cases::categories(&state).await?))
}

async fn create_category(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<cases::CategoryInput>,
) -> ApiResult<impl IntoResponse> {
    let cat = cases::create_category(&state, &who, input).await?;
    Ok((StatusCode::CREATED, Json(cat)))
}

async fn templates(_who: CurrentUser) -> Json<&'static [hikeshi_model::CaseTemplate]> {
    Json(case_templates())
}

async fn list_users(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(users::list_users(&state, &who).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    object_type: Option<String>,
    object_id: Option<String>,
    actor: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    format: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Response> {
    let query = AuditQuery {
        object_type: q.object_type,
        object_id: q.object_id,
        actor: q.actor,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    let entries = users::audit_entries(&state, &who, &query).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(entries).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            users::audit_csv(entries),
        )
            .into_response()),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("format: unknown value `{other}`; expected json or csv"),
        )),
    }
}
