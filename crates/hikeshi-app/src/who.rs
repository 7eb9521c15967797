//! Who is acting: a person with a role, or one of hikeshi's own automations acting under a
//! name of its own. Every use case takes a `Who`, so permission checks and the audit log are
//! one code path whether a request, a CLI verb or a background rule asks.

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use hikeshi_model::{Role, TokenScope};
use hikeshi_store::Actor;

#[derive(Debug, Clone)]
pub struct Who {
    /// The user name written into the audit log (`hikeshi-grouping` for automation).
    pub name: String,
    pub role: Role,
    /// The user's chosen language, for texts a use case writes (template tasks).
    pub lang: Option<Lang>,
    /// Automation rather than a person.
    pub system: bool,
    /// An ingest-only token can send events and nothing else (the web crate refuses it
    /// everywhere but the events endpoint).
    pub scope: TokenScope,
}

impl Who {
    pub fn user(name: &str, role: Role, lang: Option<Lang>) -> Who {
        Who {
            name: name.to_string(),
            role,
            lang,
            system: false,
            scope: TokenScope::Full,
        }
    }

    /// The same person acting through a token of `scope`.
    pub fn with_scope(mut self, scope: TokenScope) -> Who {
        self.scope = scope;
        self
    }

    /// One of hikeshi's automations (`grouping`, `vulns`, `intake`). It may work cases like a
    /// handler, never command (close, merge) or administer.
    pub fn system(part: &str) -> Who {
        Who {
            name: format!("hikeshi-{part}"),
            role: Role::Handler,
            lang: None,
            system: true,
            scope: TokenScope::Full,
        }
    }

    /// The command line on the server itself: whoever can run it owns the installation.
    pub fn cli() -> Who {
        Who {
            name: "cli".into(),
            role: Role::Admin,
            lang: None,
            system: true,
            scope: TokenScope::Full,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(&self.name)
    }

    /// `Ok` when `allowed`, else "your role may not {what}".
    pub fn require(&self, allowed: bool, what: &str) -> AppResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(AppError::forbidden(what))
        }
    }

    pub fn require_edit(&self, what: &str) -> AppResult<()> {
        self.require(self.role.can_edit_cases(), what)
    }

    pub fn require_command(&self, what: &str) -> AppResult<()> {
        self.require(self.role.can_command(), what)
    }

    /// Sending events creates alerts: people who work cases, and ingest-only tokens.
    pub fn require_ingest(&self) -> AppResult<()> {
        self.require(
            self.role.can_edit_cases() || self.scope == TokenScope::Ingest,
            "send events (use an ingest token: hikeshi token create --scope ingest)",
        )
    }

    pub fn require_admin(&self, what: &str) -> AppResult<()> {
        self.require(self.role.is_admin(), what)
    }

    /// The language for texts this actor's action produces: theirs, else `fallback`.
    pub fn lang_or(&self, fallback: Lang) -> Lang {
        self.lang.unwrap_or(fallback)
    }
}
