//! Who is asking: passwords (Argon2id), browser sessions with CSRF tokens, API bearer tokens,
//! and the back-off after failed logins.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use hikeshi_model::Role;
use hikeshi_store::{Actor, Session, Store, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "hikeshi_session";
pub const LANG_COOKIE: &str = "hikeshi_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Failures allowed before the back-off starts.
const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 15 * 60 * 1000;

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Rules for passwords set through any door (CLI, admin page, API).
pub fn check_password_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("the password must have at least 10 characters".into());
    }
    if password.len() > 1024 {
        return Err("the password must have at most 1024 bytes".into());
    }
    Ok(())
}

/// A new random secret, hex-encoded (256 bits).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored only as their SHA-256 digest: a leaked database does not leak them.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// API tokens carry a prefix so that secret scanners and people can tell what they are.
pub fn new_api_token() -> String {
    format!("hks_{}", random_token())
}

#[derive(Debug)]
pub enum LoginError {
    Invalid,
    Locked { retry_after_s: i64 },
    Internal(String),
}

/// Checks a password and applies the back-off: after five failures, each further failure locks
/// the account for twice as long as the one before, up to 15 minutes.
pub async fn login(store: &Store, username: &str, password: &str) -> Result<User, LoginError> {
    let user = store
        .user_by_name(username)
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))?;
    let now = hikeshi_store::now_ms();
    if let Some(until) = user.as_ref().and_then(|u| u.locked_until) {
        if until > now {
            return Err(LoginError::Locked {
                retry_after_s: (until - now) / 1000 + 1,
            });
        }
    }
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = password.to_string();
    // Unknown users cost a verification too, so timing does not reveal who exists.
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .map_err(|e| LoginError::Internal(e.to_string()))?;
    let Some(user) = user else {
        return Err(LoginError::Invalid);
    };
    if !ok || user.is_disabled() {
        let failures = user.failed_logins + 1;
        let locked_until = (failures >= FREE_FAILURES).then(|| {
            let steps = (failures - FREE_FAILURES).min(10) as u32;
            now + (30_000i64 << steps).min(MAX_LOCK_MS)
        });
        store
            .record_login_failure(&user.id, locked_until)
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        tracing::warn!(username = %user.username, failures, "failed login");
        return Err(LoginError::Invalid);
    }
    store
        .record_login_success(&user.id)
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))?;
    Ok(user)
}

/// Starts a session; returns the cookie value (the only copy of the secret).
pub async fn start_session(store: &Store, user: &User, hours: i64) -> ApiResult<String> {
    let token = random_token();
    let now = hikeshi_store::now_ms();
    store
        .create_session(&Session {
            token_hash: token_digest(&token),
            user_id: user.id.clone(),
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + hours * 3_600_000,
        })
        .await?;
    Ok(token)
}

pub fn session_cookie(token: &str, secure: bool, max_age_s: i64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub role: Role,
    /// Set for browser sessions: forms and scripts must echo it back.
    pub csrf_token: Option<String>,
    pub session_hash: Option<String>,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user.username)
    }

    pub fn require(&self, allowed: bool, what: &str) -> ApiResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }

    pub fn check_csrf(&self, presented: Option<&str>) -> ApiResult<()> {
        match &self.csrf_token {
            None => Ok(()),
            Some(expected)
                if presented
                    .is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) =>
            {
                Ok(())
            }
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong CSRF token; reload the page and try again",
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn resolve_user(parts: &Parts, state: &AppState) -> ApiResult<Option<CurrentUser>> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthenticated)?;
        let user = state
            .store
            .user_by_token_hash(&token_digest(token.trim()))
            .await?;
        let Some(user) = user.filter(|u| !u.is_disabled()) else {
            return Err(ApiError::unauthenticated());
        };
        let role = Role::parse(&user.role).map_err(ApiError::internal)?;
        return Ok(Some(CurrentUser {
            user,
            role,
            csrf_token: None,
            session_hash: None,
        }));
    }
    if let Some(token) = cookie_value(parts, SESSION_COOKIE) {
        let hash = token_digest(token);
        if let Some((session, user)) = state.store.session(&hash).await? {
            if user.is_disabled() {
                return Ok(None);
            }
            let role = Role::parse(&user.role).map_err(ApiError::internal)?;
            return Ok(Some(CurrentUser {
                user,
                role,
                csrf_token: Some(session.csrf_token),
                session_hash: Some(hash),
            }));
        }
    }
    Ok(None)
}

/// Extractor for API routes: 401 without credentials; for session callers of state-changing
/// methods, the CSRF token must come in the `X-CSRF-Token` header.
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = resolve_user(parts, state)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            user.check_csrf(presented)?;
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn policy() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough pass").is_ok());
    }
}
