//! Login through the OpenID provider: `/login/oidc` sends the browser there with a cookie that
//! ties the answer to it, and `/login/oidc/callback` takes the answer back once.

use super::{render, I18n, Viewer};
use crate::auth::cookie_in;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use hikeshi_app::oidc::{CallbackAnswer, Refused};

const FLOW_COOKIE: &str = "hikeshi_oidc";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/oidc", get(start))
        .route("/login/oidc/callback", get(callback))
}

/// The flow cookie is `SameSite=Lax`: the provider sends the browser back with a top-level GET
/// from its own site, which a `Strict` cookie would not come with.
fn flow_cookie(value: &str, secure: bool, max_age_s: u32) -> String {
    format!(
        "{FLOW_COOKIE}={value}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[derive(serde::Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    viewer: Viewer,
    super::PeerAddr(from): super::PeerAddr,
    Query(q): Query<StartQuery>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return failed(&state, &viewer.i, StatusCode::NOT_FOUND, "login.sso_off");
    };
    let next = super::login::safe_next(q.next.as_deref());
    match oidc.begin(&next, from).await {
        Ok(begun) => (
            [(
                header::SET_COOKIE,
                flow_cookie(&begun.cookie, state.web.secure_cookies, 600),
            )],
            Redirect::to(&begun.url),
        )
            .into_response(),
        Err(refused) => refusal(&state, &viewer.i, refused),
    }
}

#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedInPage {
    i: I18n,
    next: String,
}

async fn callback(
    State(state): State<AppState>,
    viewer: Viewer,
    super::PeerAddr(from): super::PeerAddr,
    headers: HeaderMap,
    Query(answer): Query<CallbackAnswer>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return failed(&state, &viewer.i, StatusCode::NOT_FOUND, "login.sso_off");
    };
    let clear = flow_cookie("", state.web.secure_cookies, 0);
    let found = match oidc.finish(cookie_in(&headers, FLOW_COOKIE), &answer).await {
        Ok(found) => found,
        Err(refused) => {
            return (
                [(header::SET_COOKIE, clear)],
                refusal(&state, &viewer.i, refused),
            )
                .into_response()
        }
    };
    let user = match hikeshi_app::users::provider_login(&state, &found, from).await {
        Ok(user) => user,
        Err(hikeshi_app::users::LoginError::Internal(e)) => {
            tracing::error!(error = %e, "provider login");
            return failed(
                &state,
                &viewer.i,
                StatusCode::INTERNAL_SERVER_ERROR,
                "login.sso_failed",
            );
        }
        Err(_) => return failed(&state, &viewer.i, StatusCode::FORBIDDEN, "login.sso_taken"),
    };
    // A page of our own moves on to `next`: a redirect straight from the provider's navigation
    // would be cross-site, and the browser would not send the new `SameSite=Strict` session.
    let page = render(&SignedInPage {
        i: viewer.i.clone(),
        next: found.next,
    });
    let mut response = super::login::signed_in(&state, &viewer.i, &user, from, page).await;
    if let Ok(v) = header::HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn refusal(state: &AppState, i: &I18n, refused: Refused) -> Response {
    match refused {
        Refused::NoRole => failed(state, i, StatusCode::FORBIDDEN, "login.sso_no_role"),
        Refused::UnknownFlow => failed(state, i, StatusCode::BAD_REQUEST, "login.sso_expired"),
        Refused::Provider(why) => {
            tracing::warn!(%why, "the provider refused the login");
            failed(state, i, StatusCode::UNAUTHORIZED, "login.sso_failed")
        }
        Refused::Token(why) => {
            tracing::warn!(%why, "the provider's answer was not accepted");
            failed(state, i, StatusCode::UNAUTHORIZED, "login.sso_failed")
        }
        Refused::Busy => failed(state, i, StatusCode::TOO_MANY_REQUESTS, "login.sso_busy"),
        Refused::Unavailable(why) => {
            tracing::error!(%why, "the provider could not be asked");
            failed(state, i, StatusCode::BAD_GATEWAY, "login.sso_unavailable")
        }
    }
}

/// The login page again, with the reason on top.
fn failed(state: &AppState, i: &I18n, status: StatusCode, key: &str) -> Response {
    (status, super::login::login_form(state, i, key)).into_response()
}
