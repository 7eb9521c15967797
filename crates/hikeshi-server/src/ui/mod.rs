//! The server-rendered web UI. Pages call the same service layer as the API; forms carry the
//! session's CSRF token; every string comes from the locale files.

mod admin;
mod advisories;
mod alerts;
mod assets;
mod cases;
mod contacts;
mod csaf;
mod evidence;
mod jobs;
mod login;
mod my_work;
mod oidc_login;
mod outbound;
mod report_form;
pub mod reporting;
mod reports;
mod response;
mod second_factor;
mod sharing;
mod team_admin;

use crate::auth::{cookie_value, resolve_user, CurrentUser, LANG_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use hikeshi_app::i18n::{text, Lang};

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/cases") }))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .merge(login::routes())
        .merge(oidc_login::routes())
        .merge(second_factor::routes())
        .merge(cases::routes(state))
        .merge(admin::routes())
        .merge(report_form::routes(state))
        .merge(csaf::routes())
        .merge(advisories::routes())
        .merge(reports::routes())
        .merge(team_admin::routes())
        .merge(jobs::routes())
        .merge(response::routes())
        .merge(outbound::routes())
        .merge(sharing::routes())
        .merge(contacts::routes())
        .merge(evidence::routes())
        .merge(alerts::routes())
        .merge(my_work::routes())
        .merge(assets::routes())
        .merge(reporting::routes())
}

/// The client's address, when the listener knows it (tests that call the router directly
/// do not): what login records and rate limits use.
pub(crate) struct PeerAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|axum::extract::ConnectInfo(a)| a.ip()),
        ))
    }
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/app.js"),
    )
}

/// One option of a `<select>`: the wire code and its label in the viewer's language.
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// Options for a closed set, labelled in the viewer's language.
pub fn choices<T: Copy>(
    i: &I18n,
    prefix: &str,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            code: code(*v).into(),
            label: i.label(prefix, code(*v)),
        })
        .collect()
}

/// The team's categories as options, labelled in the viewer's language.
pub fn category_choices(i: &I18n, cats: &[hikeshi_store::Category]) -> Vec<Choice> {
    cats.iter()
        .map(|c| Choice {
            code: c.code.clone(),
            label: if i.lang == hikeshi_app::i18n::Lang::Ja {
                c.label_ja.clone()
            } else {
                c.label_en.clone()
            },
        })
        .collect()
}

/// A category's label among the options, or its code if it is not there.
pub fn category_label(cats: &[Choice], code: &str) -> String {
    cats.iter()
        .find(|c| c.code == code)
        .map(|c| c.label.clone())
        .unwrap_or_else(|| code.to_string())
}

/// Language and time zone of the viewer, and the translation helpers templates call.
#[derive(Clone)]
pub struct I18n {
    pub lang: Lang,
    pub tz: Tz,
    /// The language was just switched: the page says so once (the switch adds
    /// `lang_switched=1` to the address it returns to).
    pub lang_switched: bool,
}

impl I18n {
    pub fn t(&self, key: &str) -> String {
        text(self.lang, key)
    }
    /// Label of a closed-set value, e.g. `label("severity", "high")`.
    pub fn label(&self, prefix: &str, code: &str) -> String {
        text(self.lang, &format!("{prefix}.{code}"))
    }
    /// Askama hands fields over by value or by reference; both are accepted.
    pub fn time(&self, ms: impl std::borrow::Borrow<i64>) -> String {
        hikeshi_app::timefmt::local(*ms.borrow(), self.tz)
    }
    pub fn opt_time(&self, ms: impl std::borrow::Borrow<Option<i64>>) -> String {
        ms.borrow()
            .map(|m| hikeshi_app::timefmt::local(m, self.tz))
            .unwrap_or_default()
    }
    /// An RFC 3339 time from a document (CSAF dates), in the viewer's time zone.
    pub fn rfc3339(&self, text: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| hikeshi_app::timefmt::local(t.timestamp_millis(), self.tz))
            .unwrap_or_else(|_| text.to_string())
    }
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
    pub fn tz_name(&self) -> String {
        self.tz.name().to_string()
    }
}

/// The signed-in user as the page header needs it.
#[derive(Clone)]
pub struct Nav {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub csrf: String,
    pub is_admin: bool,
    pub can_edit: bool,
    pub can_command: bool,
}

/// A page request: who is asking (if anyone) and in which language.
pub struct Viewer {
    pub user: Option<CurrentUser>,
    pub i: I18n,
}

impl Viewer {
    /// A public page's language: `?lang=` wins (a link can pick it), else the viewer's.
    pub fn i18n_asked(&self, lang: Option<&str>) -> I18n {
        let mut i = self.i.clone();
        if let Some(lang) = lang.and_then(Lang::parse) {
            i.lang = lang;
        }
        i
    }

