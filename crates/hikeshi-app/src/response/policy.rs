//! Response policies: when an alert calls for an action, against which of its fields, what to
//! do, how, for how long and through which connector. Written in `[[response.policies]]`; the
//! version is a hash of the policy's own text, so an action names the exact rules that made it.

use super::guardrails::{canonical_host, canonical_target, Target};
use hikeshi_model::{ActionKind, ResponseMode, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    #[serde(default)]
    pub when: When,
    /// The alert field holding the target: `src_ip` or `dst_ip` (block_ip), `host`
    /// (isolate_host).
    pub target: TargetField,
    pub action: ActionKind,
    pub mode: ResponseMode,
    /// `nftables`, `isolation` (`[response.isolation]`), `webhook:<name>` of a
    /// `[[response.webhooks]]` or `exec:<name>` of a `[[response.exec]]`.
    #[serde(default = "default_connector")]
    pub connector: String,
    /// How long the first offence is blocked.
    pub ttl_secs: u64,
    /// Repeat offences: ttl = min(max_ttl, ttl × factor^(n−1)) over offences in `decay_secs`.
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// More actions than this per window open the circuit: the rest wait for approval.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// At most this many actions of the policy's kind in force at once; more wait for approval.
    #[serde(default)]
    pub max_in_force: Option<i64>,
}

fn default_connector() -> String {
    "nftables".into()
}

/// What a policy looks at: one fresh hit and the alert it went to.
#[derive(Debug, Clone, Copy)]
pub struct Trigger<'a> {
    pub alert_id: Option<&'a str>,
    pub rule_id: &'a str,
    pub level: &'a str,
    /// As stored on alerts: a JSON list.
    pub tags: &'a str,
    pub src_ip: &'a str,
    pub dst_ip: &'a str,
    pub host: &'a str,
}

impl<'a> Trigger<'a> {
    pub fn of_hit(hit: &'a hikeshi_store::NewHit, alert_id: &'a str) -> Trigger<'a> {
        Trigger {
            alert_id: Some(alert_id),
            rule_id: &hit.rule_id,
            level: &hit.level,
            tags: &hit.tags,
            src_ip: &hit.src_ip,
            dst_ip: &hit.dst_ip,
            host: &hit.host,
        }
    }
}

/// Every condition given must hold; none given matches every alert.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct When {
    /// Sigma rule ids (any of them).
    pub rule_ids: Vec<String>,
    /// Rule tags such as `attack.t1110` (any of them).
    pub tags: Vec<String>,
    /// The alert's level is at least this.
    pub min_level: Option<Severity>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TargetField {
    SrcIp,
    DstIp,
    Host,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub factor: f64,
    pub max_ttl_secs: u64,
    pub decay_secs: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub count: i64,
    pub per_secs: u64,
}

