//! Host isolation on Linux: cuts the machine hikeshi runs on off its networks, except
//! loopback, the management addresses and the DNS resolvers, for IPv4 and IPv6 — with a
//! dead-man check, so that isolating can never lock the responders out: if the management
//! probe does not connect right after isolating, or fails while isolated, the isolation is
//! taken back by itself and the action fails with the reason.
//!
//! The rules live in a table of their own (`inet hikeshi_isolate`), written whole in one nft
//! transaction and read back on every pass; no other table is touched. Unlike a block, an
//! isolation has no kernel timeout: a dead hikeshi leaves the host contained, which is what a
//! contained host should be; the reconciler ends it on time when hikeshi runs.

use super::nftables::run_nft;
use super::reconcile::{live_actions, moved, save_counted, state_of, Pass};
use crate::App;
use hikeshi_model::ActionState;
use hikeshi_store::ResponseAction;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

/// `[response.isolation]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IsolationSettings {
    /// This machine's name as alerts carry it: the only host this connector isolates.
    pub host: String,
    /// Addresses and ranges that stay reachable both ways (the responders' jump host, the
    /// management network).
    pub management: Vec<IpNet>,
    /// Resolvers: DNS (UDP and TCP port 53) to them stays open.
    #[serde(default)]
    pub dns: Vec<IpNet>,
    /// The dead-man: a TCP address on the management side that must accept a connection
    /// right after isolating and keep accepting while isolated.
    pub probe: SocketAddr,
    #[serde(default = "default_probe_timeout_ms")]
    pub probe_timeout_ms: u64,
    /// Consecutive failed probes while isolated before the isolation is taken back.
    #[serde(default = "default_dead_man_failures")]
    pub dead_man_failures: u32,
    #[serde(default = "default_nft")]
    pub nft: PathBuf,
    #[serde(default = "default_table")]
    pub table: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_probe_timeout_ms() -> u64 {
    2000
}
fn default_dead_man_failures() -> u32 {
    2
}
fn default_nft() -> PathBuf {
    PathBuf::from("nft")
}
fn default_table() -> String {
    "hikeshi_isolate".into()
}
fn default_timeout_ms() -> u64 {
    5000
}

impl IsolationSettings {
    pub fn check(&self) -> Result<(), String> {
        if super::guardrails::canonical_host(&self.host).as_deref() != Some(self.host.as_str()) {
            return Err(format!(
                "[response.isolation] host `{}` must be a host name in lower case",
                self.host
            ));
        }
        if self.management.is_empty() {
            return Err("[response.isolation] management needs at least one address".into());
        }
        if !self
            .management
            .iter()
            .any(|net| net.contains(&self.probe.ip()))
        {
            return Err(format!(
                "[response.isolation] probe {} is not inside the management addresses",
                self.probe
            ));
        }
        let table_ok = !self.table.is_empty()
            && self.table.len() <= 32
            && self
                .table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !table_ok {
            return Err("[response.isolation] table is 1 to 32 letters, digits or _".into());
        }
        if self.dead_man_failures == 0 {
            return Err("[response.isolation] dead_man_failures must be at least 1".into());
        }
        Ok(())
    }
}

pub struct Isolation {
    settings: IsolationSettings,
    /// Failed probes in a row while isolated.
    failed_probes: AtomicU32,
}

/// What the firewall holds of hikeshi's isolation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Absent,
    /// Present and exactly as written.
    Intact,
    /// Present but changed by hand (a chain, rule or address gone).
    Damaged,
}

impl Isolation {
    pub fn new(settings: IsolationSettings) -> Isolation {
        Isolation {
            settings,
            failed_probes: AtomicU32::new(0),
        }
    }

