//! Opening a case: the one way a case comes into being, whoever asks — a person in the UI or
//! the API, a report's triage, grouping of alerts, the vulnerability rule, the ledger import.
//! The rules: the caller may work cases; title and texts fit their limits; the category exists;
//! the assignee is an active user; a template fills category, severity and tasks; the number
//! is in the team's year ([`crate::Calendar`]); the SLA runs from the severity.

use super::{check_assignee, check_category, CreateCaseInput};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::validate::{check_tags, text_field, MAX_TEXT, MAX_TITLE};
use crate::who::Who;
use crate::App;
use hikeshi_model::{case_templates, CaseSource, Pap, Phase, Severity, Tlp};
use hikeshi_store::{Case, ImportedCase, NewCase, Tx};

/// Opens a case in a transaction of its own.
pub async fn open(app: &App, who: &Who, input: CreateCaseInput, lang: Lang) -> AppResult<Case> {
    let new = prepare(app, who, &input, lang).await?;
    let actor = who.actor();
    Ok(app.store.create_case(&new, &actor).await?)
}

/// Opens a case inside a larger use case's transaction (triage, escalation, grouping): the
/// case exists only if that transaction commits.
pub async fn open_in(
    app: &App,
    tx: &mut Tx,
    who: &Who,
    input: CreateCaseInput,
    lang: Lang,
) -> AppResult<Case> {
    let new = prepare(app, who, &input, lang).await?;
    Ok(tx.create_case(&new, &who.actor()).await?)
}

/// A case from the team's earlier ledger, with its own dates and state: numbered in the team's
/// year of its own creation, inside the import's transaction. Only commanders import history.
pub async fn open_from_history(app: &App, tx: &mut Tx, who: &Who, case: Case) -> AppResult<Case> {
    who.require_command("import an incident ledger")?;
    let imported = ImportedCase {
        year: app.calendar.year_at(case.created_at),
        created_at: case.created_at,
        case,
    };
    Ok(tx.import_case(&imported, &who.actor()).await?)
}

/// A title automation builds (from a rule or a CVE) cut to the case rule's limit, so that a
/// long rule title is kept as far as the rule allows instead of failing the case.
pub fn fit_title(title: &str) -> String {
    let title = title.trim();
    if title.chars().count() <= MAX_TITLE {
        return title.to_string();
    }
    let mut cut: String = title.chars().take(MAX_TITLE - 1).collect();
    cut.push('…');
    cut
}

/// Checks the request and turns it into the row to write.
async fn prepare(app: &App, who: &Who, input: &CreateCaseInput, lang: Lang) -> AppResult<NewCase> {
    who.require_edit("create cases")?;
    let template = match &input.template {
        Some(code) => Some(
            case_templates()
                .iter()
                .find(|t| &t.code == code)
                .ok_or_else(|| {
                    AppError::invalid("template", format!("template: unknown value `{code}`"))
                })?,
        ),
        None => None,
    };
    let title = text_field("title", &input.title, true, MAX_TITLE)?;
    let description = text_field("description", &input.description, false, MAX_TEXT)?;
    let category_code = input
        .category
        .clone()
        .or_else(|| template.map(|t| t.category.clone()))
        .unwrap_or_else(|| "other".into());
    let category = check_category(app, &category_code).await?;
    let severity = input
        .severity
        .or(template.map(|t| t.severity))
        .unwrap_or(Severity::Medium);
    let assignee = check_assignee(app, "assignee", input.assignee.as_deref()).await?;
    let tasks = template
        .map(|t| {
            t.task_titles()
                .map(|task| match lang {
                    Lang::Ja => task.title_ja.to_string(),
                    Lang::En => task.title_en.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(NewCase {
        year: app.calendar.this_year(),
        title,
        description,
        category,
        severity: severity.code().into(),
        tlp: input.tlp.unwrap_or(Tlp::Amber).code().into(),
        pap: input.pap.unwrap_or(Pap::Amber).code().into(),
        phase: input
            .phase
            .unwrap_or(Phase::DetectionAnalysis)
            .code()
            .into(),
        assignee,
        tags: check_tags(&input.tags)?,
        affected_assets: text_field("affected_assets", &input.affected_assets, false, MAX_TEXT)?,
        sla_due_at: app.config.sla.due_at(severity, app.calendar.now_ms()),
        tasks,
        source: input.source.unwrap_or(CaseSource::Manual).code().into(),
        business_impact: text_field("business_impact", &input.business_impact, false, MAX_TEXT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_to_the_rule() {
        let long = "x".repeat(400);
        let fitted = fit_title(&long);
        assert_eq!(fitted.chars().count(), MAX_TITLE);
        assert!(fitted.ends_with('…'));
        assert_eq!(fit_title(" short "), "short");
    }
}
