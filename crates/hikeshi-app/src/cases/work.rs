//! The work on a case: tasks, timeline entries, observables, comments and evidence records.
//! A merged case is frozen: each of these refuses it.

use super::{
    check_assignee, editable_case, CommentInput, ObservableInput, TaskInput, TaskUpdateInput,
    TimelineInput,
};
use crate::error::{AppError, AppResult};
use crate::validate::{parse_time, sanitize_filename, text_field, MAX_TEXT, MAX_TITLE};
use crate::who::Who;
use crate::App;
use hikeshi_model::{normalise_observable, Tlp};
use hikeshi_store::{
    Case, Comment, Evidence, NewObservable, NewTask, NewTimelineEntry, Observable, Task, TaskPatch,
    TimelineEntry,
};

/// A file received and stored on disk, waiting for its record.
pub struct ReceivedFile {
    pub sha256: String,
    pub size: u64,
    pub filename: String,
    pub content_type: String,
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
    Ok(app.store.update_task(task_id, &patch, &who.actor()).await?)
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
    Ok(app.store.add_evidence(&case.id, &new, &who.actor()).await?)
}

pub async fn case_for_evidence(app: &App, who: &Who, number: &str) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "upload evidence")?;
    editable_case(app, number).await
}
