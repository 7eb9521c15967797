//! The point of contact's rules, shared by the public form, the API and the triage pages:
//! checking a report, giving it a tracking number, finding its indicators and a suggested
//! category, and the triage decisions (case, attach, reject, spam).

use crate::who::Who;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::service::{self, text_field, CreateCaseInput, ReceivedFile};
use crate::App;
use hikeshi_model::{
    extract_indicators, normalise_observable, suggest_category, tracking_number, ObservableKind,
    ReportSource, ReportStatus, TimelineKind, Tlp,
};
use hikeshi_store::{
    Case, Decision, NewAttachment, NewObservable, NewReport, NewTimelineEntry, Report,
    ReportAttachment, ReportDuplicate, ReportObservable, StoreError,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 20_000;
const MAX_SHORT: usize = 500;
const MAX_LONG: usize = 5_000;

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
    /// `ja` or `en`: the language to answer in.
    pub lang: Option<String>,
}

fn check_contact(contact: &str) -> AppResult<String> {
    let contact = text_field("reporter_contact", contact, false, MAX_SHORT)?;
    if contact.contains('@') {
        return normalise_observable(ObservableKind::Email, &contact).map_err(|_| {
            AppError::invalid(
                "reporter_contact",
                "reporter_contact: looks like an e-mail address but is not a valid one",
            )
        });
    }
    Ok(contact)
}

/// Checks and stores a report. `created_by` is the API user, or `public` for the form and
/// e-mail. Attachments are already on disk (content-addressed).
pub async fn submit_report(
    app: &App,
    input: ReportInput,
    source: ReportSource,
    remote_addr: &str,
    attachments: Vec<ReceivedFile>,
    created_by: &str,
) -> AppResult<Report> {
    let subject = text_field("subject", &input.subject, true, MAX_SUBJECT)?;
    let body = text_field("body", &input.body, true, MAX_BODY)?;
    let lang = match input.lang.as_deref() {
        None | Some("") => Lang::Ja,
        Some(code) => Lang::parse(code).ok_or_else(|| {
            AppError::invalid(
                "lang",
                format!("lang: unknown value `{code}`; expected ja or en"),
            )
        })?,
    };
    let mut new = NewReport {
        tracking: String::new(),
        source: source.code().into(),
        lang: lang.code().into(),
        reporter_name: text_field("reporter_name", &input.reporter_name, false, MAX_SHORT)?,
        reporter_contact: check_contact(&input.reporter_contact)?,
        reporter_org: text_field("reporter_org", &input.reporter_org, false, MAX_SHORT)?,
        occurred: text_field("occurred", &input.occurred, false, MAX_SHORT)?,
        affected: text_field("affected", &input.affected, false, MAX_LONG)?,
        indicators: text_field("indicators", &input.indicators, false, MAX_LONG)?,
        tlp: input.tlp.unwrap_or(Tlp::Amber).code().into(),
        remote_addr: remote_addr.chars().take(64).collect(),
        subject,
        body,
        ..NewReport::default()
    };
    let all_text = format!(
        "{}\n{}\n{}\n{}",
        new.subject, new.body, new.affected, new.indicators
    );
    let found = extract_indicators(&all_text);
    if let Some(s) = suggest_category(&all_text, &found) {
        new.suggested_category = s.category.into();
        new.suggestion_reason_ja = s.reason_ja;
        new.suggestion_reason_en = s.reason_en;
    }
    new.observables = found
        .into_iter()
        .map(|(k, v)| (k.code().to_string(), v))
        .collect();
    new.attachments = attachments
        .into_iter()
        .map(|f| NewAttachment {
            file_name: service::sanitize_filename(&f.filename),
            sha256: f.sha256,
            size_bytes: f.size as i64,
            content_type: f.content_type.chars().take(200).collect(),
        })
        .collect();
    let actor = hikeshi_store::Actor::user(created_by);
    // 60 random bits rarely collide; when they do, draw again.
    for _ in 0..5 {
        let mut random = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut random);
        new.tracking = tracking_number(random);
        match app.store.create_report(&new, &actor).await {
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
            Ok(report) => {
                let team = crate::team::load(app).await;
                if let Err(e) =
                    crate::outbox::acknowledge(app, &report, team.get("team_name")).await
                {
                    tracing::error!(tracking = %report.tracking, error = %e, "acknowledgement not queued");
                }
                return Ok(report);
            }
        }
    }
    Err(AppError::internal(
        "could not draw a unique tracking number",
    ))
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

