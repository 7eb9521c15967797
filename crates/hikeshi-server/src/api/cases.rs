//! Cases in the API: list and filter, open, change, tasks, timeline (also as CSV), observables,
//! comments, merging, evidence up and down, and its chain of custody.

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::upload::{evidence_response, receive_evidence};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use hikeshi_app::cases::{self, CaseDetail, CaseQuery};
use hikeshi_app::csv::csv_document;
use hikeshi_app::Lang;
use hikeshi_store::Case;
use serde::Serialize;

pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit = state.web.max_upload_bytes as usize + 64 * 1024;
    Router::new()
        .route("/api/v1/cases", get(list_cases).post(create_case))
        .route("/api/v1/cases/{number}", get(get_case).patch(update_case))
        .route("/api/v1/cases/{number}/tasks", post(add_task))
        .route("/api/v1/cases/{number}/tasks/{task_id}", patch(update_task))
        .route("/api/v1/cases/{number}/timeline", post(add_timeline))
        .route("/api/v1/cases/{number}/timeline.csv", get(timeline_csv))
        .route("/api/v1/cases/{number}/observables", post(add_observable))
        .route(
            "/api/v1/cases/{number}/observables/{id}",
            axum::routing::delete(delete_observable),
        )
        .route("/api/v1/cases/{number}/comments", post(add_comment))
        .route("/api/v1/cases/{number}/merge", post(merge_case))
        .route(
            "/api/v1/cases/{number}/evidence",
            post(upload_evidence).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/v1/evidence/{id}", get(download_evidence))
        .route("/api/v1/evidence/{id}/custody", get(custody))
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    total: i64,
    /// True when more than `total` cases match (counting stops at 1,000).
    total_capped: bool,
    page: i64,
    per_page: i64,
}

async fn list_cases(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<Page<Case>>> {
    let list = cases::list_cases(&state, &who, &q).await?;
    Ok(Json(Page {
        items: list.items,
        total: list.total,
        total_capped: list.total_capped,
        page: q.page(),
        per_page: q.per_page(),
    }))
}

async fn create_case(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<cases::CreateCaseInput>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let lang = who.lang_or(Lang::En);
    let case = cases::open(&state, &who, input, lang).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

async fn get_case(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(number): Path<String>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(cases::case_detail(&state, &number).await?))
}

async fn update_case(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::UpdateCaseInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(
        cases::update_case(&state, &who, &number, input).await?,
    ))
}

async fn add_task(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::TaskInput>,
) -> ApiResult<impl IntoResponse> {
    let task = cases::add_task(&state, &who, &number, input, None).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

async fn update_task(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((number, task_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<cases::TaskUpdateInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        cases::update_task(&state, &who, &number, &task_id, input).await?,
    ))
}

async fn add_timeline(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::TimelineInput>,
) -> ApiResult<impl IntoResponse> {
    let entry = cases::add_timeline(&state, &who, &number, input, None).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

async fn timeline_csv(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let detail = cases::case_detail(&state, &number).await?;
    let rows = detail.timeline.iter().map(|e| {
        vec![
            hikeshi_app::timefmt::rfc3339_utc(e.occurred_at),
            e.kind.clone(),
            e.text.clone(),
            e.author.clone(),
            hikeshi_app::timefmt::rfc3339_utc(e.created_at),
        ]
    });
    let body = csv_document(
        &["occurred_at", "kind", "text", "author", "recorded_at"],
        rows,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"timeline-{}.csv\"",
                    detail.case.number
                ),
            ),
        ],
        body,
    )
        .into_response())
}

async fn add_observable(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::ObservableInput>,
) -> ApiResult<impl IntoResponse> {
    let (obs, created) = cases::add_observable(&state, &who, &number, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(obs)))
}

async fn delete_observable(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((number, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    cases::delete_observable(&state, &who, &number, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_comment(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::CommentInput>,
) -> ApiResult<impl IntoResponse> {
    let comment = cases::add_comment(&state, &who, &number, input).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

async fn merge_case(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<cases::MergeInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(cases::merge_case(&state, &who, &number, input).await?))
}

async fn upload_evidence(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    // A body that is not multipart at all is answered in JSON like every other error.
    let multipart = multipart.map_err(|e| ApiError::invalid("body", e.body_text()))?;
    let ev = receive_evidence(&state, &who, &number, multipart, false).await?;
    Ok((StatusCode::CREATED, Json(ev)))
}

async fn download_evidence(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    evidence_response(&state, &who, &id, &headers).await
}

async fn custody(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (_, _, log) = hikeshi_app::cases::evidence_custody(&state, &who, &id).await?;
    Ok(Json(log))
}
