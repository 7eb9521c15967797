//! People and machines that log in: password hashing (Argon2id) and policy, login with its
//! back-off, browser sessions, API tokens, and the administration of users.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use hikeshi_store::{Session, Store, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

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
pub async fn start_session(store: &Store, user: &User, hours: i64) -> AppResult<String> {
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

/// Users, for managers and admins (assignees, the admin page).
pub async fn list_users(app: &crate::App, who: &crate::Who) -> AppResult<Vec<User>> {
    who.require_command("list users")?;
    Ok(app.store.list_users().await?)
}

/// A new user (admins; the first admin comes from the CLI, acting as [`crate::Who::cli`]).
pub async fn create_user(
    app: &crate::App,
    who: &crate::Who,
    username: &str,
    display: &str,
    role: hikeshi_model::Role,
    password: &str,
) -> AppResult<User> {
    who.require_admin("create users")?;
    check_password_policy(password).map_err(|m| AppError::invalid("password", m))?;
    let username = crate::validate::text_field("username", username, true, 64)?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let new = hikeshi_store::NewUser {
        username: username.clone(),
        display_name: if display.trim().is_empty() {
            username
        } else {
            display.trim().to_string()
        },
        role: role.code().into(),
        password_hash: hash,
    };
    Ok(app.store.create_user(&new, &who.actor()).await?)
}

/// What an admin does to another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Disable,
    Enable,
    Role(hikeshi_model::Role),
}

pub async fn change_user(
    app: &crate::App,
    who: &crate::Who,
    name: &str,
    change: UserChange,
) -> AppResult<User> {
    who.require_admin("administer hikeshi")?;
    let actor = who.actor();
    if name == who.name && !matches!(change, UserChange::Role(_)) {
        return Err(AppError::invalid("action", "you cannot disable yourself"));
    }
    Ok(match change {
        UserChange::Disable => app.store.set_user_disabled(name, true, &actor).await?,
        UserChange::Enable => app.store.set_user_disabled(name, false, &actor).await?,
        UserChange::Role(role) => app.store.set_user_role(name, role.code(), &actor).await?,
    })
}

/// API tokens with their owners: every token for admins, their own for others.
pub async fn list_tokens(
    app: &crate::App,
    who: &crate::Who,
) -> AppResult<Vec<(hikeshi_store::ApiToken, String)>> {
    let me = app
        .store
        .user_by_name(&who.name)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {}", who.name)))?;
    let filter = (!who.role.is_admin()).then(|| me.id.clone());
    let users = app.store.list_users().await?;
    Ok(app
        .store
        .list_api_tokens(filter.as_deref())
        .await?
        .into_iter()
        .map(|t| {
            let owner = users
                .iter()
                .find(|u| u.id == t.user_id)
                .map(|u| u.username.clone())
                .unwrap_or_default();
            (t, owner)
        })
        .collect())
}

/// A new token for the caller; the secret is returned once and stored only as its digest.
pub async fn create_token(
    app: &crate::App,
    who: &crate::Who,
    name: &str,
    scope: hikeshi_model::TokenScope,
) -> AppResult<String> {
    let name = crate::validate::text_field("name", name, true, 100)?;
    let me = app
        .store
        .user_by_name(&who.name)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {}", who.name)))?;
    let token = new_api_token();
    app.store
        .create_api_token(&me, &name, &token_digest(&token), scope, &who.actor())
        .await?;
    Ok(token)
}

/// Revokes a token: one's own, or anyone's for admins.
pub async fn revoke_token(app: &crate::App, who: &crate::Who, id: &str) -> AppResult<()> {
    let me = app.store.user_by_name(&who.name).await?;
    let own = match me {
        Some(me) => app
            .store
            .list_api_tokens(Some(&me.id))
            .await?
            .iter()
            .any(|t| t.id == id),
        None => false,
    };
    who.require(own || who.role.is_admin(), "revoke other users' tokens")?;
    app.store.revoke_api_token(id, &who.actor()).await?;
    Ok(())
}

/// The audit log (admins), newest first.
pub async fn audit_entries(
    app: &crate::App,
    who: &crate::Who,
    q: &hikeshi_store::AuditQuery,
) -> AppResult<Vec<hikeshi_store::AuditEntry>> {
    who.require_admin("read the audit log")?;
    Ok(app.store.audit_entries(q).await?)
}

/// The audit log as CSV.
pub fn audit_csv(entries: Vec<hikeshi_store::AuditEntry>) -> String {
    let rows = entries.into_iter().map(|e| {
        vec![
            crate::timefmt::rfc3339_utc(e.at),
            e.actor,
            e.action,
            e.object_type,
            e.object_id,
            e.before_json.unwrap_or_default(),
            e.after_json.unwrap_or_default(),
        ]
    });
    crate::csv::csv_document(
        &[
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
        ],
        rows,
    )
}
