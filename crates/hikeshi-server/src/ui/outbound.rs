//! The page where a handler reviews a filled JPCERT/CC or IPA report, edits it, sends it with
//! their own mail client or the recipient's web form, and records that it was sent.

use super::{error_page, render, see_other, I18n, Nav, SignedIn};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hikeshi_app::i18n::Lang;
use hikeshi_app::outbound_reports::{self, ReportForm, SentInput};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/cases/{number}/outbound/{form}", get(page).post(sent))
}

#[derive(Template)]
#[template(path = "outbound.html")]
struct OutboundPage {
    i: I18n,
    nav: Option<Nav>,
    number: String,
    form: String,
    form_name: String,
    report_lang: String,
    text: String,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    s: SignedIn,
    Path((number, form)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Response {
    let i = s.viewer.i.clone();
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or(i.lang);
    let result = async {
        let f = ReportForm::parse(&form)?;
        let text = outbound_reports::draft(&state, &number, f, lang).await?;
        Ok::<_, crate::error::ApiError>((f, text))
    }
    .await;
    match result {
        Ok((f, text)) => render(&OutboundPage {
            form_name: f.name(i.lang).into(),
            report_lang: lang.code().into(),
            i,
            nav: Some(s.nav),
            number,
            form,
            text,
        }),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Deserialize)]
struct SentForm {
    csrf: String,
    text: String,
    sent_to: String,
}

async fn sent(
    State(state): State<AppState>,
    s: SignedIn,
    Path((number, form)): Path<(String, String)>,
    Form(f): Form<SentForm>,
) -> Response {
    let i = s.viewer.i.clone();
    if let Err(e) = s.who.check_csrf(Some(&f.csrf)) {
        return error_page(&i, Some(s.nav), e);
    }
    let input = SentInput {
        form,
        text: f.text,
        sent_to: f.sent_to,
    };
    match outbound_reports::record_sent(&state, &s.who, &number, input).await {
        Ok(()) => see_other(&format!("/cases/{number}#timeline")),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}
