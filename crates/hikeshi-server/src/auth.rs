//! Who is asking, as HTTP sees it: the session cookie (with its CSRF token) or the bearer
//! token of a request, resolved to the app's [`Who`]. Passwords, sessions and tokens
//! themselves are the app's (`hikeshi_app::users`).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
pub use hikeshi_app::users::token_digest;
use hikeshi_app::{AppError, ErrorKind, Lang, Who};
use hikeshi_model::{Role, TokenScope};
use hikeshi_store::User;

pub const SESSION_COOKIE: &str = "hikeshi_session";
pub const LANG_COOKIE: &str = "hikeshi_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn session_cookie(token: &str, secure: bool, max_age_s: i64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The authenticated caller of a request: the app's [`Who`] (which it dereferences to, so a
/// handler passes `&who` to a use case) and what only the web knows.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub who: Who,
    pub user: User,
    /// Set for browser sessions: forms and scripts must echo it back.
    pub csrf_token: Option<String>,
    pub session_hash: Option<String>,
}

impl std::ops::Deref for CurrentUser {
    type Target = Who;
    fn deref(&self) -> &Who {
        &self.who
    }
}

impl CurrentUser {
    fn new(
        user: User,
        scope: TokenScope,
        csrf_token: Option<String>,
        session_hash: Option<String>,
    ) -> ApiResult<Self> {
        let role = Role::parse(&user.role).map_err(AppError::internal)?;
        let lang = user.lang.as_deref().and_then(Lang::parse);
        Ok(CurrentUser {
            who: Who::user(&user.username, role, lang).with_scope(scope),
            user,
            csrf_token,
            session_hash,
        })
    }

    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), AppError> {
        match &self.csrf_token {
            None => Ok(()),
            Some(expected)
                if presented
                    .is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) =>
            {
                Ok(())
            }
            Some(_) => Err(AppError::new(
                hikeshi_app::ErrorKind::Forbidden,
                "csrf",
                "missing or wrong CSRF token; reload the page and try again",
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller, if any; an ingest-only token is refused here, for every route but the one
/// that takes events ([`Shipper`]).
pub async fn resolve_user(parts: &Parts, state: &AppState) -> ApiResult<Option<CurrentUser>> {
    let user = resolve_any(parts, state).await?;
    if user.as_ref().is_some_and(|u| u.scope == TokenScope::Ingest) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "token_scope",
            "this token may only send events (POST /api/v1/events)",
        )
        .into());
    }
    Ok(user)
}

async fn resolve_any(parts: &Parts, state: &AppState) -> ApiResult<Option<CurrentUser>> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::from(AppError::unauthenticated()))?;
        let user = state
            .store
            .user_by_token_hash(&token_digest(token.trim()))
            .await?;
        let Some((user, scope)) = user.filter(|(u, _)| !u.is_disabled()) else {
            return Err(AppError::unauthenticated().into());
        };
        let scope = TokenScope::parse(&scope).map_err(AppError::internal)?;
        return Ok(Some(CurrentUser::new(user, scope, None, None)?));
    }
    if let Some(token) = cookie_value(parts, SESSION_COOKIE) {
        let hash = token_digest(token);
        if let Some((session, user)) = state.store.session(&hash).await? {
            if user.is_disabled() {
                return Ok(None);
            }
            return Ok(Some(CurrentUser::new(
                user,
                TokenScope::Full,
                Some(session.csrf_token),
                Some(hash),
            )?));
        }
    }
    Ok(None)
}

/// The caller of the events endpoint: as [`CurrentUser`], and ingest-only tokens too.
pub struct Shipper(pub CurrentUser);

impl FromRequestParts<AppState> for Shipper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = resolve_any(parts, state)
            .await?
            .ok_or_else(|| ApiError::from(AppError::unauthenticated()))?;
        // Refused before the body is read: a viewer's 10 MiB costs nothing.
        user.require_ingest()?;
        checked_csrf(parts, user).map(Shipper)
    }
}

/// The caller of the Vuls delivery endpoint. `vuls report -to-http` cannot set headers, but Go
/// sends the user information of its URL (`http://vuls:TOKEN@host/…`) as Basic
/// authentication: the password is taken as the token. Bearer tokens work too.
pub struct Scanner(pub CurrentUser);

impl FromRequestParts<AppState> for Scanner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let basic = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .map(str::to_string);
        if let Some(encoded) = basic {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|pair| pair.split_once(':').map(|(_, t)| t.to_string()))
                .ok_or_else(|| ApiError::from(AppError::unauthenticated()))?;
            let bearer = format!("Bearer {token}");
            let value = header::HeaderValue::from_str(&bearer)
                .map_err(|_| ApiError::from(AppError::unauthenticated()))?;
            parts.headers.insert(header::AUTHORIZATION, value);
        }
        let user = resolve_any(parts, state)
            .await?
            .ok_or_else(|| ApiError::from(AppError::unauthenticated()))?;
        hikeshi_app::vulns::delivery::may_deliver(&user)?;
        checked_csrf(parts, user).map(Scanner)
    }
}

/// For session callers of state-changing methods, the CSRF token must come in the
/// `X-CSRF-Token` header.
fn checked_csrf(parts: &Parts, user: CurrentUser) -> ApiResult<CurrentUser> {
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        user.check_csrf(presented)?;
    }
    Ok(user)
}

/// Extractor for API routes: 401 without credentials, 403 for an ingest-only token; for
/// session callers of state-changing methods, the CSRF token must come in the `X-CSRF-Token`
/// header.
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = resolve_user(parts, state)
            .await?
            .ok_or_else(|| ApiError::from(AppError::unauthenticated()))?;
        checked_csrf(parts, user)
    }
}
