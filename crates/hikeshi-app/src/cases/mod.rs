//! The rules of case handling, shared by the API and the web UI: input checks, permissions,
//! the lifecycle and SLA. Handlers only translate HTTP to these calls and back.

use crate::who::Who;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::App;
use chrono::{DateTime, NaiveDateTime, TimeZone};
use hikeshi_model::{
    case_templates, normalise_observable, CaseNumber, CaseSource, CaseStatus, ObservableKind, Pap,
    Phase, Severity, TaskStatus, TimelineKind, Tlp,
};
use hikeshi_store::{
    Case, CasePatch, Comment, Evidence, NewCase, NewObservable, NewTask, NewTimelineEntry,
    Observable, ObservableLink, Task, TaskPatch, TimelineEntry,
};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE: usize = 300;
pub const MAX_TEXT: usize = 100_000;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;

/// Checks a text field's length in characters, naming the field when it is wrong.
pub fn text_field(field: &str, value: &str, required: bool, max: usize) -> AppResult<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} must have at most {max} characters"),
        ));
    }
    Ok(value.to_string())
}

pub fn check_tags(tags: &[String]) -> AppResult<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    tags.iter()
        .map(|t| text_field("tags", t, true, MAX_TAG))
        .collect()
}

/// Parses an RFC 3339 time from the API into milliseconds.
pub fn parse_time(field: &str, value: &str) -> AppResult<i64> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            AppError::invalid(
                field,
                format!(
                    "{field}: `{value}` is not an RFC 3339 time, e.g. 2026-11-26T09:30:00+09:00"
                ),
            )
        })
}

/// Parses a browser `datetime-local` value, which is in the user's time zone.
pub fn parse_local_time(field: &str, value: &str, tz: chrono_tz::Tz) -> AppResult<i64> {
    let naive = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            AppError::invalid(field, format!("{field}: `{value}` is not a date and time"))
        })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| {
            AppError::invalid(field, format!("{field}: `{value}` does not exist in {tz}"))
        })
}

pub fn parse_number(number: &str) -> AppResult<String> {
    number
        .parse::<CaseNumber>()
        .map(|n| n.to_string())
        .map_err(|_| {
            AppError::not_found(format!(
                "case {}",
                number.chars().take(40).collect::<String>()
            ))
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: Option<String>,
    pub severity: Option<Severity>,
    pub tlp: Option<Tlp>,
    pub pap: Option<Pap>,
    pub phase: Option<Phase>,
    pub assignee: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub affected_assets: String,
    /// A shipped template code: sets category, severity and tasks unless given.
    pub template: Option<String>,
    /// How the case came in; `manual` unless given (reports set their own channel).
    pub source: Option<CaseSource>,
    #[serde(default)]
    pub business_impact: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCaseInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub severity: Option<Severity>,
    pub tlp: Option<Tlp>,
    pub pap: Option<Pap>,
    pub status: Option<CaseStatus>,
    pub phase: Option<Phase>,
    /// An empty string unassigns.
    pub assignee: Option<String>,
    pub tags: Option<Vec<String>>,
    pub affected_assets: Option<String>,
    pub resolution_summary: Option<String>,
    pub lessons_learned: Option<String>,
    pub business_impact: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: String,
    pub assignee: Option<String>,
    pub due_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdateInput {
    pub title: Option<String>,
    pub assignee: Option<String>,
    pub status: Option<TaskStatus>,
    pub due_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    pub occurred_at: Option<String>,
    pub kind: TimelineKind,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservableInput {
    pub kind: ObservableKind,
    pub value: String,
    #[serde(default)]
    pub description: String,
    pub tlp: Option<Tlp>,
    #[serde(default)]
    pub ioc: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    pub into: String,
}

/// Everything the case page shows.
#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: Case,
    pub tasks: Vec<Task>,
    pub timeline: Vec<TimelineEntry>,
    pub observables: Vec<Observable>,
    pub linked: Vec<ObservableLink>,
    pub evidence: Vec<Evidence>,
    pub comments: Vec<Comment>,
}

async fn check_assignee(
    app: &App,
    field: &str,
    name: Option<&str>,
) -> AppResult<Option<String>> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => match app.store.user_by_name(n).await? {
            Some(u) if !u.is_disabled() => Ok(Some(u.username)),
            _ => Err(AppError::invalid(
                field,
                format!("{field}: no active user `{n}`"),
            )),
        },
    }
}

async fn check_category(app: &App, code: &str) -> AppResult<String> {
    let known = app.store.categories().await?;
    if known.iter().any(|c| c.code == code) {
        Ok(code.to_string())
    } else {
        let list: Vec<_> = known.iter().map(|c| c.code.as_str()).collect();
        Err(AppError::invalid(
            "category",
            format!(
                "category: unknown value `{code}`; expected one of: {}",
                list.join(", ")
            ),
        ))
    }
}

/// A case that can still change: merged cases are frozen.
async fn editable_case(app: &App, number: &str) -> AppResult<Case> {
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    if let Some(into) = &case.merged_into {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "merged",
            format!(
                "case {} was merged into {into}; change that case instead",
                case.number
            ),
        ));
    }
    Ok(case)
}

