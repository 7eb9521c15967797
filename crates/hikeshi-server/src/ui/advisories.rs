//! The public advisory pages, `/advisories` and `/advisories/<year>/<name>`, in Japanese and
//! English: what the CSAF provider folder publishes, rendered for people from the same frozen
//! documents (so the page and the JSON cannot disagree, and neither shows anything before its
//! release time). No sign-in.

use super::{render, I18n, Nav, Viewer};
use crate::error::ApiResult;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hikeshi_app::psirt::provider;
use hikeshi_app::psirt::public::{self, PublicAdvisory};

#[derive(serde::Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/advisories", get(list))
        .route("/advisories/{year}/{name}", get(one))
}

#[derive(Template)]
#[template(path = "advisories.html")]
struct ListPage {
    i: I18n,
    nav: Option<Nav>,
    team_name: String,
    advisories: Vec<PublicAdvisory>,
}

#[derive(Template)]
#[template(path = "advisory.html")]
struct OnePage {
    i: I18n,
    nav: Option<Nav>,
    a: PublicAdvisory,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<LangQuery>,
) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    let advisories = out.iter().filter_map(public::from_revision).collect();
    let team_name = hikeshi_app::team::load(&state)
        .await
        .get("team_name")
        .trim()
        .to_string();
    Ok(render(&ListPage {
        i: viewer.i18n_asked(q.lang.as_deref()),
        nav: viewer.nav(),
        team_name,
        advisories,
    }))
}

async fn one(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((year, name)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    let file = format!("{name}.json");
    let Some(a) = out
        .iter()
        .find(|r| r.year.to_string() == year && r.file_name == file)
        .and_then(public::from_revision)
    else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok(render(&OnePage {
        i: viewer.i18n_asked(q.lang.as_deref()),
        nav: viewer.nav(),
        a,
    }))
}
