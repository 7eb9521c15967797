//! Management reporting in the API: the dashboard and its overrides, entries of the month,
//! incident statistics (JSON and CSV), the controls registry and coverage map, the ATT&CK
//! Navigator layer, maturity self-checks, and the monthly report as JSON, HTML or PDF.

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::json::{ApiJson, ApiQuery};
use crate::monthly_html::monthly_response;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hikeshi_app::reporting::programme::{
    self as programme, ControlInput, EntryInput, IssueInput, MonthlyQuery, OverrideInput,
    StatsQuery,
};
use hikeshi_app::reporting::{coverage, kpi, maturity, stats};
use hikeshi_app::Lang;
use hikeshi_model::reporting::{MATURITY_AREAS, MATURITY_LEVELS, MATURITY_SERVICES};
use hikeshi_store::{Control, Entry, IssuedReport, KpiOverride};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboard", get(dashboard))
        .route("/api/v1/dashboard/overrides", post(create_override))
        .route("/api/v1/entries", get(list_entries).post(create_entry))
        .route("/api/v1/entries/{id}", post(set_entry_open))
        .route("/api/v1/stats", get(statistics))
        .route("/api/v1/stats.csv", get(statistics_csv))
        .route("/api/v1/controls", get(list_controls).post(create_control))
        .route(
            "/api/v1/controls/{id}",
            put(update_control).delete(delete_control),
        )
        .route("/api/v1/coverage", get(coverage_map))
        .route("/api/v1/coverage/attack-layer", get(attack_layer))
        .route("/api/v1/maturity", get(maturity_overview))
        .route("/api/v1/maturity/assessments", post(create_assessment))
        .route("/api/v1/maturity/assessments/{id}", get(assessment))
        .route("/api/v1/reports/monthly", get(monthly_report))
        .route("/api/v1/reports/monthly/issue", post(issue))
        .route("/api/v1/reports/monthly/issued", get(issued))
        .route("/api/v1/reports/monthly/issued/{id}", get(issued_file))
        .route("/api/v1/cases/import", post(import_ledger))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LedgerQuery {
    #[serde(default)]
    dry_run: bool,
}

/// An earlier incident ledger as CSV (manager or admin): 422 with every bad cell, else the
/// cases created and the rows skipped because their `ref` was imported before.
async fn import_ledger(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<LedgerQuery>,
    body: axum::body::Body,
) -> ApiResult<Response> {
    programme::may_import_ledger(&who)?;
    let limit = hikeshi_app::reporting::ledger::MAX_BYTES;
    let body = crate::body::read_large(&state, body, limit).await?;
    let plan = programme::import_ledger(&state, &who, &body.bytes, q.dry_run).await?;
    let status = if !plan.errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if q.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(plan)).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MonthQuery {
    month: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<kpi::Dashboard>> {
    let month = programme::month_or_current(&state, q.month.as_deref())?;
    Ok(Json(kpi::dashboard(&state, month).await?))
}

async fn create_override(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<OverrideInput>,
) -> ApiResult<(StatusCode, Json<KpiOverride>)> {
    Ok((
        StatusCode::CREATED,
        Json(programme::override_level(&state, &who, input).await?),
    ))
}

async fn list_entries(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<Vec<Entry>>> {
    Ok(Json(
        programme::entries(&state, &who, q.month.as_deref()).await?,
    ))
}

async fn create_entry(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<EntryInput>,
) -> ApiResult<(StatusCode, Json<Entry>)> {
    Ok((
        StatusCode::CREATED,
        Json(programme::add_entry(&state, &who, input).await?),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenInput {
    open: bool,
}

async fn set_entry_open(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OpenInput>,
) -> ApiResult<Json<Entry>> {
    Ok(Json(
        programme::set_entry_open(&state, &who, &id, input.open).await?,
    ))
}

async fn statistics(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<stats::Statistics>> {
    Ok(Json(programme::statistics(&state, &who, &q).await?))
}

async fn statistics_csv(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Response> {
    let s = programme::statistics(&state, &who, &q).await?;
    let name = format!(
        "attachment; filename=\"incident-statistics-{}.csv\"",
        s.period.label
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        stats::to_csv(&s),
    )
        .into_response())
}

async fn list_controls(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<Control>>> {
    Ok(Json(programme::controls(&state, &who).await?))
}

async fn create_control(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<ControlInput>,
) -> ApiResult<(StatusCode, Json<Control>)> {
    Ok((
        StatusCode::CREATED,
        Json(programme::create_control(&state, &who, &input).await?),
    ))
}

async fn update_control(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ControlInput>,
) -> ApiResult<Json<Control>> {
    Ok(Json(
        programme::update_control(&state, &who, &id, &input).await?,
    ))
}

async fn delete_control(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    programme::delete_control(&state, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn coverage_map(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<coverage::CoverageMap>> {
    Ok(Json(coverage::coverage_map(&state).await?))
}

async fn attack_layer(State(state): State<AppState>, _who: CurrentUser) -> ApiResult<Response> {
    let layer = coverage::attack_layer(&state, "hikeshi detection coverage");
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"hikeshi-attack-layer.json\"",
        )],
        Json(layer),
    )
        .into_response())
}

async fn maturity_overview(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Value>> {
    let levels: Vec<Value> = MATURITY_LEVELS
        .iter()
        .map(|(l, ja, en)| json!({"level": l, "label_ja": ja, "label_en": en}))
        .collect();
    Ok(Json(json!({
        "areas": MATURITY_AREAS,
        "services": MATURITY_SERVICES,
        "levels": levels,
        "assessments": maturity::history(&state).await?,
    })))
}

async fn create_assessment(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<maturity::AssessmentInput>,
) -> ApiResult<(StatusCode, Json<maturity::AssessmentView>)> {
    Ok((
        StatusCode::CREATED,
        Json(programme::add_assessment(&state, &who, &input).await?),
    ))
}

async fn assessment(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<maturity::AssessmentView>> {
    Ok(Json(programme::assessment(&state, &who, &id).await?))
}

async fn issue(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<IssuedReport>)> {
    Ok((
        StatusCode::CREATED,
        Json(programme::issue_report(&state, &who, &input).await?),
    ))
}

async fn issued(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Vec<IssuedReport>>> {
    Ok(Json(programme::issued_reports(&state, &who).await?))
}

async fn issued_file(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (r, bytes) = programme::issued_pdf(&state, &who, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "inline; filename=\"hikeshi-monthly-{}-{}-issued.pdf\"",
                    r.month, r.lang
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The report in the caller's language unless asked otherwise (Japanese by default: the
/// report goes to Japanese management).
async fn monthly_report(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<MonthlyQuery>,
) -> ApiResult<Response> {
    let lang = who.lang_or(Lang::Ja);
    let report = programme::monthly_report(&state, &who, &q, lang).await?;
    Ok(monthly_response(report))
}
