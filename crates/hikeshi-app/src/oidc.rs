//! Login through the company's OpenID provider (OpenID Connect Core 1.0, authorization code
//! flow with PKCE, RFC 7636). The browser is sent to the provider with a fresh `state`, `nonce`
//! and code challenge that only this server and a cookie in that browser know; the answer is
//! accepted once, within ten minutes, from the same browser. The ID token's signature, issuer,
//! audience, expiry and nonce are checked by `openidconnect`; the groups claim (from the ID
//! token or the userinfo endpoint) maps to a role as `[auth.ldap]` does.
//!
//! A provider user gets a local account named after the username claim whose credential field
//! holds `!oidc ` and the provider's subject: it never opens with a password, and another
//! subject that later claims the same name is refused instead of taking the account over.

use crate::ldap::rank;
use hikeshi_model::Role;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The start of the credential field of an account the provider manages.
pub const PROVIDER_MANAGED_PREFIX: &str = "!oidc ";

/// How long a started login may take at the provider.
const FLOW_LIFETIME: Duration = Duration::from_secs(600);
/// Started logins held at once: a flood of `/login/oidc` cannot grow memory without bound.
const MAX_PENDING: usize = 10_000;
/// Started logins one address may hold, so that one sender cannot fill the table and keep
/// everyone else from signing in.
const MAX_PENDING_PER_ADDRESS: usize = 20;
/// How long discovered provider metadata (endpoints, keys) is reused.
const METADATA_LIFETIME: Duration = Duration::from_secs(3600);

/// `[auth.oidc]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer, exactly as the provider's discovery document names it:
    /// `https://login.example.jp/realms/csirt`.
    pub issuer: String,
    pub client_id: String,
    /// A file (mode 0600) whose first line is the client secret; or `HIKESHI_OIDC_CLIENT_SECRET`.
    /// Without either, hikeshi is a public client and PKCE alone protects the code.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// A PEM file with the CA the provider's certificate is checked against, beside the public
    /// roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Scopes asked for beside `openid` [default: `profile`, `email`, `groups`].
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim that names the local account: `preferred_username`, `email` or `sub`
    /// [default: `preferred_username`].
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// The claim that lists the user's groups (or roles) [default: `groups`].
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Group → role (`admin`, `manager`, `handler`, `viewer`); the highest one counts. A user in
    /// none of them cannot log in.
    pub roles: BTreeMap<String, String>,
    /// The login button's text, e.g. `Microsoft Entra ID` [default: the issuer's host].
    #[serde(default)]
    pub label: Option<String>,
    /// Seconds for each call to the provider [default: 10].
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["profile".into(), "email".into(), "groups".into()]
}

fn default_username_claim() -> String {
    "preferred_username".into()
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_timeout() -> u64 {
    10
}

impl OidcSettings {
    /// Checks the settings once at start-up, so a typo is an error then and not at login.
    pub fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.issuer)
            .map_err(|e| format!("[auth.oidc] issuer `{}`: {e} / URL が不正です", self.issuer))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(format!(
                "[auth.oidc] issuer `{}` must be https:// (http:// only on this host) / issuer は https:// にしてください",
                self.issuer
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err("[auth.oidc] client_id is empty / client_id が空です".into());
        }
        if !matches!(
            self.username_claim.as_str(),
            "preferred_username" | "email" | "sub"
        ) {
            return Err(format!(
                "[auth.oidc] username_claim must be preferred_username, email or sub, got `{}` / username_claim が不正です",
                self.username_claim
            ));
        }
        for (group, role) in &self.roles {
            Role::parse(role).map_err(|_| {
                format!("[auth.oidc] roles: `{group}` maps to `{role}`, which is not a role / `{role}` はロールではありません")
            })?;
        }
        Ok(())
    }

    /// What the login page's button says.
    pub fn button_label(&self) -> String {
        self.label.clone().unwrap_or_else(|| {
            url::Url::parse(&self.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "OpenID Connect".into())
        })
    }
}

/// Who the provider says a user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUser {
    pub subject: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The page the user asked for before the login.
    pub next: String,
}

/// Why a provider login did not let a user in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No started login matches this browser and `state` (expired, replayed, or forged).
    UnknownFlow,
    /// The provider answered with an error (`access_denied` when the user cancelled).
    Provider(String),
    /// The token or its claims were not acceptable (signature, nonce, no usable name).
    Token(String),
    /// The user is in no group that maps to a role.
    NoRole,
    /// The provider could not be asked (down, TLS, timeout): logged, not shown.
    Unavailable(String),
    /// Too many logins are under way (from this address, or at all): try again later.
    Busy,
}

