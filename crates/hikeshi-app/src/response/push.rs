//! The reconciler's pass for a connector that is told, not read back (a webhook, a script).
//! What it was told is all hikeshi can know, so the pass keeps the telling honest: an approved
//! action is sent (retried until a final answer), it is active only after the connector said
//! yes, and an action that ends, or is revoked after an attempt, is told to undo once — unless
//! another action of the same connector still holds the target, which keeps it in force.

use super::guardrails::NeverBlock;
use super::reconcile::{backoff_ms, failed, live_actions, moved, save_counted, state_of, Pass};
use super::reconciler_actor;
use crate::App;
use hikeshi_model::{ActionKind, ActionState};
use hikeshi_store::ResponseAction;
use std::time::{Duration, Instant};

/// A pass stops making calls after this long, so that it renews its lease in time; the rest
/// is sent on the next pass.
const PASS_BUDGET: Duration = Duration::from_secs(4);

/// What a call asks of the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Delete,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Delete => "delete",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Done: what the connector said.
    Done(String),
    /// Worth another try, not before `after_ms` when the connector said so.
    Retry {
        error: String,
        after_ms: Option<i64>,
    },
    /// Refused for good.
    Final(String),
}

/// A connector that is told what to do and answers, but cannot be asked what is in force.
pub(crate) trait Told {
    fn connector(&self) -> String;
    /// `held_elsewhere`: another action of this connector already holds the target in force.
    async fn send(
        &self,
        op: Op,
        action: &ResponseAction,
        held_elsewhere: bool,
        now_ms: i64,
    ) -> Answer;
}

/// A told connector's name: it becomes part of `webhook:<name>` or `exec:<name>`.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{kind} `{name}`: a name is 1 to 64 letters, digits, - or _"
        ))
    }
}

/// The guardrails again, right before a connector is told to add: a never-block target is
/// refused before anything leaves.
fn refused_by(action: &ResponseAction, guard: &NeverBlock) -> Option<Answer> {
    let stop = action.target.parse().ok().and_then(|t| guard.check(&t))?;
    Some(Answer::Final(format!(
        "not sent: never-block entry {} ({})",
        stop.entry, stop.reason
    )))
}

pub(crate) async fn pass(app: &App, told: &impl Told, now: i64) -> Result<Pass, String> {
    let settings = &app.config.response;
    let guard = &app.response.guard;
    let connector = told.connector();
    let started = Instant::now();
    let mut out = Pass::default();
    let live = live_actions(app, &connector, now).await?;
    // Undo first, so that an add later in this pass sees what is still in force.
    let mut moves = Vec::new();
    for row in &live {
        if !due(row, now, started) || state_of(row) != ActionState::Reverting {
            continue;
        }
        let answer = match held_by_another(&live, row) {
            Some(other) => Answer::Done(kept_by(other)),
            // A patch is verified by the next scan, never undone.
            None if row.kind == ActionKind::RemediateVuln.code() => {
                Answer::Done("its time ended; a patch is not undone".into())
            }
            None => told.send(Op::Delete, row, false, now).await,
        };
        let after = match answer {
            Answer::Done(answer) => moved(row, ActionState::Reverted, now, |a| {
                a.undone_at = Some(now);
                a.last_error.clear();
                a.connector_answer = answer;
            }),
            Answer::Final(error) => moved(row, ActionState::Failed, now, |a| {
                a.last_error = format!("the connector refused to undo it: {error}");
                a.next_attempt_at = None;
            }),
            Answer::Retry { error, after_ms } => {
                // Still reverting: the undo is retried until it is answered.
                let again = moved(row, ActionState::Reverting, now, |a| {
                    a.last_error = error;
                    a.next_attempt_at = Some(now + retry_wait(after_ms));
                });
                note(app, row, &again, "response.undo_failed").await?;
                continue;
            }
        };
        moves.push((row.clone(), after));
    }
    undo_revoked(app, told, &live, now, started).await?;
    let mut added_now = std::collections::BTreeSet::new();
    for row in &live {
        if !due(row, now, started) || state_of(row) != ActionState::Applying {
            continue;
        }
        let held = held_by_another(&live, row).is_some() || added_now.contains(&row.target);
        let answer = match refused_by(row, guard) {
            Some(refused) => refused,
            None => told.send(Op::Add, row, held, now).await,
        };
        let after = match answer {
            Answer::Done(answer) => {
                added_now.insert(row.target.clone());
                moved(row, ActionState::Active, now, |a| {
                    a.activated_at = Some(now);
                    a.last_error.clear();
                    a.connector_answer = answer;
                })
            }
            Answer::Retry { error, after_ms } => {
                let mut f = failed(row, settings, now, error);
                if let (Some(next), Some(wait)) = (f.next_attempt_at, after_ms) {
                    f.next_attempt_at = Some(next.max(now + wait));
                }
                f
            }
            Answer::Final(error) => {
                // Refused: nothing is in force there, so nothing to undo later.
                let mut f = failed(row, settings, now, error);
                f.next_attempt_at = None;
                f.undone_at = Some(now);
                f
            }
        };
        moves.push((row.clone(), after));
    }
    save_counted(app, &moves, &mut out).await?;
    out.in_force = live
        .iter()
        .filter(|r| state_of(r) == ActionState::Active)
        .count()
        + out.activated;
    Ok(out)
}

