//! The point of contact in the REST API: other tools (an outsourced SOC, a monitoring system)
//! file reports with a token; the team lists them and decides on them.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hikeshi_app::escalation;
use hikeshi_app::i18n::Lang;
use hikeshi_app::intake::{self, ReportInput, ReportView};
use hikeshi_model::{ReportSource, ReportStatus};
use hikeshi_store::{Case, Report};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", get(list).post(create))
        .route("/api/v1/reports/{tracking}", get(show))
        .route("/api/v1/reports/{tracking}/case", post(to_case))
        .route("/api/v1/reports/{tracking}/attach", post(attach))
        .route("/api/v1/reports/{tracking}/reject", post(reject))
        .route("/api/v1/reports/{tracking}/spam", post(spam))
        .route("/api/v1/team", get(team_get).put(team_put))
        .route("/api/v1/mail", get(mail_queue))
        .route("/api/v1/contacts", get(contacts).post(create_contact))
        .route("/api/v1/escalation", get(rules).post(create_rule))
        .route("/api/v1/cases/{number}/escalation", get(case_checklist))
        .route("/api/v1/cases/{number}/notify", post(case_notify))
        .route(
            "/api/v1/cases/{number}/outbound-report",
            get(outbound_draft).post(outbound_sent),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftQuery {
    form: String,
    lang: Option<String>,
}

#[derive(Serialize)]
struct Draft {
    form: String,
    lang: String,
    text: String,
}

async fn outbound_draft(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiQuery(q): ApiQuery<DraftQuery>,
) -> ApiResult<Json<Draft>> {
    let form = hikeshi_app::outbound_reports::ReportForm::parse(&q.form)?;
    let lang = match q.lang.as_deref() {
        Some(code) => Lang::parse(code).ok_or_else(|| {
            crate::error::ApiError::invalid(
                "lang",
                format!("lang: unknown value `{code}`; expected ja or en"),
            )
        })?,
        None => who.lang_or(hikeshi_app::Lang::En),
    };
    let text = hikeshi_app::outbound_reports::draft(&state, &number, form, lang).await?;
    Ok(Json(Draft {
        form: q.form,
        lang: lang.code().into(),
        text,
    }))
}

async fn outbound_sent(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<hikeshi_app::outbound_reports::SentInput>,
) -> ApiResult<StatusCode> {
    hikeshi_app::outbound_reports::record_sent(&state, &who, &number, input).await?;
    Ok(StatusCode::CREATED)
}

async fn contacts(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<hikeshi_store::Contact>>> {
    Ok(Json(state.store.contacts().await?))
}

async fn create_contact(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<escalation::ContactInput>,
) -> ApiResult<(StatusCode, Json<hikeshi_store::Contact>)> {
    let c = escalation::create_contact(&state, &who, input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn rules(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<hikeshi_store::EscalationRule>>> {
    Ok(Json(state.store.escalation_rules().await?))
}

async fn create_rule(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<escalation::RuleInput>,
) -> ApiResult<(StatusCode, Json<hikeshi_store::EscalationRule>)> {
    let r = escalation::create_rule(&state, &who, input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

async fn case_checklist(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(number): Path<String>,
) -> ApiResult<Json<Vec<escalation::ChecklistItem>>> {
    Ok(Json(escalation::checklist(&state, &number).await?))
}

async fn case_notify(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<escalation::NotifyInput>,
) -> ApiResult<(StatusCode, Json<hikeshi_store::CaseNotification>)> {
    let n = escalation::notify(&state, &who, &number, input).await?;
    Ok((StatusCode::CREATED, Json(n)))
}

/// The outgoing mail queue (managers and admins): what was sent, what waits, what failed.
async fn mail_queue(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<hikeshi_store::OutboundMail>>> {
    Ok(Json(intake::outgoing_mail(&state, &who, 500).await?))
}

async fn team_get(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> Json<std::collections::BTreeMap<String, String>> {
    Json(hikeshi_app::team::load(&state).await.values)
}

/// Sets profile entries (admins). Unknown keys and over-long values are refused by name.
async fn team_put(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<std::collections::BTreeMap<String, String>>,
) -> ApiResult<Json<std::collections::BTreeMap<String, String>>> {
    let entries = input.into_iter().collect();
    Ok(Json(
        hikeshi_app::team::save(&state, &who, entries).await?.values,
    ))
}

/// What the filer gets back: enough to quote the report later.
#[derive(Serialize)]
struct Filed {
    tracking: String,
    status: String,
    suggested_category: String,
    kind: String,
}

async fn create(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<ReportInput>,
) -> ApiResult<(StatusCode, Json<Filed>)> {
    let report = intake::submit_report(
        &state,
        input,
        ReportSource::Api,
        "",
        Vec::new(),
        &who.user.username,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Filed {
            tracking: report.tracking,
            status: report.status,
            suggested_category: report.suggested_category,
            kind: report.kind,
        }),
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Report>>> {
    Ok(Json(
        intake::list_reports(&state, q.status.as_deref(), q.limit.unwrap_or(100)).await?,
    ))
}

async fn show(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(tracking): Path<String>,
) -> ApiResult<Json<ReportView>> {
    Ok(Json(intake::report_view(&state, &tracking).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ToCaseQuery {
    /// Copy the reporter's name and contact into the case text (default: they stay with the
    /// report).
    #[serde(default)]
    include_reporter: bool,
}

async fn to_case(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(tracking): Path<String>,
    ApiQuery(q): ApiQuery<ToCaseQuery>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    let how = intake::CarryOver {
        lang: who.lang_or(hikeshi_app::Lang::En),
        include_reporter: q.include_reporter,
    };
    let case = intake::create_case_from_report(&state, &who, &tracking, how).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachInput {
    case: String,
}

async fn attach(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(tracking): Path<String>,
    ApiJson(input): ApiJson<AttachInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(
        intake::attach_report(
            &state,
            &who,
            &tracking,
            &input.case,
            who.lang_or(hikeshi_app::Lang::En),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    #[serde(default)]
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(tracking): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        intake::close_report(
            &state,
            &who,
            &tracking,
            ReportStatus::Rejected,
            &input.reason,
        )
        .await?,
    ))
}

async fn spam(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(tracking): Path<String>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        intake::close_report(&state, &who, &tracking, ReportStatus::Spam, "").await?,
    ))
}
