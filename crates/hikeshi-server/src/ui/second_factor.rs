//! The second factor in the browser: the code page after the password, the set-up page (at a
//! login whose role requires it, or from the settings), the recovery codes shown once, and
//! turning the factor off.

use super::{error_page, render, see_other, I18n, SignedIn, Viewer};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::second_factor::{CodeRefused, NextStep, Passed};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/code", post(login_code))
        .route("/settings/second-factor", get(setup).post(setup_code))
        .route("/settings/second-factor/off", post(turn_off))
}

#[derive(Template)]
#[template(path = "second_factor_code.html")]
struct CodePage {
    i: I18n,
    nav: Option<super::Nav>,
    pending: String,
    error: String,
}

#[derive(Template)]
#[template(path = "second_factor_setup.html")]
struct SetupPage {
    i: I18n,
    nav: Option<super::Nav>,
    pending: String,
    secret: String,
    uri: String,
    action: String,
    csrf: String,
    error: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryPage {
    i: I18n,
    nav: Option<super::Nav>,
    codes: Vec<String>,
    next: String,
}

/// The page a waiting login (or a set-up) shows: a code field, or the secret and a code field.
pub(super) fn ask(i: &I18n, step: NextStep, action: &str, nav: Option<super::Nav>) -> Response {
    match step {
        NextStep::Done => see_other("/cases"),
        NextStep::Code { pending } => render(&CodePage {
            i: i.clone(),
            nav,
            pending,
            error: String::new(),
        }),
        NextStep::Enrol {
            pending,
            secret,
            uri,
        } => render(&SetupPage {
            i: i.clone(),
            csrf: nav.as_ref().map(|n| n.csrf.clone()).unwrap_or_default(),
            nav,
            pending,
            secret: group_by_four(&secret),
            uri,
            action: action.to_string(),
            error: String::new(),
        }),
    }
}

/// `JBSW Y3DP …`: easier to type into an app that cannot scan.
fn group_by_four(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
struct CodeForm {
    pending: String,
    code: String,
    csrf: Option<String>,
}

fn refused(
    state: &AppState,
    i: &I18n,
    pending: &str,
    why: CodeRefused,
    internal: Option<String>,
) -> Response {
    if let Some(e) = internal {
        tracing::error!(error = %e, "second factor");
    }
    match why {
        CodeRefused::Wrong => (
            StatusCode::UNAUTHORIZED,
            render(&CodePage {
                i: i.clone(),
                nav: None,
                pending: pending.to_string(),
                error: i.t("second_factor.wrong"),
            }),
        )
            .into_response(),
        CodeRefused::Expired => (
            StatusCode::UNAUTHORIZED,
            super::login::login_form(state, i, "second_factor.expired"),
        )
            .into_response(),
    }
}

/// The code after the password (or the first code of a set-up the role requires).
async fn login_code(
    State(state): State<AppState>,
    viewer: Viewer,
    super::PeerAddr(from): super::PeerAddr,
    headers: axum::http::HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    // As at /login: another site must not sign a victim in with the attacker's waiting login.
    if super::login::cross_site(&headers) {
        return super::login::cross_site_refusal(&viewer.i);
    }
    match hikeshi_app::second_factor::finish_login(&state, &form.pending, &form.code, from).await {
        Ok(Passed {
            user,
            next,
            recovery_codes,
        }) => {
            let then = if recovery_codes.is_empty() {
                see_other(&next)
            } else {
                render(&RecoveryPage {
                    i: viewer.i.clone(),
                    nav: None,
                    codes: recovery_codes,
                    next,
                })
            };
            super::login::signed_in(&state, &viewer.i, &user, from, then).await
        }
        Err((why, internal)) => refused(&state, &viewer.i, &form.pending, why, internal),
    }
}

async fn setup(s: SignedIn, State(state): State<AppState>) -> Response {
    match hikeshi_app::second_factor::begin_setup(&state, &s.who.user) {
        Ok(step) => ask(&s.viewer.i, step, "/settings/second-factor", Some(s.nav)),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}

/// The first code of a set-up from the settings: the session stays as it is.
async fn setup_code(
    s: SignedIn,
    State(state): State<AppState>,
    super::PeerAddr(from): super::PeerAddr,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(e) = s.who.check_csrf(form.csrf.as_deref()) {
        return error_page(&s.viewer.i, Some(s.nav), e);
    }
    match hikeshi_app::second_factor::finish_login(&state, &form.pending, &form.code, from).await {
        Ok(passed) if passed.user.id == s.who.user.id => render(&RecoveryPage {
            i: s.viewer.i,
            nav: Some(s.nav),
            codes: passed.recovery_codes,
            next: "/settings".into(),
        }),
        Ok(_) => error_page(
            &s.viewer.i,
            Some(s.nav),
            hikeshi_app::AppError::forbidden("finish another user's set-up"),
        ),
        Err((why, internal)) => refused(&state, &s.viewer.i, &form.pending, why, internal),
    }
}

#[derive(Deserialize)]
struct OffForm {
    csrf: String,
    code: String,
}

async fn turn_off(
    s: SignedIn,
    State(state): State<AppState>,
    Form(form): Form<OffForm>,
) -> Response {
    if let Err(e) = s.who.check_csrf(Some(&form.csrf)) {
        return error_page(&s.viewer.i, Some(s.nav), e);
    }
    match hikeshi_app::second_factor::turn_off(&state, &s.who, &s.who.user, &form.code).await {
        Ok(()) => see_other("/login"),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}
