//! The never-block set: addresses no automated action may cut off, whatever a policy or an
//! alert says. Checked when an action is proposed and again by the connector before it writes,
//! so a policy bug, an edited row or a race cannot get one of them into the firewall.

use ipnet::IpNet;
use serde::Serialize;
use std::net::IpAddr;

/// Why an address may not be blocked: the entry that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// A stable code: `loopback`, `link_local`, `special`, `own_address`, `configured`,
    /// `inventory`.
    pub reason: &'static str,
    /// The entry, e.g. `127.0.0.1/32` or `203.0.113.0/24`, and what it is.
    pub entry: String,
}

#[derive(Debug, Clone, Default)]
pub struct NeverBlock {
    entries: Vec<(IpNet, &'static str, String)>,
}

/// The addresses services on this host talk on, link-local ranges and addresses that are not
/// a single sender (unspecified, multicast, broadcast).
const BUILT_IN: &[(&str, &str)] = &[
    ("127.0.0.1/32", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("fe80::/10", "link_local"),
    ("0.0.0.0/8", "special"),
    ("::/128", "special"),
    ("224.0.0.0/4", "special"),
    ("255.255.255.255/32", "special"),
    ("ff00::/8", "special"),
];

impl NeverBlock {
    /// The built-in entries, hikeshi's own addresses and peers (`own`: address and what it
    /// is, such as `web listen address`) and the configured ranges (CDN, proxies).
    pub fn new(configured: &[IpNet], own: &[(IpAddr, String)]) -> NeverBlock {
        let mut entries = Vec::new();
        for (net, reason) in BUILT_IN {
            if let Ok(net) = net.parse::<IpNet>() {
                entries.push((net, *reason, String::new()));
            }
        }
        for (ip, what) in own {
            if !ip.is_unspecified() {
                entries.push((IpNet::from(*ip), "own_address", what.clone()));
            }
        }
        for net in configured {
            entries.push((net.trunc(), "configured", String::new()));
        }
        NeverBlock { entries }
    }

    /// The first entry the target overlaps (contains or lies in), if any.
    pub fn check(&self, target: &IpNet) -> Option<Stop> {
        self.entries
            .iter()
            .find(|(net, _, _)| net.contains(target) || target.contains(net))
            .map(|(net, reason, what)| Stop {
                reason,
                entry: if what.is_empty() {
                    net.to_string()
                } else {
                    format!("{net} ({what})")
                },
            })
    }
}

/// The canonical form of an address or range from an alert field: a network with its host
/// bits cleared, IPv4-mapped IPv6 as IPv4. `None`: not an address.
pub fn canonical_target(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(text.parse::<IpAddr>().ok()?),
    };
    let net = match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).ok()?
            }
            _ => IpNet::V6(v6),
        },
        v4 => v4,
    };
    Some(net.trunc())
}

/// What an action is against: an address or range (block), or a host by name (isolate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Net(IpNet),
    Host(String),
}

impl Target {
    pub fn net(&self) -> Option<&IpNet> {
        match self {
            Target::Net(net) => Some(net),
            Target::Host(_) => None,
        }
    }
}

impl From<IpNet> for Target {
    fn from(net: IpNet) -> Target {
        Target::Net(net)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Net(net) => net.fmt(f),
            Target::Host(name) => f.write_str(name),
        }
    }
}

/// A host name as alerts carry it, in lower case; `None` for an empty or odd value (spaces,
/// control characters, longer than a DNS name may be).
pub fn canonical_host(text: &str) -> Option<String> {
    let name = text.trim().trim_end_matches('.').to_lowercase();
    let fine = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'));
    fine.then_some(name)
}

/// Ranges wider than a /24 (IPv4) or a /48 (IPv6) are never blocked without a person's yes.
pub fn is_wide(net: &IpNet) -> bool {
    match net {
        IpNet::V4(n) => n.prefix_len() < 24,
        IpNet::V6(n) => n.prefix_len() < 48,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("net")
    }

    #[test]
    fn loopback_own_and_configured_entries_stop_overlapping_targets() {
        let guard = NeverBlock::new(
            &[net("203.0.113.0/24")],
            &[(
                "192.0.2.10".parse().expect("ip"),
                "web listen address".into(),
            )],
        );
        assert_eq!(
            guard.check(&net("127.0.0.1/32")).map(|s| s.reason),
            Some("loopback")
        );
        assert_eq!(
            guard.check(&net("203.0.113.9/32")).map(|s| s.reason),
            Some("configured")
        );
        let own = guard
            .check(&net("192.0.2.0/24"))
            .expect("own address inside");
        assert_eq!(own.entry, "192.0.2.10/32 (web listen address)");
        assert_eq!(
            guard.check(&net("0.0.0.0/0")).map(|s| s.reason),
            Some("loopback")
        );
        assert_eq!(guard.check(&net("127.0.0.2/32")), None);
        assert_eq!(guard.check(&net("2001:db8::2/128")), None);
    }

    #[test]
    fn targets_are_canonical() {
        assert_eq!(canonical_target(" 10.1.2.3 "), Some(net("10.1.2.3/32")));
        assert_eq!(canonical_target("10.1.2.3/24"), Some(net("10.1.2.0/24")));
        assert_eq!(
            canonical_target("::ffff:198.51.100.7"),
            Some(net("198.51.100.7/32"))
        );
        assert_eq!(
            canonical_target("2001:DB8::2"),
            Some(net("2001:db8::2/128"))
        );
        assert_eq!(canonical_target("pc1.corp"), None);
        assert_eq!(canonical_target(""), None);
        assert_eq!(canonical_host(" WEB1.Corp. "), Some("web1.corp".into()));
        assert_eq!(canonical_host("web 1"), None);
        assert_eq!(canonical_host(""), None);
    }
}
