//! 自分の担当 / My work: the signed-in person's open tasks (soonest due first, overdue marked)
//! and the open cases assigned to them.

use super::{I18n, Nav, SignedIn};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hikeshi_app::cases;

pub fn routes() -> Router<AppState> {
    Router::new().route("/my", get(page))
}

struct TaskRow {
    title: String,
    status: String,
    due: String,
    overdue: bool,
    case_number: String,
    case_title: String,
}

struct CaseRow {
    number: String,
    title: String,
    status: String,
    severity: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "my_work.html")]
struct MyWorkPage {
    i: I18n,
    nav: Option<Nav>,
    tasks: Vec<TaskRow>,
    cases: Vec<CaseRow>,
}

async fn page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let now = hikeshi_store::now_ms();
    let result = async {
        let work = cases::my_work(&state, &s.who).await?;
        let tasks = work
            .tasks
            .into_iter()
            .map(|t| TaskRow {
                status: i.label("task_status", &t.task.status),
                due: t.task.due_at.map(|d| i.time(d)).unwrap_or_default(),
                overdue: t.task.due_at.is_some_and(|d| d < now),
                title: t.task.title,
                case_number: t.case_number,
                case_title: t.case_title,
            })
            .collect();
        let cases = work
            .cases
            .into_iter()
            .map(|c| CaseRow {
                status: i.label("status", &c.status),
                severity: i.label("severity", &c.severity),
                updated: i.time(c.updated_at),
                number: c.number,
                title: c.title,
            })
            .collect();
        Ok::<_, ApiError>(MyWorkPage {
            tasks,
            cases,
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    super::page_or_error(&i, s.nav, result)
}
