//! The management side's own records as use cases: the month in question, entries of the
//! month (external events, leavers, decisions…), the CISO's overrides of KPI levels, the
//! controls registry, maturity self-checks, incident statistics, and the monthly report —
//! rendered on demand or issued (frozen under its SHA-256).

use super::maturity::{self, AssessmentInput, AssessmentView};
use super::period::{Month, PeriodKind};
use super::{monthly, pdf, stats};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::i18n::Lang;
use crate::validate::text_field;
use crate::who::Who;
use crate::App;
use hikeshi_model::reporting::{CsfFunction, DefenceLayer, Effectiveness, EntryKind, Kpi};
use hikeshi_store::{Control, Entry, IssuedReport, KpiOverride, NewControl, NewEntry};
use serde::Deserialize;

/// The month asked for, or the current one in the team's time zone.
pub fn month_or_current(app: &App, month: Option<&str>) -> AppResult<Month> {
    month_field_or_current(app, "month", month)
}

/// Like [`month_or_current`], naming `field` in the error.
pub fn month_field_or_current(app: &App, field: &str, month: Option<&str>) -> AppResult<Month> {
    match month.filter(|m| !m.trim().is_empty()) {
        Some(m) => Month::parse(field, m),
        None => Ok(Month::containing(
            app.calendar.now_ms(),
            app.calendar.offset_ms(),
        )),
    }
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
pub async fn override_level(app: &App, who: &Who, input: OverrideInput) -> AppResult<KpiOverride> {
    who.require_command("override KPI levels")?;
    let month = Month::parse("month", &input.month)?;
    if !(1..=3).contains(&input.level) {
        return Err(AppError::invalid(
            "level",
            "level: 1 (normal), 2 (caution) or 3 (action needed)",
        ));
    }
    let reason = text_field("reason", &input.reason, true, 2000)?;
    let remark = text_field("remark", &input.remark, false, 2000)?;
    let row = KpiOverride {
        id: String::new(),
        month: month.code(),
        kpi: input.kpi.code().into(),
        level: input.level,
        remark,
        reason,
        author: String::new(),
        created_at: 0,
    };
    Ok(app.store.create_override(&row, &who.actor()).await?)
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
pub async fn add_entry(app: &App, who: &Who, input: EntryInput) -> AppResult<Entry> {
    if matches!(input.kind, EntryKind::Decision | EntryKind::Plan) {
        who.require_command("enter decisions and plans")?;
    } else {
        who.require_edit("record entries")?;
    }
    let month = month_or_current(app, input.month.as_deref())?;
    let default_open = matches!(
        input.kind,
        EntryKind::Leaver | EntryKind::LostDevice | EntryKind::VendorChange
    );
    let entry = NewEntry {
        kind: input.kind.code().into(),
        month: month.code(),
        title: text_field("title", &input.title, true, 300)?,
        detail: text_field("detail", &input.detail, false, 4000)?,
        is_open: input.open.unwrap_or(default_open),
    };
    Ok(app.store.create_entry(&entry, &who.actor()).await?)
}

pub async fn entries(app: &App, _who: &Who, month: Option<&str>) -> AppResult<Vec<Entry>> {
    let month = month_or_current(app, month)?;
    Ok(app.store.entries_for_month(&month.code()).await?)
}

/// Opens or closes an entry (an HR or physical entry is done when the account is removed, the
/// device found).
pub async fn set_entry_open(app: &App, who: &Who, id: &str, open: bool) -> AppResult<Entry> {
    who.require_edit("change entries")?;
    Ok(app.store.set_entry_open(id, open, &who.actor()).await?)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// `month` (default) or `quarter`.
    pub period: Option<String>,
    /// A month in the period, `YYYY-MM`; the current month when absent.
    pub at: Option<String>,
}

pub async fn statistics(app: &App, _who: &Who, q: &StatsQuery) -> AppResult<stats::Statistics> {
    let kind = match q.period.as_deref().unwrap_or("month") {
        "month" => PeriodKind::Month,
        "quarter" => PeriodKind::Quarter,
        other => {
            return Err(AppError::invalid(
                "period",
                format!(
                    "period: `month` or `quarter`, got `{}`",
                    other.chars().take(20).collect::<String>()
                ),
            ))
        }
    };
    let at = month_field_or_current(app, "at", q.at.as_deref())?;
    stats::statistics(app, kind, at).await
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

fn check_control(input: &ControlInput) -> AppResult<NewControl> {
    Ok(NewControl {
        name: text_field("name", &input.name, true, 200)?,
        layer: input.layer.code().into(),
        function: input.function.code().into(),
        owner: text_field("owner", &input.owner, false, 200)?,
        effectiveness: input.effectiveness.code().into(),
        evidence: text_field("evidence", &input.evidence, false, 4000)?,
    })
}

pub async fn controls(app: &App, _who: &Who) -> AppResult<Vec<Control>> {
    Ok(app.store.controls().await?)
}

pub async fn create_control(app: &App, who: &Who, input: &ControlInput) -> AppResult<Control> {
    who.require_edit("register controls")?;
    let c = check_control(input)?;
    Ok(app.store.create_control(&c, &who.actor()).await?)
}

pub async fn update_control(
    app: &App,
    who: &Who,
    id: &str,
    input: &ControlInput,
) -> AppResult<Control> {
    who.require_edit("change controls")?;
    let c = check_control(input)?;
    Ok(app.store.update_control(id, &c, &who.actor()).await?)
}

pub async fn delete_control(app: &App, who: &Who, id: &str) -> AppResult<()> {
    who.require_command("delete controls")?;
    app.store.delete_control(id, &who.actor()).await?;
    Ok(())
}

/// Records a maturity self-check.
pub async fn add_assessment(
    app: &App,
    who: &Who,
    input: &AssessmentInput,
) -> AppResult<AssessmentView> {
    who.require_edit("record self-checks")?;
    let (title, ratings) = maturity::check(input)?;
    let a = app
        .store
        .create_assessment(&title, &ratings, &who.actor())
        .await?;
    maturity::view(app, a).await
}

pub async fn assessment(app: &App, _who: &Who, id: &str) -> AppResult<AssessmentView> {
    let a = app
        .store
        .assessments()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| AppError::not_found(format!("assessment {id}")))?;
    maturity::view(app, a).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MonthlyQuery {
    pub month: Option<String>,
    pub lang: Option<String>,
    /// `html` (default), `pdf` or `json`.
    pub format: Option<String>,
}

/// The monthly report, in the form asked for: the web crate renders the HTML.
pub enum MonthlyReport {
    Json(Box<monthly::ReportData>),
    Html(Box<monthly::ReportData>),
    Pdf { bytes: Vec<u8>, file: String },
}

/// The monthly report for the asked month, language (else `default_lang`) and format.
pub async fn monthly_report(
    app: &App,
    _who: &Who,
    q: &MonthlyQuery,
    default_lang: Lang,
) -> AppResult<MonthlyReport> {
    let month = month_or_current(app, q.month.as_deref())?;
    let lang = match q.lang.as_deref() {
        None | Some("") => default_lang,
        Some(code) => Lang::parse(code).ok_or_else(|| {
            AppError::invalid(
                "lang",
                format!(
                    "lang: `ja` or `en`, got `{}`",
                    code.chars().take(10).collect::<String>()
                ),
            )
        })?,
    };
    let format = q.format.as_deref().unwrap_or("html");
    if !matches!(format, "json" | "html" | "pdf") {
        return Err(AppError::invalid(
            "format",
            format!(
                "format: `html`, `pdf` or `json`, got `{}`",
                format.chars().take(10).collect::<String>()
            ),
        ));
    }
    let data = monthly::build(app, month, lang).await?;
    Ok(match format {
        "json" => MonthlyReport::Json(Box::new(data)),
        "html" => MonthlyReport::Html(Box::new(data)),
        _ => MonthlyReport::Pdf {
            bytes: typeset(app, data).await?,
            file: format!("hikeshi-monthly-{}-{}", month.code(), lang.code()),
        },
    })
}

/// Typesets on a blocking thread; a missing font is "unavailable" and says what to install.
async fn typeset(app: &App, data: monthly::ReportData) -> AppResult<Vec<u8>> {
    let fonts = app.config.reporting.fonts.clone();
    tokio::task::spawn_blocking(move || pdf::render(&data, &fonts))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::new(ErrorKind::Unavailable, "pdf_unavailable", e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    pub month: String,
    pub lang: String,
}

/// Freezes a month's report as handed to management (manager, admin): the PDF is stored under
/// its SHA-256 and recorded, audited. Issuing again makes a new version.
pub async fn issue_report(app: &App, who: &Who, input: &IssueInput) -> AppResult<IssuedReport> {
    who.require_command("issue monthly reports")?;
    let month = Month::parse("month", &input.month)?;
    let lang =
        Lang::parse(&input.lang).ok_or_else(|| AppError::invalid("lang", "lang: `ja` or `en`"))?;
    let bytes = typeset(app, monthly::build(app, month, lang).await?).await?;
    let mut incoming = app
        .evidence
        .begin(bytes.len() as u64)
        .await
        .map_err(AppError::internal)?;
    incoming.write(&bytes).await.map_err(AppError::internal)?;
    let (sha, size) = app
        .evidence
        .commit(incoming)
        .await
        .map_err(AppError::internal)?;
    Ok(app
        .store
        .record_issued_report(&month.code(), lang.code(), &sha, size as i64, &who.actor())
        .await?)
}

pub async fn issued_reports(app: &App, _who: &Who) -> AppResult<Vec<IssuedReport>> {
    Ok(app.store.issued_reports().await?)
}

/// An issued PDF, checked against its recorded hash before it is given out.
pub async fn issued_pdf(app: &App, _who: &Who, id: &str) -> AppResult<(IssuedReport, Vec<u8>)> {
    let r = app
        .store
        .issued_reports()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::not_found(format!("issued report {id}")))?;
    let bytes = tokio::fs::read(app.evidence.path_for(&r.sha256))
        .await
        .map_err(AppError::internal)?;
    let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    if actual != r.sha256 {
        return Err(AppError::internal(format!(
            "issued report {id}: stored file hashes to {actual}, not {}",
            r.sha256
        )));
    }
    Ok((r, bytes))
}

/// May `who` import an incident ledger? Asked before the file is read.
pub fn may_import_ledger(who: &Who) -> AppResult<()> {
    who.require_command("import an incident ledger")
}

/// An earlier incident ledger as CSV (manager or admin).
pub async fn import_ledger(
    app: &App,
    who: &Who,
    body: &[u8],
    dry_run: bool,
) -> AppResult<super::ledger::LedgerPlan> {
    may_import_ledger(who)?;
    let text = std::str::from_utf8(body)
        .map_err(|e| AppError::invalid("body", format!("the ledger is not UTF-8 text: {e}")))?;
    super::ledger::import(app, text, dry_run, who).await
}
