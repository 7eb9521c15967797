//! The background jobs page (admins): every queued, running, finished and dead job, with the
//! error of its last attempt, and a button to retry a dead one.

use super::{error_page, render, see_other, Choice, CsrfOnly, I18n, Nav, SignedIn};
use crate::error::ApiResult;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::jobs::{self, JobQuery};
use hikeshi_store::{Job, JOB_STATES};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(page))
        .route("/admin/jobs/{id}/retry", post(retry))
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<Job>,
    counts: Vec<(String, i64)>,
    states: Vec<Choice>,
    state: String,
    csrf: String,
}

async fn page(State(state): State<AppState>, s: SignedIn, Query(q): Query<JobQuery>) -> Response {
    let i = s.viewer.i.clone();
    let q = JobQuery {
        state: q.state.filter(|v| !v.is_empty()),
        limit: q.limit,
    };
    let result: ApiResult<Response> = async {
        let rows = jobs::list(&state, &s.who, &q).await?;
        let counts = jobs::counts(&state, &s.who).await?;
        Ok(render(&JobsPage {
            rows,
            counts,
            states: JOB_STATES
                .iter()
                .map(|code| Choice {
                    code: code.to_string(),
                    label: i.label("job_state", code),
                })
                .collect(),
            state: q.state.clone().unwrap_or_default(),
            csrf: s.who.csrf_token.clone().unwrap_or_default(),
            nav: Some(s.nav.clone()),
            i: i.clone(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}

async fn retry(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let result: ApiResult<Job> = async {
        s.who.check_csrf(Some(&f.csrf))?;
        Ok(jobs::retry(&state, &s.who, &id).await?)
    }
    .await;
    match result {
        Ok(_) => see_other("/admin/jobs"),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}
