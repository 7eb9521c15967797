//! Received e-mail, from the SMTP listener or a Maildir: each message becomes a report with
//! the original kept as evidence (.eml, SHA-256), or, when its subject quotes a tracking
//! number, is threaded onto that report.

use crate::cases::ReceivedFile;
use crate::intake::mail_message::IncomingMail;
use crate::intake::sender_check::Verdict;
use crate::intake::{self, ReportInput};
use crate::App;
use hikeshi_model::{find_tracking_number, ReportSource};
use hikeshi_store::ReportMessage;
use std::net::SocketAddr;

/// Stores bytes as content-addressed evidence and describes them as a received file.
async fn keep(
    app: &App,
    bytes: &[u8],
    name: &str,
    content_type: &str,
) -> anyhow::Result<ReceivedFile> {
    let mut incoming = app.evidence.begin(u64::MAX).await?;
    incoming.write(bytes).await?;
    let (sha256, size) = app.evidence.commit(incoming).await?;
    Ok(ReceivedFile {
        sha256,
        size,
        filename: name.to_string(),
        content_type: content_type.to_string(),
    })
}

/// A reporter's follow-up on a case: a comment with its text and the `.eml` as evidence, so the
/// original is in the chain of custody with its hash. Used when the follow-up arrives and, for
/// follow-ups that came before, when the case is opened from the report.
pub(crate) async fn follow_up_into_case(
    app: &App,
    tx: &mut hikeshi_store::Tx,
    case: &hikeshi_store::Case,
    tracking: &str,
    message: &ReportMessage,
) -> hikeshi_store::Result<()> {
    let actor = hikeshi_store::Actor::user("email");
    let note = format!(
        "メール受信 / E-mail from {} ({tracking}): {}\n\n{}",
        message.from_addr, message.subject, message.body
    );
    let note: String = note.chars().take(crate::validate::MAX_TEXT).collect();
    tx.add_comment(&case.number, &note, &actor).await?;
    let size = tokio::fs::metadata(app.evidence.path_for(&message.eml_sha256))
        .await
        .map(|m| m.len() as i64)
        .unwrap_or(0);
    let evidence = hikeshi_store::NewEvidence {
        sha256: message.eml_sha256.clone(),
        filename: format!("follow-up-{tracking}.eml"),
        content_type: "message/rfc822".into(),
        size_bytes: size,
        description: format!(
            "メール受信 / e-mail from {} ({tracking})",
            message.from_addr
        ),
    };
    tx.add_evidence(&case.id, &evidence, &actor).await?;
    Ok(())
}

/// One received message: a new report, or a follow-up to the one its subject names. With a
/// sender check's verdict, the verdict is written under the text, and a sender that was not
/// authenticated is not acknowledged.
pub async fn receive(
    app: &App,
    raw: &[u8],
    envelope_from: &str,
    peer: SocketAddr,
    sender_check: Option<&Verdict>,
) -> anyhow::Result<String> {
    let IncomingMail {
        subject,
        from_name,
        from_addr,
        mut body,
        attachments,
        mut quiet,
        lang,
    } = IncomingMail::read(raw, envelope_from).map_err(|e| anyhow::anyhow!(e))?;
    // A From that is no address (cron's `root@vm`, a tool's default) is kept, marked, and never
    // answered: the report matters more than the reply.
    let from_valid =
        hikeshi_model::normalise_observable(hikeshi_model::ObservableKind::Email, &from_addr)
            .is_ok();
    let contact = if from_valid {
        from_addr.clone()
    } else {
        let shown: String = from_addr
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        body = format!(
            "{body}\n\n-- hikeshi: 差出人のアドレスが正しくありません(未確認) / the sender's address is not valid (unverified): `{shown}`"
        );
        quiet = true;
        String::new()
    };
    if let Some(verdict) = sender_check {
        let (ja, en) = if verdict.authenticated {
            ("送信元は認証されました", "sender authenticated")
        } else {
            (
                "送信元を認証できません(受付通知は送りません)",
                "sender not authenticated (no acknowledgement sent)",
            )
        };
        body = format!("{body}\n\n-- hikeshi: {ja} / {en}: {}", verdict.summary);
        quiet |= !verdict.authenticated;
        if !verdict.authenticated {
            tracing::warn!(from = %from_addr, %peer, summary = %verdict.summary, "e-mail sender not authenticated: kept, not acknowledged");
        }
    }
    let eml = keep(app, raw, "message.eml", "message/rfc822").await?;

    if let Some(tracking) = find_tracking_number(&subject) {
        if let Ok(report) = app.store.report_by_tracking(&tracking).await {
            app.store
                .add_report_message(&report.id, &from_addr, &subject, &body, &eml.sha256)
                .await?;
            if let Some(case_id) = &report.case_id {
                if let Ok(case) = app.store.case_by_id(case_id).await {
                    let message = ReportMessage {
                        from_addr: from_addr.clone(),
                        subject: subject.clone(),
                        body: body.clone(),
                        eml_sha256: eml.sha256.clone(),
                        ..ReportMessage::default()
                    };
                    app.store
                        .write(async |tx| {
                            follow_up_into_case(app, tx, &case, &tracking, &message).await
                        })
                        .await?;
                }
            }
            tracing::info!(%tracking, from = %from_addr, "e-mail threaded onto its report");
            return Ok(tracking);
        }
    }

    let mut files = vec![eml];
    for part in &attachments {
        files.push(keep(app, &part.bytes, &part.name, &part.content_type).await?);
    }
    let input = ReportInput {
        quiet,
        subject,
        body: if body.trim().is_empty() {
            "(no text)".into()
        } else {
            body
        },
        reporter_name: from_name,
        reporter_contact: contact,
        lang: Some(lang.into()),
        ..ReportInput::default()
    };
    let report = intake::submit_report(
        app,
        input,
        ReportSource::Email,
        &peer.ip().to_string(),
        files,
        "email",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(report.tracking)
}

/// Reads a Maildir's `new/` folder (every few seconds, from `jobs::registry`): each message is received like one that
/// came over SMTP, then moved to `cur/` marked seen (`:2,S`), or, if it was refused, marked
/// trashed (`:2,T`) so it is kept for a person to look at and not read again.
pub async fn read_maildir(app: &App, dir: &std::path::Path) {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut entries = match tokio::fs::read_dir(dir.join("new")).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "Maildir not readable");
            return;
        }
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let size = entry.metadata().await.map(|m| m.len()).unwrap_or(0);
        let outcome = if size > app.config.mail.max_message_bytes {
            Err(anyhow::anyhow!(
                "larger than {} bytes",
                app.config.mail.max_message_bytes
            ))
        } else {
            match tokio::fs::read(&path).await {
                // The mail server that wrote the Maildir did its own checks.
                Ok(raw) => receive(app, &raw, "", local, None).await,
                Err(e) => Err(e.into()),
            }
        };
        let flag = match &outcome {
            Ok(tracking) => {
                tracing::info!(file = %name, %tracking, "Maildir message received");
                "S"
            }
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "Maildir message refused; kept in cur/ marked trashed");
                "T"
            }
        };
        let base = name.split(":2,").next().unwrap_or(&name);
        let target = dir.join("cur").join(format!("{base}:2,{flag}"));
        if let Err(e) = tokio::fs::rename(&path, &target).await {
            tracing::error!(file = %name, error = %e, "cannot move a Maildir message to cur/");
        }
    }
}
