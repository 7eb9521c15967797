//! The share page of a case: choose the audience, see exactly what the egress gate lets out
//! (the report's title and text, each observable with its effective TLP) and what it keeps
//! back and why, then download the STIX 2.1 bundle made from the same decision.

use super::{error_page, render, I18n, Nav, SignedIn};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hikeshi_app::intel::{self, CaseShare, ShareFormat, ShareRequest};
use hikeshi_exchange::Audience;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{number}/share", get(page))
        .route("/cases/{number}/share.stix.json", get(download_stix))
        .route("/cases/{number}/share.misp.json", get(download_misp))
}

/// A form's checkboxes arrive as `name=1` when ticked and not at all otherwise.
#[derive(Deserialize)]
struct ShareForm {
    audience: Option<String>,
    include_summary: Option<String>,
    keep_victim_details: Option<String>,
}

impl ShareForm {
    fn request(&self) -> hikeshi_app::AppResult<ShareRequest> {
        let ticked = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        ShareRequest::parse(
            self.audience.as_deref().filter(|a| !a.is_empty()),
            ticked(&self.include_summary),
            ticked(&self.keep_victim_details),
        )
    }
}

/// The same choices as a query string, for the download link.
fn query_of(r: &ShareRequest) -> String {
    let mut q = format!("audience={}", r.audience.code());
    if r.include_summary {
        q.push_str("&include_summary=1");
    }
    if r.keep_victim_details {
        q.push_str("&keep_victim_details=1");
    }
    q
}

struct Row {
    kind: String,
    value: String,
    tlp: String,
    note: String,
}

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    i: I18n,
    nav: Option<Nav>,
    number: String,
    /// (code, label) of every audience.
    audiences: Vec<(String, String)>,
    audience: String,
    include_summary: bool,
    keep_victim_details: bool,
    refused: Option<String>,
    title: String,
    description: String,
    leaving: Vec<Row>,
    withheld: Vec<Row>,
    query: String,
}

async fn page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Query(form): Query<ShareForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let request = form.request()?;
        let share = intel::case_share(&state, &s.who, &number, request, i.lang).await?;
        Ok::<_, crate::error::ApiError>((request, share))
    }
    .await;
    match result {
        Ok((request, share)) => render(&page_of(i, s.nav, request, share)),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

fn page_of(i: I18n, nav: Nav, request: ShareRequest, share: CaseShare) -> SharePage {
    let kind = |k: hikeshi_model::ObservableKind| i.t(&k.message_key());
    let leaving = share
        .leaving
        .iter()
        .map(|o| Row {
            kind: kind(o.kind),
            value: o.value.clone(),
            tlp: hikeshi_exchange::tlp::label(o.tlp),
            note: if o.indicator {
                i.t("share.as_indicator")
            } else {
                i.t("share.as_observable")
            },
        })
        .collect();
    let withheld = share
        .withheld
        .iter()
        .map(|w| Row {
            kind: kind(w.kind),
            value: w.value.clone(),
            tlp: String::new(),
            note: w.why.clone(),
        })
        .collect();
    SharePage {
        audiences: Audience::ALL
            .iter()
            .map(|a| {
                (
                    a.code().to_string(),
                    i.t(&format!("share.audience.{}", a.code())),
                )
            })
            .collect(),
        audience: request.audience.code().to_string(),
        include_summary: request.include_summary,
        keep_victim_details: request.keep_victim_details,
        query: query_of(&request),
        number: share.number,
        refused: share.refused,
        title: share.title,
        description: share.description,
        leaving,
        withheld,
        i,
        nav: Some(nav),
    }
}

async fn download_stix(
    state: State<AppState>,
    s: SignedIn,
    number: Path<String>,
    form: Query<ShareForm>,
) -> Response {
    download(state, s, number, form, ShareFormat::Stix).await
}

async fn download_misp(
    state: State<AppState>,
    s: SignedIn,
    number: Path<String>,
    form: Query<ShareForm>,
) -> Response {
    download(state, s, number, form, ShareFormat::Misp).await
}

/// The document of the same decision the page showed, audited like the API's.
async fn download(
    State(state): State<AppState>,
    s: SignedIn,
    Path(number): Path<String>,
    Query(form): Query<ShareForm>,
    format: ShareFormat,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let request = form.request()?;
        let document = intel::case_export(&state, &s.who, &number, request, i.lang, format).await?;
        Ok::<_, crate::error::ApiError>((request, document))
    }
    .await;
    match result {
        Ok((request, document)) => crate::api::share_download(&number, request, format, &document),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}