pub async fn create_case(
    app: &App,
    who: &Who,
    input: CreateCaseInput,
    lang: Lang,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "create cases")?;
    let template = match &input.template {
        Some(code) => Some(
            case_templates()
                .iter()
                .find(|t| &t.code == code)
                .ok_or_else(|| {
                    AppError::invalid("template", format!("template: unknown value `{code}`"))
                })?,
        ),
        None => None,
    };
    let title = text_field("title", &input.title, true, MAX_TITLE)?;
    let description = text_field("description", &input.description, false, MAX_TEXT)?;
    let category_code = input
        .category
        .clone()
        .or_else(|| template.map(|t| t.category.clone()))
        .unwrap_or_else(|| "other".into());
    let category = check_category(app, &category_code).await?;
    let severity = input
        .severity
        .or(template.map(|t| t.severity))
        .unwrap_or(Severity::Medium);
    let assignee = check_assignee(app, "assignee", input.assignee.as_deref()).await?;
    let now = hikeshi_store::now_ms();
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y")
        .to_string();
    let new = NewCase {
        year: year.parse().unwrap_or(1970),
        title,
        description,
        category,
        severity: severity.code().into(),
        tlp: input.tlp.unwrap_or(Tlp::Amber).code().into(),
        pap: input.pap.unwrap_or(Pap::Amber).code().into(),
        phase: input
            .phase
            .unwrap_or(Phase::DetectionAnalysis)
            .code()
            .into(),
        assignee,
        tags: check_tags(&input.tags)?,
        affected_assets: text_field("affected_assets", &input.affected_assets, false, MAX_TEXT)?,
        sla_due_at: app.config.sla.due_at(severity, now),
        tasks: template
            .map(|t| {
                t.task_titles()
                    .map(|task| {
                        if lang == Lang::Ja {
                            task.title_ja
                        } else {
                            task.title_en
                        }
                        .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        source: input.source.unwrap_or(CaseSource::Manual).code().into(),
        business_impact: text_field("business_impact", &input.business_impact, false, MAX_TEXT)?,
    };
    Ok(app.store.create_case(&new, &who.actor()).await?)
}

pub async fn update_case(
    app: &App,
    who: &Who,
    number: &str,
    input: UpdateCaseInput,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "change cases")?;
    let case = editable_case(app, number).await?;
    let mut patch = CasePatch::default();
    if let Some(t) = &input.title {
        patch.title = Some(text_field("title", t, true, MAX_TITLE)?);
    }
    if let Some(d) = &input.description {
        patch.description = Some(text_field("description", d, false, MAX_TEXT)?);
    }
    if let Some(c) = &input.category {
        patch.category = Some(check_category(app, c).await?);
    }
    if let Some(s) = input.severity {
        patch.severity = Some(s.code().into());
        patch.sla_due_at = Some(app.config.sla.due_at(s, case.created_at));
    }
    patch.tlp = input.tlp.map(|v| v.code().into());
    patch.pap = input.pap.map(|v| v.code().into());
    patch.phase = input.phase.map(|v| v.code().into());
    if let Some(a) = &input.assignee {
        patch.assignee = Some(check_assignee(app, "assignee", Some(a)).await?);
    }
    if let Some(tags) = &input.tags {
        patch.tags = Some(check_tags(tags)?);
    }
    if let Some(a) = &input.affected_assets {
        patch.affected_assets = Some(text_field("affected_assets", a, false, MAX_TEXT)?);
    }
    if let Some(r) = &input.resolution_summary {
        patch.resolution_summary = Some(text_field("resolution_summary", r, false, MAX_TEXT)?);
    }
    if let Some(b) = &input.business_impact {
        patch.business_impact = Some(text_field("business_impact", b, false, MAX_TEXT)?);
    }
    if let Some(l) = &input.lessons_learned {
        patch.lessons_learned = Some(text_field("lessons_learned", l, false, MAX_TEXT)?);
    }
    if let Some(next) = input.status {
        let current = CaseStatus::parse(&case.status).map_err(AppError::internal)?;
        if !current.can_move_to(next) {
            return Err(AppError::invalid(
                "status",
                format!(
                    "status: a case cannot move from {} to {}",
                    current.code(),
                    next.code()
                ),
            ));
        }
        if current.needs_command(next) {
            who.require(who.role.can_command(), "close, reject or reopen cases")?;
        }
        if next == CaseStatus::Closed {
            let summary = patch
                .resolution_summary
                .as_ref()
                .or(case.resolution_summary.as_ref());
            let lessons = patch
                .lessons_learned
                .as_ref()
                .or(case.lessons_learned.as_ref());
            if summary.is_none_or(|s| s.is_empty()) {
                return Err(AppError::invalid(
                    "resolution_summary",
                    "closing a case needs a resolution summary",
                ));
            }
            if lessons.is_none_or(|s| s.is_empty()) {
                return Err(AppError::invalid(
                    "lessons_learned",
                    "closing a case needs lessons learned",
                ));
            }
        }
        patch.status = Some(next.code().into());
        patch.closed_at = Some(
            matches!(next, CaseStatus::Closed | CaseStatus::Rejected).then(hikeshi_store::now_ms),
        );
    }
    Ok(app
        .store
        .update_case(&case.number, &patch, &who.actor())
        .await?)
}

pub async fn case_detail(app: &App, number: &str) -> AppResult<CaseDetail> {
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    let id = case.id.clone();
    let store = &app.store;
    Ok(CaseDetail {
        tasks: store.tasks(&id).await?,
        timeline: store.timeline(&id).await?,
        observables: store.observables(&id).await?,
        linked: store.observable_links(&id).await?,
        evidence: store.evidence_list(&id).await?,
        comments: store.comments(&id).await?,
        case,
    })
}

pub async fn add_task(
    app: &App,
    who: &Who,
    number: &str,
    input: TaskInput,
    due_at: Option<i64>,
) -> AppResult<Task> {
    who.require(who.role.can_edit_cases(), "add tasks")?;
    let case = editable_case(app, number).await?;
    let due = match (&input.due_at, due_at) {
        (_, Some(ms)) => Some(ms),
        (Some(s), None) if !s.trim().is_empty() => Some(parse_time("due_at", s)?),
        _ => None,
    };
    let new = NewTask {
        title: text_field("title", &input.title, true, MAX_TITLE)?,
        assignee: check_assignee(app, "assignee", input.assignee.as_deref()).await?,
        due_at: due,
    };
    Ok(app.store.add_task(&case.id, &new, &who.actor()).await?)
}

pub async fn update_task(
    app: &App,
    who: &Who,
    number: &str,
    task_id: &str,
    input: TaskUpdateInput,
) -> AppResult<Task> {
    who.require(who.role.can_edit_cases(), "change tasks")?;
    let case = editable_case(app, number).await?;
    let task = app.store.task(task_id).await?;
    if task.case_id != case.id {
        return Err(AppError::not_found(format!(
            "task {task_id} in case {}",
            case.number
        )));
    }
    let mut patch = TaskPatch::default();
    if let Some(t) = &input.title {
        patch.title = Some(text_field("title", t, true, MAX_TITLE)?);
    }
    if let Some(a) = &input.assignee {
        patch.assignee = Some(check_assignee(app, "assignee", Some(a)).await?);
    }
    patch.status = input.status.map(|s| s.code().into());
    if let Some(d) = &input.due_at {
        patch.due_at = Some(if d.trim().is_empty() {
            None
        } else {
            Some(parse_time("due_at", d)?)
        });
    }
    Ok(app
        .store
        .update_task(task_id, &patch, &who.actor())
        .await?)
}

pub async fn add_timeline(
    app: &App,
    who: &Who,
    number: &str,
    input: TimelineInput,
    occurred_ms: Option<i64>,
) -> AppResult<TimelineEntry> {
    who.require(who.role.can_edit_cases(), "add timeline entries")?;
    let case = editable_case(app, number).await?;
    let occurred_at = match (occurred_ms, &input.occurred_at) {
        (Some(ms), _) => ms,
        (None, Some(s)) if !s.trim().is_empty() => parse_time("occurred_at", s)?,
        _ => hikeshi_store::now_ms(),
    };
    let entry = NewTimelineEntry {
        occurred_at,
        kind: input.kind.code().into(),
        text: text_field("text", &input.text, true, MAX_TEXT)?,
    };
    Ok(app
        .store
        .add_timeline_entry(&case.number, &entry, &who.actor())
        .await?)
}

/// Returns the observable and whether it was new to the case.
pub async fn add_observable(
    app: &App,
    who: &Who,
    number: &str,
    input: ObservableInput,
) -> AppResult<(Observable, bool)> {
    who.require(who.role.can_edit_cases(), "add observables")?;
    let case = editable_case(app, number).await?;
    let value = normalise_observable(input.kind, &input.value)
        .map_err(|e| AppError::invalid("value", e.to_string()))?;
    let tlp = input
        .tlp
        .unwrap_or_else(|| Tlp::parse(&case.tlp).unwrap_or(Tlp::Amber));
    let new = NewObservable {
        kind: input.kind.code().into(),
        value,
        description: text_field("description", &input.description, false, 10_000)?,
        tlp: tlp.code().into(),
        is_ioc: input.ioc,
    };
    Ok(app
        .store
        .add_observable(&case.id, &new, &who.actor())
        .await?)
}

pub async fn add_comment(
    app: &App,
    who: &Who,
    number: &str,
    input: CommentInput,
) -> AppResult<Comment> {
    who.require(who.role.can_edit_cases(), "comment on cases")?;
    let case = editable_case(app, number).await?;
    let body = text_field("body", &input.body, true, MAX_TEXT)?;
    Ok(app
        .store
        .add_comment(&case.number, &body, &who.actor())
        .await?)
}

pub async fn merge_case(
    app: &App,
    who: &Who,
    number: &str,
    input: MergeInput,
) -> AppResult<Case> {
    who.require(who.role.can_command(), "merge cases")?;
    let source = editable_case(app, number).await?;
    let target = editable_case(app, &input.into).await?;
    Ok(app
        .store
        .merge_cases(&source.number, &target.number, &who.actor())
        .await?)
}

/// A file received and stored on disk, waiting for its record.
pub struct ReceivedFile {
    pub sha256: String,
    pub size: u64,
    pub filename: String,
    pub content_type: String,
}

/// Evidence metadata after the bytes are safely on disk.
pub async fn record_evidence(
    app: &App,
    who: &Who,
    case: &Case,
    file: ReceivedFile,
    description: &str,
) -> AppResult<Evidence> {
    let new = hikeshi_store::NewEvidence {
        sha256: file.sha256,
        filename: sanitize_filename(&file.filename),
        content_type: file.content_type.chars().take(200).collect(),
        size_bytes: file.size as i64,
        description: text_field("description", description, false, 10_000)?,
    };
    Ok(app
        .store
        .add_evidence(&case.id, &new, &who.actor())
        .await?)
}

pub async fn case_for_evidence(
    app: &App,
    who: &Who,
    number: &str,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "upload evidence")?;
    editable_case(app, number).await
}

/// Keeps the last path component and drops control characters; the name is only a label.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() {
        "evidence.bin".into()
    } else {
        clean
    }
}
