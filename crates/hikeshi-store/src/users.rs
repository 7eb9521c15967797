//! Users, browser sessions and API tokens. Secrets never reach this layer: it stores the
//! password hash and SHA-256 digests of session and API tokens.

use crate::audit::{record, NONE};
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub lang: Option<String>,
    pub time_zone: Option<String>,
    pub disabled: i64,
    #[serde(skip)]
    pub failed_logins: i64,
    #[serde(skip)]
    pub locked_until: Option<i64>,
    pub created_at: i64,
    /// The confirmed TOTP secret (base32); none: no second factor.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    #[serde(skip)]
    pub totp_last_step: i64,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled != 0
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub token_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Who tried to sign in, how and from where: what the audit log keeps of a login.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// As typed for a refused login (at most 64 characters), the account's name otherwise.
    pub username: &'a str,
    /// `password`, `password+totp`, `ldap`, `oidc`, `totp`.
    pub method: &'a str,
    pub from: Option<std::net::IpAddr>,
}

#[derive(Serialize)]
struct SignInDetail<'a> {
    method: &'a str,
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> SignInAttempt<'a> {
    fn detail(&self, reason: Option<&'a str>) -> SignInDetail<'a> {
        SignInDetail {
            method: self.method,
            from: self.from.map(|ip| ip.to_string()),
            reason,
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// `full` or `ingest` (hikeshi_model::TokenScope).
    pub scope: String,
}

const USER_COLUMNS: &str = "id, username, display_name, role, password_hash, lang, time_zone, disabled, failed_logins, locked_until, created_at, totp_secret, totp_last_step";

impl Store {
    pub async fn create_user(&self, new: &NewUser, actor: &Actor) -> Result<User> {
        let user = User {
            id: new_id(),
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: new.role.clone(),
            password_hash: new.password_hash.clone(),
            lang: None,
            time_zone: None,
            disabled: 0,
            failed_logins: 0,
            locked_until: None,
            created_at: now_ms(),
            totp_secret: None,
            totp_last_step: 0,
        };
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, disabled, failed_logins, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, 0, $6)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.role)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            let err = StoreError::from(e);
            return Err(if err.is_unique_violation() {
                StoreError::Conflict(format!("user `{}` already exists", new.username))
            } else {
                err
            });
        }
        record(
            &mut tx,
            actor,
            "user.create",
            "user",
            &user.username,
            NONE,
            Some(&user),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.reader)
            .await?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn count_users(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    async fn update_user<F>(
        &self,
        username: &str,
        actor: &Actor,
        action: &str,
        change: F,
    ) -> Result<User>
    where
        F: FnOnce(&mut User),
    {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let before: User = sqlx::query_as(AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user `{username}`")))?;
        let mut after = before.clone();
        change(&mut after);
        sqlx::query(
            "UPDATE users SET display_name = $1, role = $2, password_hash = $3, lang = $4, time_zone = $5,
             disabled = $6, failed_logins = $7, locked_until = $8 WHERE id = $9",
        )
        .bind(&after.display_name)
        .bind(&after.role)
        .bind(&after.password_hash)
        .bind(&after.lang)
        .bind(&after.time_zone)
        .bind(after.disabled)
        .bind(after.failed_logins)
        .bind(after.locked_until)
        .bind(&after.id)
        .execute(&mut *tx)
        .await?;
        if action == "user.disable" || action == "user.password" {
            // A disabled user or a changed password ends every open session.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&after.id)
                .execute(&mut *tx)
                .await?;
        }
        record(
            &mut tx,
            actor,
            action,
            "user",
            username,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &Actor,
    ) -> Result<User> {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.update_user(username, actor, action, |u| {
            u.disabled = i64::from(disabled)
        })
        .await
    }

    pub async fn set_user_password(
        &self,
        username: &str,
        hash: &str,
        actor: &Actor,
    ) -> Result<User> {
        self.update_user(username, actor, "user.password", |u| {
            u.password_hash = hash.to_string();
            u.failed_logins = 0;
            u.locked_until = None;
        })
        .await
    }

    pub async fn set_user_role(&self, username: &str, role: &str, actor: &Actor) -> Result<User> {
        self.update_user(username, actor, "user.role", |u| u.role = role.to_string())
            .await
    }

    pub async fn set_user_preferences(
        &self,
        username: &str,
        lang: Option<&str>,
        time_zone: Option<&str>,
        actor: &Actor,
    ) -> Result<User> {
        self.update_user(username, actor, "user.preferences", |u| {
            u.lang = lang.map(str::to_string);
            u.time_zone = time_zone.map(str::to_string);
        })
        .await
    }

    /// Counts a refused login against the name (when it is an account) and writes it to the
    /// audit log, in one transaction. Names that are no account are recorded as typed: the
    /// record is how an admin sees guessing.
    pub async fn record_login_failure(
        &self,
        attempt: &SignInAttempt<'_>,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE username = $1")
            .bind(attempt.username)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            &Actor::user(attempt.username),
            "session.login_failed",
            "user",
            attempt.username,
            NONE,
            Some(&attempt.detail(Some(reason))),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn record_login_success(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Starts a session and records the login in the audit log, in one transaction.
    pub async fn create_session(
        &self,
        session: &Session,
        attempt: &SignInAttempt<'_>,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_hash)
        .bind(&session.user_id)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            &Actor::user(attempt.username),
            "session.login",
            "user",
            attempt.username,
            NONE,
            Some(&attempt.detail(None)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live session and its user; expired sessions are not returned.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(Session, User)>> {
        let session: Option<Session> = sqlx::query_as(
            "SELECT token_hash, user_id, csrf_token, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.reader)
        .await?;
        let Some(session) = session else {
            return Ok(None);
        };
        Ok(self
            .user_by_id(&session.user_id)
            .await?
            .map(|u| (session, u)))
    }

    /// Ends a session (a logout) and records it; expired sessions are cleared on the way.
    pub async fn delete_session(&self, token_hash: &str, username: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        if ended > 0 {
            record(
                &mut tx,
                &Actor::user(username),
                "session.logout",
                "user",
                username,
                NONE,
                NONE,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        token_hash: &str,
        scope: hikeshi_model::TokenScope,
        actor: &Actor,
    ) -> Result<ApiToken> {
        let token = ApiToken {
            id: new_id(),
            user_id: user.id.clone(),
            name: name.to_string(),
            token_hash: token_hash.to_string(),
            created_at: now_ms(),
            last_used_at: None,
            revoked_at: None,
            scope: scope.code().into(),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, scope) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&token.id)
            .bind(&token.user_id)
            .bind(&token.name)
            .bind(&token.token_hash)
            .bind(token.created_at)
            .bind(&token.scope)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "token.create",
            "api_token",
            &token.id,
            NONE,
            Some(&token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn list_api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiToken>> {
        let base = "SELECT id, user_id, name, token_hash, created_at, last_used_at, revoked_at, scope FROM api_tokens";
        let rows = match user_id {
            Some(uid) => {
                let sql = format!("{base} WHERE user_id = $1 ORDER BY created_at DESC");
                sqlx::query_as(AssertSqlSafe(sql))
                    .bind(uid)
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                let sql = format!("{base} ORDER BY created_at DESC");
                sqlx::query_as(AssertSqlSafe(sql))
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        Ok(rows)
    }

    pub async fn revoke_api_token(&self, token_id: &str, actor: &Actor) -> Result<ApiToken> {
        let mut tx = self.writer.begin().await?;
        let before: ApiToken = sqlx::query_as(
            "SELECT id, user_id, name, token_hash, created_at, last_used_at, revoked_at, scope FROM api_tokens WHERE id = $1",
        )
        .bind(token_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token `{token_id}`")))?;
        let mut after = before.clone();
        after.revoked_at = Some(after.revoked_at.unwrap_or_else(now_ms));
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(after.revoked_at)
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "token.revoke",
            "api_token",
            token_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The user behind a live (unrevoked) API token.
    /// The user a live token belongs to, with the token's scope.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        let row: Option<(String, String, Option<i64>, String)> = sqlx::query_as(
            "SELECT id, user_id, last_used_at, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        let Some((token_id, user_id, last_used, scope)) = row else {
            return Ok(None);
        };
        // Last use is kept to the minute so that automation does not queue a write per request.
        let now = now_ms();
        if last_used.is_none_or(|t| now - t > 60_000) {
            // Best effort: a failed bookkeeping write must not fail the request.
            let _ = sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&token_id)
                .execute(&self.writer)
                .await;
        }
        Ok(self.user_by_id(&user_id).await?.map(|u| (u, scope)))
    }
}
