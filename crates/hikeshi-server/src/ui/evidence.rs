//! The chain of custody of one piece of evidence as a page: who uploaded and took the file,
//! when (in the reader's time zone) and with what, under the file's hash.

use super::{error_page, render, I18n, Nav, SignedIn};
use crate::error::ApiResult;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hikeshi_store::{CustodyEntry, Evidence};

pub fn routes() -> Router<AppState> {
    Router::new().route("/evidence/{id}/custody", get(custody_page))
}

#[derive(Template)]
#[template(path = "custody.html")]
struct CustodyPage {
    i: I18n,
    nav: Option<Nav>,
    evidence: Evidence,
    case_number: String,
    entries: Vec<CustodyEntry>,
}

async fn custody_page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let i = s.viewer.i.clone();
    let result: ApiResult<Response> = async {
        let (evidence, case_number, entries) =
            hikeshi_app::cases::evidence_custody(&state, &s.who, &id).await?;
        Ok(render(&CustodyPage {
            i: i.clone(),
            nav: Some(s.nav.clone()),
            evidence,
            case_number,
            entries,
        }))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&i, Some(s.nav), e))
}
