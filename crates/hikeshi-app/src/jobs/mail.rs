//! `mail.send`: delivers one row of the outgoing mail queue through the configured relay.
//! The row says what people see on the outgoing-mail page (queued, sent, failed); the job
//! carries the retries.

use super::{Attempt, Job};
use crate::App;
use futures_util::future::BoxFuture;
use hikeshi_store::{OutboundMail, MAIL_SEND};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub struct MailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl MailSender {
    /// A sender for `relay` (`host:port`), or why there is none.
    pub fn new(relay: &str, from: &str) -> Result<MailSender, String> {
        let (host, port) = relay
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("mail relay must be host:port, got `{relay}`"))?;
        // Plain SMTP to the configured relay: it is the team's own server on a trusted network.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(20)))
            .build();
        Ok(MailSender {
            transport,
            from: from.to_string(),
        })
    }

    async fn send(&self, mail: &OutboundMail) -> Result<(), String> {
        let message = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|e| format!("sender `{}`: {e}", self.from))?,
            )
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

impl Job for MailSender {
    fn kind(&self) -> &'static str {
        MAIL_SEND
    }

    fn run<'a>(&'a self, app: &'a App, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.deliver(app, attempt))
    }
}
