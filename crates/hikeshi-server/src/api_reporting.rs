//! Management reporting in the API: the dashboard and its overrides, entries of the month,
//! incident statistics (JSON and CSV), the controls registry and coverage map, the ATT&CK
//! Navigator layer, maturity self-checks, and the monthly report as JSON, HTML or PDF.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::json::{ApiJson, ApiQuery};
use crate::reporting::period::{Month, PeriodKind};
use crate::reporting::{coverage, kpi, maturity, monthly, pdf, stats};
use crate::service::text_field;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hikeshi_model::reporting::{
    CsfFunction, DefenceLayer, Effectiveness, EntryKind, Kpi, MATURITY_AREAS, MATURITY_LEVELS,
    MATURITY_SERVICES,
};
use hikeshi_store::{Control, Entry, IssuedReport, KpiOverride, NewControl, NewEntry};
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
        .route(
            "/api/v1/cases/import",
            post(import_ledger).layer(axum::extract::DefaultBodyLimit::max(
                crate::case_ledger::MAX_BYTES,
            )),
        )
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
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    who.require(who.role.can_command(), "import an incident ledger")?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::invalid("body", format!("the ledger is not UTF-8 text: {e}")))?;
    let offset = state
        .config
        .reporting
        .offset_ms()
        .map_err(ApiError::internal)?;
    let plan =
        crate::case_ledger::import(&state.store, text, q.dry_run, offset, &who.actor()).await?;
    let status = if plan.errors.is_empty() {
        if q.dry_run {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        }
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(plan)).into_response())
}

/// The month asked for, or the current one in the team's time zone.
pub fn month_or_current(state: &AppState, month: Option<&str>) -> ApiResult<Month> {
    month_field_or_current(state, "month", month)
}

