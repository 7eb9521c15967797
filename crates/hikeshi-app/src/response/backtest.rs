//! What a policy would have done over stored alerts: the same matching, guardrails, joining,
//! escalation and rate limit as live proposals, replayed in order of first sight with the
//! alerts' own times. Nothing is written and no connector is asked; the same alerts give the
//! same lines. Waiting actions are assumed approved at once (the replay cannot know when a
//! person would have said yes).

use super::guardrails::{is_wide, NeverBlock};
use super::policy::{Policy, Trigger};
use crate::{App, AppError, AppResult, Who};
use hikeshi_model::ResponseMode;
use hikeshi_store::Alert;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// At most this many alerts are replayed in one run.
pub const MAX_ALERTS: i64 = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub at: i64,
    pub alert_id: String,
    pub rule_id: String,
    pub target: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Blocked for `ttl_ms`, the n-th offence.
    Block { ttl_ms: i64, offence: i64 },
    /// Would have waited for a person: `reason` is `approve_mode`, `rate_limit`, `wide_range`.
    Held { reason: String, ttl_ms: i64 },
    /// A dry-run policy renders the plan only.
    Simulated { ttl_ms: i64 },
    /// The target's action was still open.
    Joined { until: i64 },
    /// A guardrail entry stopped it.
    Refused { reason: String, entry: String },
}

/// Replays `alerts` (oldest first) through `policy`. `inventory`: address → asset name.
pub fn replay(
    policy: &Policy,
    alerts: &[Alert],
    guard: &NeverBlock,
    inventory: &BTreeMap<String, String>,
) -> Vec<Line> {
    let mut out = Vec::new();
    let mut open_until: BTreeMap<String, i64> = BTreeMap::new();
    let mut offences: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut auto_times: VecDeque<i64> = VecDeque::new();
    for alert in alerts {
        let trigger = Trigger {
            alert_id: Some(&alert.id),
            rule_id: &alert.rule_id,
            level: &alert.level,
            tags: &alert.tags,
            src_ip: &alert.src_ip,
            dst_ip: &alert.dst_ip,
            host: &alert.host,
        };
        if !policy.matches(&trigger) {
            continue;
        }
        let Some(target) = policy.target(&trigger) else {
            continue;
        };
        let at = alert.first_seen;
        let key = target.to_string();
        let line = |outcome| Line {
            at,
            alert_id: alert.id.clone(),
            rule_id: alert.rule_id.clone(),
            target: key.clone(),
            outcome,
        };
        let stop = target.net().and_then(|net| {
            let single = net.prefix_len() == net.max_prefix_len();
            guard.check(net).or_else(|| {
                single
                    .then(|| inventory.get(&net.addr().to_string()))
                    .flatten()
                    .map(|name| super::guardrails::Stop {
                        reason: "inventory",
                        entry: format!("{} (asset {name})", net.addr()),
                    })
            })
        });
        if let Some(stop) = stop {
            out.push(line(Outcome::Refused {
                reason: stop.reason.into(),
                entry: stop.entry,
            }));
            continue;
        }
        if let Some(until) = open_until.get(&key).filter(|u| **u > at) {
            out.push(line(Outcome::Joined { until: *until }));
            continue;
        }
        let times = offences.entry(key.clone()).or_default();
        let window_start = at - policy.decay_ms();
        let offence = times.iter().filter(|t| **t >= window_start).count() as i64 + 1;
        times.push(at);
        let ttl_ms = policy.ttl_ms(offence);
        open_until.insert(key.clone(), at + ttl_ms);
        let outcome = match policy.mode {
            ResponseMode::DryRun => Outcome::Simulated { ttl_ms },
            ResponseMode::Approve => Outcome::Held {
                reason: "approve_mode".into(),
                ttl_ms,
            },
            ResponseMode::Auto if target.net().is_some_and(is_wide) => Outcome::Held {
                reason: "wide_range".into(),
                ttl_ms,
            },
            ResponseMode::Auto => {
                let over_limit = policy.rate_limit.is_some_and(|limit| {
                    let window = limit.per_secs.saturating_mul(1000) as i64;
                    while auto_times.front().is_some_and(|t| *t < at - window) {
                        auto_times.pop_front();
                    }
                    auto_times.len() as i64 >= limit.count
                });
                if over_limit {
                    Outcome::Held {
                        reason: "rate_limit".into(),
                        ttl_ms,
                    }
                } else {
                    auto_times.push_back(at);
                    Outcome::Block { ttl_ms, offence }
                }
            }
        };
        out.push(line(outcome));
    }
    out
}

/// `hikeshi response backtest`: the named policy over the alerts first seen since `since`.
pub async fn backtest(app: &App, who: &Who, policy_name: &str, since: i64) -> AppResult<Vec<Line>> {
    who.require(true, "replay response policies")?;
    let policy = app.config.response.policy(policy_name).ok_or_else(|| {
        AppError::invalid(
            "policy",
            format!("no response policy is named `{policy_name}`"),
        )
    })?;
    let alerts = app.store.alerts_since(since, MAX_ALERTS).await?;
    let rows = app.store.asset_identifier_rows().await?;
    let names: BTreeMap<String, String> = app
        .store
        .list_assets()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let inventory = rows
        .into_iter()
        .filter(|(kind, _, _)| kind == "ip")
        .map(|(_, value, asset)| {
            let name = names.get(&asset).cloned().unwrap_or(asset);
            (value, name)
        })
        .collect();
    Ok(replay(policy, &alerts, &app.response.guard, &inventory))
}
