//! The reconciler: for its connector, compare what should be in force (the union of applying
//! and active actions, each target with its latest expiry) with what the firewall holds, and
//! repair the difference in one write. It also moves actions along: approved → applying →
//! active once the element is read back, expired → reverting → reverted, unanswered approvals
//! → denied. It runs once at start-up before anything new is accepted, then on every wake-up
//! and every `reconcile_every_ms`, under a lease so that one server at a time does it.

use super::nftables::{Element, Nftables, Observed};
use super::{reconciler_actor, ResponseSettings};
use crate::jobs::Shutdown;
use crate::App;
use hikeshi_model::ActionState;
use hikeshi_store::{ConnectorHealth, ResponseAction};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Elements this close to their end are left to the kernel's own timeout: neither re-added
/// nor removed, so a pass racing the timer does not rewrite the table for nothing.
const NEAR_EXPIRY_MS: i64 = 1500;
/// nft reports remaining time in whole seconds; a difference within this is no drift.
const EXPIRY_TOLERANCE_MS: i64 = 2500;

/// Counters since start, for /metrics.
#[derive(Debug, Default)]
pub struct ReconcileCounters {
    pub passes: AtomicU64,
    pub drift_repaired: AtomicU64,
    pub failures: AtomicU64,
    pub in_force: AtomicU64,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    pub in_force: usize,
    pub drift: usize,
    pub activated: usize,
    pub reverted: usize,
    pub failed: usize,
}

/// One pass over the nftables connector. `Ok(None)`: no connector, or another server holds
/// the lease.
pub async fn reconcile_once(app: &App) -> Result<Option<Pass>, String> {
    let Some(nft) = &app.response.nftables else {
        return Ok(None);
    };
    let settings = &app.config.response;
    let holder = &app.response.holder;
    let now = app.calendar.now_ms();
    let leased = app
        .store
        .claim_response_lease(nft.name(), holder, now, now + settings.lease_ms as i64)
        .await
        .map_err(|e| e.to_string())?;
    if !leased {
        return Ok(None);
    }
    let result = pass(app, nft, settings, now).await;
    let counters = &app.response.counters;
    counters.passes.fetch_add(1, Relaxed);
    let health = match &result {
        Ok(p) => {
            counters.drift_repaired.fetch_add(p.drift as u64, Relaxed);
            counters.in_force.store(p.in_force as u64, Relaxed);
            (p.in_force as i64, p.drift as i64, 0, String::new())
        }
        Err(e) => {
            counters.failures.fetch_add(1, Relaxed);
            (0, 0, 1, e.clone())
        }
    };
    let previous = app
        .store
        .connector_health()
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|h| h.connector == nft.name()));
    let record = ConnectorHealth {
        connector: nft.name().into(),
        holder: holder.clone(),
        last_reconcile_at: now,
        in_force: health.0,
        drift_repaired: previous.as_ref().map_or(0, |p| p.drift_repaired) + health.1,
        failures: previous.as_ref().map_or(0, |p| p.failures) + health.2,
        last_error: health.3,
    };
    if let Err(e) = app.store.record_connector_health(&record).await {
        tracing::warn!(error = %e, "connector health not recorded");
    }
    result.map(Some)
}