    /// The connector's name in policies and actions.
    pub fn name(&self) -> &'static str {
        "isolation"
    }

    /// The lease is per host: servers on one database each isolate their own machine.
    pub fn lease(&self) -> String {
        format!("isolation:{}", self.settings.host)
    }

    pub fn host(&self) -> &str {
        &self.settings.host
    }

    /// The accept rules of the input and output chains (each chain drops the rest).
    fn rules(&self) -> (Vec<String>, Vec<String>) {
        let s = &self.settings;
        let (mgmt4, mgmt6) = split(&s.management);
        let (dns4, dns6) = split(&s.dns);
        let mut rules_in = vec!["iif \"lo\" accept".to_string()];
        let mut rules_out = vec!["oif \"lo\" accept".to_string()];
        // Neighbour discovery is link-local; without it IPv6 to the management side stops.
        let nd = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept";
        rules_in.push(nd.into());
        rules_out.push(nd.into());
        for (family, set) in [("ip", &mgmt4), ("ip6", &mgmt6)] {
            if !set.is_empty() {
                rules_in.push(format!("{family} saddr {{ {} }} accept", set.join(", ")));
                rules_out.push(format!("{family} daddr {{ {} }} accept", set.join(", ")));
            }
        }
        for (family, set) in [("ip", &dns4), ("ip6", &dns6)] {
            if !set.is_empty() {
                let addrs = set.join(", ");
                for proto in ["udp", "tcp"] {
                    rules_out.push(format!(
                        "{family} daddr {{ {addrs} }} {proto} dport 53 accept"
                    ));
                    rules_in.push(format!(
                        "{family} saddr {{ {addrs} }} {proto} sport 53 accept"
                    ));
                }
            }
        }
        (rules_in, rules_out)
    }

    /// The whole table as one nft script; the plan shows it.
    pub fn ruleset(&self) -> String {
        let (rules_in, rules_out) = self.rules();
        let chain = |name: &str, hook: &str, rules: &[String]| {
            let body: String = rules.iter().map(|r| format!("    {r}\n")).collect();
            format!(
                "  chain {name} {{\n    type filter hook {hook} priority -20; policy drop;\n{body}  }}\n"
            )
        };
        format!(
            "table inet {} {{\n{}{}{}}}\n",
            self.settings.table,
            chain("input", "input", &rules_in),
            chain("output", "output", &rules_out),
            chain("forward", "forward", &[]),
        )
    }

    /// How many rules each chain holds when intact.
    fn expected_rules(&self) -> (usize, usize) {
        let (rules_in, rules_out) = self.rules();
        (rules_in.len(), rules_out.len())
    }

    pub async fn observe(&self) -> Result<Observed, String> {
        let t = &self.settings.table;
        let listing = match run_nft(
            &self.settings.nft,
            &["-j", "list", "table", "inet", t],
            None,
            self.settings.timeout_ms,
        )
        .await?
        {
            Ok(out) => out,
            Err(stderr) if stderr.contains("No such file") => return Ok(Observed::Absent),
            Err(stderr) => return Err(format!("nft list table inet {t}: {}", stderr.trim())),
        };
        let doc: serde_json::Value =
            serde_json::from_str(&listing).map_err(|e| format!("nft -j output: {e}"))?;
        let items = doc["nftables"].as_array().cloned().unwrap_or_default();
        let chains: Vec<&serde_json::Value> = items.iter().filter_map(|i| i.get("chain")).collect();
        let rules = |chain: &str| {
            items
                .iter()
                .filter_map(|i| i.get("rule"))
                .filter(|r| r["chain"] == chain)
                .count()
        };
        let dropping = |name: &str| {
            chains
                .iter()
                .any(|c| c["name"] == name && c["policy"] == "drop")
        };
        let (want_in, want_out) = self.expected_rules();
        let intact = chains.len() == 3
            && ["input", "output", "forward"].iter().all(|c| dropping(c))
            && rules("input") == want_in
            && rules("output") == want_out
            && rules("forward") == 0;
        Ok(if intact {
            Observed::Intact
        } else {
            Observed::Damaged
        })
    }

    /// Replaces the table with the whole ruleset in one transaction.
    pub async fn isolate(&self) -> Result<(), String> {
        let t = &self.settings.table;
        let script = format!("table inet {t}\ndelete table inet {t}\n{}", self.ruleset());
        self.nft_script(&script).await
    }

    /// Takes the isolation back (nothing when it is not there).
    pub async fn release(&self) -> Result<(), String> {
        let t = &self.settings.table;
        self.nft_script(&format!("table inet {t}\ndelete table inet {t}\n"))
            .await
    }

    async fn nft_script(&self, script: &str) -> Result<(), String> {
        match run_nft(
            &self.settings.nft,
            &["-f", "-"],
            Some(script),
            self.settings.timeout_ms,
        )
        .await?
        {
            Ok(_) => Ok(()),
            Err(stderr) => Err(format!("nft -f (isolation): {}", stderr.trim())),
        }
    }

    /// The dead-man probe: a TCP connection to the management side.
    pub async fn probe(&self) -> Result<(), String> {
        let limit = Duration::from_millis(self.settings.probe_timeout_ms);
        match tokio::time::timeout(limit, tokio::net::TcpStream::connect(self.settings.probe)).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("probe {}: {e}", self.settings.probe)),
            Err(_) => Err(format!(
                "probe {}: no answer within {} ms",
                self.settings.probe,
                limit.as_millis()
            )),
        }
    }
}

