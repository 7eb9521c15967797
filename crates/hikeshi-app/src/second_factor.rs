//! A second factor for local accounts: TOTP (RFC 6238: SHA-1, six digits, 30-second steps, one
//! step of skew), as every authenticator app speaks it, and ten single-use recovery codes.
//! A code is accepted once: the step it matched is recorded, and an older or equal step is
//! refused. `[auth] second_factor_roles` makes it compulsory for those roles: such a user sets
//! it up at the next login before any session starts. Accounts the directory or the OpenID
//! provider manages are left to them (the provider asks for its own factors).
//!
//! Between the password and the code, a login waits here in memory under a random token for
//! five minutes and five tries; a restart forgets it and the user types the password again.

use crate::error::{AppError, AppResult};
use crate::users::{random_token, token_digest};
use crate::App;
use hikeshi_store::User;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use totp_rs::{Secret, Totp};

const PENDING_LIFETIME: Duration = Duration::from_secs(300);
const PENDING_TRIES: u32 = 5;
const MAX_PENDING: usize = 10_000;
const RECOVERY_CODES: usize = 10;

/// What a login needs after the password.
#[derive(Debug)]
pub enum NextStep {
    /// Nothing: start the session.
    Done,
    /// A code from the app (or a recovery code); `pending` goes back with it.
    Code { pending: String },
    /// The role requires a second factor the user has not set up: show the secret, take a code.
    Enrol {
        pending: String,
        secret: String,
        uri: String,
    },
}

/// A login (or a set-up from the settings page) waiting for its code.
struct Pending {
    user_id: String,
    next: String,
    /// The secret being set up, before it is confirmed by a first code.
    enrolling: Option<String>,
    started: Instant,
    tries: u32,
}

/// The logins waiting for their second factor.
#[derive(Default)]
pub struct PendingSecondFactors {
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for PendingSecondFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingSecondFactors")
    }
}

impl PendingSecondFactors {
    fn hold(&self, user: &User, next: &str, enrolling: Option<String>) -> AppResult<String> {
        let token = random_token();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.started.elapsed() < PENDING_LIFETIME);
        if pending.len() >= MAX_PENDING {
            return Err(AppError::busy(
                "too many logins are waiting for a code; try again in a few minutes",
                60,
            ));
        }
        pending.insert(
            token_digest(&token),
            Pending {
                user_id: user.id.clone(),
                next: next.to_string(),
                enrolling,
                started: Instant::now(),
                tries: 0,
            },
        );
        Ok(token)
    }

    /// Counts a try and returns the waiting login, or none when it is unknown, expired or out
    /// of tries (it is then forgotten).
    fn attempt(&self, token: &str) -> Option<(String, String, Option<String>)> {
        let key = token_digest(token);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let p = pending.get_mut(&key)?;
        p.tries += 1;
        if p.started.elapsed() >= PENDING_LIFETIME || p.tries > PENDING_TRIES {
            pending.remove(&key);
            return None;
        }
        Some((p.user_id.clone(), p.next.clone(), p.enrolling.clone()))
    }

    fn finish(&self, token: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token_digest(token));
    }
}

/// Whether the account's own password is what it logs in with (not a directory or provider).
pub fn is_local(user: &User) -> bool {
    !user.password_hash.starts_with('!')
}

fn required(app: &App, user: &User) -> bool {
    is_local(user)
        && app
            .config
            .second_factor_roles
            .iter()
            .any(|r| r == &user.role)
}

fn totp(secret_base32: &str, username: &str) -> AppResult<Totp> {
    let bytes = Secret::try_from_base32(secret_base32)
        .map_err(|e| AppError::internal(format!("second factor secret: {e:?}")))?;
    totp_rs::Builder::new()
        .with_secret(bytes)
        .with_account_name(username.replace(':', "_"))
        .with_issuer(Some("hikeshi"))
        .build()
        .map_err(|e| AppError::internal(format!("second factor: {e:?}")))
}

fn now_s() -> u64 {
    (hikeshi_store::now_ms().max(0) / 1000) as u64
}

/// A fresh secret (160 random bits) and its `otpauth://` URI for the authenticator app.
fn new_secret(username: &str) -> AppResult<(String, String)> {
    let mut bytes = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let secret = Secret::from(bytes).to_base32();
    let uri = totp(&secret, username)?
        .to_url()
        .map_err(|e| AppError::internal(format!("second factor URI: {e:?}")))?;
    Ok((secret, uri))
}

/// Recovery codes are compared without case, spaces or dashes.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Decides what a login needs once the password was right.
pub fn after_password(app: &App, user: &User, next: &str) -> AppResult<NextStep> {
    if user.totp_secret.is_some() && is_local(user) {
        let pending = app.second_factors.hold(user, next, None)?;
        return Ok(NextStep::Code { pending });
    }
    if required(app, user) {
        let (secret, uri) = new_secret(&user.username)?;
        let pending = app.second_factors.hold(user, next, Some(secret.clone()))?;
        return Ok(NextStep::Enrol {
            pending,
            secret,
            uri,
        });
    }
    Ok(NextStep::Done)
}

/// A finished second step: who logged in, where to, and the recovery codes when the factor was
/// just set up (shown once).
#[derive(Debug)]
pub struct Passed {
    pub user: User,
    pub next: String,
    pub recovery_codes: Vec<String>,
}

