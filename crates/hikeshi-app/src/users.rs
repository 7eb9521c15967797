//! People and machines that log in: password hashing (Argon2id) and policy, login with its
//! back-off, browser sessions, API tokens, and the administration of users.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use hikeshi_store::{Session, SignInAttempt, Store, User};
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
pub fn check_password_policy(username: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("the password must have at least 10 characters".into());
    }
    if password.len() > 1024 {
        return Err("the password must have at most 1024 bytes".into());
    }
    let lower = password.to_lowercase();
    let name = username.trim().to_lowercase();
    if !name.is_empty() && lower.contains(&name) && lower.chars().count() < name.chars().count() + 6
    {
        return Err("the password must not be the user name or close to it".into());
    }
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("the password must not be one character repeated".into());
    }
    let common = include_str!("common_passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == lower);
    if common {
        return Err("the password is one of the most common ones; choose another".into());
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

/// Growing delays after failed logins, kept per (address, user name) and per address, in
/// memory. The same for names that exist and names that do not, so the answer tells nobody
/// who has an account; and per address, so a stranger hammering the admin's name slows only
/// themselves — the admin logs in from their own address. A restart forgets (the CLI's
/// `user reset-password` is there too).
#[derive(Default)]
pub struct LoginThrottle {
    pairs:
        std::sync::Mutex<std::collections::HashMap<(Option<std::net::IpAddr>, String), Failures>>,
    addresses: std::sync::Mutex<std::collections::HashMap<Option<std::net::IpAddr>, Failures>>,
}

#[derive(Default, Clone, Copy)]
struct Failures {
    count: i64,
    until: i64,
}

/// Failures one address may make across user names (password spraying) before it waits.
const FREE_ADDRESS_FAILURES: i64 = 20;

impl Failures {
    fn wait_ms(&self, now: i64) -> i64 {
        (self.until - now).max(0)
    }

    fn fail(&mut self, free: i64, now: i64) {
        self.count += 1;
        if self.count >= free {
            let steps = (self.count - free).min(10) as u32;
            self.until = now + (30_000i64 << steps).min(MAX_LOCK_MS);
        }
    }
}

impl LoginThrottle {
    fn wait_ms(&self, from: Option<std::net::IpAddr>, name: &str, now: i64) -> i64 {
        let pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        let addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        let pair = pairs
            .get(&(from, name.to_lowercase()))
            .map_or(0, |f| f.wait_ms(now));
        let address = addresses.get(&from).map_or(0, |f| f.wait_ms(now));
        pair.max(address)
    }

    fn failed(&self, from: Option<std::net::IpAddr>, name: &str, now: i64) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        // Forget pairs that have been quiet for a day, so the map stays small.
        if pairs.len() > 10_000 {
            pairs.retain(|_, f| now - f.until < 86_400_000);
        }
        pairs
            .entry((from, name.to_lowercase()))
            .or_default()
            .fail(FREE_FAILURES, now);
        drop(pairs);
        let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if addresses.len() > 10_000 {
            addresses.retain(|_, f| now - f.until < 86_400_000);
        }
        addresses
            .entry(from)
            .or_default()
            .fail(FREE_ADDRESS_FAILURES, now);
    }

    fn succeeded(&self, from: Option<std::net::IpAddr>, name: &str) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        pairs.remove(&(from, name.to_lowercase()));
    }
}

