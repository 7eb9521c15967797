//! What the server needs to know at start. The binary assembles it from file, environment
//! and flags.

use hikeshi_model::Severity;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Largest evidence upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Mark cookies `Secure`. Browsers accept Secure cookies from http://127.0.0.1 and
    /// http://localhost; any other address needs TLS in front of hikeshi.
    pub secure_cookies: bool,
    pub session_hours: i64,
    pub sla: SlaHours,
    /// Where people reach this server, for links in security.txt and mail
    /// (`https://csirt.example.jp`).
    pub public_url: String,
    pub report_form: ReportFormSettings,
    /// Where the built-in SMTP intake listens (off when `None`).
    pub smtp_listen: Option<std::net::SocketAddr>,
    pub mail: MailSettings,
    /// Open a case when an imported finding meets this condition (`[vulns] auto_case`).
    pub vuln_auto_case: Option<crate::vulns::actions::AutoCase>,
    /// KEV and EPSS URLs fetched on a schedule (`[vulns] kev_url`, `epss_url`).
    pub vuln_feeds: crate::vulns::feeds::Feeds,
    /// Dashboard thresholds, the team's time zone and the PDF fonts (`[reporting]`).
    pub reporting: crate::reporting::ReportingSettings,
}

/// Mail in and out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The SMTP relay outgoing mail goes through (`host:port`); none: mail stays queued.
    pub relay: Option<String>,
    /// The sender of acknowledgements and answers.
    pub from: String,
    /// Addresses the intake listener accepts mail for; empty: any.
    pub intake_addresses: Vec<String>,
    pub max_message_bytes: u64,
    pub max_connections: usize,
    /// A Maildir the mail server delivers intake mail to; read every few seconds.
    pub maildir: Option<std::path::PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            relay: None,
            from: "csirt@localhost".into(),
            intake_addresses: Vec::new(),
            max_message_bytes: 25 * 1024 * 1024,
            max_connections: 20,
            maildir: None,
        }
    }
}

/// The public report form's protection and limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportFormSettings {
    /// Leading zero bits of the browser's proof of work (14 ≈ a fraction of a second).
    pub pow_bits: u32,
    /// A form sent sooner than this after it was loaded is refused.
    pub min_seconds: i64,
    /// Reports accepted per address per hour.
    pub per_hour: u32,
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
}

impl Default for ReportFormSettings {
    fn default() -> Self {
        ReportFormSettings {
            pow_bits: 14,
            min_seconds: 3,
            per_hour: 10,
            max_attachments: 5,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Hours from case creation to the SLA due time, per severity. `0` means no SLA.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
}

impl Default for SlaHours {
    fn default() -> Self {
        SlaHours {
            critical: 4,
            high: 24,
            medium: 72,
            low: 168,
            info: 0,
        }
    }
}

impl SlaHours {
    pub fn due_at(&self, severity: Severity, from_ms: i64) -> Option<i64> {
        let hours = match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        };
        (hours > 0).then(|| from_ms + hours * 3_600_000)
    }
}

impl ServerConfig {
    pub fn evidence_dir(&self) -> PathBuf {
        self.data_dir.join("evidence")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./hikeshi-data"),
            max_upload_bytes: 100 * 1024 * 1024,
            secure_cookies: true,
            session_hours: 12,
            sla: SlaHours::default(),
            public_url: "http://127.0.0.1:8080".into(),
            report_form: ReportFormSettings::default(),
            smtp_listen: None,
            mail: MailSettings::default(),
            vuln_auto_case: None,
            vuln_feeds: Default::default(),
            reporting: Default::default(),
        }
    }
}
