//! Cases: opening one (`open`, the only way a case is created, whoever asks), changing it and
//! its lifecycle (`change`), and the work on it — tasks, timeline, observables, comments,
//! evidence (`work`). Inputs are the API's wire forms; every check names its field.

mod change;
pub mod open;
mod work;

pub use crate::validate::{parse_number, MAX_TEXT, MAX_TITLE};
pub use change::{merge_case, update_case};
pub use open::{fit_title, open, open_in};
pub use work::{
    add_comment, add_observable, add_task, add_timeline, case_for_evidence, record_evidence,
    update_task, ReceivedFile,
};

use crate::error::{AppError, AppResult};
use crate::validate::text_field;
use crate::who::Who;
use crate::App;
use hikeshi_model::{
    CaseSource, CaseStatus, ObservableKind, Pap, Phase, Severity, TaskStatus, TimelineKind, Tlp,
};
use hikeshi_store::{
    Case, CaseFilter, CaseList, Category, Comment, Evidence, Observable, ObservableLink, Task,
    TimelineEntry,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
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

pub(crate) async fn check_assignee(
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

pub(crate) async fn check_category(app: &App, code: &str) -> AppResult<String> {
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
pub(crate) async fn editable_case(app: &App, number: &str) -> AppResult<Case> {
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    if let Some(into) = &case.merged_into {
        return Err(AppError::new(
            crate::ErrorKind::Conflict,
            "merged",
            format!(
                "case {} was merged into {into}; change that case instead",
                case.number
            ),
        ));
    }
    Ok(case)
}

async fn case_detail_of(app: &App, number: &str) -> AppResult<CaseDetail> {
    let case = app.store.case_by_number(number).await?;
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

/// The case list's filters and page, as the API and the list page take them.
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

/// A page of cases, newest first, counted up to `COUNT_CAP`.
pub async fn list_cases(app: &App, _who: &Who, q: &CaseQuery) -> AppResult<CaseList> {
    Ok(app.store.list_cases(&q.to_filter()).await?)
}

/// Everything the case page shows (any signed-in user may read cases).
pub async fn case_detail(app: &App, number: &str) -> AppResult<CaseDetail> {
    case_detail_of(app, &parse_number(number)?).await
}

pub async fn delete_observable(app: &App, who: &Who, number: &str, id: &str) -> AppResult<()> {
    who.require_edit("remove observables")?;
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    app.store
        .delete_observable(&case.id, id, &who.actor())
        .await?;
    Ok(())
}

pub async fn categories(app: &App) -> AppResult<Vec<Category>> {
    Ok(app.store.categories().await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub code: String,
    pub label_ja: String,
    pub label_en: String,
}

/// A team's own category beside the JPCERT/CC ones (managers and admins).
pub async fn create_category(app: &App, who: &Who, input: CategoryInput) -> AppResult<Category> {
    who.require_command("add categories")?;
    if !hikeshi_model::is_valid_category_code(&input.code) {
        return Err(AppError::invalid(
            "code",
            "code: 2–40 lowercase letters, digits or underscores",
        ));
    }
    let cat = Category {
        code: input.code,
        label_ja: text_field("label_ja", &input.label_ja, true, 100)?,
        label_en: text_field("label_en", &input.label_en, true, 100)?,
        builtin: 0,
    };
    app.store.create_category(&cat, &who.actor()).await?;
    Ok(cat)
}

/// One piece of evidence, the number of its case and its chain of custody, oldest first.
pub async fn evidence_custody(
    app: &App,
    _who: &Who,
    id: &str,
) -> AppResult<(Evidence, String, Vec<hikeshi_store::CustodyEntry>)> {
    let ev = app.store.evidence(id).await?;
    let case = app.store.case_by_id(&ev.case_id).await?;
    let log = app.store.custody_log(&ev.id).await?;
    Ok((ev, case.number, log))
}

/// Opens evidence bytes for a download and writes the download into the chain of custody
/// (who took it, with what).
pub async fn take_evidence(
    app: &App,
    who: &Who,
    id: &str,
    agent: &str,
) -> AppResult<(Evidence, tokio::fs::File)> {
    let ev = app.store.evidence(id).await?;
    let file = app.evidence.open(&ev.sha256).await.map_err(|e| {
        AppError::internal(format!(
            "evidence {} ({}) missing on disk: {e}",
            ev.id, ev.sha256
        ))
    })?;
    app.store
        .record_evidence_download(
            &ev.id,
            &who.actor(),
            &format!("user-agent={}", agent.chars().take(200).collect::<String>()),
        )
        .await?;
    Ok((ev, file))
}

/// What is on one person's desk: their open tasks and the open cases assigned to them.
pub struct MyWork {
    pub tasks: Vec<hikeshi_store::AssignedTask>,
    pub cases: Vec<Case>,
}

/// Cases looked through for a person's open ones; a desk with more is read through the list.
const MY_CASES_SCAN: i64 = 500;

pub async fn my_work(app: &App, who: &Who) -> AppResult<MyWork> {
    let tasks = app.store.open_tasks_assigned(&who.name).await?;
    let listed = app
        .store
        .list_cases(&CaseFilter {
            assignee: Some(who.name.clone()),
            limit: MY_CASES_SCAN,
            ..CaseFilter::default()
        })
        .await?;
    let cases = listed
        .items
        .into_iter()
        .filter(|c| c.merged_into.is_none())
        .filter(|c| CaseStatus::parse(&c.status).is_ok_and(CaseStatus::is_open))
        .collect();
    Ok(MyWork { tasks, cases })
}

/// The tasks still open (to do, in progress) that resolving or closing `number` as `target`
/// would leave behind; empty when the move does not end the work or the case is already there.
/// The page asks before such a move goes through.
pub async fn tasks_left_open_by(
    app: &App,
    _who: &Who,
    number: &str,
    target: CaseStatus,
) -> AppResult<(Case, Vec<Task>)> {
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    if !matches!(target, CaseStatus::Resolved | CaseStatus::Closed) || case.status == target.code()
    {
        return Ok((case, Vec::new()));
    }
    let open = app
        .store
        .tasks(&case.id)
        .await?
        .into_iter()
        .filter(|t| {
            TaskStatus::parse(&t.status)
                .is_ok_and(|s| matches!(s, TaskStatus::Todo | TaskStatus::InProgress))
        })
        .collect();
    Ok((case, open))
}
