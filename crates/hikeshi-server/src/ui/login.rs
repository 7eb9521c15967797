//! Login, logout, language switch and personal settings.

use super::{error_page, render, see_other, I18n, Nav, SignedIn, Viewer};
use crate::auth::{self, LANG_COOKIE, SESSION_COOKIE};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::i18n::Lang;
use hikeshi_app::second_factor::NextStep;
use hikeshi_app::users::LoginError;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", post(switch_lang))
        .route("/settings", get(settings_page).post(settings_submit))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    i: I18n,
    nav: Option<Nav>,
    next: String,
    error: String,
    username: String,
    /// The OpenID provider's button: its text and link (none without `[auth.oidc]`).
    sso: Option<(String, String)>,
}

fn sso_button(state: &AppState, next: &str) -> Option<(String, String)> {
    state.oidc.as_ref().map(|o| {
        (
            o.settings().button_label(),
            format!("/login/oidc?next={}", urlencoding::encode(next)),
        )
    })
}

/// The login page with an error on top (the provider login's and the second factor's
/// failures).
pub(super) fn login_form(state: &AppState, i: &I18n, error_key: &str) -> Response {
    let next = safe_next(None);
    render(&LoginPage {
        error: i.t(error_key),
        i: i.clone(),
        nav: None,
        sso: sso_button(state, &next),
        next,
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only paths on this site are followed after login or a language switch, never another
/// site: browsers drop tabs and newlines from a `Location` and read `\\` as `/`, so `/\t/evil`
/// and `/\\evil` mean `//evil`, another host. The path must start with one `/`, hold no
/// control character, space or backslash, and stay so once percent-decoded.
pub(super) fn safe_next(next: Option<&str>) -> String {
    fn local(p: &str) -> bool {
        p.starts_with('/')
            && !p.starts_with("//")
            && p.len() <= 2000
            && !p
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    }
    // Decoded, only the path counts: a query may hold an encoded space.
    let decoded_path_local = |p: &str| {
        let decoded = urlencoding::decode(p).unwrap_or_default();
        local(decoded.split(['?', '#']).next().unwrap_or(""))
    };
    match next {
        Some(n) if local(n) && decoded_path_local(n) => n.to_string(),
        _ => "/cases".to_string(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if viewer.user.is_some() {
        return see_other(&next);
    }
    render(&LoginPage {
        i: viewer.i,
        nav: None,
        sso: sso_button(&state, &next),
        next,
        error: String::new(),
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// A login posted from another site (login CSRF: the victim would be signed in as the
/// attacker). Browsers say where a form came from in `Origin` and `Sec-Fetch-Site`; tools
/// that send neither are not browsers and cannot be tricked this way.
pub(super) fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (get("origin"), get("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .is_none_or(|rest| !rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The answer to a login form (password or code) posted from another site.
pub(super) fn cross_site_refusal(i: &I18n) -> Response {
    error_page(
        i,
        None,
        hikeshi_app::AppError::new(
            hikeshi_app::ErrorKind::Forbidden,
            "cross_site",
            "a login form from another site is refused",
        ),
    )
}

async fn login_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    super::PeerAddr(from): super::PeerAddr,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        return cross_site_refusal(&viewer.i);
    }
    let next = safe_next(form.next.as_deref());
    let username: String = form.username.trim().chars().take(64).collect();
    let failed = |key: &str, status: StatusCode| {
        let page = LoginPage {
            error: viewer.i.t(key),
            i: viewer.i.clone(),
            nav: None,
            next: next.clone(),
            username: username.clone(),
            sso: sso_button(&state, &next),
        };
        (status, render(&page)).into_response()
    };
    match hikeshi_app::users::login(&state, &username, &form.password, from).await {
        Ok(user) => match hikeshi_app::second_factor::after_password(&state, &user, &next) {
            Ok(NextStep::Done) => signed_in(&state, &viewer.i, &user, from, see_other(&next)).await,
            Ok(step) => super::second_factor::ask(&viewer.i, step, "/login/code", None),
            Err(e) => error_page(&viewer.i, None, e),
        },
        Err(LoginError::Invalid) => failed("login.invalid", StatusCode::UNAUTHORIZED),
        Err(LoginError::Locked { .. }) => failed("login.locked", StatusCode::TOO_MANY_REQUESTS),
        Err(LoginError::Internal(e)) => {
            error_page(&viewer.i, None, crate::error::ApiError::internal(e))
        }
    }
}

/// Starts the session and answers with `then`, the session cookie set.
pub(super) async fn signed_in(
    state: &AppState,
    i: &I18n,
    user: &hikeshi_store::User,
    from: Option<std::net::IpAddr>,
    mut then: Response,
) -> Response {
    match hikeshi_app::users::start_session(&state.store, user, state.config.session_hours, from)
        .await
    {
        Ok(token) => {
            let cookie = auth::session_cookie(
                &token,
                state.web.secure_cookies,
                state.config.session_hours * 3600,
            );
            if let Ok(v) = header::HeaderValue::from_str(&cookie) {
                then.headers_mut().append(header::SET_COOKIE, v);
            }
            then
        }
        Err(e) => error_page(i, None, e),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(who) = &viewer.user {
        if let Err(e) = who.check_csrf(form.csrf.as_deref()) {
            return error_page(&viewer.i, viewer.nav(), e);
        }
        if let Some(hash) = &who.session_hash {
            if let Err(e) = state.store.delete_session(hash, &who.user.username).await {
                return error_page(&viewer.i, None, e);
            }
        }
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, clear)], see_other("/login")).into_response()
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    csrf: Option<String>,
    next: Option<String>,
}

/// Switches the language: for signed-in users in their settings, for everyone in a cookie.
async fn switch_lang(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LangForm>,
) -> Response {
    let Some(lang) = Lang::parse(&form.lang) else {
        return error_page(
            &viewer.i,
            viewer.nav(),
            crate::error::ApiError::invalid("lang", "lang: expected ja or en"),
        );
    };
    if let Some(who) = &viewer.user {
        if let Err(e) = who.check_csrf(form.csrf.as_deref()) {
            return error_page(&viewer.i, viewer.nav(), e);
        }
        let tz = who.user.time_zone.clone();
        if let Err(e) = state
            .store
            .set_user_preferences(
                &who.user.username,
                Some(lang.code()),
                tz.as_deref(),
                &who.actor(),
            )
            .await
        {
            return error_page(&viewer.i, viewer.nav(), e);
        }
    }
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    let next = safe_next(form.next.as_deref());
    // The page it returns to confirms the switch once; an earlier confirmation is not repeated.
    let next = next.split('#').next().unwrap_or("/cases");
    let (path, query) = next.split_once('?').unwrap_or((next, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && *p != super::LANG_SWITCHED)
        .collect();
    pairs.push(super::LANG_SWITCHED);
    let back = format!("{path}?{}", pairs.join("&"));
    ([(header::SET_COOKIE, cookie)], see_other(&back)).into_response()
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    i: I18n,
    nav: Option<Nav>,
    lang: String,
    time_zone: String,
    zones: Vec<&'static str>,
    /// `on`, `off`, or `external` (the directory or the provider asks for its own factors).
    second_factor: &'static str,
    recovery_codes_left: i64,
    /// The settings were just saved: say so.
    saved: bool,
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

const ZONES: &[&str] = &[
    "Asia/Tokyo",
    "UTC",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
];

async fn settings_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<SavedQuery>,
) -> Response {
    let user = &s.who.user;
    let recovery_codes_left = hikeshi_app::second_factor::recovery_codes_left(&state, user)
        .await
        .unwrap_or(0);
    let second_factor = if !hikeshi_app::second_factor::is_local(user) {
        "external"
    } else if user.totp_secret.is_some() {
        "on"
    } else {
        "off"
    };
    render(&SettingsPage {
        second_factor,
        recovery_codes_left,
        saved: q.saved.is_some(),
        lang: s.who.user.lang.clone().unwrap_or_default(),
        time_zone: s.viewer.i.tz_name(),
        zones: {
            // The zone in use is always offered, so saving does not change it unasked.
            let mut zones = ZONES.to_vec();
            let current = s.viewer.i.tz.name();
            if !zones.contains(&current) {
                zones.insert(0, current);
            }
            zones
        },
        i: s.viewer.i,
        nav: Some(s.nav),
    })
}

#[derive(Deserialize)]
struct SettingsForm {
    csrf: String,
    lang: String,
    time_zone: String,
}

async fn settings_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(e) = s.who.check_csrf(Some(&form.csrf)) {
        return error_page(&s.viewer.i, Some(s.nav), e);
    }
    let lang = Lang::parse(&form.lang).map(|l| l.code());
    let tz = hikeshi_app::timefmt::parse_tz(&form.time_zone).map(|t| t.name().to_string());
    if tz.is_none() && !form.time_zone.is_empty() {
        return error_page(
            &s.viewer.i,
            Some(s.nav),
            crate::error::ApiError::invalid(
                "time_zone",
                format!("time_zone: unknown zone `{}`", form.time_zone),
            ),
        );
    }
    match state
        .store
        .set_user_preferences(&s.who.user.username, lang, tz.as_deref(), &s.who.actor())
        .await
    {
        Ok(_) => see_other("/settings?saved=1"),
        Err(e) => error_page(&s.viewer.i, Some(s.nav), e),
    }
}

#[cfg(test)]
mod tests {
    use super::{cross_site, safe_next};

    #[test]
    fn logins_from_other_sites_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = axum::http::HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, axum::http::HeaderValue::from_static(v));
            }
            h
        };
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(!cross_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example")
        ])));
        assert!(cross_site(&headers(&[("host", "h"), ("origin", "null")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
    }

    #[test]
    fn only_paths_on_this_site_are_followed() {
        for ok in [
            "/cases",
            "/cases/2026-0001?tab=timeline#t",
            "/cases?q=%E6%A8%99%20x",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example/x",
            "/\t/evil.example/x",
            "/\\evil.example",
            "/%09/evil.example/x",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "https://evil.example/",
            "evil.example",
            "/\u{3000}/evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/cases", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/cases");
    }
}
