//! Automated response: policies turn fresh alert hits into actions (block this sender for this
//! long), actions live through a checked lifecycle with approval, and a reconciler per
//! connector keeps what is in force equal to what should be, repairing drift and ending
//! actions on time. Connectors so far: nftables (read back), webhooks and Wazuh-style
//! scripts (told).
//!
//! - `policy`: what a policy says and its version;
//! - `guardrails`: the never-block set and canonical targets;
//! - `propose`: hits → actions (idempotent, escalating, rate-limited);
//! - `decide`: a person's approve, reject and revoke, and the lists;
//! - `reconcile`: the loop that applies, verifies, repairs and expires;
//! - `nftables`: the firewall connector; `isolation`: cutting this host off, with a dead-man;
//! - `content`: web content kept as its known-good copy (restore, quarantine);
//! - `webhook` and `exec`: the HTTP and script connectors, and `push`, the reconciler's pass
//!   for connectors that cannot be read back.

pub mod backtest;
pub mod content;
pub mod decide;
pub mod exec;
pub mod guardrails;
pub mod isolation;
pub mod metrics;
pub mod nftables;
pub mod policy;
pub mod propose;
pub mod push;
pub mod reconcile;
pub mod webhook;

pub use decide::{approve, reject, revoke, ActionView};
pub use policy::{Policy, Trigger};
pub use propose::on_hits;

