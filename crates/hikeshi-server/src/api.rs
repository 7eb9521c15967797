//! The REST API under `/api/v1`: JSON in and out, errors as `{"error": {code, message, field}}`.

use crate::auth::{check_password_policy, hash_password, CurrentUser};
use crate::csv::csv_document;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::json::{ApiJson, ApiQuery};
use crate::service::{self, CaseDetail};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use hikeshi_model::{case_templates, CaseStatus, Role, Severity};
use hikeshi_store::{AuditQuery, Case, CaseFilter, Category};
use serde::{Deserialize, Serialize};

pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit = state.config.max_upload_bytes as usize + 64 * 1024;
    Router::new()
        .route("/api/v1/me", get(me))
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
        .route("/api/v1/categories", get(categories).post(create_category))
        .route("/api/v1/templates", get(templates))
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
}

/// Language for texts the API produces (template tasks): the user's, else English.
pub(crate) fn api_lang(who: &CurrentUser) -> Lang {
    who.user
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::En)
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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    pub severity: Option<Severity>,
    pub category: Option<String>,
    pub assignee: Option<String>,
    pub tag: Option<String>,
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl CaseQuery {
    pub fn page(&self) -> i64 {
        i64::from(self.page.unwrap_or(1).max(1))
    }
    pub fn per_page(&self) -> i64 {
        i64::from(self.per_page.unwrap_or(50).clamp(1, 200))
    }
    pub fn to_filter(&self) -> CaseFilter {
        let keep = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        CaseFilter {
            status: self.status.map(|s| s.code().into()),
            severity: self.severity.map(|s| s.code().into()),
            category: keep(&self.category),
            assignee: keep(&self.assignee),
            tag: keep(&self.tag),
            text: keep(&self.q).map(|q| q.chars().take(200).collect()),
            limit: self.per_page(),
            offset: (self.page() - 1) * self.per_page(),
        }
    }
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
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<Page<Case>>> {
    let list = state.store.list_cases(&q.to_filter()).await?;
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
    ApiJson(input): ApiJson<service::CreateCaseInput>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let lang = api_lang(&who);
    let case = service::create_case(&state, &who, input, lang).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

async fn get_case(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(number): Path<String>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(service::case_detail(&state, &number).await?))
}

async fn update_case(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<service::UpdateCaseInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(
        service::update_case(&state, &who, &number, input).await?,
    ))
}

