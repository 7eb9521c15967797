//! Configuration of the use cases, one type per section of the file (`[mail]`, `[vulns]`,
//! `[reporting]`…). The binary reads the file and overlays flags; nothing here reads it.

use hikeshi_model::Severity;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the use cases need to know, assembled by the binary from the file, the environment and
/// flags. The web crate keeps its own part (listen address, cookies, upload size).
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub data_dir: PathBuf,
    pub session_hours: i64,
    pub sla: SlaHours,
    /// Where people reach this server, for links in security.txt and mail
    /// (`https://csirt.example.jp`).
    pub public_url: String,
    pub report_form: ReportFormSettings,
    /// Where the built-in SMTP intake listens (off when `None`).
    pub smtp_listen: Option<std::net::SocketAddr>,
    /// The server's certificate and key: HTTPS, STARTTLS on the SMTP intake, syslog over TLS.
    pub tls: Option<crate::tls::TlsFiles>,
    /// The relay login's password (`[mail] relay_user`), read by the binary.
    pub relay_password: Option<Secret>,
    /// `[auth.ldap]`: logins of users without a local password go to this directory.
    pub ldap: Option<crate::ldap::LdapSettings>,
    /// `[auth] second_factor_roles`: roles whose local accounts must use a second factor.
    pub second_factor_roles: Vec<String>,
    pub mail: MailSettings,
    /// `[vulns]`: the automatic case rule and the KEV/EPSS feeds.
    pub vulns: VulnsSettings,
    /// Dashboard thresholds, the team's time zone and the PDF fonts (`[reporting]`).
    pub reporting: crate::reporting::ReportingSettings,
    /// `[jobs]`: retries of background work.
    pub jobs: crate::jobs::JobSettings,
    /// `[retention]`: how long alerts and their kept events are held (forever by default).
    pub retention: crate::retention::RetentionSettings,
    /// `[sharing]`: the organisation's own domains, withheld from what is shared.
    pub sharing: crate::intel::SharingSettings,
    /// `[response]`: policies, the never-block set and the connectors.
    pub response: crate::response::ResponseSettings,
    /// `[psirt]`: the key CSAF documents are signed with.
    pub psirt: crate::psirt::signing::PsirtSettings,
}

/// `[vulns]`: what is done with findings, and where KEV and EPSS come from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VulnsSettings {
    /// Open a case for findings that meet this, e.g. `{ kev = true, internet_facing = true }`.
    pub auto_case: Option<crate::vulns::actions::AutoCase>,
    /// KEV catalogue URL, fetched every `refresh_hours`.
    pub kev_url: Option<String>,
    /// EPSS scores URL (CSV, gzip recognised).
    pub epss_url: Option<String>,
    /// Hours between fetches [default: 24].
    pub refresh_hours: Option<f64>,
    /// The largest scan result `vuls report -to-http` may deliver [default: 64 MiB].
    pub http_max_bytes: Option<u64>,
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
    /// SMTP sessions at once from one address.
    pub max_connections_per_address: usize,
    /// A whole SMTP session must be over within this, however slowly its bytes come.
    pub session_deadline_secs: u64,
    /// Messages one address may hand over per hour; more are deferred (451).
    pub messages_per_hour_per_address: u32,
    /// Acknowledgements one reporter address gets per hour: a forged sender cannot turn the
    /// intake into a mail cannon aimed at someone else.
    pub acknowledgements_per_hour: i64,
    /// Refuse MAIL, RCPT and DATA until the client has started TLS (needs a certificate).
    pub require_starttls: bool,
    /// Check SPF, DKIM and DMARC of mail the SMTP intake receives, and acknowledge only
    /// authenticated senders [default: true]. The mail is kept either way.
    pub sender_checks: bool,
    /// The DNS resolver for those checks (`host:port`); none: the system's.
    pub dns_server: Option<std::net::SocketAddr>,
    /// How the connection to the relay is secured [default: opportunistic].
    pub relay_tls: RelayTls,
    /// A PEM file with the CA (or the certificate) the relay's certificate is checked against,
    /// beside the public roots.
    pub relay_ca_file: Option<PathBuf>,
    /// Log in to the relay (SMTP AUTH) as this user; the password comes from the environment
    /// (`HIKESHI_RELAY_PASSWORD`) or `relay_password_file`, never from this file.
    pub relay_user: Option<String>,
    /// A file (mode 0600) holding only the relay password.
    pub relay_password_file: Option<PathBuf>,
}

/// TLS to the mail relay.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// Plain SMTP: only for a relay on the same host or a trusted network.
    None,
    /// STARTTLS when the relay offers it, plain otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS, or the mail is not sent.
    Starttls,
    /// TLS from the first byte (port 465, RFC 8314).
    Tls,
}

/// A password or key held in memory: never printed, not even by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            relay: None,
            from: "csirt@localhost".into(),
            intake_addresses: Vec::new(),
            max_message_bytes: 25 * 1024 * 1024,
            max_connections: 20,
            sender_checks: true,
            dns_server: None,
            maildir: None,
            max_connections_per_address: 5,
            session_deadline_secs: 600,
            messages_per_hour_per_address: 60,
            acknowledgements_per_hour: 3,
            require_starttls: false,
            relay_tls: RelayTls::default(),
            relay_ca_file: None,
            relay_user: None,
            relay_password_file: None,
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

impl AppConfig {
    pub fn evidence_dir(&self) -> PathBuf {
        self.data_dir.join("evidence")
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            data_dir: PathBuf::from("./hikeshi-data"),
            session_hours: 12,
            sla: SlaHours::default(),
            public_url: "http://127.0.0.1:8080".into(),
            report_form: ReportFormSettings::default(),
            smtp_listen: None,
            tls: None,
            relay_password: None,
            ldap: None,
            second_factor_roles: Vec::new(),
            mail: MailSettings::default(),
            vulns: VulnsSettings::default(),
            reporting: Default::default(),
            jobs: Default::default(),
            retention: Default::default(),
            sharing: Default::default(),
            response: Default::default(),
            psirt: Default::default(),
        }
    }
}