/// Checks a password from `from`. After five failures for a name from one address (or
/// twenty from one address across names), that address waits twice as long after each further
/// failure, from 30 s up to 15 minutes — whether the name exists or not.
pub async fn login(
    app: &crate::App,
    username: &str,
    password: &str,
    from: Option<std::net::IpAddr>,
) -> Result<User, LoginError> {
    let store = &app.store;
    let throttle = &app.login_throttle;
    let now = hikeshi_store::now_ms();
    let wait = throttle.wait_ms(from, username, now);
    if wait > 0 {
        return Err(LoginError::Locked {
            retry_after_s: wait / 1000 + 1,
        });
    }
    let user = store
        .user_by_name(username)
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))?;
    // A name without a local password goes to the directory when one is configured; local
    // accounts with a password never do (break-glass when the directory is down).
    if let Some(ldap) = &app.config.ldap {
        let local_password = user
            .as_ref()
            .is_some_and(|u| u.password_hash != crate::ldap::DIRECTORY_MANAGED);
        if !local_password {
            return directory_login(app, ldap, user, username, password, from, now).await;
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
    let disabled = user.as_ref().is_some_and(User::is_disabled);
    let Some(user) = user.filter(|u| ok && !u.is_disabled()) else {
        throttle.failed(from, username, now);
        // Kept for the record; the account itself is never locked.
        let attempt = SignInAttempt {
            username,
            method: "password",
            from,
        };
        let reason = if ok && disabled {
            "disabled"
        } else {
            "invalid"
        };
        store
            .record_login_failure(&attempt, reason)
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        tracing::warn!(username = %username.chars().take(64).collect::<String>(), ?from, "failed login");
        return Err(LoginError::Invalid);
    };
    throttle.succeeded(from, username);
    store
        .record_login_success(&user.id)
        .await
        .map_err(|e| LoginError::Internal(e.to_string()))?;
    Ok(user)
}

/// A login the directory decides. The local account is made on the first success and its role
/// follows the directory's groups at every login; a disabled local account stays disabled.
async fn directory_login(
    app: &crate::App,
    ldap: &crate::ldap::LdapSettings,
    user: Option<User>,
    username: &str,
    password: &str,
    from: Option<std::net::IpAddr>,
    now: i64,
) -> Result<User, LoginError> {
    let store = &app.store;
    let throttle = &app.login_throttle;
    let internal = |e: hikeshi_store::StoreError| LoginError::Internal(e.to_string());
    let attempt = SignInAttempt {
        username,
        method: "ldap",
        from,
    };
    let found = match ldap.authenticate(username, password).await {
        Ok(found) => found,
        Err(refused) => {
            if let crate::ldap::Refused::Unavailable(why) = &refused {
                tracing::error!(error = %why, "the directory could not be asked");
            }
            throttle.failed(from, username, now);
            let reason = match &refused {
                crate::ldap::Refused::Unavailable(_) => "unavailable",
                crate::ldap::Refused::NoRole => "no_role",
                _ => "invalid",
            };
            store
                .record_login_failure(&attempt, reason)
                .await
                .map_err(internal)?;
            tracing::warn!(username = %username.chars().take(64).collect::<String>(), ?from, ?refused, "failed directory login");
            return Err(LoginError::Invalid);
        }
    };
    let actor = hikeshi_store::Actor::user("ldap");
    let user = match user {
        None => store
            .create_user(
                &hikeshi_store::NewUser {
                    username: username.to_string(),
                    display_name: found.display_name.clone(),
                    role: found.role.code().into(),
                    password_hash: crate::ldap::DIRECTORY_MANAGED.into(),
                },
                &actor,
            )
            .await
            .map_err(internal)?,
        Some(u) if u.role != found.role.code() => store
            .set_user_role(username, found.role.code(), &actor)
            .await
            .map_err(internal)?,
        Some(u) => u,
    };
    if user.is_disabled() {
        throttle.failed(from, username, now);
        store
            .record_login_failure(&attempt, "disabled")
            .await
            .map_err(internal)?;
        return Err(LoginError::Invalid);
    }
    throttle.succeeded(from, username);
    store
        .record_login_success(&user.id)
        .await
        .map_err(internal)?;
    tracing::info!(user = %username, dn = %found.dn, role = found.role.code(), "directory login");
    Ok(user)
}

/// A login the OpenID provider decided ([`crate::oidc::OidcLogin::finish`]). The local account
/// is made at the first login and bound to the provider's subject; its role follows the groups
/// claim at every login. A name already held by a local account, a directory account or another
/// subject is refused: the provider cannot take over an account it did not make.
pub async fn provider_login(
    app: &crate::App,
    found: &crate::oidc::ProviderUser,
    from: Option<std::net::IpAddr>,
) -> Result<User, LoginError> {
    let store = &app.store;
    let internal = |e: hikeshi_store::StoreError| LoginError::Internal(e.to_string());
    let attempt = SignInAttempt {
        username: &found.username,
        method: "oidc",
        from,
    };
    let credential = format!("{}{}", crate::oidc::PROVIDER_MANAGED_PREFIX, found.subject);
    let actor = hikeshi_store::Actor::user("oidc");
    let user = match store
        .user_by_name(&found.username)
        .await
        .map_err(internal)?
    {
        None => store
            .create_user(
                &hikeshi_store::NewUser {
                    username: found.username.clone(),
                    display_name: found.display_name.clone(),
                    role: found.role.code().into(),
                    password_hash: credential,
                },
                &actor,
            )
            .await
            .map_err(internal)?,
        Some(u) if u.password_hash != credential => {
            tracing::warn!(user = %found.username, subject = %found.subject, "provider login refused: the name belongs to another account");
            store
                .record_login_failure(&attempt, "taken")
                .await
                .map_err(internal)?;
            return Err(LoginError::Invalid);
        }
        Some(u) if u.role != found.role.code() => store
            .set_user_role(&found.username, found.role.code(), &actor)
            .await
            .map_err(internal)?,
        Some(u) => u,
    };
    if user.is_disabled() {
        store
            .record_login_failure(&attempt, "disabled")
            .await
            .map_err(internal)?;
        return Err(LoginError::Invalid);
    }
    store
        .record_login_success(&user.id)
        .await
        .map_err(internal)?;
    tracing::info!(user = %found.username, subject = %found.subject, role = found.role.code(), "provider login");
    Ok(user)
}

/// How an account signs in, as the audit log names it.
pub fn sign_in_method(user: &User) -> &'static str {
    if user.password_hash == crate::ldap::DIRECTORY_MANAGED {
        "ldap"
    } else if user
        .password_hash
        .starts_with(crate::oidc::PROVIDER_MANAGED_PREFIX)
    {
        "oidc"
    } else if user.totp_secret.is_some() {
        "password+totp"
    } else {
        "password"
    }
}

/// Starts a session and records the login; returns the cookie value (the only copy of the
/// secret).
pub async fn start_session(
    store: &Store,
    user: &User,
    hours: i64,
    from: Option<std::net::IpAddr>,
) -> AppResult<String> {
    let token = random_token();
    let now = hikeshi_store::now_ms();
    store
        .create_session(
            &Session {
                token_hash: token_digest(&token),
                user_id: user.id.clone(),
                csrf_token: random_token(),
                created_at: now,
                expires_at: now + hours * 3_600_000,
            },
            &SignInAttempt {
                username: &user.username,
                method: sign_in_method(user),
                from,
            },
        )
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
        assert!(check_password_policy("hana", "short").is_err());
        assert!(check_password_policy("hana", "long enough pass").is_ok());
        assert!(
            check_password_policy("hana", "1234567890").is_err(),
            "common"
        );
        assert!(
            check_password_policy("hana", "QwertyUiop").is_err(),
            "common, any case"
        );
        assert!(
            check_password_policy("administrator", "Administrator1").is_err(),
            "the name"
        );
        assert!(
            check_password_policy("hana", "zzzzzzzzzzzz").is_err(),
            "repeated"
        );
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
    check_password_policy(username, password).map_err(|m| AppError::invalid("password", m))?;
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