async fn add_task(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<service::TaskInput>,
) -> ApiResult<impl IntoResponse> {
    let task = service::add_task(&state, &who, &number, input, None).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

async fn update_task(
    State(state): State<AppState>,
    who: CurrentUser,
    Path((number, task_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<service::TaskUpdateInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        service::update_task(&state, &who, &number, &task_id, input).await?,
    ))
}

async fn add_timeline(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<service::TimelineInput>,
) -> ApiResult<impl IntoResponse> {
    let entry = service::add_timeline(&state, &who, &number, input, None).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

async fn timeline_csv(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let detail = service::case_detail(&state, &number).await?;
    let rows = detail.timeline.iter().map(|e| {
        vec![
            crate::timefmt::rfc3339_utc(e.occurred_at),
            e.kind.clone(),
            e.text.clone(),
            e.author.clone(),
            crate::timefmt::rfc3339_utc(e.created_at),
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
    ApiJson(input): ApiJson<service::ObservableInput>,
) -> ApiResult<impl IntoResponse> {
    let (obs, created) = service::add_observable(&state, &who, &number, input).await?;
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
    who.require(who.role.can_edit_cases(), "remove observables")?;
    let case = state
        .store
        .case_by_number(&service::parse_number(&number)?)
        .await?;
    state
        .store
        .delete_observable(&case.id, &id, &who.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_comment(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<service::CommentInput>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::add_comment(&state, &who, &number, input).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

async fn merge_case(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<service::MergeInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(
        service::merge_case(&state, &who, &number, input).await?,
    ))
}

/// Streams a multipart upload (`file`, optional `description`) to disk, hashing as it goes.
pub async fn receive_evidence(
    state: &AppState,
    who: &CurrentUser,
    number: &str,
    mut multipart: Multipart,
    csrf_from_form: bool,
) -> ApiResult<hikeshi_store::Evidence> {
    let case = service::case_for_evidence(state, who, number).await?;
    let limit = state.config.max_upload_bytes;
    let mut description = String::new();
    let mut stored: Option<service::ReceivedFile> = None;
    let mut csrf_ok = !csrf_from_form;
    let multipart_err = |e| multipart_error(e, limit);
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_err)? {
        match field.name().unwrap_or("") {
            "csrf" => {
                let token = field.text().await.map_err(multipart_err)?;
                who.check_csrf(Some(&token))?;
                csrf_ok = true;
            }
            "description" => {
                description = field.text().await.map_err(multipart_err)?;
            }
            "file" if csrf_ok && stored.is_none() => {
                stored = Some(store_field(state, &mut field, limit).await?);
            }
            _ => {}
        }
    }
    if !csrf_ok {
        who.check_csrf(None)?;
    }
    let file = stored.ok_or_else(|| ApiError::invalid("file", "the upload has no `file` part"))?;
    service::record_evidence(state, who, &case, file, &description).await
}

async fn upload_evidence(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    multipart: Multipart,
) -> ApiResult<impl IntoResponse> {
    let ev = receive_evidence(&state, &who, &number, multipart, false).await?;
    Ok((StatusCode::CREATED, Json(ev)))
}

/// Streams one multipart file field into content-addressed storage, up to `limit` bytes.
pub async fn store_field(
    state: &AppState,
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
) -> ApiResult<service::ReceivedFile> {
    let filename = field.file_name().unwrap_or("upload.bin").to_string();
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut incoming = state
        .evidence
        .begin(limit)
        .await
        .map_err(ApiError::internal)?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if let Err(e) = incoming.write(&chunk).await {
                    return Err(match e {
                        crate::evidence_files::EvidenceError::TooLarge(l) => ApiError::too_large(l),
                        other => ApiError::internal(other),
                    });
                }
            }
            Ok(None) => break,
            Err(e) => {
                incoming.abandon().await;
                return Err(multipart_error(e, limit));
            }
        }
    }
    let (sha256, size) = state
        .evidence
        .commit(incoming)
        .await
        .map_err(ApiError::internal)?;
    Ok(service::ReceivedFile {
        sha256,
        size,
        filename,
        content_type,
    })
}

/// A multipart problem as an API error: too large, or malformed with the parser's words.
pub fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::invalid(
            "body",
            format!("malformed multipart body: {}", e.body_text()),
        )
    }
}

/// Serves evidence bytes after writing the download into the chain of custody.
pub async fn evidence_response(
    state: &AppState,
    who: &CurrentUser,
    id: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let ev = state.store.evidence(id).await?;
    let file = state.evidence.open(&ev.sha256).await.map_err(|e| {
        ApiError::internal(format!(
            "evidence {} ({}) missing on disk: {e}",
            ev.id, ev.sha256
        ))
    })?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    state
        .store
        .record_evidence_download(
            &ev.id,
            &who.actor(),
            &format!("user-agent={}", agent.chars().take(200).collect::<String>()),
        )
        .await?;
    let stream = tokio_util_stream(file);
    let disposition = format!(
        "attachment; filename=\"evidence-{}\"; filename*=UTF-8''{}",
        &ev.sha256[..12.min(ev.sha256.len())],
        urlencoding::encode(&ev.filename)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::HeaderName::from_static("x-content-sha256"),
                ev.sha256.clone(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Reads a file in chunks as a body stream.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
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
    _who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ev = state.store.evidence(&id).await?;
    Ok(Json(state.store.custody_log(&ev.id).await?))
}

async fn categories(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(state.store.categories().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryInput {
    code: String,
    label_ja: String,
    label_en: String,
}

async fn create_category(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<impl IntoResponse> {
    who.require(who.role.can_command(), "add categories")?;
    if !hikeshi_model::is_valid_category_code(&input.code) {
        return Err(ApiError::invalid(
            "code",
            "code: 2–40 lowercase letters, digits or underscores",
        ));
    }
    let cat = Category {
        code: input.code,
        label_ja: service::text_field("label_ja", &input.label_ja, true, 100)?,
        label_en: service::text_field("label_en", &input.label_en, true, 100)?,
        builtin: 0,
    };
    state.store.create_category(&cat, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(cat)))
}

async fn templates(_who: CurrentUser) -> Json<&'static [hikeshi_model::CaseTemplate]> {
    Json(case_templates())
}

async fn list_users(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    who.require(who.role.can_command(), "list users")?;
    Ok(Json(state.store.list_users().await?))
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
    who.require(who.role.is_admin(), "read the audit log")?;
    let entries = state
        .store
        .audit_entries(&AuditQuery {
            object_type: q.object_type,
            object_id: q.object_id,
            actor: q.actor,
            limit: q.limit.unwrap_or(100),
            offset: q.offset.unwrap_or(0),
        })
        .await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(entries).into_response()),
        Some("csv") => {
            let rows = entries.into_iter().map(|e| {
                vec![
                    crate::timefmt::rfc3339_utc(e.at),
                    e.actor,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.before_json.unwrap_or_default(),
                    e.after_json.unwrap_or_default(),
                ]
            });
            let body = csv_document(
                &[
                    "at",
                    "actor",
                    "action",
                    "object_type",
                    "object_id",
                    "before",
                    "after",
                ],
                rows,
            );
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
        }
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("format: unknown value `{other}`; expected json or csv"),
        )),
    }
}

/// Creating users over the API is for admins; the first admin comes from the CLI.
pub async fn create_user_checked(
    state: &AppState,
    who: &CurrentUser,
    username: &str,
    display: &str,
    role: Role,
    password: &str,
) -> ApiResult<hikeshi_store::User> {
    who.require(who.role.is_admin(), "create users")?;
    check_password_policy(password).map_err(|m| ApiError::invalid("password", m))?;
    let username = crate::service::text_field("username", username, true, 64)?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let new = hikeshi_store::NewUser {
        username: username.clone(),
        display_name: if display.trim().is_empty() {
            username
        } else {
            display.trim().to_string()
        },
        role: role.code().into(),
        password_hash: hash,
    };
    Ok(state.store.create_user(&new, &who.actor()).await?)
}
