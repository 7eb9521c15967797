//! What a person does with actions: read them, approve one (bound to the plan they saw),
//! reject one, revoke one now. Each is one transaction with its audit row.

use crate::{App, AppError, AppResult, ErrorKind, Who};
use hikeshi_model::{ActionKind, ActionState};
use hikeshi_store::{ActionQuery, AuditEntry, AuditQuery, ResponseAction};
use serde::{Deserialize, Serialize};

/// An action with its history, for its page.
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    pub action: ResponseAction,
    /// Every state it went through, oldest first.
    pub history: Vec<AuditEntry>,
}

/// The filters of the action queue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionList {
    pub state: Option<ActionState>,
    pub policy: Option<String>,
    /// An address (`192.0.2.7`) or its canonical form (`192.0.2.7/32`), or a host name.
    pub target: Option<String>,
    pub limit: Option<u32>,
}

pub async fn list(app: &App, who: &Who, q: &ActionList) -> AppResult<Vec<ResponseAction>> {
    who.require(true, "read response actions")?;
    let target = match &q.target {
        None => None,
        Some(t) => Some(
            super::guardrails::canonical_target(t)
                .map(|net| net.to_string())
                .or_else(|| super::guardrails::canonical_host(t))
                .ok_or_else(|| {
                    AppError::invalid("target", "not an IP address, range or host name")
                })?,
        ),
    };
    let query = ActionQuery {
        state: q.state.map(|s| s.code().to_string()),
        policy: q.policy.clone(),
        target,
        limit: i64::from(q.limit.unwrap_or(200).clamp(1, 1000)),
    };
    Ok(app.store.response_actions(&query).await?)
}

/// Each connector's last reconcile, what it holds, drift repaired and failures.
pub async fn connectors(app: &App, who: &Who) -> AppResult<Vec<hikeshi_store::ConnectorHealth>> {
    who.require(true, "read connector health")?;
    Ok(app.store.connector_health().await?)
}

pub async fn view(app: &App, who: &Who, id: &str) -> AppResult<ActionView> {
    who.require(true, "read response actions")?;
    let action = app
        .store
        .response_action(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("response action {id}")))?;
    let mut history = app
        .store
        .audit_entries(&AuditQuery {
            object_type: Some("response_action".into()),
            object_id: Some(id.into()),
            limit: 500,
            ..AuditQuery::default()
        })
        .await?;
    history.reverse();
    Ok(ActionView { action, history })
}

/// Approves a waiting action. `plan_hash` is the hash of the plan the approver was shown: a
/// plan that changed since is not approved. Isolation and patching need a second person.
pub async fn approve(app: &App, who: &Who, id: &str, plan_hash: &str) -> AppResult<ResponseAction> {
    who.require_edit("approve response actions")?;
    let now = app.calendar.now_ms();
    let actor = who.actor();
    let approved = app
        .store
        .write(async |tx| {
            let before = tx.response_action_for_update(id).await?;
            expect_state(&before, ActionState::PendingApproval)?;
            if before.plan_hash != plan_hash {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    "plan_changed",
                    "the plan changed since it was shown: read the action again and approve the plan it has now",
                ));
            }
            let kind = ActionKind::parse(&before.kind)?;
            if kind.needs_four_eyes() && before.requested_by == who.name {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "four_eyes",
                    "whoever asked for an isolation or a patch cannot approve it: a second person must",
                ));
            }
            if before.approval_expires_at.is_some_and(|t| t <= now) {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    "approval_expired",
                    "the time to approve this action is over; it is denied",
                ));
            }
            let mut after = before.clone();
            after.state = ActionState::Approved.code().into();
            after.approved_by = who.name.clone();
            after.expires_at = Some(now + before.ttl_ms);
            after.updated_at = now.max(before.updated_at + 1);
            save(tx, &before, &after, &actor).await?;
            Ok::<_, AppError>(after)
        })
        .await?;
    app.response.wake.notify_one();
    Ok(approved)
}

pub async fn reject(app: &App, who: &Who, id: &str) -> AppResult<ResponseAction> {
    who.require_edit("reject response actions")?;
    let now = app.calendar.now_ms();
    let actor = who.actor();
    app.store
        .write(async |tx| {
            let before = tx.response_action_for_update(id).await?;
            expect_state(&before, ActionState::PendingApproval)?;
            let mut after = before.clone();
            after.state = ActionState::Rejected.code().into();
            after.updated_at = now.max(before.updated_at + 1);
            save(tx, &before, &after, &actor).await?;
            Ok::<_, AppError>(after)
        })
        .await
}

/// Ends an action now, whatever its state; the reconciler takes it out of force at once.
/// Another action on the same target keeps it blocked.
pub async fn revoke(app: &App, who: &Who, id: &str) -> AppResult<ResponseAction> {
    who.require_edit("revoke response actions")?;
    let now = app.calendar.now_ms();
    let actor = who.actor();
    let revoked = app
        .store
        .write(async |tx| {
            let before = tx.response_action_for_update(id).await?;
            let state = ActionState::parse(&before.state)?;
            if !state.may_become(ActionState::Revoked) {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    "not_revocable",
                    format!("an action that is {} cannot be revoked", before.state),
                ));
            }
            let mut after = before.clone();
            after.state = ActionState::Revoked.code().into();
            after.updated_at = now.max(before.updated_at + 1);
            save(tx, &before, &after, &actor).await?;
            Ok::<_, AppError>(after)
        })
        .await?;
    app.response.wake.notify_one();
    Ok(revoked)
}

fn expect_state(action: &ResponseAction, want: ActionState) -> AppResult<()> {
    if action.state == want.code() {
        return Ok(());
    }
    Err(AppError::new(
        ErrorKind::Conflict,
        "wrong_state",
        format!(
            "the action is {}, not {}: nothing was changed",
            action.state,
            want.code()
        ),
    ))
}

async fn save(
    tx: &mut hikeshi_store::Tx,
    before: &ResponseAction,
    after: &ResponseAction,
    actor: &hikeshi_store::Actor,
) -> AppResult<()> {
    if tx.save_response_action(before, after, actor).await? {
        Ok(())
    } else {
        Err(AppError::conflict(
            "the action changed meanwhile; read it again",
        ))
    }
}