/// Claims beyond the standard ones, kept whole so that any groups claim can be read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type Claims = UserInfoClaims<OtherClaims, CoreGenderClaim>;
type ProviderIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A login sent to the provider and not yet back.
struct Pending {
    state: String,
    verifier: String,
    nonce: String,
    next: String,
    started: Instant,
    from: Option<std::net::IpAddr>,
}

/// A started login: the browser keeps `cookie` and goes to `url`.
#[derive(Debug)]
pub struct Begun {
    pub cookie: String,
    pub url: String,
}

/// The provider login of one server: its settings, an HTTP client, the discovered metadata and
/// the logins under way.
pub struct OidcLogin {
    settings: OidcSettings,
    secret: Option<crate::config::Secret>,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogin")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcLogin {
    /// `redirect_url` is this server's callback, `{public_url}/login/oidc/callback`, as
    /// registered at the provider.
    pub fn new(
        settings: OidcSettings,
        secret: Option<crate::config::Secret>,
        redirect_url: &str,
    ) -> Result<OidcLogin, String> {
        settings.check()?;
        let redirect_url = RedirectUrl::new(redirect_url.to_string())
            .map_err(|e| format!("[auth.oidc] redirect URL `{redirect_url}`: {e}"))?;
        // Following redirects would let a provider point this server at any address (SSRF).
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.timeout_secs.clamp(1, 60)));
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("[auth.oidc] ca_file {}: {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("[auth.oidc] ca_file {}: {e}", ca.display()))?;
            http = http.add_root_certificate(cert);
        }
        let http = http.build().map_err(|e| format!("[auth.oidc] {e}"))?;
        Ok(OidcLogin {
            settings,
            secret,
            redirect_url,
            http,
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's endpoints and keys, discovered at the first login and again hourly.
    async fn client(&self) -> Result<Client, Refused> {
        let mut cached = self.metadata.lock().await;
        let fresh = cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < METADATA_LIFETIME)
            .map(|(_, m)| m.clone());
        let metadata = match fresh {
            Some(m) => m,
            None => {
                let issuer = IssuerUrl::new(self.settings.issuer.clone())
                    .map_err(|e| Refused::Unavailable(format!("issuer: {e}")))?;
                let m = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| Refused::Unavailable(format!("discovery: {}", chain(&e))))?;
                *cached = Some((Instant::now(), m.clone()));
                m
            }
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_string())),
        )
        .set_redirect_uri(self.redirect_url.clone()))
    }

    /// Starts a login: where to send the browser, and the cookie that ties the answer to it.
    pub async fn begin(
        &self,
        next: &str,
        from: Option<std::net::IpAddr>,
    ) -> Result<Begun, Refused> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let cookie = crate::users::random_token();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.started.elapsed() < FLOW_LIFETIME);
        let from_here = pending.values().filter(|p| p.from == from).count();
        if pending.len() >= MAX_PENDING || (from.is_some() && from_here >= MAX_PENDING_PER_ADDRESS)
        {
            return Err(Refused::Busy);
        }
        pending.insert(
            crate::users::token_digest(&cookie),
            Pending {
                state: state.secret().clone(),
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_string(),
                started: Instant::now(),
                from,
            },
        );
        Ok(Begun {
            cookie,
            url: url.to_string(),
        })
    }

    /// Finishes a login from the provider's answer at the callback. The started login is used
    /// up whatever the outcome, so an answer can be tried once.
    pub async fn finish(
        &self,
        cookie: Option<&str>,
        answer: &CallbackAnswer,
    ) -> Result<ProviderUser, Refused> {
        let pending = cookie.and_then(|c| {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&crate::users::token_digest(c))
        });
        let Some(pending) = pending.filter(|p| p.started.elapsed() < FLOW_LIFETIME) else {
            return Err(Refused::UnknownFlow);
        };
        // Compared as digests, so the time taken says nothing about the expected state.
        let state_matches = answer.state.as_deref().is_some_and(|s| {
            crate::users::token_digest(s) == crate::users::token_digest(&pending.state)
        });
        if !state_matches {
            return Err(Refused::UnknownFlow);
        }
        // RFC 9207: an answer that names another issuer is a mix-up attack, not ours.
        if let Some(iss) = &answer.iss {
            if iss.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/') {
                return Err(Refused::Token(format!("the answer is from issuer `{iss}`")));
            }
        }
        if let Some(error) = &answer.error {
            let text: String = format!(
                "{error}: {}",
                answer.error_description.as_deref().unwrap_or("")
            )
            .chars()
            .take(300)
            .collect();
            return Err(Refused::Provider(text));
        }
        let code = answer
            .code
            .clone()
            .ok_or_else(|| Refused::Provider("the answer holds no code".into()))?;
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Refused::Unavailable(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| Refused::Token(format!("code exchange: {}", chain(&e))))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Refused::Token("the provider sent no ID token".into()))?;
        // Read again with the catch-all claims, so that a groups claim in the ID token counts.
        let id_token: ProviderIdToken = id_token
            .to_string()
            .parse()
            .map_err(|e| Refused::Token(format!("ID token: {e}")))?;
        let verifier = client.id_token_verifier();
        let nonce = Nonce::new(pending.nonce);
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| Refused::Token(format!("ID token: {e}")))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| Refused::Token(format!("ID token: {e}")))?;
            let key: &CoreJsonWebKey = id_token
                .signing_key(&verifier)
                .map_err(|e| Refused::Token(format!("ID token: {e}")))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
                .map_err(|e| Refused::Token(format!("at_hash: {e}")))?;
            if actual != *expected {
                return Err(Refused::Token(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        let subject = claims.subject().as_str().to_string();
        let mut other = claims.additional_claims().0.clone();
        let mut username = claimed_name(
            &self.settings.username_claim,
            &subject,
            claims.preferred_username().map(|u| u.as_str()),
            claims.email().map(|e| e.as_str()),
        );
        let mut display = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        // Providers often put profile and group claims only in userinfo (OIDC Core 5.4).
        if client.user_info_url().is_some() {
            let info: Claims = client
                .user_info(
                    tokens.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(|e| Refused::Unavailable(format!("userinfo: {e}")))?
                .request_async(&self.http)
                .await
                .map_err(|e| Refused::Token(format!("userinfo: {}", chain(&e))))?;
            for (k, v) in &info.additional_claims().0 {
                other.entry(k.clone()).or_insert_with(|| v.clone());
            }
            if username.is_none() {
                username = claimed_name(
                    &self.settings.username_claim,
                    &subject,
                    info.preferred_username().map(|u| u.as_str()),
                    info.email().map(|e| e.as_str()),
                );
            }
            if display.is_none() {
                display = info
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string());
            }
        }
        let username = username
            .filter(|u| crate::ldap::plausible_login(u))
            .ok_or_else(|| {
                Refused::Token(format!(
                    "claim `{}` is missing or not a usable login name",
                    self.settings.username_claim
                ))
            })?;
        let role = groups_in(other.get(&self.settings.groups_claim))
            .iter()
            .filter_map(|g| self.settings.roles.get(g))
            .filter_map(|r| Role::parse(r).ok())
            .max_by_key(|r| rank(*r))
            .ok_or(Refused::NoRole)?;
        Ok(ProviderUser {
            subject,
            display_name: display
                .unwrap_or_else(|| username.clone())
                .chars()
                .take(200)
                .collect(),
            username,
            role,
            next: pending.next,
        })
    }
}

/// The query the provider sends the browser back with.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackAnswer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
}