    pub fn nav(&self) -> Option<Nav> {
        self.user.as_ref().map(|u| Nav {
            username: u.user.username.clone(),
            display_name: u.user.display_name.clone(),
            role: u.role.code().into(),
            csrf: u.csrf_token.clone().unwrap_or_default(),
            is_admin: u.role.is_admin(),
            can_edit: u.role.can_edit_cases(),
            can_command: u.role.can_command(),
        })
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // A bad bearer header on a page is treated as no login rather than an API error.
        let user = resolve_user(parts, state).await.ok().flatten();
        let lang = user
            .as_ref()
            .and_then(|u| u.user.lang.as_deref())
            .and_then(Lang::parse)
            .or_else(|| cookie_value(parts, LANG_COOKIE).and_then(Lang::parse))
            .unwrap_or_else(|| {
                let header = parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                Lang::from_accept_language(header)
            });
        let tz = user
            .as_ref()
            .and_then(|u| u.user.time_zone.as_deref())
            .and_then(hikeshi_app::timefmt::parse_tz)
            .unwrap_or_else(|| hikeshi_app::timefmt::team_zone(state.calendar.offset_ms()));
        let lang_switched = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair == LANG_SWITCHED));
        Ok(Viewer {
            user,
            i: I18n {
                lang,
                tz,
                lang_switched,
            },
        })
    }
}

/// The query pair the language switch adds to the page it returns to.
pub(crate) const LANG_SWITCHED: &str = "lang_switched=1";

/// A viewer who must be signed in; others are sent to the login page.
pub struct SignedIn {
    pub who: CurrentUser,
    pub viewer: Viewer,
    pub nav: Nav,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        match (viewer.user.clone(), viewer.nav()) {
            (Some(who), Some(nav)) => Ok(SignedIn { who, viewer, nav }),
            _ => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/cases");
                Err(
                    Redirect::to(&format!("/login?next={}", urlencoding::encode(next)))
                        .into_response(),
                )
            }
        }
    }
}

pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(format!("template: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub i: I18n,
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
    pub field: String,
}

/// Shows a service error as a page in the viewer's language, with the same status as the API.
pub fn error_page(i: &I18n, nav: Option<Nav>, err: impl Into<ApiError>) -> Response {
    let err: ApiError = err.into();
    let status = err.status();
    let title = match status {
        StatusCode::NOT_FOUND => i.t("error.not_found"),
        StatusCode::FORBIDDEN => i.t("error.forbidden"),
        StatusCode::PAYLOAD_TOO_LARGE => i.t("error.too_large"),
        s if s.is_client_error() => i.t("error.invalid"),
        _ => i.t("error.internal"),
    };
    let page = ErrorPage {
        i: i.clone(),
        nav,
        title,
        message: err.0.message,
        field: err
            .0
            .field
            .map(|f| i.label("field", &f))
            .unwrap_or_default(),
    };
    (status, render(&page)).into_response()
}

/// Any address no route answers: a page in the viewer's language for people, a JSON error
/// for API clients.
pub async fn no_such_page(viewer: Viewer, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found(format!("{} (no such API path)", uri.path())).into_response();
    }
    let page = ErrorPage {
        title: viewer.i.t("error.not_found"),
        message: viewer.i.t("error.no_such_page"),
        field: String::new(),
        nav: viewer.nav(),
        i: viewer.i,
    };
    (StatusCode::NOT_FOUND, render(&page)).into_response()
}

/// The post-redirect-get answer to a successful form.
/// The page, or the error page in the viewer's language.
pub fn page_or_error<T: Template, E: Into<ApiError>>(
    i: &I18n,
    nav: Nav,
    result: Result<T, E>,
) -> Response {
    match result {
        Ok(page) => render(&page),
        Err(e) => error_page(i, Some(nav), e),
    }
}

/// After a form: on to the page `to` names, or the error page.
pub fn redirect_or_error<T, E: Into<ApiError>>(
    i: &I18n,
    nav: Nav,
    result: Result<T, E>,
    to: impl FnOnce(&T) -> String,
) -> Response {
    match result {
        Ok(value) => see_other(&to(&value)),
        Err(e) => error_page(i, Some(nav), e),
    }
}

/// A form that carries nothing but its CSRF token (delete, revoke, mark done).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// A priority's reasons in the viewer's language: "資産価値 5(本番) (+20), KEV掲載 CVE-… (+25)".
pub fn explain_factors(i: &I18n, factors: &[hikeshi_app::vulns::risk::Factor]) -> String {
    factors
        .iter()
        .map(|f| {
            let detail = match f.code {
                "asset_value" => {
                    let (value, env) = f.detail.split_once('|').unwrap_or((f.detail.as_str(), ""));
                    format!("{value} ({})", i.label("environment", env))
                }
                "rule_level" => i.label("level", &f.detail),
                _ => f.detail.clone(),
            };
            let text = i.t(&format!("risk.{}", f.code)).replace("{x}", &detail);
            match &f.asset {
                Some(a) => format!("{a}: {text} (+{})", f.points),
                None => format!("{text} (+{})", f.points),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let known = hikeshi_app::i18n::keys(hikeshi_app::Lang::En);
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).expect("templates folder") {
            let path = entry.expect("entry").path();
            let body = std::fs::read_to_string(&path).expect("template text");
            for piece in body.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or("");
                if !known.iter().any(|k| k == key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
    }
}
