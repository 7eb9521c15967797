//! Configuration from a TOML file, `HIKESHI_*` environment variables and flags. Flags win
//! over the environment (clap reads both), which wins over the file, which wins over defaults.

use anyhow::Context;
use hikeshi_server::{MailSettings, ReportFormSettings, ServerConfig, SlaHours};
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
    pub vulns: Option<VulnsFileConfig>,
    /// Priority weights (see README, "Risk score").
    pub risk: Option<hikeshi_server::vulns::risk::RiskWeights>,
    /// Management reporting: time zone, thresholds, PDF fonts.
    pub reporting: Option<hikeshi_server::reporting::ReportingSettings>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnsFileConfig {
    /// Open a case for findings that meet this, e.g. `{ kev = true, internet_facing = true }`.
    pub auto_case: Option<hikeshi_server::vulns::actions::AutoCase>,
    /// KEV catalogue URL, fetched every `refresh_hours`.
    pub kev_url: Option<String>,
    /// EPSS scores URL (CSV, gzip recognised).
    pub epss_url: Option<String>,
    pub refresh_hours: Option<f64>,
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
        hikeshi_server::vulns::risk::RiskWeights::configure(w);
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

pub fn server_config(
    file: &FileConfig,
    listen: Option<SocketAddr>,
    data_dir: PathBuf,
    max_upload_bytes: Option<u64>,
    insecure_cookies: bool,
) -> ServerConfig {
    let defaults = ServerConfig::default();
    ServerConfig {
        listen: listen.or(file.listen).unwrap_or(defaults.listen),
        data_dir,
        max_upload_bytes: max_upload_bytes
            .or(file.max_upload_bytes)
            .unwrap_or(defaults.max_upload_bytes),
        secure_cookies: if insecure_cookies {
            false
        } else {
            file.secure_cookies.unwrap_or(defaults.secure_cookies)
        },
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
        mail: file.mail.clone().unwrap_or_default(),
        vuln_auto_case: file.vulns.as_ref().and_then(|v| v.auto_case),
        vuln_feeds: file
            .vulns
            .as_ref()
            .map(|v| hikeshi_server::vulns::feeds::Feeds {
                kev_url: v.kev_url.clone(),
                epss_url: v.epss_url.clone(),
                refresh_hours: v.refresh_hours,
            })
            .unwrap_or_default(),
        reporting: file.reporting.clone().unwrap_or_default(),
    }
}