fn split(nets: &[IpNet]) -> (Vec<String>, Vec<String>) {
    let text = |n: &IpNet| {
        if n.prefix_len() == n.max_prefix_len() {
            n.addr().to_string()
        } else {
            n.to_string()
        }
    };
    (
        nets.iter()
            .filter(|n| matches!(n, IpNet::V4(_)))
            .map(text)
            .collect(),
        nets.iter()
            .filter(|n| matches!(n, IpNet::V6(_)))
            .map(text)
            .collect(),
    )
}

/// One pass: isolated while an action wants it and the dead-man is satisfied, released
/// otherwise.
pub async fn pass(app: &App, iso: &Isolation, now: i64) -> Result<Pass, String> {
    let mut out = Pass::default();
    let live = live_actions(app, iso.name(), now).await?;
    let mut moves = Vec::new();
    // Only this machine's isolations are this pass's; another server's are its own.
    let ours: Vec<&ResponseAction> = live.iter().filter(|r| r.target == iso.host()).collect();
    let wanted = ours.iter().any(|r| {
        matches!(state_of(r), ActionState::Applying | ActionState::Active)
            && r.expires_at.is_some_and(|t| t > now)
    });
    let observed = iso.observe().await?;
    let mut note = String::new();
    let mut dead_man = None;
    if wanted {
        if observed != Observed::Intact {
            // Drift: edited by hand, or gone while an action was already active.
            let was_active = ours.iter().any(|r| state_of(r) == ActionState::Active);
            out.drift = usize::from(observed == Observed::Damaged || was_active);
            iso.isolate().await?;
            note = "isolation table written".into();
        }
        match iso.probe().await {
            Ok(()) => {
                iso.failed_probes.store(0, Relaxed);
            }
            Err(e) => {
                let fresh = ours.iter().any(|r| state_of(r) == ActionState::Applying);
                let failures = iso.failed_probes.fetch_add(1, Relaxed) + 1;
                if fresh || failures >= iso.settings.dead_man_failures {
                    iso.release().await?;
                    iso.failed_probes.store(0, Relaxed);
                    dead_man = Some(format!(
                        "dead-man: management unreachable while isolated ({e}); the isolation was taken back"
                    ));
                }
            }
        }
    } else if observed != Observed::Absent {
        iso.release().await?;
        iso.failed_probes.store(0, Relaxed);
    }
    for row in ours {
        let after = match (state_of(row), &dead_man) {
            (ActionState::Applying | ActionState::Active, Some(reason)) => {
                Some(moved(row, ActionState::Failed, now, |a| {
                    a.last_error = reason.clone();
                    a.next_attempt_at = None;
                }))
            }
            (ActionState::Applying, None) => Some(moved(row, ActionState::Active, now, |a| {
                a.activated_at = Some(now);
                a.last_error.clear();
                a.connector_answer = format!(
                    "read back from nftables: inet {} in force; probe {} connects",
                    iso.settings.table, iso.settings.probe
                );
            })),
            (ActionState::Reverting, _) => Some(moved(row, ActionState::Reverted, now, |a| {
                a.connector_answer = if wanted {
                    "the isolation stays: another action still wants it".into()
                } else {
                    "the isolation table is gone".into()
                };
            })),
            _ => None,
        };
        if let Some(after) = after {
            moves.push((row.clone(), after));
        }
    }
    if !note.is_empty() {
        tracing::info!(connector = iso.name(), "{note}");
    }
    out.in_force = usize::from(wanted && dead_man.is_none());
    save_counted(app, &moves, &mut out).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> IsolationSettings {
        toml::from_str(
            r#"host = "web1"
management = ["192.0.2.2/32", "2001:db8:1::2/128"]
dns = ["198.51.100.53/32"]
probe = "192.0.2.2:22"
"#,
        )
        .expect("settings")
    }

    #[test]
    fn the_ruleset_keeps_loopback_management_and_dns_open() {
        let iso = Isolation::new(settings());
        let rules = iso.ruleset();
        assert!(rules.contains("ip saddr { 192.0.2.2 } accept"), "{rules}");
        assert!(
            rules.contains("ip6 daddr { 2001:db8:1::2 } accept"),
            "{rules}"
        );
        assert!(rules.contains("ip daddr { 198.51.100.53 } udp dport 53 accept"));
        assert!(rules.contains("policy drop"));
        assert_eq!(iso.expected_rules(), (6, 6));
        let mut wrong = settings();
        wrong.probe = "203.0.113.1:22".parse().expect("addr");
        assert!(wrong.check().is_err());
        assert_eq!(settings().check(), Ok(()));
    }
}