fn claimed_name(
    claim: &str,
    subject: &str,
    preferred: Option<&str>,
    email: Option<&str>,
) -> Option<String> {
    match claim {
        "sub" => Some(subject.to_string()),
        "email" => email.map(str::to_string),
        _ => preferred.map(str::to_string),
    }
}

/// A groups claim is a list of strings, or one string.
fn groups_in(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// An error with its causes, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://login.example.jp/realms/csirt".into(),
            client_id: "hikeshi".into(),
            client_secret_file: None,
            ca_file: None,
            scopes: default_scopes(),
            username_claim: default_username_claim(),
            groups_claim: default_groups_claim(),
            roles: BTreeMap::from([("csirt".to_string(), "handler".to_string())]),
            label: None,
            timeout_secs: 10,
        }
    }

    #[test]
    fn issuers_must_be_https_unless_on_this_host() {
        assert!(settings().check().is_ok());
        let mut s = settings();
        s.issuer = "http://login.example.jp".into();
        assert!(s.check().is_err());
        s.issuer = "http://127.0.0.1:9000".into();
        assert!(s.check().is_ok());
        s.username_claim = "name".into();
        assert!(s.check().is_err());
        let mut s = settings();
        s.roles.insert("x".into(), "root".into());
        assert!(s.check().unwrap_err().contains("root"));
    }

    #[test]
    fn groups_claims_come_as_lists_or_one_string() {
        let list = serde_json::json!(["a", 3, "b"]);
        assert_eq!(groups_in(Some(&list)), vec!["a", "b"]);
        assert_eq!(groups_in(Some(&serde_json::json!("a"))), vec!["a"]);
        assert!(groups_in(None).is_empty());
    }

    #[test]
    fn the_button_names_the_provider() {
        assert_eq!(settings().button_label(), "login.example.jp");
    }
}