async fn pass(
    app: &App,
    nft: &Nftables,
    settings: &ResponseSettings,
    now: i64,
) -> Result<Pass, String> {
    let mut out = Pass::default();
    let rows = app
        .store
        .response_actions_of_connector(nft.name())
        .await
        .map_err(|e| e.to_string())?;
    // Move what time has decided before looking at the firewall.
    let mut live = Vec::new();
    for row in rows {
        let expired = row.expires_at.is_some_and(|t| t <= now);
        let next = match state_of(&row) {
            ActionState::PendingApproval if row.approval_expires_at.is_some_and(|t| t <= now) => {
                Some(moved(&row, ActionState::ApprovalExpired, now, |_| {}))
            }
            ActionState::PendingApproval => None,
            ActionState::Approved if expired => {
                Some(moved(&row, ActionState::Reverted, now, |a| {
                    a.last_error = "its time ended before it was applied".into();
                }))
            }
            ActionState::Approved => Some(moved(&row, ActionState::Applying, now, |a| {
                a.attempts += 1;
            })),
            ActionState::Failed if expired || row.next_attempt_at.is_none() => None,
            ActionState::Failed if row.next_attempt_at.is_some_and(|t| t <= now) => {
                Some(moved(&row, ActionState::Applying, now, |a| a.attempts += 1))
            }
            ActionState::Applying | ActionState::Active if expired => {
                Some(moved(&row, ActionState::Reverting, now, |_| {}))
            }
            _ => None,
        };
        match next {
            Some(after) => {
                if save(app, &row, &after).await? {
                    live.push(after);
                }
            }
            None => live.push(row),
        }
    }
    let desired = desired_elements(&live, now);
    out.in_force = desired.len();
    let mut observed = nft.observe().await?;
    let drift = drift_between(&desired, &observed, now);
    let mut write_error = None;
    if drift > 0 {
        out.drift = drift;
        let elements: Vec<Element> = desired
            .iter()
            .map(|(net, (expires_at, id))| Element {
                net: *net,
                remaining_ms: expires_at - now,
                action_id: id.clone(),
            })
            .collect();
        match nft.write_all(&elements, &app.response.guard).await {
            Ok(refused) => {
                for (element, stop) in refused {
                    for row in live
                        .iter()
                        .filter(|r| parse_net(&r.target) == Some(element.net))
                    {
                        let after = moved(row, ActionState::Failed, now, |a| {
                            a.last_error =
                                format!("never-block entry {} ({})", stop.entry, stop.reason);
                            a.next_attempt_at = None;
                        });
                        if save(app, row, &after).await? {
                            out.failed += 1;
                        }
                    }
                }
                observed = nft.observe().await?;
            }
            Err(e) => write_error = Some(e),
        }
    }
    for row in &live {
        let Some(net) = parse_net(&row.target) else {
            continue;
        };
        match state_of(row) {
            ActionState::Applying => {
                let after = match (&write_error, observed.elements.get(&net)) {
                    (None, Some(left)) => moved(row, ActionState::Active, now, |a| {
                        a.activated_at = Some(now);
                        a.last_error.clear();
                        a.connector_answer = format!(
                            "read back from nftables: {} in {} ({} s left)",
                            net,
                            if net.addr().is_ipv4() {
                                "block_v4"
                            } else {
                                "block_v6"
                            },
                            left / 1000
                        );
                    }),
                    (error, _) => {
                        let message = error.clone().unwrap_or_else(|| {
                            format!("{net} is not in the table after writing it")
                        });
                        failed(row, settings, now, message)
                    }
                };
                if save(app, row, &after).await? {
                    if after.state == ActionState::Active.code() {
                        out.activated += 1;
                    } else {
                        out.failed += 1;
                    }
                }
            }
            ActionState::Reverting => {
                let still_wanted = desired.contains_key(&net);
                let gone = observed
                    .elements
                    .get(&net)
                    .is_none_or(|left| *left < NEAR_EXPIRY_MS);
                if still_wanted || gone {
                    let after = moved(row, ActionState::Reverted, now, |a| {
                        a.connector_answer = if still_wanted {
                            format!("{net} stays: another action still blocks it")
                        } else {
                            format!("{net} is no longer in the table")
                        };
                    });
                    if save(app, row, &after).await? {
                        out.reverted += 1;
                    }
                }
            }
            _ => {}
        }
    }
    match write_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Each target in force once, with the latest expiry among the actions that want it (the
/// longest wins; revoking one keeps the others).
fn desired_elements(rows: &[ResponseAction], now: i64) -> BTreeMap<IpNet, (i64, String)> {
    let mut desired: BTreeMap<IpNet, (i64, String)> = BTreeMap::new();
    for row in rows {
        let wanted = matches!(state_of(row), ActionState::Applying | ActionState::Active);
        let (Some(expires_at), Some(net)) = (row.expires_at, parse_net(&row.target)) else {
            continue;
        };
        if !wanted || expires_at <= now {
            continue;
        }
        let entry = desired.entry(net).or_insert((expires_at, row.id.clone()));
        if expires_at > entry.0 {
            *entry = (expires_at, row.id.clone());
        }
    }
    desired
}

/// How many things differ: a missing or damaged table, a missing element, an extra one, or
/// one whose timeout is off. Elements about to expire on either side are not counted.
fn drift_between(desired: &BTreeMap<IpNet, (i64, String)>, observed: &Observed, now: i64) -> usize {
    let mut drift = usize::from(!observed.intact);
    for (net, (expires_at, _)) in desired {
        let want = expires_at - now;
        if want < NEAR_EXPIRY_MS {
            continue;
        }
        match observed.elements.get(net) {
            None => drift += 1,
            Some(left) if (left - want).abs() > EXPIRY_TOLERANCE_MS => drift += 1,
            Some(_) => {}
        }
    }
    for (net, left) in &observed.elements {
        if !desired.contains_key(net) && *left >= NEAR_EXPIRY_MS {
            drift += 1;
        }
    }
    drift
}

fn failed(
    row: &ResponseAction,
    settings: &ResponseSettings,
    now: i64,
    message: String,
) -> ResponseAction {
    moved(row, ActionState::Failed, now, |a| {
        a.last_error = message.chars().take(2000).collect();
        a.next_attempt_at =
            (a.attempts < settings.max_attempts).then(|| now + backoff_ms(a.attempts));
    })
}

/// 1 s doubling up to a minute, with up to a fifth of jitter so that retries of many actions
/// do not arrive together.
fn backoff_ms(attempts: i64) -> i64 {
    let base = 1000i64
        .saturating_mul(1 << attempts.clamp(0, 6))
        .min(60_000);
    base + rand::Rng::gen_range(&mut rand::thread_rng(), 0..=base / 5)
}

fn state_of(row: &ResponseAction) -> ActionState {
    ActionState::parse(&row.state).unwrap_or(ActionState::Failed)
}

fn parse_net(text: &str) -> Option<IpNet> {
    text.parse().ok()
}

fn moved(
    row: &ResponseAction,
    to: ActionState,
    now: i64,
    change: impl FnOnce(&mut ResponseAction),
) -> ResponseAction {
    let mut after = row.clone();
    after.state = to.code().into();
    after.updated_at = now.max(row.updated_at + 1);
    change(&mut after);
    after
}

/// `false`: someone else moved it meanwhile (a revoke); the next pass sees what they did.
async fn save(app: &App, before: &ResponseAction, after: &ResponseAction) -> Result<bool, String> {
    if !state_of(before).may_become(state_of(after)) {
        tracing::error!(id = %before.id, from = %before.state, to = %after.state, "refused an action move the lifecycle does not allow");
        return Ok(false);
    }
    let actor = reconciler_actor();
    app.store
        .write(async |tx| tx.save_response_action(before, after, &actor).await)
        .await
        .map_err(|e| e.to_string())
}

/// The reconciler's loop until shutdown; gives the lease up on the way out.
pub fn spawn(app: App, mut shutdown: Shutdown) -> Option<tokio::task::JoinHandle<()>> {
    let nft_name = app.response.nftables.as_ref()?.name();
    let every = Duration::from_millis(app.config.response.reconcile_every_ms.max(100));
    Some(tokio::spawn(async move {
        loop {
            if let Err(e) = reconcile_once(&app).await {
                tracing::warn!(error = %e, "response reconcile failed");
            }
            tokio::select! {
                _ = app.response.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait() => break,
            }
        }
        let _ = app
            .store
            .release_response_lease(nft_name, &app.response.holder)
            .await;
    }))
}
