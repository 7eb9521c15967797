//! Case pages: the list with filters, the new-case form and the case page with its forms.

use super::{
    category_choices, category_label, choices, error_page, render, see_other, Choice, I18n, Nav,
    SignedIn,
};
use crate::error::{ApiError, ApiResult};
use crate::json::ApiQuery;
use crate::state::AppState;
use crate::upload::receive_evidence;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::cases::CaseQuery;
use hikeshi_app::cases::{self, CaseDetail};
use hikeshi_model::{
    case_templates, CaseStatus, ObservableKind, Pap, Phase, Severity, TaskStatus, TimelineKind, Tlp,
};
use hikeshi_store::{Case, User};
use serde::Deserialize;

pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit = state.web.max_upload_bytes as usize + 64 * 1024;
    Router::new()
        .route("/cases", get(list_page))
        .route("/cases/new", get(new_page).post(new_submit))
        .route("/cases/{number}", get(case_page))
        .route("/cases/{number}/update", post(update_submit))
        .route("/cases/{number}/tasks", post(task_submit))
        .route("/cases/{number}/tasks/{task_id}", post(task_status_submit))
        .route("/cases/{number}/timeline", post(timeline_submit))
        .route("/cases/{number}/observables", post(observable_submit))
        .route("/cases/{number}/comments", post(comment_submit))
        .route("/cases/{number}/merge", post(merge_submit))
        .route("/cases/{number}/notify", post(notify_submit))
        .route(
            "/cases/{number}/evidence",
            post(evidence_submit).layer(DefaultBodyLimit::max(upload_limit)),
        )
}

#[derive(Template)]
#[template(path = "cases.html")]
struct ListPage {
    i: I18n,
    nav: Option<Nav>,
    q: CaseQueryView,
    rows: Vec<CaseRow>,
    total: String,
    page: i64,
    pages: i64,
    prev_link: String,
    next_link: String,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    categories: Vec<Choice>,
}

#[derive(Default)]
struct CaseQueryView {
    status: String,
    severity: String,
    category: String,
    assignee: String,
    tag: String,
    q: String,
}

struct CaseRow {
    number: String,
    title: String,
    category: String,
    severity: String,
    severity_label: String,
    status_label: String,
    assignee: String,
    created: String,
    sla: String,
    sla_overdue: bool,
}

fn sla_text(i: &I18n, case: &Case) -> (String, bool) {
    match case.sla_due_at {
        Some(due)
            if CaseStatus::parse(&case.status)
                .map(|s| s.is_open())
                .unwrap_or(false) =>
        {
            let (overdue, span) =
                hikeshi_app::timefmt::remaining(due, hikeshi_store::now_ms(), i.lang);
            let key = if overdue {
                "sla.overdue"
            } else {
                "sla.remaining"
            };
            (format!("{} {span}", i.t(key)), overdue)
        }
        _ => (String::new(), false),
    }
}

