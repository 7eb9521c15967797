//! The REST API under `/api/v1`: JSON in and out, errors as `{"error": {code, message, field}}`.
//! One file per feature; each handler extracts, calls one use case of `hikeshi_app`, and
//! answers. Nothing here imports the pages (`ui/`), and the pages import nothing from here.

mod admin;
mod alerts;
mod assets;
mod cases;
mod events;
mod jobs;
mod openapi;
mod psirt;
mod reporting;
mod reports;
mod response;
mod sharing;

pub(crate) use sharing::share_download;

use crate::state::AppState;
use axum::Router;

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(cases::routes(state))
        .merge(admin::routes())
        .merge(reports::routes())
        .merge(events::routes())
        .merge(alerts::routes())
        .merge(assets::routes())
        .merge(reporting::routes())
        .merge(jobs::routes())
        .merge(sharing::routes())
        .merge(response::routes())
        .merge(psirt::routes())
}