/// Like [`month_or_current`], naming `field` in the error.
pub fn month_field_or_current(
    state: &AppState,
    field: &str,
    month: Option<&str>,
) -> ApiResult<Month> {
    match month.filter(|m| !m.trim().is_empty()) {
        Some(m) => Month::parse(field, m),
        None => {
            let offset = state
                .config
                .reporting
                .offset_ms()
                .map_err(ApiError::internal)?;
            Ok(Month::containing(hikeshi_store::now_ms(), offset))
        }
    }
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
    let month = month_or_current(&state, q.month.as_deref())?;
    Ok(Json(kpi::dashboard(&state, month).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub month: String,
    pub kpi: Kpi,
    pub level: i64,
    #[serde(default)]
    pub remark: String,
    pub reason: String,
}

/// A CISO's override of a computed level: manager or admin, with a reason, audited.
pub async fn override_level(
    state: &AppState,
    who: &CurrentUser,
    input: OverrideInput,
) -> ApiResult<KpiOverride> {
    who.require(who.role.can_command(), "override KPI levels")?;
    let month = Month::parse("month", &input.month)?;
    if !(1..=3).contains(&input.level) {
        return Err(ApiError::invalid(
            "level",
            "level: 1 (normal), 2 (caution) or 3 (action needed)",
        ));
    }
    let reason = text_field("reason", &input.reason, true, 2000)?;
    let remark = text_field("remark", &input.remark, false, 2000)?;
    Ok(state
        .store
        .create_override(
            &KpiOverride {
                id: String::new(),
                month: month.code(),
                kpi: input.kpi.code().into(),
                level: input.level,
                remark,
                reason,
                author: String::new(),
                created_at: 0,
            },
            &who.actor(),
        )
        .await?)
}

async fn create_override(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<OverrideInput>,
) -> ApiResult<(StatusCode, Json<KpiOverride>)> {
    Ok((
        StatusCode::CREATED,
        Json(override_level(&state, &who, input).await?),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub kind: EntryKind,
    pub month: Option<String>,
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// Still needs something done; HR and physical entries start open unless told.
    pub open: Option<bool>,
}

/// Records an entry; decisions and plans are the CISO's (manager or admin).
pub async fn add_entry(state: &AppState, who: &CurrentUser, input: EntryInput) -> ApiResult<Entry> {
    let for_management = matches!(input.kind, EntryKind::Decision | EntryKind::Plan);
    if for_management {
        who.require(who.role.can_command(), "enter decisions and plans")?;
    } else {
        who.require(who.role.can_edit_cases(), "record entries")?;
    }
    let month = month_or_current(state, input.month.as_deref())?;
    let default_open = matches!(
        input.kind,
        EntryKind::Leaver | EntryKind::LostDevice | EntryKind::VendorChange
    );
    Ok(state
        .store
        .create_entry(
            &NewEntry {
                kind: input.kind.code().into(),
                month: month.code(),
                title: text_field("title", &input.title, true, 300)?,
                detail: text_field("detail", &input.detail, false, 4000)?,
                is_open: input.open.unwrap_or(default_open),
            },
            &who.actor(),
        )
        .await?)
}

async fn list_entries(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> ApiResult<Json<Vec<Entry>>> {
    let month = month_or_current(&state, q.month.as_deref())?;
    Ok(Json(state.store.entries_for_month(&month.code()).await?))
}

async fn create_entry(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<EntryInput>,
) -> ApiResult<(StatusCode, Json<Entry>)> {
    Ok((
        StatusCode::CREATED,
        Json(add_entry(&state, &who, input).await?),
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
    who.require(who.role.can_edit_cases(), "change entries")?;
    Ok(Json(
        state
            .store
            .set_entry_open(&id, input.open, &who.actor())
            .await?,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// `month` (default) or `quarter`.
    pub period: Option<String>,
    /// A month in the period, `YYYY-MM`; the current month when absent.
    pub at: Option<String>,
}

pub async fn statistics_for(state: &AppState, q: &StatsQuery) -> ApiResult<stats::Statistics> {
    let kind = match q.period.as_deref().unwrap_or("month") {
        "month" => PeriodKind::Month,
        "quarter" => PeriodKind::Quarter,
        other => {
            return Err(ApiError::invalid(
                "period",
                format!(
                    "period: `month` or `quarter`, got `{}`",
                    other.chars().take(20).collect::<String>()
                ),
            ))
        }
    };
    let at = month_field_or_current(state, "at", q.at.as_deref())?;
    stats::statistics(state, kind, at).await
}

async fn statistics(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<stats::Statistics>> {
    Ok(Json(statistics_for(&state, &q).await?))
}

async fn statistics_csv(
    State(state): State<AppState>,
    _who: CurrentUser,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Response> {
    let s = statistics_for(&state, &q).await?;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlInput {
    pub name: String,
    pub layer: DefenceLayer,
    pub function: CsfFunction,
    #[serde(default)]
    pub owner: String,
    pub effectiveness: Effectiveness,
    #[serde(default)]
    pub evidence: String,
}

pub fn check_control(input: &ControlInput) -> ApiResult<NewControl> {
    Ok(NewControl {
        name: text_field("name", &input.name, true, 200)?,
        layer: input.layer.code().into(),
        function: input.function.code().into(),
        owner: text_field("owner", &input.owner, false, 200)?,
        effectiveness: input.effectiveness.code().into(),
        evidence: text_field("evidence", &input.evidence, false, 4000)?,
    })
}

async fn list_controls(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<Control>>> {
    Ok(Json(state.store.controls().await?))
}

async fn create_control(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<ControlInput>,
) -> ApiResult<(StatusCode, Json<Control>)> {
    who.require(who.role.can_edit_cases(), "register controls")?;
    let c = check_control(&input)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_control(&c, &who.actor()).await?),
    ))
}

async fn update_control(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ControlInput>,
) -> ApiResult<Json<Control>> {
    who.require(who.role.can_edit_cases(), "change controls")?;
    let c = check_control(&input)?;
    Ok(Json(
        state.store.update_control(&id, &c, &who.actor()).await?,
    ))
}

async fn delete_control(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require(who.role.can_command(), "delete controls")?;
    state.store.delete_control(&id, &who.actor()).await?;
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
    who.require(who.role.can_edit_cases(), "record self-checks")?;
    let (title, ratings) = maturity::check(&input)?;
    let a = state
        .store
        .create_assessment(&title, &ratings, &who.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(maturity::view(&state, a).await?)))
}

async fn assessment(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<maturity::AssessmentView>> {
    let a = state
        .store
        .assessments()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(format!("assessment {id}")))?;
    Ok(Json(maturity::view(&state, a).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MonthlyQuery {
    pub month: Option<String>,
    pub lang: Option<String>,
    /// `html` (default), `pdf` or `json`.
    pub format: Option<String>,
}

/// The monthly report in the asked format and language.
pub async fn monthly_response(
    state: &AppState,
    q: &MonthlyQuery,
    default_lang: Lang,
) -> ApiResult<Response> {
    let month = month_or_current(state, q.month.as_deref())?;
    let lang = match q.lang.as_deref() {
        None | Some("") => default_lang,
        Some(code) => Lang::parse(code).ok_or_else(|| {
            ApiError::invalid(
                "lang",
                format!(
                    "lang: `ja` or `en`, got `{}`",
                    code.chars().take(10).collect::<String>()
                ),
            )
        })?,
    };
    let data = monthly::build(state, month, lang).await?;
    let file = format!("hikeshi-monthly-{}-{}", month.code(), lang.code());
    match q.format.as_deref().unwrap_or("html") {
        "json" => Ok(Json(data).into_response()),
        "html" => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::ui::reporting::monthly_html(&data),
        )
            .into_response()),
        "pdf" => {
            let bytes = typeset(state, data).await?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{file}.pdf\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(ApiError::invalid(
            "format",
            format!(
                "format: `html`, `pdf` or `json`, got `{}`",
                other.chars().take(10).collect::<String>()
            ),
        )),
    }
}

/// Typesets on a blocking thread; a missing font is a 503 that says what to install.
async fn typeset(state: &AppState, data: monthly::ReportData) -> ApiResult<Vec<u8>> {
    let fonts = state.config.reporting.fonts.clone();
    tokio::task::spawn_blocking(move || pdf::render(&data, &fonts))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "pdf_unavailable", e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    pub month: String,
    pub lang: String,
}

/// Freezes a month's report as handed to management (manager, admin): the PDF is stored under
/// its SHA-256 and recorded, audited. Issuing again makes a new version.
pub async fn issue_report(
    state: &AppState,
    who: &CurrentUser,
    input: &IssueInput,
) -> ApiResult<IssuedReport> {
    who.require(who.role.can_command(), "issue monthly reports")?;
    let month = Month::parse("month", &input.month)?;
    let lang =
        Lang::parse(&input.lang).ok_or_else(|| ApiError::invalid("lang", "lang: `ja` or `en`"))?;
    let bytes = typeset(state, monthly::build(state, month, lang).await?).await?;
    let mut incoming = state
        .evidence
        .begin(bytes.len() as u64)
        .await
        .map_err(ApiError::internal)?;
    incoming.write(&bytes).await.map_err(ApiError::internal)?;
    let (sha, size) = state
        .evidence
        .commit(incoming)
        .await
        .map_err(ApiError::internal)?;
    Ok(state
        .store
        .record_issued_report(&month.code(), lang.code(), &sha, size as i64, &who.actor())
        .await?)
}

async fn issue(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<IssuedReport>)> {
    Ok((
        StatusCode::CREATED,
        Json(issue_report(&state, &who, &input).await?),
    ))
}

async fn issued(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<IssuedReport>>> {
    Ok(Json(state.store.issued_reports().await?))
}

/// An issued PDF, checked against its recorded hash before it is sent.
pub async fn issued_pdf(state: &AppState, id: &str) -> ApiResult<Response> {
    let r = state
        .store
        .issued_reports()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found(format!("issued report {id}")))?;
    let bytes = tokio::fs::read(state.evidence.path_for(&r.sha256))
        .await
        .map_err(ApiError::internal)?;
    let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    if actual != r.sha256 {
        return Err(ApiError::internal(format!(
            "issued report {id}: stored file hashes to {actual}, not {}",
            r.sha256
        )));
    }
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

async fn issued_file(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    issued_pdf(&state, &id).await
}

async fn monthly_report(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiQuery(q): ApiQuery<MonthlyQuery>,
) -> ApiResult<Response> {
    let lang = who
        .user
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::Ja);
    monthly_response(&state, &q, lang).await
}