async fn list_page(
    State(state): State<AppState>,
    s: SignedIn,
    q: Result<ApiQuery<CaseQuery>, ApiError>,
) -> Response {
    let i = s.viewer.i.clone();
    let q = match q {
        Ok(ApiQuery(q)) => q,
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    let result: ApiResult<Response> = async {
        let list = state.store.list_cases(&q.to_filter()).await?;
        let cats = category_choices(&i, &state.store.categories().await?);
        let rows = list
            .items
            .iter()
            .map(|c| {
                let (sla, sla_overdue) = sla_text(&i, c);
                CaseRow {
                    number: c.number.clone(),
                    title: c.title.clone(),
                    category: category_label(&cats, &c.category),
                    severity: c.severity.clone(),
                    severity_label: i.label("severity", &c.severity),
                    status_label: i.label("status", &c.status),
                    assignee: c.assignee.clone().unwrap_or_default(),
                    created: i.time(c.created_at),
                    sla,
                    sla_overdue,
                }
            })
            .collect();
        let view = CaseQueryView {
            status: q.status.map(|v| v.code().to_string()).unwrap_or_default(),
            severity: q.severity.map(|v| v.code().to_string()).unwrap_or_default(),
            category: q.category.clone().unwrap_or_default(),
            assignee: q.assignee.clone().unwrap_or_default(),
            tag: q.tag.clone().unwrap_or_default(),
            q: q.q.clone().unwrap_or_default(),
        };
        let pages =
            ((list.total + q.per_page() - 1) / q.per_page()).max(1) + i64::from(list.total_capped);
        let link = |page: i64| {
            let mut params = form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("status", &view.status),
                ("severity", &view.severity),
                ("category", &view.category),
                ("assignee", &view.assignee),
                ("tag", &view.tag),
                ("q", &view.q),
            ] {
                if !v.is_empty() {
                    params.append_pair(k, v);
                }
            }
            params.append_pair("page", &page.to_string());
            format!("/cases?{}", params.finish())
        };
        let page = ListPage {
            prev_link: if q.page() > 1 {
                link(q.page() - 1)
            } else {
                String::new()
            },
            next_link: if q.page() < pages {
                link(q.page() + 1)
            } else {
                String::new()
            },
            statuses: choices(&i, "status", CaseStatus::ALL, CaseStatus::code),
            severities: choices(&i, "severity", Severity::ALL, Severity::code),
            categories: cats,
            rows,
            total: if list.total_capped {
                format!("{}+", list.total)
            } else {
                list.total.to_string()
            },
            page: q.page(),
            pages,
            q: view,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        };
        Ok(render(&page))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewPage {
    i: I18n,
    nav: Option<Nav>,
    templates: Vec<Choice>,
    categories: Vec<Choice>,
    severities: Vec<Choice>,
    tlps: Vec<Choice>,
    paps: Vec<Choice>,
    users: Vec<User>,
}

async fn new_page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    // A viewer is not shown a form whose saving would be refused.
    if let Err(e) = s.who.require_edit("open cases") {
        return error_page(&i, Some(s.nav), e);
    }
    let users = match state.store.list_users().await {
        Ok(u) => u.into_iter().filter(|u| !u.is_disabled()).collect(),
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    let cats = match state.store.categories().await {
        Ok(c) => category_choices(&i, &c),
        Err(e) => return error_page(&i, Some(s.nav), e),
    };
    render(&NewPage {
        templates: case_templates()
            .iter()
            .map(|t| Choice {
                code: t.code.clone(),
                label: t.name(i.code()).to_string(),
            })
            .collect(),
        categories: cats,
        severities: choices(&i, "severity", Severity::ALL, Severity::code),
        tlps: choices(&i, "tlp", Tlp::ALL, Tlp::code),
        paps: choices(&i, "pap", Pap::ALL, Pap::code),
        users,
        nav: Some(s.nav),
        i,
    })
}

fn opt(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn parse_opt<T>(
    v: &str,
    parse: fn(&str) -> Result<T, hikeshi_model::UnknownValue>,
) -> ApiResult<Option<T>> {
    match opt(v) {
        None => Ok(None),
        Some(v) => Ok(Some(parse(&v)?)),
    }
}

fn split_tags(tags: &str) -> Vec<String> {
    tags.split([',', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Deserialize)]
struct NewForm {
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    pap: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    affected_assets: String,
}

async fn new_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<NewForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Case> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = cases::CreateCaseInput {
            title: f.title.clone(),
            description: f.description.clone(),
            category: opt(&f.category),
            severity: parse_opt(&f.severity, Severity::parse)?,
            tlp: parse_opt(&f.tlp, Tlp::parse)?,
            pap: parse_opt(&f.pap, Pap::parse)?,
            phase: None,
            assignee: opt(&f.assignee),
            tags: split_tags(&f.tags),
            affected_assets: f.affected_assets.clone(),
            template: opt(&f.template),
            source: None,
            business_impact: String::new(),
        };
        Ok(cases::open(&state, &s.who, input, i.lang).await?)
    }
    .await;
    match result {
        Ok(case) => see_other(&format!("/cases/{}", case.number)),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    i: I18n,
    nav: Option<Nav>,
    d: CaseDetail,
    description_html: String,
    category_label: String,
    sla: String,
    sla_overdue: bool,
    linked_cases: Vec<(String, String, Vec<String>)>,
    categories: Vec<Choice>,
    /// The current status and the moves the workflow allows from it.
    statuses: Vec<Choice>,
    /// The statuses the workflow does not allow from here, named so nobody wonders.
    not_offered: Vec<String>,
    phases: Vec<Choice>,
    severities: Vec<Choice>,
    tlps: Vec<Choice>,
    paps: Vec<Choice>,
    task_statuses: Vec<Choice>,
    timeline_kinds: Vec<Choice>,
    observable_kinds: Vec<Choice>,
    users: Vec<User>,
    tags: String,
    now_local: String,
    max_upload_mib: u64,
    escalation: Vec<ChecklistRow>,
    alerts: Vec<CaseAlertRow>,
    /// Assets the case's host and address observables point at: (id, name, damage).
    assets_hit: Vec<(String, String, String)>,
}

/// An alert escalated to the case, as the case page lists it.
struct CaseAlertRow {
    level: String,
    title: String,
    host: String,
    user: String,
    count: i64,
    first_seen: String,
    last_seen: String,
}

/// A line of the escalation checklist as the case page shows it.
struct ChecklistRow {
    contact_id: String,
    who: String,
    role: String,
    channels: String,
    required: bool,
    done: Vec<String>,
}

async fn case_page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let d = cases::case_detail(&state, &number).await?;
        let cats = category_choices(&i, &state.store.categories().await?);
        let users = state
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| !u.is_disabled())
            .collect();
        // "Also seen in": one line per other case with the shared values.
        let mut linked_cases: Vec<(String, String, Vec<String>)> = Vec::new();
        for l in &d.linked {
            let value = format!("{}: {}", i.label("observable_kind", &l.kind), l.value);
            match linked_cases
                .iter_mut()
                .find(|(n, _, _)| *n == l.case_number)
            {
                Some(entry) => entry.2.push(value),
                None => {
                    linked_cases.push((l.case_number.clone(), l.case_title.clone(), vec![value]))
                }
            }
        }
        let (sla, sla_overdue) = sla_text(&i, &d.case);
        let escalation = hikeshi_app::escalation::checklist(&state, &number)
            .await?
            .into_iter()
            .map(|item| ChecklistRow {
                who: if item.contact.organisation.is_empty() {
                    item.contact.name.clone()
                } else {
                    format!("{} ({})", item.contact.name, item.contact.organisation)
                },
                role: i.label("contact_role", &item.contact.role),
                channels: [item.contact.email.as_str(), item.contact.phone.as_str()]
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join(" / "),
                required: item.required,
                done: item
                    .notifications
                    .iter()
                    .map(|n| {
                        format!(
                            "{} {} ({})",
                            i.time(n.notified_at),
                            n.channel,
                            n.notified_by
                        )
                    })
                    .collect(),
                contact_id: item.contact.id,
            })
            .collect();
        let alerts = state
            .store
            .alerts_of_case(&d.case.id)
            .await?
            .into_iter()
            .map(|a| CaseAlertRow {
                level: i.label("level", &a.level),
                title: a.rule_title,
                host: a.host,
                user: a.user_name,
                count: a.count,
                first_seen: i.time(a.first_seen),
                last_seen: i.time(a.last_seen),
            })
            .collect();
        let index = hikeshi_app::vulns::matching::AssetIndex::load(&state.store).await?;
        let hosts: Vec<&str> = d
            .observables
            .iter()
            .filter(|o| o.kind == "host")
            .map(|o| o.value.as_str())
            .collect();
        let ips: Vec<&str> = d
            .observables
            .iter()
            .filter(|o| o.kind == "ip")
            .map(|o| o.value.as_str())
            .collect();
        let assets_hit = index
            .matching(&hosts, &ips)
            .into_iter()
            .filter_map(|id| index.assets.get(&id))
            .map(|a| {
                let open = index.open.get(&a.id);
                let kev = open.map(|o| o.kev.len()).unwrap_or(0);
                let findings = open.map(|o| o.count).unwrap_or(0);
                (
                    a.id.clone(),
                    a.name.clone(),
                    format!(
                        "C{}/I{}/A{} · {findings} CVE · KEV {kev}",
                        a.value_c, a.value_i, a.value_a
                    ),
                )
            })
            .collect();
        let page = CasePage {
            assets_hit,
            alerts,
            escalation,
            description_html: crate::markdown::render(&d.case.description),
            category_label: category_label(&cats, &d.case.category),
            tags: d.case.tags.join(", "),
            sla,
            sla_overdue,
            linked_cases,
            categories: cats,
            statuses: status_moves(&i, &d.case.status, true),
            not_offered: status_moves(&i, &d.case.status, false)
                .into_iter()
                .map(|c| c.label)
                .collect(),
            phases: choices(&i, "phase", Phase::ALL, Phase::code),
            severities: choices(&i, "severity", Severity::ALL, Severity::code),
            tlps: choices(&i, "tlp", Tlp::ALL, Tlp::code),
            paps: choices(&i, "pap", Pap::ALL, Pap::code),
            task_statuses: choices(&i, "task_status", TaskStatus::ALL, TaskStatus::code),
            timeline_kinds: choices(&i, "timeline_kind", TimelineKind::ALL, TimelineKind::code),
            observable_kinds: choices(
                &i,
                "observable_kind",
                ObservableKind::ALL,
                ObservableKind::code,
            ),
            users,
            now_local: hikeshi_app::timefmt::local_input(hikeshi_store::now_ms(), i.tz),
            max_upload_mib: state.web.max_upload_bytes / (1024 * 1024),
            d,
            nav: Some(s.nav.clone()),
            i: i.clone(),
        };
        Ok(render(&page))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

/// Runs a form action and redirects back to the case, or shows the error.
async fn case_action<F, Fut, T, E>(
    s: SignedIn,
    number: &str,
    csrf: &str,
    anchor: &str,
    action: F,
) -> Response
where
    F: FnOnce(SignedInParts) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Into<ApiError>,
{
    let i = s.viewer.i.clone();
    if let Err(e) = s.who.check_csrf(Some(csrf)) {
        return error_page(&i, Some(s.nav), e);
    }
    let nav = s.nav.clone();
    match action(SignedInParts {
        who: s.who,
        i: i.clone(),
    })
    .await
    {
        Ok(_) => see_other(&format!("/cases/{number}{anchor}")),
        Err(e) => error_page(&i, Some(nav), e),
    }
}

struct SignedInParts {
    who: crate::auth::CurrentUser,
    i: I18n,
}

#[derive(Deserialize)]
struct UpdateForm {
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    phase: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    pap: String,
    assignee: Option<String>,
    tags: Option<String>,
    #[serde(default)]
    affected_assets: String,
    #[serde(default)]
    resolution_summary: String,
    #[serde(default)]
    lessons_learned: String,
    business_impact: Option<String>,
    /// Set by the confirmation page: close although tasks are still open.
    #[serde(default)]
    confirm_open_tasks: String,
}

/// The statuses the workflow allows from `current` (`allowed`), or those it does not.
fn status_moves(i: &I18n, current: &str, allowed: bool) -> Vec<Choice> {
    let Ok(from) = CaseStatus::parse(current) else {
        return Vec::new();
    };
    choices(i, "status", CaseStatus::ALL, CaseStatus::code)
        .into_iter()
        .filter(|c| {
            CaseStatus::parse(&c.code)
                .map(|to| from.can_move_to(to) == allowed)
                .unwrap_or(false)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "case_close_confirm.html")]
struct CloseConfirmPage {
    i: I18n,
    nav: Option<Nav>,
    number: String,
    title: String,
    why: String,
    yes: String,
    open_tasks: Vec<(String, String, String)>,
    /// The triage form's fields, sent again unchanged.
    fields: Vec<(&'static str, String)>,
}

/// Resolving or closing a case whose tasks are still open asks first: a page lists the open
/// tasks and sends the same change again only when the handler confirms.
async fn close_confirmation(
    state: &AppState,
    s: &SignedIn,
    number: &str,
    f: &UpdateForm,
) -> Option<Response> {
    if f.confirm_open_tasks == "1" {
        return None;
    }
    let target = CaseStatus::parse(&f.status).ok()?;
    let (case, left) = cases::tasks_left_open_by(state, &s.who, number, target)
        .await
        .ok()?;
    let i = &s.viewer.i;
    let open_tasks: Vec<(String, String, String)> = left
        .into_iter()
        .map(|t| {
            (
                t.title,
                t.assignee.unwrap_or_default(),
                i.label("task_status", &t.status),
            )
        })
        .collect();
    if open_tasks.is_empty() {
        return None;
    }
    let fields = vec![
        ("csrf", f.csrf.clone()),
        ("status", f.status.clone()),
        ("phase", f.phase.clone()),
        ("severity", f.severity.clone()),
        ("tlp", f.tlp.clone()),
        ("pap", f.pap.clone()),
        ("assignee", f.assignee.clone().unwrap_or_default()),
        ("resolution_summary", f.resolution_summary.clone()),
        ("lessons_learned", f.lessons_learned.clone()),
        (
            "business_impact",
            f.business_impact.clone().unwrap_or_default(),
        ),
        ("confirm_open_tasks", "1".to_string()),
    ];
    let status = i.label("status", target.code());
    Some(render(&CloseConfirmPage {
        why: i
            .t("case.close_confirm_why")
            .replace("{number}", &case.number)
            .replace("{status}", &status)
            .replace("{count}", &open_tasks.len().to_string()),
        yes: i.t("case.close_confirm_yes").replace("{status}", &status),
        i: i.clone(),
        nav: Some(s.nav.clone()),
        number: case.number,
        title: case.title,
        open_tasks,
        fields,
    }))
}

async fn update_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<UpdateForm>,
) -> Response {
    if s.who.check_csrf(Some(&f.csrf)).is_ok() {
        if let Some(page) = close_confirmation(&state, &s, &number, &f).await {
            return page;
        }
    }
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "", |p| async move {
        let current = state
            .store
            .case_by_number(&cases::parse_number(&number)?)
            .await?;
        let status =
            parse_opt(&f.status, CaseStatus::parse)?.filter(|st| st.code() != current.status);
        let input = cases::UpdateCaseInput {
            title: opt(&f.title),
            description: Some(f.description.clone())
                .filter(|d| *d != current.description && !f.title.is_empty()),
            category: opt(&f.category),
            severity: parse_opt(&f.severity, Severity::parse)?,
            tlp: parse_opt(&f.tlp, Tlp::parse)?,
            pap: parse_opt(&f.pap, Pap::parse)?,
            status,
            phase: parse_opt(&f.phase, Phase::parse)?,
            assignee: f.assignee.clone(),
            tags: f.tags.as_deref().map(split_tags),
            affected_assets: Some(f.affected_assets.clone())
                .filter(|a| *a != current.affected_assets && !f.title.is_empty()),
            resolution_summary: opt(&f.resolution_summary),
            lessons_learned: opt(&f.lessons_learned),
            business_impact: f
                .business_impact
                .clone()
                .filter(|b| *b != current.business_impact),
        };
        cases::update_case(&state, &p.who, &number, input).await
    })
    .await
}

#[derive(Deserialize)]
struct TaskForm {
    csrf: String,
    title: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due_at: String,
}

async fn task_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<TaskForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#tasks", |p| async move {
        let due = match opt(&f.due_at) {
            Some(v) => Some(hikeshi_app::validate::parse_local_time(
                "due_at", &v, p.i.tz,
            )?),
            None => None,
        };
        let input = cases::TaskInput {
            title: f.title.clone(),
            assignee: opt(&f.assignee),
            due_at: None,
        };
        cases::add_task(&state, &p.who, &number, input, due).await
    })
    .await
}

