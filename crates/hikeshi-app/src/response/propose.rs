//! From fresh hits to actions. One intent per policy and target: a hit for a target whose
//! action is still open joins it; otherwise a new action is written with its offence number
//! (escalation), its plan and hash, and the state its mode and the guardrails give it — all in
//! one transaction with its audit rows.

use super::guardrails::{is_wide, Stop, Target};
use super::policy::{Policy, Trigger};
use super::{policy_actor, Response};
use crate::App;
use hikeshi_model::{ActionState, ResponseMode};
use hikeshi_store::{NewHit, ResponseAction, StoreError};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

/// What one proposal came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Proposal {
    /// A new action, in this state.
    New(Box<ResponseAction>),
    /// The target already has an open action of this policy.
    Joined(String),
    /// A guardrail stopped it (audited).
    Refused(Stop),
}

/// Runs the policies over a batch's fresh hits (`fresh`: index into `hits`, alert id).
/// Failures are logged: detection must not stop because a response could not be written.
pub async fn on_hits(app: &App, hits: &[NewHit], fresh: &[(usize, String)]) -> Vec<Proposal> {
    let settings = &app.config.response;
    let mut out = Vec::new();
    if settings.policies.is_empty() {
        return out;
    }
    let mut wake = false;
    for (index, alert_id) in fresh {
        let Some(hit) = hits.get(*index) else {
            continue;
        };
        let trigger = Trigger::of_hit(hit, alert_id);
        for policy in settings.policies.iter().filter(|p| p.matches(&trigger)) {
            let Some(target) = policy.target(&trigger) else {
                continue;
            };
            match propose(app, policy, &trigger, target).await {
                Ok(p) => {
                    if let Proposal::New(a) = &p {
                        wake |= a.state == ActionState::Approved.code();
                    }
                    out.push(p);
                }
                Err(e) => {
                    tracing::warn!(policy = %policy.name, error = %e, "response action not proposed")
                }
            }
        }
    }
    if wake {
        app.response.wake.notify_one();
    }
    out
}

/// One policy, one target.
pub async fn propose(
    app: &App,
    policy: &Policy,
    trigger: &Trigger<'_>,
    target: impl Into<Target>,
) -> Result<Proposal, StoreError> {
    let target = target.into();
    let response: &Response = &app.response;
    let actor = policy_actor(policy);
    let target_text = target.to_string();
    let kind = policy.action.code();
    // The inventory lives in the database; the rest of the never-block set in memory. A host
    // to isolate is ours by definition: its guard is the four-eyes approval.
    let stop = match &target {
        Target::Host(host) => not_this_host(response, policy, host),
        Target::Net(net) => match response.guard.check(net) {
            Some(stop) => Some(stop),
            None => inventory_stop(app, net).await?,
        },
    };
    if let Some(stop) = stop {
        let detail = serde_json::json!({
            "policy": policy.name, "policy_version": policy.version(), "kind": kind,
            "target": target_text, "alert_id": trigger.alert_id,
            "reason": stop.reason, "entry": stop.entry,
        });
        app.store
            .write(async |tx| {
                tx.audit_event(
                    &actor,
                    "response.refused",
                    "response_target",
                    &target_text,
                    &detail,
                )
                .await
            })
            .await?;
        return Ok(Proposal::Refused(stop));
    }
    let now = app.calendar.now_ms();
    let settings = &app.config.response;
    let mut circuit_opened = false;
    let result = app
        .store
        .write(async |tx| {
            if let Some(open) = tx
                .open_response_action(&policy.name, kind, &target_text)
                .await?
            {
                return Ok::<_, StoreError>(Proposal::Joined(open.id));
            }
            let (ever, recent) = tx
                .response_offences(&policy.name, kind, &target_text, now - policy.decay_ms())
                .await?;
            let offence = recent + 1;
            let ttl_ms = policy.ttl_ms(offence);
            let plan = response.plan(policy, &target, ttl_ms);
            let held = held_because(tx, policy, &target, now).await?;
            if held == Some("rate_limit") {
                circuit_opened = tx
                    .response_auto_actions_since(&policy.name, now - rate_window_ms(policy))
                    .await?
                    == policy.rate_limit.map_or(0, |r| r.count);
            }
            let row = ResponseAction {
                id: hikeshi_store::new_id(),
                idempotency_key: format!("{}|{kind}|{target_text}|{ever}", policy.name),
                policy: policy.name.clone(),
                policy_version: policy.version(),
                kind: kind.into(),
                target: target_text.clone(),
                connector: policy.connector.clone(),
                mode: policy.mode.code().into(),
                state: ActionState::Proposed.code().into(),
                plan_hash: plan_hash(&plan),
                plan,
                alert_id: trigger.alert_id.map(str::to_string),
                requested_by: actor.username.clone(),
                approved_by: String::new(),
                offence,
                ttl_ms,
                created_at: now,
                approval_expires_at: None,
                activated_at: None,
                expires_at: None,
                attempts: 0,
                next_attempt_at: None,
                last_error: String::new(),
                connector_answer: String::new(),
                held_because: held.unwrap_or("").into(),
                updated_at: now,
                undone_at: None,
            };
            tx.insert_response_action(&row, &actor).await?;
            let mut next = row.clone();
            next.updated_at = now + 1;
            match (policy.mode, held) {
                (ResponseMode::DryRun, _) => next.state = ActionState::Simulated.code().into(),
                (ResponseMode::Approve, _) | (ResponseMode::Auto, Some(_)) => {
                    next.state = ActionState::PendingApproval.code().into();
                    next.approval_expires_at =
                        Some(now + settings.approval_timeout_secs as i64 * 1000);
                }
                (ResponseMode::Auto, None) => {
                    next.state = ActionState::Approved.code().into();
                    next.approved_by = actor.username.clone();
                    next.expires_at = Some(now + ttl_ms);
                }
            }
            tx.save_response_action(&row, &next, &actor).await?;
            Ok(Proposal::New(Box::new(next)))
        })
        .await;
    let result = match result {
        // Another server (or batch) wrote the same intent first: that one stands.
        Err(StoreError::Conflict(_)) => Ok(Proposal::Joined(String::new())),
        other => other,
    };
    if circuit_opened {
        raise_circuit_alert(app, policy, now).await;
    }
    result
}