/// Why a code was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefused {
    /// Wrong, already used, or for another time.
    Wrong,
    /// The waiting login is gone (expired, out of tries): log in again.
    Expired,
}

/// Checks the code of a waiting login: a TOTP code, or a recovery code. For a set-up, the code
/// must come from the new secret, which is then stored with fresh recovery codes.
pub async fn finish_login(
    app: &App,
    pending: &str,
    code: &str,
    from: Option<std::net::IpAddr>,
) -> Result<Passed, (CodeRefused, Option<String>)> {
    let internal = |e: String| (CodeRefused::Wrong, Some(e));
    let (user_id, next, enrolling) = app
        .second_factors
        .attempt(pending)
        .ok_or((CodeRefused::Expired, None))?;
    let user = app
        .store
        .user_by_id(&user_id)
        .await
        .map_err(|e| internal(e.to_string()))?
        .filter(|u| !u.is_disabled())
        .ok_or((CodeRefused::Expired, None))?;
    let recovery_codes = match enrolling {
        Some(secret) => {
            let step = totp(&secret, &user.username)
                .map_err(|e| internal(e.message))?
                .check(code.trim(), now_s())
                .ok_or((CodeRefused::Wrong, None))?;
            let codes = store_second_factor(app, &user, &secret, "login").await?;
            let _ = app.store.claim_totp_step(&user.id, step as i64).await;
            codes
        }
        None => {
            if !accept_code(app, &user, code).await.map_err(internal)? {
                let attempt = hikeshi_store::SignInAttempt {
                    username: &user.username,
                    method: "totp",
                    from,
                };
                app.store
                    .record_login_failure(&attempt, "wrong_code")
                    .await
                    .map_err(|e| internal(e.to_string()))?;
                return Err((CodeRefused::Wrong, None));
            }
            Vec::new()
        }
    };
    app.second_factors.finish(pending);
    Ok(Passed {
        user,
        next,
        recovery_codes,
    })
}

/// A code for a user with a second factor: the current TOTP code, once, or an unused recovery
/// code.
async fn accept_code(app: &App, user: &User, code: &str) -> Result<bool, String> {
    let Some(secret) = &user.totp_secret else {
        return Ok(false);
    };
    let code = code.trim();
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        let step = totp(secret, &user.username)
            .map_err(|e| e.message)?
            .check(code, now_s());
        return match step {
            Some(step) => app
                .store
                .claim_totp_step(&user.id, step as i64)
                .await
                .map_err(|e| e.to_string()),
            None => Ok(false),
        };
    }
    let recovery = normalise_recovery(code);
    if recovery.is_empty() {
        return Ok(false);
    }
    app.store
        .use_recovery_code(&user.id, &token_digest(&recovery))
        .await
        .map_err(|e| e.to_string())
}

async fn store_second_factor(
    app: &App,
    user: &User,
    secret: &str,
    by: &str,
) -> Result<Vec<String>, (CodeRefused, Option<String>)> {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = random_token();
            format!("{}-{}", &raw[..5], &raw[5..10])
        })
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| token_digest(&normalise_recovery(c)))
        .collect();
    app.store
        .set_second_factor(
            &user.username,
            Some(secret),
            &hashes,
            &hikeshi_store::Actor::user(by),
        )
        .await
        .map_err(|e| (CodeRefused::Wrong, Some(e.to_string())))?;
    Ok(codes)
}

/// Starts a set-up from the settings page (signed-in local users).
pub fn begin_setup(app: &App, user: &User) -> AppResult<NextStep> {
    if !is_local(user) {
        return Err(AppError::invalid(
            "second_factor",
            "this account logs in through the directory or the provider, which asks for its own second factor",
        ));
    }
    let (secret, uri) = new_secret(&user.username)?;
    let pending = app
        .second_factors
        .hold(user, "/settings", Some(secret.clone()))?;
    Ok(NextStep::Enrol {
        pending,
        secret,
        uri,
    })
}

/// Turns the caller's own second factor off; a current code (or recovery code) is needed. A
/// role that requires one cannot turn it off.
pub async fn turn_off(app: &App, who: &crate::Who, user: &User, code: &str) -> AppResult<()> {
    if required(app, user) {
        return Err(AppError::invalid(
            "second_factor",
            "your role requires a second factor",
        ));
    }
    // Read again: the session's copy may predate the last accepted step.
    let fresh = app
        .store
        .user_by_id(&user.id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {}", user.username)))?;
    if !accept_code(app, &fresh, code)
        .await
        .map_err(AppError::internal)?
    {
        return Err(AppError::invalid("code", "the code is wrong or was used"));
    }
    app.store
        .set_second_factor(&fresh.username, None, &[], &who.actor())
        .await?;
    Ok(())
}

/// Unused recovery codes of a user.
pub async fn recovery_codes_left(app: &App, user: &User) -> AppResult<i64> {
    Ok(app.store.recovery_codes_left(&user.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (eight digits); six: 287082.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let t = totp(&secret, "x").expect("totp");
        assert_eq!(t.generate(59).to_string(), "287082");
        assert!(t.check("287082", 59).is_some());
        assert!(t.check("287083", 59).is_none());
    }

    #[test]
    fn recovery_codes_ignore_case_and_dashes() {
        assert_eq!(normalise_recovery(" AB12c-34d5e "), "ab12c34d5e");
    }
}