#[derive(Deserialize)]
struct TaskStatusForm {
    csrf: String,
    status: String,
}

async fn task_status_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path((number, task_id)): Path<(String, String)>,
    Form(f): Form<TaskStatusForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#tasks", |p| async move {
        let input = cases::TaskUpdateInput {
            status: Some(TaskStatus::parse(&f.status)?),
            ..Default::default()
        };
        cases::update_task(&state, &p.who, &number, &task_id, input).await
    })
    .await
}

#[derive(Deserialize)]
struct TimelineForm {
    csrf: String,
    #[serde(default)]
    occurred_at: String,
    kind: String,
    text: String,
}

async fn timeline_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<TimelineForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#timeline", |p| async move {
        let at = match opt(&f.occurred_at) {
            Some(v) => Some(hikeshi_app::validate::parse_local_time(
                "occurred_at",
                &v,
                p.i.tz,
            )?),
            None => None,
        };
        let input = cases::TimelineInput {
            occurred_at: None,
            kind: TimelineKind::parse(&f.kind)?,
            text: f.text.clone(),
        };
        cases::add_timeline(&state, &p.who, &number, input, at).await
    })
    .await
}

#[derive(Deserialize)]
struct ObservableForm {
    csrf: String,
    kind: String,
    value: String,
    #[serde(default)]
    description: String,
    ioc: Option<String>,
}

