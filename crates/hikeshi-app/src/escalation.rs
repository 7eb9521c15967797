//! Contacts and escalation: the directory of people and organisations the team involves, the
//! matrix saying whom to involve for which category and severity, and the checklist a case
//! derives from it. Notifying from a case is recorded on its timeline.

use crate::error::{AppError, AppResult};
use crate::validate::{parse_number, text_field};
use crate::who::Who;
use crate::App;
use hikeshi_model::{normalise_observable, ContactRole, ObservableKind, Severity};
use hikeshi_store::{CaseNotification, Contact, EscalationRule, NewContact};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    pub role: ContactRole,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub pgp_fingerprint: String,
    #[serde(default)]
    pub notes: String,
}

pub async fn create_contact(app: &App, who: &Who, input: ContactInput) -> AppResult<Contact> {
    who.require(who.role.can_command(), "manage contacts")?;
    let email = text_field("email", &input.email, false, 320)?;
    let email = if email.is_empty() {
        email
    } else {
        normalise_observable(ObservableKind::Email, &email)
            .map_err(|_| AppError::invalid("email", "email: not an e-mail address"))?
    };
    let fingerprint = text_field("pgp_fingerprint", &input.pgp_fingerprint, false, 100)?;
    if !fingerprint
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c == ' ')
    {
        return Err(AppError::invalid(
            "pgp_fingerprint",
            "pgp_fingerprint: hexadecimal digits (spaces allowed)",
        ));
    }
    let new = NewContact {
        name: text_field("name", &input.name, true, 200)?,
        organisation: text_field("organisation", &input.organisation, false, 200)?,
        role: input.role.code().into(),
        email,
        phone: text_field("phone", &input.phone, false, 50)?,
        pgp_fingerprint: fingerprint,
        notes: text_field("notes", &input.notes, false, 5_000)?,
    };
    Ok(app.store.create_contact(&new, &who.actor()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// A category code; empty or absent: every category.
    #[serde(default)]
    pub category: String,
    pub min_severity: Severity,
    pub contact_id: String,
}

pub async fn create_rule(app: &App, who: &Who, input: RuleInput) -> AppResult<EscalationRule> {
    who.require(who.role.can_command(), "manage the escalation matrix")?;
    let category = input.category.trim().to_string();
    if !category.is_empty()
        && !app
            .store
            .categories()
            .await?
            .iter()
            .any(|c| c.code == category)
    {
        return Err(AppError::invalid(
            "category",
            format!("category: unknown value `{category}`"),
        ));
    }
    let contact = app
        .store
        .contact(&input.contact_id)
        .await
        .map_err(|_| AppError::invalid("contact_id", "contact_id: no such contact"))?;
    Ok(app
        .store
        .create_escalation_rule(
            &category,
            input.min_severity.code(),
            &contact.id,
            &who.actor(),
        )
        .await?)
}

/// One line of a case's escalation checklist.
#[derive(Debug, Serialize)]
pub struct ChecklistItem {
    pub contact: Contact,
    /// Whether the matrix asks for this contact (others were notified without a rule).
    pub required: bool,
    pub notifications: Vec<CaseNotification>,
}

/// Whether a rule applies to a case of this category and severity.
fn applies(rule: &EscalationRule, category: &str, severity: Severity) -> bool {
    let min = Severity::parse(&rule.min_severity).unwrap_or(Severity::Info);
    // Severities are ordered from critical down: "at least high" means critical or high.
    (rule.category.is_empty() || rule.category == category) && severity <= min
}

pub async fn checklist(app: &App, number: &str) -> AppResult<Vec<ChecklistItem>> {
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    let severity = Severity::parse(&case.severity)?;
    let rules = app.store.escalation_rules().await?;
    let contacts = app.store.contacts().await?;
    let notifications = app.store.case_notifications(&case.id).await?;
    let mut items: Vec<ChecklistItem> = contacts
        .into_iter()
        .filter_map(|contact| {
            let required = rules
                .iter()
                .any(|r| r.contact_id == contact.id && applies(r, &case.category, severity));
            let done: Vec<CaseNotification> = notifications
                .iter()
                .filter(|n| n.contact_id == contact.id)
                .cloned()
                .collect();
            (required || !done.is_empty()).then_some(ChecklistItem {
                contact,
                required,
                notifications: done,
            })
        })
        .collect();
    // Open items first, then by role.
    items.sort_by(|a, b| {
        (
            !a.notifications.is_empty(),
            &a.contact.role,
            &a.contact.name,
        )
            .cmp(&(
                !b.notifications.is_empty(),
                &b.contact.role,
                &b.contact.name,
            ))
    });
    Ok(items)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyInput {
    pub contact_id: String,
    /// email, phone, meeting or other.
    pub channel: String,
    #[serde(default)]
    pub note: String,
}

const CHANNELS: &[&str] = &["email", "phone", "meeting", "other"];

pub async fn notify(
    app: &App,
    who: &Who,
    number: &str,
    input: NotifyInput,
) -> AppResult<CaseNotification> {
    who.require(who.role.can_edit_cases(), "record notifications")?;
    let case = app.store.case_by_number(&parse_number(number)?).await?;
    if case.merged_into.is_some() {
        return Err(AppError::invalid(
            "case",
            "the case was merged into another; record it there",
        ));
    }
    if !CHANNELS.contains(&input.channel.as_str()) {
        return Err(AppError::invalid(
            "channel",
            format!("channel: expected one of {}", CHANNELS.join(", ")),
        ));
    }
    let contact = app
        .store
        .contact(&input.contact_id)
        .await
        .map_err(|_| AppError::invalid("contact_id", "contact_id: no such contact"))?;
    let note = text_field("note", &input.note, false, 5_000)?;
    let who_text = if contact.organisation.is_empty() {
        format!("{} ({})", contact.name, contact.role)
    } else {
        format!(
            "{} ({}, {})",
            contact.name, contact.organisation, contact.role
        )
    };
    let timeline = if note.is_empty() {
        format!("Notified {who_text} by {}", input.channel)
    } else {
        format!("Notified {who_text} by {}: {note}", input.channel)
    };
    let recorded = app
        .store
        .record_notification(
            &case.id,
            &contact,
            &input.channel,
            &note,
            &timeline,
            &who.actor(),
        )
        .await?;
    // By e-mail: the message goes out through the queue, with the case's reference and the
    // handler's note only; what else to share is the handler's call (TLP), not ours.
    if input.channel == "email" && !contact.email.is_empty() {
        let subject = format!("[{}] {}", case.number, case.title);
        let body = format!(
            "{}\n\n{}: {} / TLP:{}\n",
            if note.is_empty() {
                case.title.as_str()
            } else {
                note.as_str()
            },
            case.number,
            case.severity,
            case.tlp.to_uppercase()
        );
        app.store
            .enqueue_mail(&contact.email, &subject, &body, "notification", None)
            .await?;
    }
    Ok(recorded)
}
