//! Configuration from a TOML file, `HIKESHI_*` environment variables and flags. Flags win
//! over the environment (clap reads both), which wins over the file, which wins over defaults.

use anyhow::Context;
use hikeshi_app::config::{AppConfig, MailSettings, ReportFormSettings, SlaHours, VulnsSettings};
use hikeshi_server::WebConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub max_upload_bytes: Option<u64>,
    pub secure_cookies: Option<bool>,
    /// Large-body requests (events, imports) handled at once; more get 503 and Retry-After.
    pub max_large_requests: Option<usize>,
    /// HTTPS: PEM certificate chain and private key (both or neither).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub session_hours: Option<i64>,
    pub log_format: Option<String>,
    pub sla_hours: Option<SlaHours>,
    pub public_url: Option<String>,
    pub report_form: Option<ReportFormSettings>,
    pub smtp_listen: Option<SocketAddr>,
    pub mail: Option<MailSettings>,
    /// Sigma rule folders for live events.
    pub rules: Option<Vec<PathBuf>>,
    /// Live-monitoring sources, grouping and queue sizes.
    pub live: Option<crate::live_cmd::LiveFileConfig>,
    /// Vulnerability handling.
    pub vulns: Option<VulnsSettings>,
    /// Priority weights (see README, "Risk score").
    pub risk: Option<hikeshi_app::vulns::risk::RiskWeights>,
    /// Management reporting: time zone, thresholds, PDF fonts.
    pub reporting: Option<hikeshi_app::reporting::ReportingSettings>,
    /// Retries of background jobs.
    pub jobs: Option<hikeshi_app::jobs::JobSettings>,
    /// How long alerts and their kept events are held.
    pub retention: Option<hikeshi_app::retention::RetentionSettings>,
    /// What identifies the organisation in what it shares.
    pub sharing: Option<hikeshi_app::intel::SharingSettings>,
    /// Automated response: policies, never-block ranges, connectors.
    pub response: Option<hikeshi_app::response::ResponseSettings>,
    /// The PSIRT's signing key.
    pub psirt: Option<hikeshi_app::psirt::signing::PsirtSettings>,
    /// `[auth.ldap]`: logins checked against a directory.
    pub auth: Option<AuthFileConfig>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFileConfig {
    /// Roles whose local accounts must use a second factor (TOTP).
    #[serde(default)]
    pub second_factor_roles: Vec<hikeshi_model::Role>,
    pub ldap: Option<hikeshi_app::ldap::LdapSettings>,
    pub oidc: Option<hikeshi_app::oidc::OidcSettings>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let file: FileConfig =
            toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
        if let Some(r) = &file.reporting {
            r.validate()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        Ok(file)
    }
}

/// The database to use: a URL if one is configured, else SQLite in the data folder.
pub enum Database {
    Url(String),
    SqliteIn(PathBuf),
}

pub fn database(url: Option<String>, data_dir: &Path) -> Database {
    match url.filter(|u| !u.trim().is_empty()) {
        Some(u) => Database::Url(u),
        None => Database::SqliteIn(data_dir.to_path_buf()),
    }
}

/// Applies the process-wide settings that are not per request (risk weights).
pub fn apply_globals(file: &FileConfig) {
    if let Some(w) = file.risk {
        hikeshi_app::vulns::risk::RiskWeights::configure(w);
    }
}

pub async fn open_store(db: &Database) -> anyhow::Result<hikeshi_store::Store> {
    let store = match db {
        Database::Url(url) => hikeshi_store::Store::connect(url)
            .await
            .context("cannot connect to the database")?,
        Database::SqliteIn(dir) => hikeshi_store::Store::open_sqlite(dir)
            .await
            .with_context(|| format!("cannot open the SQLite database in {}", dir.display()))?,
    };
    store.migrate().await.context("database migration failed")?;
    Ok(store)
}

/// The web part: flags win over the file.
pub fn web_config(
    file: &FileConfig,
    listen: Option<SocketAddr>,
    max_upload_bytes: Option<u64>,
    insecure_cookies: bool,
) -> WebConfig {
    let defaults = WebConfig::default();
    WebConfig {
        listen: listen.or(file.listen).unwrap_or(defaults.listen),
        max_upload_bytes: max_upload_bytes
            .or(file.max_upload_bytes)
            .unwrap_or(defaults.max_upload_bytes),
        secure_cookies: if insecure_cookies {
            false
        } else {
            file.secure_cookies.unwrap_or(defaults.secure_cookies)
        },
        max_large_requests: file
            .max_large_requests
            .unwrap_or(defaults.max_large_requests)
            .clamp(1, 256),
    }
}

