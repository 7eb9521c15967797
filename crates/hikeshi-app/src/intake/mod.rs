//! The point of contact: reports from the public form, e-mail (`smtp` and a Maildir, read by `mail`) and the API are checked,
//! numbered and stored with their indicators and a suggested category (`submit`), the reporter
//! is told (`notices`), and a handler decides on each (`triage`: case, attach, reject, spam).

pub mod mail;
pub mod mail_message;
mod notices;
pub mod sender_check;
pub mod smtp;
pub mod smtp_protocol;
mod submit;
pub(crate) mod triage;

pub use submit::submit_report;
pub use triage::{attach_report, close_report, create_case_from_report, CarryOver};

use crate::error::AppResult;
use crate::App;
use hikeshi_model::{ReportStatus, Tlp};
use hikeshi_store::{Report, ReportAttachment, ReportDuplicate, ReportObservable};
use serde::{Deserialize, Serialize};

pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 20_000;
pub(crate) const MAX_SHORT: usize = 500;
pub(crate) const MAX_LONG: usize = 5_000;

/// A report as the reporter wrote it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub reporter_name: String,
    /// An e-mail address (checked) or any other way to reach the reporter.
    #[serde(default)]
    pub reporter_contact: String,
    #[serde(default)]
    pub reporter_org: String,
    /// When it happened, in the reporter's words.
    #[serde(default)]
    pub occurred: String,
    #[serde(default)]
    pub affected: String,
    /// IP addresses, URLs and the like, one per line or in free text.
    #[serde(default)]
    pub indicators: String,
    pub tlp: Option<Tlp>,
    /// An incident (default), or a vulnerability in the team's products (the PSIRT).
    pub kind: Option<hikeshi_model::ReportKind>,
    /// A researcher's wish how to be named in the advisory; empty: not credited.
    #[serde(default)]
    pub credit: String,
    /// `ja` or `en`: the language to answer in.
    pub lang: Option<String>,
    /// Do not acknowledge (bulk and automatic mail: RFC 3834 says never answer those).
    #[serde(skip)]
    pub quiet: bool,
}

/// A report with what triage needs beside it.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub report: Report,
    pub observables: Vec<ReportObservable>,
    pub attachments: Vec<ReportAttachment>,
    pub duplicates: Vec<ReportDuplicate>,
    /// Later e-mail about the report (replies quoting its number).
    pub messages: Vec<hikeshi_store::ReportMessage>,
    /// The case number, when the report became or joined a case.
    pub case_number: Option<String>,
}

pub async fn report_view(app: &App, tracking: &str) -> AppResult<ReportView> {
    let tracking = tracking.trim().to_ascii_uppercase();
    let report = app.store.report_by_tracking(&tracking).await?;
    let case_number = match &report.case_id {
        Some(id) => app.store.case_by_id(id).await.ok().map(|c| c.number),
        None => None,
    };
    Ok(ReportView {
        observables: app.store.report_observables(&report.id).await?,
        attachments: app.store.report_attachments(&report.id).await?,
        duplicates: app.store.report_duplicates(&report).await?,
        messages: app.store.report_messages(&report.id).await?,
        case_number,
        report,
    })
}

pub async fn list_reports(app: &App, status: Option<&str>, limit: i64) -> AppResult<Vec<Report>> {
    if let Some(s) = status {
        ReportStatus::parse(s)?;
    }
    Ok(app.store.list_reports(status, limit.clamp(1, 500)).await?)
}

/// The outgoing mail queue (managers and admins): what was sent, what waits, what failed.
pub async fn outgoing_mail(
    app: &App,
    who: &crate::Who,
    limit: i64,
) -> AppResult<Vec<hikeshi_store::OutboundMail>> {
    who.require_command("see the mail queue")?;
    Ok(app.store.list_mail(limit).await?)
}