/// Revoked actions that may have reached the connector are told to undo them.
async fn undo_revoked(
    app: &App,
    told: &impl Told,
    live: &[ResponseAction],
    now: i64,
    started: Instant,
) -> Result<(), String> {
    let rows = app
        .store
        .response_actions_to_undo(&told.connector())
        .await
        .map_err(|e| e.to_string())?;
    for row in rows {
        if !due(&row, now, started) {
            continue;
        }
        let answer = match held_by_another(live, &row) {
            Some(other) => Answer::Done(kept_by(other)),
            None => told.send(Op::Delete, &row, false, now).await,
        };
        let mut after = row.clone();
        after.updated_at = now.max(row.updated_at + 1);
        let audit = match answer {
            Answer::Done(answer) => {
                after.undone_at = Some(now);
                after.connector_answer = answer;
                "response.undone"
            }
            Answer::Final(error) => {
                // Refused for good: nothing more to tell; the audit keeps the answer.
                after.undone_at = Some(now);
                after.last_error = format!("the connector refused to undo it: {error}");
                "response.undo_refused"
            }
            Answer::Retry { error, after_ms } => {
                after.last_error = error;
                after.next_attempt_at = Some(now + retry_wait(after_ms));
                "response.undo_failed"
            }
        };
        note(app, &row, &after, audit).await?;
    }
    Ok(())
}

/// Whether a call for this action may be made now: its back-off is over and the pass still
/// has time.
fn due(row: &ResponseAction, now: i64, started: Instant) -> bool {
    started.elapsed() <= PASS_BUDGET && row.next_attempt_at.is_none_or(|t| t <= now)
}

/// Another action of the connector on the same target that is active: while it is, the
/// target stays in force (an undo is not sent, an add is told it is a duplicate).
fn held_by_another<'a>(
    live: &'a [ResponseAction],
    row: &ResponseAction,
) -> Option<&'a ResponseAction> {
    live.iter().find(|other| {
        other.id != row.id && other.target == row.target && state_of(other) == ActionState::Active
    })
}

fn kept_by(other: &ResponseAction) -> String {
    format!(
        "not undone: action {} still holds {}",
        other.id, other.target
    )
}

/// An undo that was not answered is asked again after a few seconds, or Retry-After.
fn retry_wait(after_ms: Option<i64>) -> i64 {
    after_ms.unwrap_or(0).max(backoff_ms(3))
}

/// Saves what happened to an action without a change of state, audited as `audit`.
async fn note(
    app: &App,
    before: &ResponseAction,
    after: &ResponseAction,
    audit: &str,
) -> Result<(), String> {
    let actor = reconciler_actor();
    app.store
        .write(async |tx| {
            tx.save_response_action_as(before, after, &actor, audit)
                .await
        })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