use guardrails::{NeverBlock, Target};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `[response]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseSettings {
    /// `[[response.policies]]`.
    pub policies: Vec<Policy>,
    /// Ranges no action may block (CDN, proxies, partners), beside the built-in ones and
    /// hikeshi's own addresses and peers.
    pub never_block: Vec<IpNet>,
    /// The reconciler's pass; a new action wakes it at once.
    pub reconcile_every_ms: u64,
    /// One server reconciles a connector at a time; another takes over this long after it
    /// stopped renewing.
    pub lease_ms: u64,
    /// An action waiting for approval longer than this is denied.
    pub approval_timeout_secs: u64,
    /// Failed applies are retried this many times (with back-off), then the action stays
    /// failed.
    pub max_attempts: i64,
    /// `[response.nftables]`: the firewall connector (off when absent).
    pub nftables: Option<nftables::NftSettings>,
    /// `[response.isolation]`: cutting this host off its networks (off when absent).
    pub isolation: Option<isolation::IsolationSettings>,
    /// `[[response.webhooks]]`: HTTP receivers, named by policies as `webhook:<name>`.
    pub webhooks: Vec<webhook::WebhookSettings>,
    /// `[[response.content]]`: web roots restored from their known-good copy.
    pub content: Vec<content::ContentSettings>,
    /// `[[response.exec]]`: Wazuh-style active-response programs, named as `exec:<name>`.
    pub exec: Vec<exec::ExecSettings>,
    /// hikeshi's own addresses and its peers' (listen addresses, database, NATS, mail relay),
    /// found by the binary from the rest of the configuration.
    #[serde(skip)]
    pub own_addresses: Vec<(IpAddr, String)>,
}

impl Default for ResponseSettings {
    fn default() -> Self {
        ResponseSettings {
            policies: Vec::new(),
            never_block: Vec::new(),
            reconcile_every_ms: 1000,
            lease_ms: 10_000,
            approval_timeout_secs: 3600,
            max_attempts: 5,
            nftables: None,
            isolation: None,
            webhooks: Vec::new(),
            exec: Vec::new(),
            content: Vec::new(),
            own_addresses: Vec::new(),
        }
    }
}

impl ResponseSettings {
    /// Refuses a configuration the reconciler could not carry out.
    pub fn check(&self) -> Result<(), String> {
        if let Some(iso) = &self.isolation {
            iso.check()?;
        }
        let mut sites = std::collections::BTreeSet::new();
        for site in &self.content {
            site.check()?;
            if !sites.insert(site.name.as_str()) {
                return Err(format!(
                    "two [[response.content]] are named `{}`",
                    site.name
                ));
            }
        }
        let mut hooks = std::collections::BTreeSet::new();
        for w in &self.webhooks {
            w.check()?;
            if w.secret.is_none() {
                return Err(format!(
                    "webhook `{}` has no secret: set secret_file or {}",
                    w.name,
                    w.secret_env()
                ));
            }
            if !hooks.insert(w.connector()) {
                return Err(format!("two webhooks are named `{}`", w.name));
            }
        }
        for e in &self.exec {
            e.check()?;
            if !hooks.insert(e.connector()) {
                return Err(format!("two exec connectors are named `{}`", e.name));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.policies {
            p.check()?;
            if !names.insert(p.name.as_str()) {
                return Err(format!("two response policies are named `{}`", p.name));
            }
            let known = match p.connector.as_str() {
                "nftables" => self.nftables.is_some(),
                "isolation" => self.isolation.is_some(),
                other => hooks.contains(other),
            };
            if !known {
                return Err(format!(
                    "policy `{}` uses the connector `{}`, which is not configured ([response.nftables], or the [[response.webhooks]] or [[response.exec]] named after `webhook:` or `exec:`)",
                    p.name, p.connector
                ));
            }
        }
        if self.reconcile_every_ms < 100 || self.lease_ms < 2 * self.reconcile_every_ms {
            return Err(
                "[response] reconcile_every_ms must be ≥ 100 and lease_ms at least twice it".into(),
            );
        }
        Ok(())
    }

    /// Whether `name` is a configured connector that is told rather than read back.
    pub fn has_told_connector(&self, name: &str) -> bool {
        self.webhooks.iter().any(|w| w.connector() == name)
            || self.exec.iter().any(|e| e.connector() == name)
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

impl Response {
    /// The plan an action will carry out through its policy's connector.
    pub fn plan(&self, policy: &Policy, target: &Target, ttl_ms: i64) -> String {
        let kind = policy.action.code();
        use push::Told;
        if let Some(hook) = self
            .webhooks
            .iter()
            .find(|h| h.connector() == policy.connector)
        {
            return hook.plan(kind, &target.to_string(), ttl_ms);
        }
        if let Some(program) = self
            .execs
            .iter()
            .find(|e| e.connector() == policy.connector)
        {
            return program.plan(kind, &target.to_string(), ttl_ms);
        }
        match (target, &self.nftables, &self.isolation) {
            (Target::Net(net), Some(nft), _) if policy.connector == "nftables" => {
                nft.plan(net, ttl_ms)
            }
            (Target::Host(host), _, Some(iso)) if policy.connector == "isolation" => {
                format!("isolate {host} for {} s:\n{}", ttl_ms / 1000, iso.ruleset())
            }
            _ => format!("{kind} {target} for {ttl_ms} ms"),
        }
    }
}

/// What the response use cases share at run time: the never-block set, the connectors and
/// the reconciler's doorbell.
pub struct Response {
    pub guard: NeverBlock,
    pub nftables: Option<nftables::Nftables>,
    pub isolation: Option<isolation::Isolation>,
    pub webhooks: Vec<webhook::Webhook>,
    pub execs: Vec<exec::Exec>,
    /// Rung when an action is ready to apply or was revoked.
    pub wake: tokio::sync::Notify,
    /// Who this process is when it holds a reconciler's lease.
    pub holder: String,
    pub counters: reconcile::ReconcileCounters,
    /// Recent content restores, for the loop guard.
    pub content_loops: content::LoopGuard,
}

impl Response {
    pub fn new(settings: &ResponseSettings) -> Response {
        Response {
            guard: NeverBlock::new(&settings.never_block, &settings.own_addresses),
            nftables: settings.nftables.clone().map(nftables::Nftables::new),
            isolation: settings.isolation.clone().map(isolation::Isolation::new),
            webhooks: built(&settings.webhooks, webhook::Webhook::new, "webhook"),
            execs: built(&settings.exec, exec::Exec::new, "exec"),
            wake: tokio::sync::Notify::new(),
            holder: format!("{}-{}", std::process::id(), hikeshi_store::new_id()),
            counters: Default::default(),
            content_loops: Default::default(),
        }
    }
}

/// The connectors that could be built; `check` refused the others before, so one left out
/// here is said once in the log.
fn built<S: Clone, C>(settings: &[S], new: impl Fn(S) -> Result<C, String>, what: &str) -> Vec<C> {
    settings
        .iter()
        .filter_map(|s| {
            new(s.clone())
                .map_err(|e| tracing::error!(error = %e, "{what} connector left out"))
                .ok()
        })
        .collect()
}

/// The audit actor of what a policy does by itself: `hikeshi-response:<policy>@<version>`.
pub fn policy_actor(policy: &Policy) -> hikeshi_store::Actor {
    hikeshi_store::Actor {
        username: format!("hikeshi-response:{}@{}", policy.name, policy.version()),
    }
}

/// The reconciler's own actor.
pub fn reconciler_actor() -> hikeshi_store::Actor {
    hikeshi_store::Actor {
        username: "hikeshi-reconciler".into(),
    }
}
