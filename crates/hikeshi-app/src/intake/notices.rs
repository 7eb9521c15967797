//! Outgoing mail: what hikeshi says to reporters (acknowledgement, rejection), queued in the
//! database and sent through the configured relay by a background task that retries with
//! back-off. A message that cannot be delivered stays visible as `failed`, never silently lost.

use crate::App;
use hikeshi_model::ObservableKind;
use hikeshi_store::{OutboundMail, Report};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 8;

/// Wait before attempt `n + 1`: one minute, doubling, at most an hour.
fn backoff_ms(attempts: i64) -> i64 {
    (60_000i64 << attempts.clamp(0, 6)).min(3_600_000)
}

/// The reporter's address, if the contact they left is one.
fn reporter_address(report: &Report) -> Option<String> {
    let contact = report.reporter_contact.trim();
    hikeshi_model::normalise_observable(ObservableKind::Email, contact).ok()
}

/// Both languages in one message, the reporter's first: a reporter who wrote in English may
/// forward it to a Japanese colleague, and the other way round.
fn bilingual(lang: &str, ja: String, en: String) -> String {
    let rule = "\n\n----------------------------------------\n\n";
    if lang == "en" {
        format!("{en}{rule}{ja}")
    } else {
        format!("{ja}{rule}{en}")
    }
}

/// A message to a report's reporter, in both languages.
struct Notice {
    purpose: &'static str,
    subject: String,
    ja: String,
    en: String,
}

/// Queues a notice if the reporter left an e-mail address; others cannot be told.
async fn queue(app: &App, report: &Report, notice: Notice) -> anyhow::Result<()> {
    let Some(to) = reporter_address(report) else {
        return Ok(());
    };
    let body = bilingual(&report.lang, notice.ja, notice.en);
    app
        .store
        .enqueue_mail(
            &to,
            &notice.subject,
            &body,
            notice.purpose,
            Some(&report.id),
        )
        .await?;
    Ok(())
}

fn team_or_default(team: &str) -> &str {
    if team.is_empty() {
        "CSIRT"
    } else {
        team
    }
}

/// Queues the acknowledgement for a new report.
pub async fn acknowledge(app: &App, report: &Report, team: &str) -> anyhow::Result<()> {
    let (t, team, subject) = (&report.tracking, team_or_default(team), &report.subject);
    let notice = Notice {
        purpose: "acknowledgement",
        subject: format!("[{t}] 受付のお知らせ / Report received"),
        ja: format!(
            "{team} です。インシデントのご報告を受け付けました。\n\n受付番号: {t}\n件名: {subject}\n\n担当者が内容を確認し、対応を判断します。続報をお送りいただく場合は、件名に受付番号 [{t}] を含めてこのメールに返信してください。"
        ),
        en: format!(
            "This is {team}. We have received your incident report.\n\nTracking number: {t}\nSubject: {subject}\n\nA handler will read it and decide how to handle it. To add information, reply to this message keeping [{t}] in the subject."
        ),
    };
    queue(app, report, notice).await
}

/// Queues the answer to a rejected report, with the reason.
pub async fn tell_rejection(app: &App, report: &Report, team: &str) -> anyhow::Result<()> {
    let (t, team, reason) = (
        &report.tracking,
        team_or_default(team),
        &report.decision_reason,
    );
    let notice = Notice {
        purpose: "rejection",
        subject: format!("[{t}] 対応についてのご連絡 / About your report"),
        ja: format!(
            "{team} です。受付番号 {t} のご報告について、当チームでは対応しないと判断しました。\n\n理由: {reason}\n\nご報告いただきありがとうございました。"
        ),
        en: format!(
            "This is {team}. About your report {t}: we have decided not to handle it.\n\nReason: {reason}\n\nThank you for reporting."
        ),
    };
    queue(app, report, notice).await
}

async fn send_one(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &str,
    mail: &OutboundMail,
) -> Result<(), String> {
    let message = Message::builder()
        .from(from.parse().map_err(|e| format!("sender `{from}`: {e}"))?)
        .to(mail
            .to_addr
            .parse()
            .map_err(|e| format!("recipient `{}`: {e}", mail.to_addr))?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| format!("message: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("relay: {e}"))
}

/// Sends due messages until the process stops. Without a relay, messages wait in the queue.
pub fn spawn_outbox(app: App) {
    let Some(relay) = app.config.mail.relay.clone() else {
        tracing::info!("no mail relay configured: outgoing mail stays queued");
        return;
    };
    let (host, port) = match relay
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
    {
        Some(hp) => hp,
        None => {
            tracing::error!(%relay, "mail relay must be host:port; outgoing mail stays queued");
            return;
        }
    };
    // Plain SMTP to the configured relay: it is the team's own server on a trusted network.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    tokio::spawn(async move {
        loop {
            let now = hikeshi_store::now_ms();
            match app.store.due_mail(now, 20).await {
                Ok(due) => {
                    for mail in due {
                        match send_one(&transport, &app.config.mail.from, &mail).await {
                            Ok(()) => {
                                let _ = app.store.mark_mail_sent(&mail.id).await;
                                tracing::info!(to = %mail.to_addr, purpose = %mail.purpose, "mail sent");
                            }
                            Err(e) => {
                                let retry = (mail.attempts + 1 < MAX_ATTEMPTS)
                                    .then(|| hikeshi_store::now_ms() + backoff_ms(mail.attempts));
                                tracing::warn!(to = %mail.to_addr, error = %e, given_up = retry.is_none(), "mail not sent");
                                let _ = app.store.mark_mail_failed(&mail.id, &e, retry).await;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the mail queue"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(0), 60_000);
        assert_eq!(backoff_ms(1), 120_000);
        assert_eq!(backoff_ms(5), 1_920_000);
        assert_eq!(backoff_ms(6), 3_600_000);
        assert_eq!(backoff_ms(40), 3_600_000);
    }
}
