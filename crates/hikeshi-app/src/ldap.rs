//! Login against the company directory (LDAP simple bind, RFC 4513): the user binds with their
//! own name and password, hikeshi reads which groups they are in with that same bind, and the
//! groups map to a role. No service account and no password is kept here. A directory user
//! gets a local account on first login (for sessions, audit and assignment) that has no
//! password of its own; local accounts with a password stay for break-glass.

use hikeshi_model::Role;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The password hash of an account the directory manages: never a valid Argon2 string, so no
/// local password can open it.
pub const DIRECTORY_MANAGED: &str = "!ldap";

/// `[auth.ldap]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade `ldap://` with StartTLS before the password is sent.
    #[serde(default)]
    pub starttls: bool,
    /// Allow a password over `ldap://` without StartTLS (a directory on this host only).
    #[serde(default)]
    pub allow_plaintext: bool,
    /// A PEM file with the CA the directory's certificate is checked against instead of the
    /// system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The bind DN, `{user}` standing for the escaped login name:
    /// `uid={user},ou=people,dc=example,dc=jp`.
    pub user_dn: String,
    /// Where the groups are, e.g. `ou=groups,dc=example,dc=jp`.
    pub group_base: String,
    /// Which groups hold the user, `{dn}` standing for the user's DN [default: `(member={dn})`].
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// Group DN → role (`admin`, `manager`, `handler`, `viewer`); the highest one counts. A
    /// user in none of them cannot log in.
    pub roles: BTreeMap<String, String>,
    /// Seconds for connecting and for each operation [default: 5].
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_group_filter() -> String {
    "(member={dn})".into()
}

fn default_timeout() -> u64 {
    5
}

/// Who the directory says a user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    pub display_name: String,
    pub role: Role,
}

/// Why the directory did not let a user in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Wrong name or password, or a name hikeshi does not send to the directory.
    Credentials,
    /// The password was right but no group maps to a role.
    NoRole,
    /// The directory could not be asked (down, TLS, timeout): logged, not shown.
    Unavailable(String),
}

impl LdapSettings {
    /// Checks the settings once at start-up, so a typo is an error then and not at login.
    pub fn check(&self) -> Result<(), String> {
        let secure = self.url.starts_with("ldaps://") || self.starttls;
        if !self.url.starts_with("ldap://") && !self.url.starts_with("ldaps://") {
            return Err(format!(
                "[auth.ldap] url must be ldap:// or ldaps://, got `{}`",
                self.url
            ));
        }
        if !secure && !self.allow_plaintext {
            return Err("[auth.ldap] passwords would cross in the clear: use ldaps://, starttls = true, or allow_plaintext = true for a directory on this host / パスワードが平文で流れます。ldaps:// か starttls = true を使ってください(このホスト上のディレクトリなら allow_plaintext = true)".into());
        }
        if !self.user_dn.contains("{user}") {
            return Err(
                "[auth.ldap] user_dn must contain {user} / user_dn には {user} が必要です".into(),
            );
        }
        for (group, role) in &self.roles {
            Role::parse(role).map_err(|_| {
                format!("[auth.ldap] roles: `{group}` maps to `{role}`, which is not a role / `{role}` はロールではありません")
            })?;
        }
        Ok(())
    }

    /// Binds as the user and reads their groups.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, Refused> {
        // An empty password is an unauthenticated bind, which LDAP servers answer with success.
        if password.is_empty() || !plausible_login(username) {
            return Err(Refused::Credentials);
        }
        let timeout = Duration::from_secs(self.timeout_secs.clamp(1, 60));
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(timeout)
            .set_starttls(self.starttls && self.url.starts_with("ldap://"));
        if let Some(ca) = &self.ca_file {
            settings = settings.set_config(
                crate::tls::client_config(ca)
                    .map_err(|e| Refused::Unavailable(format!("[auth.ldap] ca_file: {e}")))?,
            );
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| Refused::Unavailable(format!("connect {}: {e}", self.url)))?;
        ldap3::drive!(conn);
        ldap.with_timeout(timeout);
        let dn = self.user_dn.replace("{user}", &escape_dn_value(username));
        let bound = ldap
            .simple_bind(&dn, password)
            .await
            .map_err(|e| Refused::Unavailable(format!("bind: {e}")))?;
        // 49: invalidCredentials; anything else is the directory's trouble, not the user's.
        match bound.rc {
            0 => {}
            49 => return Err(Refused::Credentials),
            rc => {
                return Err(Refused::Unavailable(format!(
                    "bind answered {rc}: {}",
                    bound.text
                )))
            }
        }
        let filter = self.group_filter.replace("{dn}", &escape_filter_value(&dn));
        ldap.with_timeout(timeout);
        let (groups, _) = ldap
            .search(&self.group_base, Scope::Subtree, &filter, vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .map_err(|e| Refused::Unavailable(format!("group search: {e}")))?;
        ldap.with_timeout(timeout);
        let (me, _) = ldap
            .search(
                &dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["cn", "displayName"],
            )
            .await
            .and_then(|r| r.success())
            .map_err(|e| Refused::Unavailable(format!("user entry: {e}")))?;
        let _ = ldap.unbind().await;
        let role = groups
            .into_iter()
            .map(|g| SearchEntry::construct(g).dn)
            .filter_map(|group| self.role_of(&group))
            .max_by_key(|r| rank(*r))
            .ok_or(Refused::NoRole)?;
        let display_name = me
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| {
                e.attrs
                    .get("displayName")
                    .or(e.attrs.get("cn"))
                    .and_then(|v| v.first().cloned())
            })
            .unwrap_or_else(|| username.to_string());
        Ok(DirectoryUser {
            dn,
            display_name: display_name.chars().take(200).collect(),
            role,
        })
    }

    fn role_of(&self, group_dn: &str) -> Option<Role> {
        let wanted = normalise_dn(group_dn);
        self.roles
            .iter()
            .find(|(g, _)| normalise_dn(g) == wanted)
            .and_then(|(_, r)| Role::parse(r).ok())
    }
}

/// Login names sent to the directory: letters, digits and `._-@`, at most 64 characters.
pub(crate) fn plausible_login(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub(crate) fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Handler => 1,
        Role::Manager => 2,
        Role::Admin => 3,
    }
}

/// Compares DNs as directories do for these attributes: case and spaces after commas do not
/// matter.
fn normalise_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4514 2.4: the characters a DN attribute value must escape.
fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, ' ' | '#'))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// RFC 4515 3: `*`, `(`, `)`, `\` and NUL as hex escapes inside a filter value.
fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_change_the_query_never_reach_the_directory() {
        for name in ["*", "a)(uid=*", "admin,ou=x", "", "名前", &"a".repeat(65)] {
            assert!(!plausible_login(name), "{name}");
        }
        assert!(plausible_login("sato.hanako@example.jp"));
        assert_eq!(escape_dn_value("a,b=c"), "a\\,b\\=c");
        assert_eq!(escape_filter_value("uid=a*(b)\\"), "uid=a\\2a\\28b\\29\\5c");
    }

    #[test]
    fn group_dns_match_without_regard_to_case_or_spaces() {
        assert_eq!(
            normalise_dn("CN=CSIRT, OU=Groups,dc=example,dc=jp"),
            "cn=csirt,ou=groups,dc=example,dc=jp"
        );
    }
}
