//! The admin page for the team profile: what the public report page and security.txt say.

use super::{error_page, render, I18n, Nav, SignedIn};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hikeshi_app::i18n::Lang;
use hikeshi_app::team::{self, KEYS, SERVICES};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/team", get(page).post(submit))
        .route("/admin/mail", get(mail_page))
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<hikeshi_store::OutboundMail>,
    relay_configured: bool,
}

/// The outgoing mail queue, failures included, for the people who must act on them.
async fn mail_page(State(state): State<AppState>, s: SignedIn) -> Response {
    match hikeshi_app::intake::outgoing_mail(&state, &s.who, 200).await {
        Ok(rows) => render(&MailPage {
            i: s.viewer.i.clone(),
            nav: Some(s.nav),
            rows,
            relay_configured: state.config.mail.relay.is_some(),
        }),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}

struct TextField {
    key: &'static str,
    value: String,
    long: bool,
}

struct ServiceBox {
    code: &'static str,
    label: String,
    offered: bool,
    not_offered: bool,
}

#[derive(Template)]
#[template(path = "admin_team.html")]
struct TeamPage {
    i: I18n,
    nav: Option<Nav>,
    fields: Vec<TextField>,
    services: Vec<ServiceBox>,
    saved: bool,
}

async fn page_for(state: &AppState, s: SignedIn, saved: bool) -> Response {
    if let Err(e) = team::may_edit(&s.who) {
        return error_page(&s.viewer.i, Some(s.nav), e);
    }
    let profile = team::load(state).await;
    let i = s.viewer.i.clone();
    let offered: Vec<&str> = profile
        .services("services_offered")
        .iter()
        .map(|s| s.0)
        .collect();
    let not_offered: Vec<&str> = profile
        .services("services_not_offered")
        .iter()
        .map(|s| s.0)
        .collect();
    render(&TeamPage {
        fields: KEYS
            .iter()
            .filter(|k| !k.starts_with("services_"))
            .map(|k| TextField {
                key: k,
                value: profile.get(k).to_string(),
                long: *k == "constituency" || k.ends_with("_ja") || k.ends_with("_en"),
            })
            .collect(),
        services: SERVICES
            .iter()
            .map(|(code, _, ja, en)| ServiceBox {
                code,
                label: if i.lang == Lang::Ja { ja } else { en }.to_string(),
                offered: offered.contains(code),
                not_offered: not_offered.contains(code),
            })
            .collect(),
        saved,
        i,
        nav: Some(s.nav),
    })
}

async fn page(State(state): State<AppState>, s: SignedIn) -> Response {
    page_for(&state, s, false).await
}

async fn submit(State(state): State<AppState>, s: SignedIn, body: String) -> Response {
    let i = s.viewer.i.clone();
    // Checkbox groups repeat their name, so the form is read as pairs, not a struct.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .take(200)
        .collect();
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Err(e) = s.who.check_csrf(csrf) {
        return error_page(&i, Some(s.nav), e);
    }
    let mut values: HashMap<&str, String> = HashMap::new();
    for (k, v) in &pairs {
        let Some(key) = KEYS.iter().find(|key| *key == k) else {
            continue;
        };
        let entry = values.entry(key).or_default();
        if key.starts_with("services_") {
            if SERVICES.iter().any(|(code, ..)| code == v) {
                if !entry.is_empty() {
                    entry.push('\n');
                }
                entry.push_str(v);
            }
        } else {
            *entry = v.trim().to_string();
        }
    }
    let entries: Vec<(String, String)> = KEYS
        .iter()
        .map(|k| (k.to_string(), values.remove(k).unwrap_or_default()))
        .collect();
    if let Err(e) = team::save(&state, &s.who, entries).await {
        return error_page(&i, Some(s.nav), e);
    }
    page_for(&state, s, true).await
}