pub async fn list_reports(
    app: &App,
    status: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Report>> {
    if let Some(s) = status {
        ReportStatus::parse(s)?;
    }
    Ok(app
        .store
        .list_reports(status, limit.clamp(1, 500))
        .await?)
}

/// Refuses early when a report was already decided, before anything else is written.
async fn undecided(app: &App, tracking: &str) -> AppResult<Report> {
    let report = app
        .store
        .report_by_tracking(&tracking.trim().to_ascii_uppercase())
        .await?;
    if report.status != ReportStatus::New.code() {
        return Err(StoreError::Conflict(format!(
            "report {} was already decided ({})",
            report.tracking, report.status
        ))
        .into());
    }
    Ok(report)
}

/// Copies a report's indicators and attachments onto a case and notes it on the timeline.
async fn carry_over(
    app: &App,
    who: &Who,
    report: &Report,
    case: &Case,
) -> AppResult<()> {
    let actor = who.actor();
    for o in app.store.report_observables(&report.id).await? {
        let new = NewObservable {
            kind: o.kind,
            value: o.value,
            description: format!("report {}", report.tracking),
            tlp: report.tlp.clone(),
            is_ioc: false,
        };
        app.store.add_observable(&case.id, &new, &actor).await?;
    }
    for a in app.store.report_attachments(&report.id).await? {
        let new = hikeshi_store::NewEvidence {
            sha256: a.sha256,
            filename: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            description: format!("attached to report {}", report.tracking),
        };
        app.store.add_evidence(&case.id, &new, &actor).await?;
    }
    let source = ReportSource::parse(&report.source).unwrap_or(ReportSource::Api);
    let entry = NewTimelineEntry {
        occurred_at: report.created_at,
        kind: TimelineKind::Observed.code().into(),
        text: format!(
            "Report {} received ({}) from {}: {}",
            report.tracking,
            source.code(),
            reporter_line(report),
            report.subject
        ),
    };
    app
        .store
        .add_timeline_entry(&case.number, &entry, &actor)
        .await?;
    Ok(())
}

/// Carries a report over to its case and records the decision.
async fn join_case(
    app: &App,
    who: &Who,
    report: &Report,
    case: Case,
    status: ReportStatus,
) -> AppResult<Case> {
    carry_over(app, who, report, &case).await?;
    let decision = Decision {
        status: status.code().into(),
        case_id: Some(case.id.clone()),
        reason: String::new(),
    };
    app
        .store
        .decide_report(&report.tracking, &decision, &who.actor())
        .await?;
    Ok(case)
}

fn reporter_line(report: &Report) -> String {
    let parts: Vec<&str> = [
        report.reporter_name.as_str(),
        report.reporter_org.as_str(),
        report.reporter_contact.as_str(),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect();
    if parts.is_empty() {
        "an anonymous reporter".into()
    } else {
        parts.join(", ")
    }
}

/// Opens a case from a report, pre-filled from it, with its indicators and attachments.
pub async fn create_case_from_report(
    app: &App,
    who: &Who,
    tracking: &str,
    lang: Lang,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "open cases from reports")?;
    let report = undecided(app, tracking).await?;
    let description = format!(
        "{}\n\n---\n- Report: {}\n- Reporter: {}\n- When: {}\n- Affected: {}\n- Indicators given: {}",
        report.body,
        report.tracking,
        reporter_line(&report),
        report.occurred,
        report.affected,
        report.indicators.replace('\n', " "),
    );
    let category = if report.suggested_category.is_empty() {
        None
    } else {
        Some(report.suggested_category.clone())
    };
    let input = CreateCaseInput {
        title: report.subject.clone(),
        description: description.chars().take(service::MAX_TEXT).collect(),
        category,
        severity: None,
        tlp: Tlp::parse(&report.tlp).ok(),
        pap: None,
        phase: None,
        assignee: None,
        tags: vec![format!("report:{}", report.tracking)],
        affected_assets: report.affected.clone(),
        template: None,
        source: hikeshi_model::CaseSource::parse(&report.source).ok(),
        business_impact: String::new(),
    };
    let case = service::create_case(app, who, input, lang).await?;
    join_case(app, who, &report, case, ReportStatus::Case).await
}

/// Adds a report to an existing case (a second report of the same incident).
pub async fn attach_report(
    app: &App,
    who: &Who,
    tracking: &str,
    case_number: &str,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "attach reports to cases")?;
    let report = undecided(app, tracking).await?;
    let number = service::parse_number(case_number)?;
    let case = app.store.case_by_number(&number).await?;
    if case.merged_into.is_some() {
        return Err(AppError::invalid(
            "case",
            format!("case {number} was merged into another; attach to that one"),
        ));
    }
    join_case(app, who, &report, case, ReportStatus::Attached).await
}

/// Rejects a report with a reason the reporter could be told, or marks it as spam.
pub async fn close_report(
    app: &App,
    who: &Who,
    tracking: &str,
    status: ReportStatus,
    reason: &str,
) -> AppResult<Report> {
    who.require(who.role.can_edit_cases(), "decide on reports")?;
    let reason = match status {
        ReportStatus::Rejected => text_field("reason", reason, true, MAX_LONG)?,
        ReportStatus::Spam => text_field("reason", reason, false, MAX_LONG)?,
        _ => {
            return Err(AppError::invalid(
                "status",
                "status must be rejected or spam",
            ))
        }
    };
    let report = undecided(app, tracking).await?;
    let decision = Decision {
        status: status.code().into(),
        case_id: None,
        reason,
    };
    let decided = app
        .store
        .decide_report(&report.tracking, &decision, &who.actor())
        .await?;
    // Spam gets no answer; a rejected reporter is told why.
    if status == ReportStatus::Rejected {
        let team = crate::team::load(app).await;
        if let Err(e) = crate::outbox::tell_rejection(app, &decided, team.get("team_name")).await
        {
            tracing::error!(tracking = %decided.tracking, error = %e, "rejection notice not queued");
        }
    }
    Ok(decided)
}
