//! The reconciler: for its connector, compare what should be in force (the union of applying
//! and active actions, each target with its latest expiry) with what the firewall holds, and
//! repair the difference in one write. It also moves actions along: approved → applying →
//! active once the element is read back, expired → reverting → reverted, unanswered approvals
//! → denied. It runs once at start-up before anything new is accepted, then on every wake-up
//! and every `reconcile_every_ms`, under a lease so that one server at a time does it.

use super::nftables::{Element, Nftables, Observed};
use super::push::Told;
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

/// One pass over every connector, each under its own lease. A failing connector does not
/// keep the others from their pass.
pub async fn reconcile_all(app: &App) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = reconcile_once(app).await {
        errors.push(format!("nftables: {e}"));
    }
    if let Some(iso) = &app.response.isolation {
        let now = app.calendar.now_ms();
        let result = under_lease(app, &iso.lease(), now, false, async || {
            super::isolation::pass(app, iso, now).await
        })
        .await;
        if let Err(e) = result {
            errors.push(format!("isolation: {e}"));
        }
    }
    for hook in &app.response.webhooks {
        if let Err(e) = told_pass(app, hook).await {
            errors.push(e);
        }
    }
    for program in &app.response.execs {
        if let Err(e) = told_pass(app, program).await {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

async fn told_pass(app: &App, told: &impl Told) -> Result<Option<Pass>, String> {
    let connector = told.connector();
    let now = app.calendar.now_ms();
    under_lease(app, &connector, now, false, async || {
        super::push::pass(app, told, now).await
    })
    .await
    .map_err(|e| format!("{connector}: {e}"))
}

/// One pass over the nftables connector. `Ok(None)`: no connector, or another server holds
/// the lease.
pub async fn reconcile_once(app: &App) -> Result<Option<Pass>, String> {
    let Some(nft) = &app.response.nftables else {
        return Ok(None);
    };
    let settings = &app.config.response;
    let now = app.calendar.now_ms();
    under_lease(app, nft.name(), now, true, async || {
        pass(app, nft, settings, now).await
    })
    .await
}

/// Runs `pass` if this server holds (or can take) the connector's lease, and records the
/// connector's health. `firewall`: its in-force count is the /metrics gauge.
async fn under_lease(
    app: &App,
    connector: &str,
    now: i64,
    firewall: bool,
    pass: impl AsyncFnOnce() -> Result<Pass, String>,
) -> Result<Option<Pass>, String> {
    let settings = &app.config.response;
    let holder = &app.response.holder;
    let leased = app
        .store
        .claim_response_lease(connector, holder, now, now + settings.lease_ms as i64)
        .await
        .map_err(|e| e.to_string())?;
    if !leased {
        return Ok(None);
    }
    let result = pass().await;
    let counters = &app.response.counters;
    counters.passes.fetch_add(1, Relaxed);
    let health = match &result {
        Ok(p) => {
            counters.drift_repaired.fetch_add(p.drift as u64, Relaxed);
            if firewall {
                counters.in_force.store(p.in_force as u64, Relaxed);
            }
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
        .and_then(|all| all.into_iter().find(|h| h.connector == connector));
    let record = ConnectorHealth {
        connector: connector.into(),
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
    // Move what time has decided before looking at the firewall.
    let live = live_actions(app, nft.name(), now).await?;
    let desired = without_covered(desired_elements(&live, now));
    out.in_force = desired.len();
    let mut observed = nft.observe().await?;
    let repair = Repair::between(&desired, &observed, now);
    let mut write_error = None;
    if !repair.is_empty() {
        out.drift = repair.drift;
        match carry_out(nft, &repair, &desired, now, &app.response.guard).await {
            Ok(refused) => {
                let mut stopped = Vec::new();
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
                        stopped.push((row.clone(), after));
                    }
                }
                out.failed += save_all(app, &stopped)
                    .await?
                    .into_iter()
                    .filter(|s| *s)
                    .count();
                observed = nft.observe().await?;
            }
            Err(e) => write_error = Some(e),
        }
    }
    // What the firewall now holds decides the rest: verified, failed, ended.
    let mut moves = Vec::new();
    for row in &live {
        let Some(net) = parse_net(&row.target) else {
            continue;
        };
        let after = match state_of(row) {
            ActionState::Applying => Some(match (&write_error, in_table(&observed, &net)) {
                (None, Some(left)) => moved(row, ActionState::Active, now, |a| {
                    a.activated_at = Some(now);
                    a.last_error.clear();
                    a.connector_answer = format!(
                        "read back from nftables: {net} in force ({} s left)",
                        left / 1000
                    );
                }),
                (error, _) => {
                    let message = error
                        .clone()
                        .unwrap_or_else(|| format!("{net} is not in the table after writing it"));
                    failed(row, settings, now, message)
                }
            }),
            ActionState::Reverting => {
                let still_wanted = desired.contains_key(&net);
                let gone = observed
                    .elements
                    .get(&net)
                    .is_none_or(|left| *left < NEAR_EXPIRY_MS);
                (still_wanted || gone).then(|| {
                    moved(row, ActionState::Reverted, now, |a| {
                        a.connector_answer = if still_wanted {
                            format!("{net} stays: another action still blocks it")
                        } else {
                            format!("{net} is no longer in the table")
                        };
                    })
                })
            }
            _ => None,
        };
        if let Some(after) = after {
            moves.push((row.clone(), after));
        }
    }
    save_counted(app, &moves, &mut out).await?;
    match write_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The connector's actions after the moves time alone decides (see [`timed_move`]); an
/// action someone else moved meanwhile is left to the next pass.
pub(super) async fn live_actions(
    app: &App,
    connector: &str,
    now: i64,
) -> Result<Vec<ResponseAction>, String> {
    let rows = app
        .store
        .response_actions_of_connector(connector)
        .await
        .map_err(|e| e.to_string())?;
    let mut live = Vec::new();
    let mut moves = Vec::new();
    for row in rows {
        match timed_move(&row, now) {
            Some(after) => moves.push((row, after)),
            None => live.push(row),
        }
    }
    for ((_, after), saved) in moves.iter().zip(save_all(app, &moves).await?) {
        if saved {
            live.push(after.clone());
        }
    }
    Ok(live)
}

/// The move time alone decides: an approval not given in time, a block whose time ended
/// (before or after it was applied), an approved action or a due retry to apply.
pub(super) fn timed_move(row: &ResponseAction, now: i64) -> Option<ResponseAction> {
    let expired = row.expires_at.is_some_and(|t| t <= now);
    match state_of(row) {
        ActionState::PendingApproval if row.approval_expires_at.is_some_and(|t| t <= now) => {
            Some(moved(row, ActionState::ApprovalExpired, now, |_| {}))
        }
        ActionState::Approved if expired => Some(moved(row, ActionState::Reverted, now, |a| {
            a.last_error = "its time ended before it was applied".into();
        })),
        ActionState::Approved => Some(moved(row, ActionState::Applying, now, |a| {
            a.attempts += 1;
        })),
        ActionState::Failed if !expired && row.next_attempt_at.is_some_and(|t| t <= now) => {
            Some(moved(row, ActionState::Applying, now, |a| a.attempts += 1))
        }
        ActionState::Applying | ActionState::Active if expired => {
            Some(moved(row, ActionState::Reverting, now, |_| {}))
        }
        _ => None,
    }
}

/// The remaining time of the element holding `net`: its own, or a wider one's.
fn in_table(observed: &Observed, net: &IpNet) -> Option<i64> {
    observed.elements.get(net).copied().or_else(|| {
        observed
            .elements
            .iter()
            .find(|(wider, _)| wider.contains(net))
            .map(|(_, left)| *left)
    })
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

/// What must change in the firewall: rebuild a missing or damaged table, delete extra
/// elements (and those whose timeout is off), add missing ones. Elements about to expire on
/// either side are left to the kernel.
#[derive(Debug, Default, PartialEq)]
struct Repair {
    rebuild: bool,
    delete: Vec<IpNet>,
    add: Vec<Element>,
    /// How many things differed.
    drift: usize,
}

impl Repair {
    fn between(desired: &BTreeMap<IpNet, (i64, String)>, observed: &Observed, now: i64) -> Repair {
        let element = |net: &IpNet, (expires_at, id): &(i64, String)| Element {
            net: *net,
            remaining_ms: expires_at - now,
            action_id: id.clone(),
        };
        let mut r = Repair::default();
        if !observed.intact {
            r.rebuild = true;
            r.drift = 1;
            r.add = desired
                .iter()
                .filter(|(_, (expires_at, _))| *expires_at > now)
                .map(|(net, want)| element(net, want))
                .collect();
            return r;
        }
        for (net, want) in desired {
            let remaining = want.0 - now;
            if remaining < NEAR_EXPIRY_MS {
                continue;
            }
            match observed.elements.get(net) {
                None => r.add.push(element(net, want)),
                Some(left) if (left - remaining).abs() > EXPIRY_TOLERANCE_MS => {
                    r.delete.push(*net);
                    r.add.push(element(net, want));
                }
                Some(_) => continue,
            }
            r.drift += 1;
        }
        for (net, left) in &observed.elements {
            if !desired.contains_key(net) && *left >= NEAR_EXPIRY_MS {
                r.delete.push(*net);
                r.drift += 1;
            }
        }
        r
    }

    fn is_empty(&self) -> bool {
        !self.rebuild && self.delete.is_empty() && self.add.is_empty()
    }
}

/// Writes a repair. A batch the kernel refuses (an element that expired between reading and
/// writing, say) falls back to rebuilding the table with everything that should be in it.
async fn carry_out(
    nft: &Nftables,
    repair: &Repair,
    desired: &BTreeMap<IpNet, (i64, String)>,
    now: i64,
    guard: &super::guardrails::NeverBlock,
) -> Result<Vec<(Element, super::guardrails::Stop)>, String> {
    if repair.rebuild {
        nft.recreate().await?;
    }
    match nft.change(&repair.delete, &repair.add, guard).await {
        Ok(refused) => Ok(refused),
        Err(e) if !repair.rebuild => {
            tracing::warn!(error = %e, "nftables refused a batch; rebuilding hikeshi's table");
            let full = Repair::between(desired, &Observed::default(), now);
            nft.recreate().await?;
            nft.change(&[], &full.add, guard).await
        }
        Err(e) => Err(e),
    }
}

/// An interval set refuses overlapping elements: a target inside another target in force is
/// left out (the wider one blocks it anyway).
fn without_covered(desired: BTreeMap<IpNet, (i64, String)>) -> BTreeMap<IpNet, (i64, String)> {
    // Only ranges can cover anything, and there are few of them beside many single addresses:
    // checking each target against the ranges alone keeps a pass over 10,000 blocks linear.
    let ranges: Vec<IpNet> = desired
        .keys()
        .filter(|n| n.prefix_len() < n.max_prefix_len())
        .copied()
        .collect();
    desired
        .into_iter()
        .filter(|(net, _)| {
            !ranges
                .iter()
                .any(|other| other != net && other.contains(net))
        })
        .collect()
}

pub(super) fn failed(
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
pub(super) fn backoff_ms(attempts: i64) -> i64 {
    let base = 1000i64
        .saturating_mul(1 << attempts.clamp(0, 6))
        .min(60_000);
    base + rand::Rng::gen_range(&mut rand::thread_rng(), 0..=base / 5)
}

pub(super) fn state_of(row: &ResponseAction) -> ActionState {
    ActionState::parse(&row.state).unwrap_or(ActionState::Failed)
}

fn parse_net(text: &str) -> Option<IpNet> {
    text.parse().ok()
}

pub(super) fn moved(
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

/// [`save_all`], counting what became active, failed and reverted.
pub(super) async fn save_counted(
    app: &App,
    moves: &[(ResponseAction, ResponseAction)],
    out: &mut Pass,
) -> Result<(), String> {
    for ((_, after), saved) in moves.iter().zip(save_all(app, moves).await?) {
        match state_of(after) {
            ActionState::Active if saved => out.activated += 1,
            ActionState::Failed if saved => out.failed += 1,
            ActionState::Reverted if saved => out.reverted += 1,
            _ => {}
        }
    }
    Ok(())
}

/// Writes the moves in one transaction; for each, `false` when someone else moved it meanwhile
/// (a revoke) — the next pass sees what they did.
pub(super) async fn save_all(
    app: &App,
    moves: &[(ResponseAction, ResponseAction)],
) -> Result<Vec<bool>, String> {
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let actor = reconciler_actor();
    app.store
        .write(async |tx| {
            let mut saved = Vec::with_capacity(moves.len());
            for (before, after) in moves {
                if !state_of(before).may_become(state_of(after)) {
                    tracing::error!(id = %before.id, from = %before.state, to = %after.state, "refused an action move the lifecycle does not allow");
                    saved.push(false);
                    continue;
                }
                saved.push(tx.save_response_action(before, after, &actor).await?);
            }
            Ok::<_, hikeshi_store::StoreError>(saved)
        })
        .await
        .map_err(|e| e.to_string())
}

/// The reconciler's loop until shutdown; gives the leases up on the way out. `None` when no
/// connector is configured.
pub fn spawn(app: App, mut shutdown: Shutdown) -> Option<tokio::task::JoinHandle<()>> {
    let mut connectors: Vec<String> = app
        .response
        .webhooks
        .iter()
        .map(|h| h.connector())
        .chain(app.response.execs.iter().map(|e| e.connector()))
        .collect();
    if let Some(nft) = &app.response.nftables {
        connectors.push(nft.name().into());
    }
    if let Some(iso) = &app.response.isolation {
        connectors.push(iso.lease());
    }
    if connectors.is_empty() {
        return None;
    }
    let every = Duration::from_millis(app.config.response.reconcile_every_ms.max(100));
    Some(tokio::spawn(async move {
        loop {
            if let Err(e) = reconcile_all(&app).await {
                tracing::warn!(error = %e, "response reconcile failed");
            }
            tokio::select! {
                _ = app.response.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait() => break,
            }
        }
        for connector in connectors {
            let _ = app
                .store
                .release_response_lease(&connector, &app.response.holder)
                .await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("net")
    }

    #[test]
    fn only_the_differences_are_written() {
        let now = 1_000_000;
        let mut desired = BTreeMap::new();
        desired.insert(net("192.0.2.1/32"), (now + 60_000, "a".to_string()));
        desired.insert(net("192.0.2.2/32"), (now + 60_000, "b".to_string()));
        desired.insert(net("192.0.2.3/32"), (now + 1_000, "near".to_string()));
        desired.insert(net("192.0.2.4/32"), (now + 600_000, "longer".to_string()));
        let mut observed = Observed {
            intact: true,
            elements: BTreeMap::new(),
        };
        observed.elements.insert(net("192.0.2.1/32"), 59_000);
        observed.elements.insert(net("192.0.2.4/32"), 59_000);
        observed.elements.insert(net("198.51.100.9/32"), 30_000);
        observed.elements.insert(net("198.51.100.10/32"), 1_000);
        let r = Repair::between(&desired, &observed, now);
        assert!(!r.rebuild);
        let added: Vec<String> = r.add.iter().map(|e| e.net.to_string()).collect();
        assert_eq!(added, vec!["192.0.2.2/32", "192.0.2.4/32"]);
        let deleted: Vec<String> = r.delete.iter().map(|n| n.to_string()).collect();
        assert_eq!(deleted, vec!["192.0.2.4/32", "198.51.100.9/32"]);
        assert_eq!(r.drift, 3);

        let gone = Repair::between(&desired, &Observed::default(), now);
        assert!(gone.rebuild);
        assert_eq!(gone.add.len(), 4);
    }

    #[test]
    fn a_target_inside_a_wider_one_is_left_out() {
        let mut desired = BTreeMap::new();
        desired.insert(net("10.0.0.0/24"), (5, "wide".to_string()));
        desired.insert(net("10.0.0.7/32"), (9, "inside".to_string()));
        desired.insert(net("10.0.1.7/32"), (9, "outside".to_string()));
        let kept: Vec<String> = without_covered(desired)
            .keys()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(kept, vec!["10.0.0.0/24", "10.0.1.7/32"]);
    }
}