impl Policy {
    /// A short hash of the policy as written: any change to it is a new version.
    pub fn version(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..6])
    }

    pub fn matches(&self, alert: &Trigger) -> bool {
        let w = &self.when;
        if !w.rule_ids.is_empty() && !w.rule_ids.iter().any(|r| r == alert.rule_id) {
            return false;
        }
        if !w.tags.is_empty() {
            let tags = alert_tags(alert.tags);
            if !w.tags.iter().any(|t| tags.iter().any(|a| a == t)) {
                return false;
            }
        }
        if let Some(min) = w.min_level {
            match Severity::parse(alert.level) {
                Ok(level) if rank(level) >= rank(min) => {}
                _ => return false,
            }
        }
        true
    }

    /// The alert's value in the target field (may be empty or not an address).
    pub fn target_of<'a>(&self, alert: &Trigger<'a>) -> &'a str {
        match self.target {
            TargetField::SrcIp => alert.src_ip,
            TargetField::DstIp => alert.dst_ip,
            TargetField::Host => alert.host,
        }
    }

    /// The target in its canonical form; `None` when the alert's field holds none.
    pub fn target(&self, alert: &Trigger) -> Option<Target> {
        let text = self.target_of(alert);
        match self.target {
            TargetField::SrcIp | TargetField::DstIp => canonical_target(text).map(Target::Net),
            TargetField::Host => canonical_host(text).map(Target::Host),
        }
    }

    /// The time to live of the n-th offence (n from 1), in milliseconds.
    pub fn ttl_ms(&self, offence: i64) -> i64 {
        let base = self.ttl_secs.saturating_mul(1000) as i64;
        match self.escalation {
            None => base,
            Some(e) => escalated_ttl(base, e.factor, e.max_ttl_secs as i64 * 1000, offence),
        }
    }

    /// The window repeat offences are counted in.
    pub fn decay_ms(&self) -> i64 {
        self.escalation
            .map_or(0, |e| e.decay_secs.saturating_mul(1000) as i64)
    }

    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() || name.len() > 64 {
            return Err("a response policy needs a name of 1 to 64 characters".into());
        }
        match (self.action, self.target) {
            (ActionKind::BlockIp, TargetField::SrcIp | TargetField::DstIp) => {}
            (ActionKind::IsolateHost, TargetField::Host) if self.connector == "isolation" => {}
            (ActionKind::IsolateHost, _) => {
                return Err(format!(
                    "policy `{name}`: isolate_host takes target = \"host\" and connector = \"isolation\""
                ))
            }
            (ActionKind::BlockIp, _) => {
                return Err(format!(
                    "policy `{name}`: block_ip takes target = \"src_ip\" or \"dst_ip\""
                ))
            }
            (other, _) => {
                return Err(format!(
                    "policy `{name}`: action `{other}` has no connector yet; block_ip and isolate_host do"
                ))
            }
        }
        let told = ["webhook:", "exec:"]
            .iter()
            .any(|p| self.connector.starts_with(p));
        if self.action == ActionKind::BlockIp && self.connector == "isolation" {
            return Err(format!(
                "policy `{name}`: the isolation connector only isolates hosts"
            ));
        }
        if !["nftables", "isolation"].contains(&self.connector.as_str()) && !told {
            return Err(format!(
                "policy `{name}`: unknown connector `{}`; expected nftables, isolation, webhook:<name> or exec:<name>",
                self.connector
            ));
        }
        if self.ttl_secs == 0 {
            return Err(format!("policy `{name}`: ttl_secs must be above 0"));
        }
        if let Some(e) = self.escalation {
            if !(1.0..=100.0).contains(&e.factor) || e.max_ttl_secs < self.ttl_secs {
                return Err(format!(
                    "policy `{name}`: escalation needs a factor from 1 to 100 and max_ttl_secs ≥ ttl_secs"
                ));
            }
        }
        if let Some(r) = self.rate_limit {
            if r.count < 1 || r.per_secs == 0 {
                return Err(format!(
                    "policy `{name}`: rate_limit needs count ≥ 1 and per_secs ≥ 1"
                ));
            }
        }
        Ok(())
    }
}

/// ttl = min(max, base × factor^(n−1)); n below 1 counts as the first offence.
pub fn escalated_ttl(base_ms: i64, factor: f64, max_ms: i64, offence: i64) -> i64 {
    let n = offence.max(1) - 1;
    let scaled = base_ms as f64 * factor.powi(n.min(64) as i32);
    if !scaled.is_finite() || scaled >= max_ms as f64 {
        max_ms
    } else {
        scaled as i64
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// Alert tags are stored as a JSON list (older rows: a comma list).
fn alert_tags(text: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(text).unwrap_or_else(|_| {
        text.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_doubles_up_to_the_cap() {
        let ttl: Vec<i64> = (1..=5).map(|n| escalated_ttl(2000, 2.0, 8000, n)).collect();
        assert_eq!(ttl, vec![2000, 4000, 8000, 8000, 8000]);
        assert_eq!(escalated_ttl(2000, 2.0, 8000, 0), 2000);
        assert_eq!(escalated_ttl(2000, 100.0, 8000, 1_000_000), 8000);
    }
}
