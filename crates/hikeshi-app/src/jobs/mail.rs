//! `mail.send`: delivers one row of the outgoing mail queue through the configured relay.
//! The row says what people see on the outgoing-mail page (queued, sent, failed); the job
//! carries the retries.

use super::{Attempt, Job};
use crate::config::{MailSettings, RelayTls, Secret};
use crate::App;
use futures_util::future::BoxFuture;
use hikeshi_store::{OutboundMail, MAIL_SEND};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub struct MailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl MailSender {
    /// A sender for `relay` (`host:port`) as `mail` says (TLS, login), or why there is none.
    /// `password` is the relay login's, kept out of the config file by the binary.
    pub fn new(
        relay: &str,
        mail: &MailSettings,
        password: Option<&Secret>,
    ) -> Result<MailSender, String> {
        let (host, port) = relay
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("mail relay must be host:port, got `{relay}`"))?;
        let tls = relay_tls(&host, mail)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(20)))
            .tls(tls);
        if let Some(user) = &mail.relay_user {
            // A password in the clear is worse than no login: only over a checked TLS channel.
            if !matches!(mail.relay_tls, RelayTls::Starttls | RelayTls::Tls) {
                return Err(
                    "relay_user needs relay_tls = \"starttls\" or \"tls\" / relay_user には relay_tls = \"starttls\" か \"tls\" が必要です"
                        .into(),
                );
            }
            let password = password.ok_or(
                "relay_user is set but no password: HIKESHI_RELAY_PASSWORD or relay_password_file / relay_user のパスワードがありません",
            )?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(MailSender {
            transport: builder.build(),
            from: mail.from.clone(),
        })
    }

    async fn send(&self, mail: &OutboundMail) -> Result<(), String> {
        let from: lettre::message::Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("sender `{}`: {e}", self.from))?;
        // One Message-ID per queued mail, the same at every attempt, so a retry after a lost
        // answer is recognisably the same message.
        let message_id = format!("<{}@{}>", mail.id, from.email.domain());
        let message = Message::builder()
            .from(from)
            .message_id(Some(message_id))
            .header(lettre::message::header::MIME_VERSION_1_0)
            .to(mail
                .to_addr
                .parse()
                .map_err(|e| format!("recipient `{}`: {e}", mail.to_addr))?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("relay: {e}"))
    }

    async fn deliver(&self, app: &App, attempt: Attempt<'_>) -> Result<(), String> {
        let payload: serde_json::Value =
            serde_json::from_str(&attempt.job.payload).map_err(|e| format!("payload: {e}"))?;
        let id = payload["mail_id"]
            .as_str()
            .ok_or("payload: no mail_id")?
            .to_string();
        let mail = app.store.mail_by_id(&id).await.map_err(|e| e.to_string())?;
        if mail.status == "sent" {
            return Ok(());
        }
        match self.send(&mail).await {
            Ok(()) => {
                tracing::info!(to = %mail.to_addr, purpose = %mail.purpose, "mail sent");
                app.store
                    .mark_mail_sent(&id)
                    .await
                    .map_err(|e| format!("sent, but not recorded: {e}"))
            }
            Err(e) => {
                let retry = (!attempt.last).then_some(attempt.retry_at);
                app.store
                    .mark_mail_failed(&id, &e, retry)
                    .await
                    .map_err(|w| format!("{e}; and not recorded: {w}"))?;
                Err(e)
            }
        }
    }
}

/// How the relay connection is secured: certificates are always checked (the public roots,
/// plus `relay_ca_file` for a team's own CA).
fn relay_tls(host: &str, mail: &MailSettings) -> Result<Tls, String> {
    let wrap: fn(TlsParameters) -> Tls = match mail.relay_tls {
        RelayTls::None => return Ok(Tls::None),
        RelayTls::Opportunistic => Tls::Opportunistic,
        RelayTls::Starttls => Tls::Required,
        RelayTls::Tls => Tls::Wrapper,
    };
    let mut params = TlsParameters::builder(host.to_string());
    if let Some(path) = &mail.relay_ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("relay_ca_file {}: {e}", path.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| format!("relay_ca_file {}: {e}", path.display()))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|e| format!("relay TLS: {e}"))?;
    Ok(wrap(params))
}

impl Job for MailSender {
    fn kind(&self) -> &'static str {
        MAIL_SEND
    }

    fn run<'a>(&'a self, app: &'a App, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.deliver(app, attempt))
    }
}
