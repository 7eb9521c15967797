//! What hikeshi says to reporters (acknowledgement, rejection), in both languages, queued in
//! the transaction that stores the report or the decision: the reporter is told exactly when
//! the change is committed. The `mail.send` job delivers it (`jobs::MailSender`), retrying with
//! back-off; a message that cannot be delivered stays visible as `failed`, never silently lost.

use hikeshi_model::ObservableKind;
use hikeshi_store::{Report, Tx};

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
async fn queue(tx: &mut Tx, report: &Report, notice: Notice) -> hikeshi_store::Result<()> {
    let Some(to) = reporter_address(report) else {
        return Ok(());
    };
    let body = bilingual(&report.lang, notice.ja, notice.en);
    tx.enqueue_mail(
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
/// The subject the reporter wrote is not quoted back: the address may be someone else's, and
/// the text then would be the sender's, sent in our name. An address gets at most `per_hour`
/// acknowledgements an hour.
pub async fn acknowledge(
    tx: &mut Tx,
    report: &Report,
    team: &str,
    per_hour: i64,
) -> hikeshi_store::Result<()> {
    let Some(to) = reporter_address(report) else {
        return Ok(());
    };
    let since = hikeshi_store::now_ms() - 3_600_000;
    if tx.count_mail_to(&to, "acknowledgement", since).await? >= per_hour {
        tracing::warn!(tracking = %report.tracking, "acknowledgement not sent: this address had its share this hour");
        return Ok(());
    }
    let (t, team) = (&report.tracking, team_or_default(team));
    let notice = Notice {
        purpose: "acknowledgement",
        subject: format!("[{t}] 受付のお知らせ / Report received"),
        ja: format!(
            "{team} です。インシデントのご報告を受け付けました。\n\n受付番号: {t}\n\n担当者が内容を確認し、対応を判断します。続報をお送りいただく場合は、件名に受付番号 [{t}] を含めてこのメールに返信してください。"
        ),
        en: format!(
            "This is {team}. We have received your incident report.\n\nTracking number: {t}\n\nA handler will read it and decide how to handle it. To add information, reply to this message keeping [{t}] in the subject."
        ),
    };
    queue(tx, report, notice).await
}

/// Queues the answer to a rejected report, with the reason.
pub async fn tell_rejection(tx: &mut Tx, report: &Report, team: &str) -> hikeshi_store::Result<()> {
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
    queue(tx, report, notice).await
}