/// The certificate and key for HTTPS: flags win over the file; one without the other is an error.
pub fn tls_files(
    file: &FileConfig,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> anyhow::Result<Option<hikeshi_app::tls::TlsFiles>> {
    match (cert.or(file.tls_cert.clone()), key.or(file.tls_key.clone())) {
        (Some(cert), Some(key)) => Ok(Some(hikeshi_app::tls::TlsFiles { cert, key })),
        (None, None) => Ok(None),
        _ => anyhow::bail!("HTTPS needs both tls_cert and tls_key / HTTPS には tls_cert と tls_key の両方が必要です"),
    }
}

/// The relay login's password: `HIKESHI_RELAY_PASSWORD`, else the first line of
/// `relay_password_file`, which others must not be able to read.
pub fn relay_password(
    mail: &hikeshi_app::config::MailSettings,
) -> anyhow::Result<Option<hikeshi_app::config::Secret>> {
    secret(
        "HIKESHI_RELAY_PASSWORD",
        mail.relay_password_file.as_deref(),
        "relay_password_file",
    )
}

/// The OpenID client secret: `HIKESHI_OIDC_CLIENT_SECRET`, else the first line of
/// `[auth.oidc] client_secret_file`.
pub fn oidc_client_secret(
    oidc: &hikeshi_app::oidc::OidcSettings,
) -> anyhow::Result<Option<hikeshi_app::config::Secret>> {
    secret(
        "HIKESHI_OIDC_CLIENT_SECRET",
        oidc.client_secret_file.as_deref(),
        "client_secret_file",
    )
}

/// Each response webhook's signing secret: `HIKESHI_WEBHOOK_SECRET_<NAME>`, else the first
/// line of its `secret_file`.
pub fn webhook_secrets(
    response: &mut hikeshi_app::response::ResponseSettings,
) -> anyhow::Result<()> {
    for hook in &mut response.webhooks {
        hook.secret = secret(
            &hook.secret_env(),
            hook.secret_file.as_deref(),
            "secret_file",
        )?;
    }
    Ok(())
}

/// A secret from the environment, else from the first line of a file only its owner can read.
fn secret(
    env: &str,
    file: Option<&Path>,
    what: &str,
) -> anyhow::Result<Option<hikeshi_app::config::Secret>> {
    if let Ok(value) = std::env::var(env) {
        return Ok(Some(hikeshi_app::config::Secret::new(value)));
    }
    let Some(path) = file else {
        return Ok(None);
    };
    private_file(path, what)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{what} {}: {e} / 読めません", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    Ok(Some(hikeshi_app::config::Secret::new(line)))
}

/// Refuses a file of secrets that others than its owner can read.
pub fn private_file(path: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{what} {}: {e} / 読めません", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "{what} {} can be read by others: chmod 600 it / 他のユーザーが読めます。chmod 600 にしてください",
            path.display()
        );
    }
    Ok(())
}

/// Login through the OpenID provider of `[auth.oidc]`, its callback under `public_url`.
pub fn oidc_login(
    file: &FileConfig,
    public_url: &str,
) -> anyhow::Result<Option<std::sync::Arc<hikeshi_app::oidc::OidcLogin>>> {
    let Some(settings) = file.auth.as_ref().and_then(|a| a.oidc.clone()) else {
        return Ok(None);
    };
    let secret = oidc_client_secret(&settings)?;
    let callback = format!("{public_url}/login/oidc/callback");
    let login = hikeshi_app::oidc::OidcLogin::new(settings, secret, &callback)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(Some(std::sync::Arc::new(login)))
}

/// What the use cases need, from the file (each section as the app declares it).
pub fn app_config(file: &FileConfig, data_dir: PathBuf) -> AppConfig {
    let defaults = AppConfig::default();
    AppConfig {
        data_dir,
        session_hours: file
            .session_hours
            .unwrap_or(defaults.session_hours)
            .clamp(1, 24 * 30),
        sla: file.sla_hours.unwrap_or_default(),
        public_url: file
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or(defaults.public_url),
        report_form: file.report_form.unwrap_or_default(),
        smtp_listen: file.smtp_listen,
        tls: None,
        relay_password: None,
        ldap: file.auth.as_ref().and_then(|a| a.ldap.clone()),
        second_factor_roles: file
            .auth
            .as_ref()
            .map(|a| {
                a.second_factor_roles
                    .iter()
                    .map(|r| r.code().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        mail: file.mail.clone().unwrap_or_default(),
        vulns: file.vulns.clone().unwrap_or_default(),
        reporting: file.reporting.clone().unwrap_or_default(),
        jobs: file.jobs.unwrap_or_default(),
        retention: file.retention.unwrap_or_default(),
        sharing: file.sharing.clone().unwrap_or_default(),
        response: file.response.clone().unwrap_or_default(),
        psirt: file.psirt.clone().unwrap_or_default(),
    }
}