/// Why an auto action must wait for a person: a range wider than /24 or /48, the policy's
/// rate limit, or the cap of its kind.
async fn held_because(
    tx: &mut hikeshi_store::Tx,
    policy: &Policy,
    target: &Target,
    now: i64,
) -> Result<Option<&'static str>, StoreError> {
    if policy.mode != ResponseMode::Auto {
        return Ok(None);
    }
    if target.net().is_some_and(is_wide) {
        return Ok(Some("wide_range"));
    }
    if let Some(limit) = policy.rate_limit {
        let recent = tx
            .response_auto_actions_since(&policy.name, now - rate_window_ms(policy))
            .await?;
        if recent >= limit.count {
            return Ok(Some("rate_limit"));
        }
    }
    if let Some(cap) = policy.max_in_force {
        if tx.response_in_force_count(policy.action.code()).await? >= cap {
            return Ok(Some("cap"));
        }
    }
    Ok(None)
}

fn rate_window_ms(policy: &Policy) -> i64 {
    policy
        .rate_limit
        .map_or(0, |r| r.per_secs.saturating_mul(1000) as i64)
}

/// The isolation connector cuts off the machine it runs on, and no other: an isolation of
/// another host is refused here rather than left waiting.
fn not_this_host(response: &Response, policy: &Policy, host: &str) -> Option<Stop> {
    let iso = response.isolation.as_ref()?;
    (policy.connector == "isolation" && iso.host() != host).then(|| Stop {
        reason: "not_this_host",
        entry: format!("this server isolates only {}", iso.host()),
    })
}

/// An address of the inventory is ours: blocking it is not this tool's job.
async fn inventory_stop(app: &App, target: &IpNet) -> Result<Option<Stop>, StoreError> {
    if target.prefix_len() != target.max_prefix_len() {
        return Ok(None);
    }
    let ip = target.addr().to_string();
    Ok(app.store.asset_with_ip(&ip).await?.map(|(name, _)| Stop {
        reason: "inventory",
        entry: format!("{ip} (asset {name})"),
    }))
}

pub fn plan_hash(plan: &str) -> String {
    hex::encode(Sha256::digest(plan.as_bytes()))
}

/// One high alert per policy and rate window says the circuit is open.
async fn raise_circuit_alert(app: &App, policy: &Policy, now: i64) {
    let window = rate_window_ms(policy).max(1);
    let hit = NewHit {
        hit_key: format!("response-circuit/{}/{}", policy.name, now / window),
        dedup_key: format!("response-circuit/{}", policy.name),
        rule_id: "hikeshi:response-circuit".into(),
        // A rule title, like the Sigma rules' own: data in one language, not a UI string.
        rule_title: format!(
            "Response circuit open: policy {} hit its rate limit; further actions wait for approval",
            policy.name
        ),
        level: "high".into(),
        tags: "[\"hikeshi.response\"]".into(),
        source: "hikeshi:response".into(),
        host: String::new(),
        user_name: String::new(),
        src_ip: String::new(),
        dst_ip: String::new(),
        event_json: serde_json::json!({"policy": policy.name, "policy_version": policy.version()})
            .to_string(),
        seen_at: now,
        suppression_id: None,
        blocked: false,
    };
    if let Err(e) = app.store.record_hits(&[hit], rate_window_ms(policy)).await {
        tracing::warn!(error = %e, "circuit alert not recorded");
    }
}
