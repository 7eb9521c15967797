//! `hikeshi user …` and `hikeshi token …`.

use crate::config::{open_store, Database};
use anyhow::{bail, Context};
use clap::Subcommand;
use hikeshi_app::users::{check_password_policy, hash_password, new_api_token, token_digest};
use hikeshi_store::{Actor, NewUser};
use std::io::{BufRead, IsTerminal};

/// Reads a password: prompted twice on a terminal, else the first line of standard input.
fn read_password(username: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password / パスワード: ")?;
        let second = rpassword::prompt_password("Again / 再入力: ")?;
        if first != second {
            bail!("the two passwords differ / パスワードが一致しません");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    check_password_policy(username, &password).map_err(|m| anyhow::anyhow!(m))?;
    Ok(password)
}

pub async fn user_command(cmd: UserCommand, db: &Database) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let actor = Actor::cli();
    match cmd {
        UserCommand::Add {
            name,
            role,
            display_name,
        } => {
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
            if !valid_name {
                bail!("user names are 1-64 of A-Z a-z 0-9 . _ - @");
            }
            let password = read_password(&name)?;
            let hash = hash_password(&password).map_err(|m| anyhow::anyhow!(m))?;
            let user = store
                .create_user(
                    &NewUser {
                        display_name: display_name.unwrap_or_else(|| name.clone()),
                        username: name,
                        role,
                        password_hash: hash,
                    },
                    &actor,
                )
                .await?;
            println!("created user {} ({})", user.username, user.role);
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<8} {:<9} {:<6} display name",
                "user", "role", "state", "2-step"
            );
            for u in store.list_users().await? {
                let state = if u.is_disabled() {
                    "disabled"
                } else {
                    "active"
                };
                let second = if u.totp_secret.is_some() { "on" } else { "-" };
                println!(
                    "{:<24} {:<8} {:<9} {:<6} {}",
                    u.username, u.role, state, second, u.display_name
                );
            }
        }
        UserCommand::Disable { name } => {
            store.set_user_disabled(&name, true, &actor).await?;
            println!("disabled {name}; their sessions have ended");
        }
        UserCommand::Enable { name } => {
            store.set_user_disabled(&name, false, &actor).await?;
            println!("enabled {name}");
        }
        UserCommand::ResetPassword { name } => {
            let password = read_password(&name)?;
            let hash = hash_password(&password).map_err(|m| anyhow::anyhow!(m))?;
            store.set_user_password(&name, &hash, &actor).await?;
            println!("password of {name} changed; their sessions have ended");
        }
        UserCommand::ResetSecondFactor { name } => {
            store.set_second_factor(&name, None, &[], &actor).await?;
            println!("two-step login of {name} removed; their sessions have ended / 2段階ログインを解除しました");
        }
    }
    store.close().await;
    Ok(())
}

pub async fn token_command(cmd: TokenCommand, db: &Database) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let actor = Actor::cli();
    match cmd {
        TokenCommand::Create { user, name, scope } => {
            let scope = hikeshi_model::TokenScope::parse(&scope)?;
            let owner = store
                .user_by_name(&user)
                .await?
                .with_context(|| format!("no user `{user}`"))?;
            let token = new_api_token();
            let record = store
                .create_api_token(&owner, &name, &token_digest(&token), scope, &actor)
                .await?;
            eprintln!(
                "token {} for {} (shown once; store it now):",
                record.id, owner.username
            );
            println!("{token}");
        }
        TokenCommand::Revoke { id } => {
            store.revoke_api_token(&id, &actor).await?;
            println!("revoked {id}");
        }
        TokenCommand::List { user } => {
            let owner = match user {
                Some(u) => Some(
                    store
                        .user_by_name(&u)
                        .await?
                        .with_context(|| format!("no user `{u}`"))?,
                ),
                None => None,
            };
            let users = store.list_users().await?;
            for t in store
                .list_api_tokens(owner.as_ref().map(|u| u.id.as_str()))
                .await?
            {
                let who = users
                    .iter()
                    .find(|u| u.id == t.user_id)
                    .map(|u| u.username.as_str())
                    .unwrap_or("?");
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{} {:<16} {:<8} {}", t.id, who, state, t.name);
            }
        }
    }
    store.close().await;
    Ok(())
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "manager", "handler", "viewer"])]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (read like `user add`).
    ResetPassword { name: String },
    /// Remove a user's two-step login (a lost phone); they set it up again at the next login
    /// if their role requires it.
    ResetSecondFactor { name: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        #[arg(long)]
        user: String,
        /// What the token is for, e.g. "SOAR".
        #[arg(long, default_value = "api")]
        name: String,
        /// `full` (what the user may do) or `ingest` (send events to /api/v1/events and
        /// nothing else: for log shippers and agents).
        #[arg(long, default_value = "full", value_parser = ["full", "ingest"])]
        scope: String,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
    /// List tokens (ids and names, never the secrets).
    List {
        #[arg(long)]
        user: Option<String>,
    },
}
