//! Taking a report in: the reporter's fields checked (an address must be a valid one), the
//! indicators found in the text, a category suggested with its reason, a tracking number drawn,
//! and the acknowledgement queued in the same transaction.

use super::{notices, ReportInput, MAX_BODY, MAX_LONG, MAX_SHORT, MAX_SUBJECT};
use crate::cases::ReceivedFile;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::validate::{sanitize_filename, text_field};
use crate::App;
use hikeshi_model::{
    extract_indicators, normalise_observable, suggest_category, tracking_number, ObservableKind,
    ReportKind, ReportSource, Tlp,
};
use hikeshi_store::{NewAttachment, NewReport, Report};
use rand::RngCore;

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
    let quiet = input.quiet;
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
    let kind = input.kind.unwrap_or(ReportKind::Incident);
    new.kind = kind.code().into();
    new.credit = text_field("credit", &input.credit, false, MAX_SHORT)?;
    if kind == ReportKind::ProductVulnerability {
        // The reporter's own word beats a guess from the text.
        new.suggested_category = "vulnerability".into();
        new.suggestion_reason_ja = crate::i18n::text(Lang::Ja, "report.kind_chosen");
        new.suggestion_reason_en = crate::i18n::text(Lang::En, "report.kind_chosen");
    } else if let Some(s) = suggest_category(&all_text, &found) {
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
            file_name: sanitize_filename(&f.filename),
            sha256: f.sha256,
            size_bytes: f.size as i64,
            content_type: f.content_type.chars().take(200).collect(),
        })
        .collect();
    let actor = hikeshi_store::Actor::user(created_by);
    let team = crate::team::load(app).await;
    // 60 random bits rarely collide; when they do, draw again (in a new transaction: a failed
    // statement ends a PostgreSQL transaction).
    for _ in 0..5 {
        let mut random = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut random);
        new.tracking = tracking_number(random);
        let mut tx = app.store.begin().await?;
        match tx.create_report(&new, &actor).await {
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
            Ok(report) => {
                // The acknowledgement is queued with the report: both or neither.
                if !quiet {
                    let per_hour = app.config.mail.acknowledgements_per_hour;
                    notices::acknowledge(&mut tx, &report, team.get("team_name"), per_hour).await?;
                }
                tx.commit().await?;
                return Ok(report);
            }
        }
    }
    Err(AppError::internal(
        "could not draw a unique tracking number",
    ))
}
