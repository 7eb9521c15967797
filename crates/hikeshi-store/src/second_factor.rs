//! The second factor of local accounts: the confirmed TOTP secret, the last time step a code
//! was accepted for, and single-use recovery codes (stored as digests).

use crate::audit::record;
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};

impl Store {
    /// Turns the second factor on with `secret` and these recovery code digests, or off with
    /// `None` (which also ends the user's sessions). Audited as `user.second_factor`.
    pub async fn set_second_factor(
        &self,
        username: &str,
        secret: Option<&str>,
        recovery_hashes: &[String],
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let (user_id,) = id.ok_or_else(|| StoreError::NotFound(format!("user `{username}`")))?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(secret)
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)")
                .bind(new_id())
                .bind(&user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        if secret.is_none() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
        }
        let after = serde_json::json!({ "second_factor": secret.is_some() });
        record(
            &mut tx,
            actor,
            "user.second_factor",
            "user",
            username,
            crate::audit::NONE,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that a code for time step `step` was accepted; false when that step or a later
    /// one already was (a code is good once, even for two logins racing).
    pub async fn claim_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up a recovery code; false when it is unknown or was used.
    pub async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Recovery codes not used yet.
    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }
}