async fn observable_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<ObservableForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#observables", |p| async move {
        let input = cases::ObservableInput {
            kind: ObservableKind::parse(&f.kind)?,
            value: f.value.clone(),
            description: f.description.clone(),
            tlp: None,
            ioc: f.ioc.is_some(),
        };
        cases::add_observable(&state, &p.who, &number, input).await
    })
    .await
}

#[derive(Deserialize)]
struct CommentForm {
    csrf: String,
    body: String,
}

async fn comment_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<CommentForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#comments", |p| async move {
        cases::add_comment(
            &state,
            &p.who,
            &number,
            cases::CommentInput {
                body: f.body.clone(),
            },
        )
        .await
    })
    .await
}

#[derive(Deserialize)]
struct NotifyForm {
    csrf: String,
    contact_id: String,
    channel: String,
    #[serde(default)]
    note: String,
}

async fn notify_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<NotifyForm>,
) -> Response {
    let csrf = f.csrf.clone();
    case_action(s, &number.clone(), &csrf, "#escalation", |p| async move {
        hikeshi_app::escalation::notify(
            &state,
            &p.who,
            &number,
            hikeshi_app::escalation::NotifyInput {
                contact_id: f.contact_id.clone(),
                channel: f.channel.clone(),
                note: f.note.clone(),
            },
        )
        .await
    })
    .await
}

#[derive(Deserialize)]
struct MergeForm {
    csrf: String,
    into: String,
}

async fn merge_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Form(f): Form<MergeForm>,
) -> Response {
    let csrf = f.csrf.clone();
    let target = f.into.trim().to_string();
    let i = s.viewer.i.clone();
    let nav = s.nav.clone();
    if let Err(e) = s.who.check_csrf(Some(&csrf)) {
        return error_page(&i, Some(nav), e);
    }
    match cases::merge_case(&state, &s.who, &number, cases::MergeInput { into: target }).await {
        Ok(survivor) => see_other(&format!("/cases/{}", survivor.number)),
        Err(e) => error_page(&i, Some(nav), e),
    }
}

async fn evidence_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    multipart: Multipart,
) -> Response {
    match receive_evidence(&state, &s.who, &number, multipart, true).await {
        Ok(_) => see_other(&format!("/cases/{number}#evidence")),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}
