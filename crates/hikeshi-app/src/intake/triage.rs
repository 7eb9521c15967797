//! Triage: a handler opens a case from a report (its indicators and attachments come along),
//! adds it to an existing case, rejects it with a reason the reporter is told, or marks it as
//! spam. Each decision is one transaction, and only the first of two concurrent ones holds.

use super::{notices, MAX_LONG};
use crate::cases::{self, CreateCaseInput};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::validate::{parse_number, text_field, MAX_TEXT};
use crate::who::Who;
use crate::App;
use hikeshi_model::{ReportSource, ReportStatus, TimelineKind, Tlp};
use hikeshi_store::{Case, Decision, NewObservable, NewTimelineEntry, Report, StoreError, Tx};

/// Refuses early when a report was already decided, before anything else is written.
pub(crate) async fn undecided(app: &App, tracking: &str) -> AppResult<Report> {
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

/// How a report's text is carried into a case: in which language, and whether the reporter's
/// name and address come along. They stay with the report unless the handler chooses to copy
/// them, so case text (and the drafts to JPCERT/CC and IPA made from it) holds no personal data
/// by default.
#[derive(Debug, Clone, Copy)]
pub struct CarryOver {
    pub lang: Lang,
    pub include_reporter: bool,
}

fn said(lang: Lang, key: &str, tracking: &str) -> String {
    crate::i18n::text(lang, key).replace("{tracking}", tracking)
}

/// Copies a report's indicators and attachments onto a case and notes it on the timeline.
async fn carry_over(
    app: &App,
    tx: &mut Tx,
    who: &Who,
    report: &Report,
    case: &Case,
    how: CarryOver,
) -> AppResult<()> {
    let actor = who.actor();
    let lang = how.lang;
    for o in app.store.report_observables(&report.id).await? {
        let new = NewObservable {
            kind: o.kind,
            value: o.value,
            description: said(lang, "from_report.observable", &report.tracking),
            tlp: report.tlp.clone(),
            is_ioc: false,
        };
        tx.add_observable(&case.id, &new, &actor).await?;
    }
    for a in app.store.report_attachments(&report.id).await? {
        let new = hikeshi_store::NewEvidence {
            sha256: a.sha256,
            filename: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            description: said(lang, "from_report.attachment", &report.tracking),
        };
        tx.add_evidence(&case.id, &new, &actor).await?;
    }
    // Follow-ups the reporter sent before there was a case come along, each with its .eml.
    for message in app.store.report_messages(&report.id).await? {
        super::mail::follow_up_into_case(app, tx, case, &report.tracking, &message).await?;
    }
    let source = ReportSource::parse(&report.source).unwrap_or(ReportSource::Api);
    let entry = NewTimelineEntry {
        occurred_at: report.created_at,
        kind: TimelineKind::Observed.code().into(),
        text: said(lang, "from_report.received", &report.tracking)
            .replace(
                "{source}",
                &crate::i18n::text(lang, &format!("report_source.{}", source.code())),
            )
            .replace("{reporter}", &reporter_line(report, how))
            .replace("{subject}", &report.subject),
    };
    tx.add_timeline_entry(&case.number, &entry, &actor).await?;
    Ok(())
}

/// Records the decision and carries the report over to its case. The decision comes first:
/// it is a conditional update, so of two handlers deciding at once the second waits here and
/// then fails, and its transaction (its case, its copies) is rolled back.
pub(crate) async fn join_case(
    app: &App,
    tx: &mut Tx,
    who: &Who,
    report: &Report,
    case: Case,
    status: ReportStatus,
    how: CarryOver,
) -> AppResult<Case> {
    let decision = Decision {
        status: status.code().into(),
        case_id: Some(case.id.clone()),
        reason: String::new(),
    };
    tx.decide_report(&report.tracking, &decision, &who.actor())
        .await?;
    carry_over(app, tx, who, report, &case, how).await?;
    Ok(case)
}

fn reporter_line(report: &Report, how: CarryOver) -> String {
    if !how.include_reporter {
        return said(how.lang, "from_report.reporter_kept", &report.tracking);
    }
    match reporter_identity(report) {
        who if who.is_empty() => crate::i18n::text(how.lang, "from_report.anonymous"),
        who => who,
    }
}

/// The reporter's name, organisation and address as given, comma-separated; empty when
/// anonymous.
pub(crate) fn reporter_identity(report: &Report) -> String {
    [
        report.reporter_name.as_str(),
        report.reporter_org.as_str(),
        report.reporter_contact.as_str(),
    ]
    .into_iter()
    .filter(|p| !p.trim().is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// Opens a case from a report, pre-filled from it, with its indicators and attachments.
pub async fn create_case_from_report(
    app: &App,
    who: &Who,
    tracking: &str,
    how: CarryOver,
) -> AppResult<Case> {
    who.require_edit("open cases from reports")?;
    let report = undecided(app, tracking).await?;
    let label = |key: &str| crate::i18n::text(how.lang, &format!("from_report.{key}"));
    let description = format!(
        "{}\n\n---\n- {}: {}\n- {}: {}\n- {}: {}\n- {}: {}\n- {}: {}",
        report.body,
        label("report"),
        report.tracking,
        label("reporter"),
        reporter_line(&report, how),
        label("when"),
        report.occurred,
        label("affected"),
        report.affected,
        label("indicators"),
        report.indicators.replace('\n', " "),
    );
    let category = if report.suggested_category.is_empty() {
        None
    } else {
        Some(report.suggested_category.clone())
    };
    let input = CreateCaseInput {
        title: report.subject.clone(),
        description: description.chars().take(MAX_TEXT).collect(),
        category,
        tlp: Tlp::parse(&report.tlp).ok(),
        tags: vec![format!("report:{}", report.tracking)],
        affected_assets: report.affected.clone(),
        source: hikeshi_model::CaseSource::parse(&report.source).ok(),
        ..CreateCaseInput::default()
    };
    let report = &report;
    app.store
        .write(async |tx| {
            let case = cases::open_in(app, tx, who, input, how.lang).await?;
            join_case(app, tx, who, report, case, ReportStatus::Case, how).await
        })
        .await
}

/// Adds a report to an existing case (a second report of the same incident).
pub async fn attach_report(
    app: &App,
    who: &Who,
    tracking: &str,
    case_number: &str,
    lang: Lang,
) -> AppResult<Case> {
    who.require_edit("attach reports to cases")?;
    let report = undecided(app, tracking).await?;
    let number = parse_number(case_number)?;
    let case = app.store.case_by_number(&number).await?;
    if case.merged_into.is_some() {
        return Err(AppError::invalid(
            "case",
            format!("case {number} was merged into another; attach to that one"),
        ));
    }
    let report = &report;
    app.store
        .write(async |tx| {
            // A second report joins a case already under way: its reporter stays with it.
            let how = CarryOver {
                lang,
                include_reporter: false,
            };
            join_case(app, tx, who, report, case, ReportStatus::Attached, how).await
        })
        .await
}

/// Rejects a report with a reason the reporter could be told, or marks it as spam.
pub async fn close_report(
    app: &App,
    who: &Who,
    tracking: &str,
    status: ReportStatus,
    reason: &str,
) -> AppResult<Report> {
    who.require_edit("decide on reports")?;
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
    let team = crate::team::load(app).await;
    let mut tx = app.store.begin().await?;
    let decided = tx
        .decide_report(&report.tracking, &decision, &who.actor())
        .await?;
    // Spam gets no answer; a rejected reporter is told why, once the decision commits.
    if status == ReportStatus::Rejected {
        notices::tell_rejection(&mut tx, &decided, team.get("team_name")).await?;
    }
    tx.commit().await?;
    Ok(decided)
}
