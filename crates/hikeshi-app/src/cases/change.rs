//! Changing a case: fields, the status workflow (with who may close, reject or reopen, and what
//! closing needs), and merging one case into another.

use super::{check_assignee, check_category, editable_case, MergeInput, UpdateCaseInput};
use crate::error::{AppError, AppResult};
use crate::validate::{check_tags, text_field, MAX_TEXT, MAX_TITLE};
use crate::who::Who;
use crate::App;
use hikeshi_model::CaseStatus;
use hikeshi_store::{Case, CasePatch};

pub async fn update_case(
    app: &App,
    who: &Who,
    number: &str,
    input: UpdateCaseInput,
) -> AppResult<Case> {
    who.require(who.role.can_edit_cases(), "change cases")?;
    let case = editable_case(app, number).await?;
    // A closed (or rejected) case is the record of what was done: it changes only by being
    // reopened, which is a commander's move checked below.
    let finished = matches!(case.status.as_str(), "closed" | "rejected");
    let reopening = input.status.is_some_and(|s| s.code() != case.status);
    if finished && !reopening {
        return Err(AppError::new(
            crate::ErrorKind::Conflict,
            "closed",
            format!(
                "case {} is {}; reopen it to change it",
                case.number, case.status
            ),
        ));
    }
    let mut patch = CasePatch::default();
    if let Some(t) = &input.title {
        patch.title = Some(text_field("title", t, true, MAX_TITLE)?);
    }
    if let Some(d) = &input.description {
        patch.description = Some(text_field("description", d, false, MAX_TEXT)?);
    }
    if let Some(c) = &input.category {
        patch.category = Some(check_category(app, c).await?);
    }
    if let Some(s) = input.severity {
        patch.severity = Some(s.code().into());
        patch.sla_due_at = Some(app.config.sla.due_at(s, case.created_at));
    }
    patch.tlp = input.tlp.map(|v| v.code().into());
    patch.pap = input.pap.map(|v| v.code().into());
    patch.phase = input.phase.map(|v| v.code().into());
    if let Some(a) = &input.assignee {
        patch.assignee = Some(check_assignee(app, "assignee", Some(a)).await?);
    }
    if let Some(tags) = &input.tags {
        patch.tags = Some(check_tags(tags)?);
    }
    if let Some(a) = &input.affected_assets {
        patch.affected_assets = Some(text_field("affected_assets", a, false, MAX_TEXT)?);
    }
    if let Some(r) = &input.resolution_summary {
        patch.resolution_summary = Some(text_field("resolution_summary", r, false, MAX_TEXT)?);
    }
    if let Some(b) = &input.business_impact {
        patch.business_impact = Some(text_field("business_impact", b, false, MAX_TEXT)?);
    }
    if let Some(l) = &input.lessons_learned {
        patch.lessons_learned = Some(text_field("lessons_learned", l, false, MAX_TEXT)?);
    }
    if let Some(next) = input.status {
        let current = CaseStatus::parse(&case.status).map_err(AppError::internal)?;
        if !current.can_move_to(next) {
            return Err(AppError::invalid(
                "status",
                format!(
                    "status: a case cannot move from {} to {}",
                    current.code(),
                    next.code()
                ),
            ));
        }
        if current.needs_command(next) {
            who.require(who.role.can_command(), "close, reject or reopen cases")?;
        }
        if next == CaseStatus::Closed {
            let summary = patch
                .resolution_summary
                .as_ref()
                .or(case.resolution_summary.as_ref());
            let lessons = patch
                .lessons_learned
                .as_ref()
                .or(case.lessons_learned.as_ref());
            if summary.is_none_or(|s| s.is_empty()) {
                return Err(AppError::invalid(
                    "resolution_summary",
                    "closing a case needs a resolution summary",
                ));
            }
            if lessons.is_none_or(|s| s.is_empty()) {
                return Err(AppError::invalid(
                    "lessons_learned",
                    "closing a case needs lessons learned",
                ));
            }
        }
        patch.status = Some(next.code().into());
        patch.closed_at = Some(
            matches!(next, CaseStatus::Closed | CaseStatus::Rejected).then(hikeshi_store::now_ms),
        );
    }
    Ok(app
        .store
        .update_case(&case.number, &patch, &who.actor())
        .await?)
}

pub async fn merge_case(app: &App, who: &Who, number: &str, input: MergeInput) -> AppResult<Case> {
    who.require(who.role.can_command(), "merge cases")?;
    let source = editable_case(app, number).await?;
    let target = editable_case(app, &input.into).await?;
    Ok(app
        .store
        .merge_cases(&source.number, &target.number, &who.actor())
        .await?)
}
