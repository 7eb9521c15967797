//! The nftables connector. hikeshi owns one table (`inet hikeshi`) and nothing else: two sets
//! of blocked senders (IPv4, IPv6) whose elements carry a timeout equal to the action's
//! remaining time — so a dead hikeshi fails open on time — and a comment naming the action, and
//! two chains that drop what the sets hold. A missing or damaged table is replaced whole (`add`,
//! `delete`, define, in one nft transaction); otherwise only the differences are written, as
//! `add element` and `delete element` batches of at most [`BATCH`] elements, each batch one
//! transaction. (The kernel refuses one netlink batch of much more than a thousand elements
//! with comments: "Message too long".) Other tables are never touched.

use super::guardrails::{NeverBlock, Stop};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// `[response.nftables]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NftSettings {
    /// The `nft` program.
    pub nft: PathBuf,
    /// hikeshi's table in the `inet` family.
    pub table: String,
    /// One nft call may take this long; then it is killed and the pass fails.
    pub timeout_ms: u64,
}

impl Default for NftSettings {
    fn default() -> Self {
        NftSettings {
            nft: PathBuf::from("nft"),
            table: "hikeshi".into(),
            timeout_ms: 5000,
        }
    }
}

/// One address or range in force, and how long it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub net: IpNet,
    pub remaining_ms: i64,
    /// The action that wants it (the one with the latest expiry).
    pub action_id: String,
}

/// What the firewall holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The table exists with exactly hikeshi's sets, chains and rules.
    pub intact: bool,
    /// Blocked networks and their remaining time (whole seconds, as nft reports them).
    pub elements: BTreeMap<IpNet, i64>,
}

/// Elements per nft transaction.
pub const BATCH: usize = 500;

pub struct Nftables {
    settings: NftSettings,
}

impl Nftables {
    pub fn new(settings: NftSettings) -> Nftables {
        Nftables { settings }
    }

    pub fn name(&self) -> &'static str {
        "nftables"
    }

    /// The change an action asks for, as the line it adds to the table (shown on its page and
    /// hashed: an approval holds for this plan only).
    pub fn plan(&self, net: &IpNet, ttl_ms: i64) -> String {
        format!(
            "add element inet {} {} {{ {} timeout {}ms }}",
            self.settings.table,
            set_of(net),
            element_text(net),
            ttl_ms
        )
    }

    /// Reads hikeshi's table back.
    pub async fn observe(&self) -> Result<Observed, String> {
        let table = &self.settings.table;
        let out = self
            .run(&["-j", "list", "table", "inet", table], None)
            .await?;
        match out {
            Ran::Failed(stderr) if stderr.contains("No such file or directory") => {
                Ok(Observed::default())
            }
            Ran::Failed(stderr) => Err(format!("nft list table: {}", stderr.trim())),
            Ran::Ok(stdout) => parse_listing(&stdout, table),
        }
    }

    /// Replaces hikeshi's table with an empty one of exactly its shape.
    pub async fn recreate(&self) -> Result<(), String> {
        let script = render_structure(&self.settings.table);
        match self.run(&["-f", "-"], Some(&script)).await? {
            Ran::Ok(_) => Ok(()),
            Ran::Failed(stderr) => Err(format!("nft -f (table): {}", stderr.trim())),
        }
    }

    /// Deletes then adds elements, in batches. An element the guard stops is not added and is
    /// returned with the entry that stopped it.
    pub async fn change(
        &self,
        delete: &[IpNet],
        add: &[Element],
        guard: &NeverBlock,
    ) -> Result<Vec<(Element, Stop)>, String> {
        let mut refused = Vec::new();
        let mut kept = Vec::new();
        for e in add {
            match guard.check(&e.net) {
                Some(stop) => refused.push((e.clone(), stop)),
                None if e.remaining_ms > 0 => kept.push(e),
                None => {}
            }
        }
        let table = &self.settings.table;
        for chunk in delete.chunks(BATCH) {
            self.batch(&render_delete(table, chunk)).await?;
        }
        for chunk in kept.chunks(BATCH) {
            self.batch(&render_add(table, chunk)).await?;
        }
        Ok(refused)
    }

    async fn batch(&self, script: &str) -> Result<(), String> {
        match self.run(&["-f", "-"], Some(script)).await? {
            Ran::Ok(_) => Ok(()),
            Ran::Failed(stderr) => Err(format!("nft -f (elements): {}", stderr.trim())),
        }
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Ran, String> {
        Ok(
            match run_nft(&self.settings.nft, args, stdin, self.settings.timeout_ms).await? {
                Ok(stdout) => Ran::Ok(stdout),
                Err(stderr) => Ran::Failed(stderr),
            },
        )
    }
}

/// Runs nft with `args` (and a script on stdin). Outer error: it could not be run or did not
/// answer in time; inner: its stdout, or its stderr when it failed.
pub(super) async fn run_nft(
    nft: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
    timeout_ms: u64,
) -> Result<Result<String, String>, String> {
    let mut cmd = tokio::process::Command::new(nft);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", nft.display()))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input
            .write_all(text.as_bytes())
            .await
            .map_err(|e| format!("nft stdin: {e}"))?;
    }
    let limit = Duration::from_millis(timeout_ms.max(100));
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| format!("nft did not answer within {} ms", limit.as_millis()))?
        .map_err(|e| format!("nft: {e}"))?;
    Ok(if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

enum Ran {
    Ok(String),
    Failed(String),
}

fn set_of(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "block_v4",
        IpNet::V6(_) => "block_v6",
    }
}

fn element_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// The table's shape, empty, as one nft transaction. `add` then `delete` makes the delete
/// safe when the table is missing; the definition after it is what stays.
fn render_structure(table: &str) -> String {
    let mut out =
        format!("add table inet {table}\ndelete table inet {table}\ntable inet {table} {{\n");
    for (set, family) in [("block_v4", "ipv4_addr"), ("block_v6", "ipv6_addr")] {
        out.push_str(&format!(
            "  set {set} {{\n    type {family}\n    flags interval,timeout\n  }}\n"
        ));
    }
    for (chain, hook) in [("input", "input"), ("forward", "forward")] {
        out.push_str(&format!(
            "  chain {chain} {{\n    type filter hook {hook} priority -10; policy accept;\n    ip saddr @block_v4 drop\n    ip6 saddr @block_v6 drop\n  }}\n"
        ));
    }
    out.push_str("}\n");
    out
}

/// One transaction adding these elements (each with its timeout and the action's name).
fn render_add(table: &str, elements: &[&Element]) -> String {
    let mut out = String::new();
    for set in ["block_v4", "block_v6"] {
        let items: Vec<String> = elements
            .iter()
            .filter(|e| set_of(&e.net) == set)
            .map(|e| {
                format!(
                    "{} timeout {}ms comment \"hikeshi {}\"",
                    element_text(&e.net),
                    e.remaining_ms,
                    comment_safe(&e.action_id)
                )
            })
            .collect();
        if !items.is_empty() {
            out.push_str(&format!(
                "add element inet {table} {set} {{ {} }}\n",
                items.join(", ")
            ));
        }
    }
    out
}

fn render_delete(table: &str, nets: &[IpNet]) -> String {
    let mut out = String::new();
    for set in ["block_v4", "block_v6"] {
        let items: Vec<String> = nets
            .iter()
            .filter(|n| set_of(n) == set)
            .map(element_text)
            .collect();
        if !items.is_empty() {
            out.push_str(&format!(
                "delete element inet {table} {set} {{ {} }}\n",
                items.join(", ")
            ));
        }
    }
    out
}

/// Action ids are ULIDs; anything else is cut to what a quoted nft comment can hold.
fn comment_safe(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}

/// Reads `nft -j list table` output: hikeshi's sets, chains and rules, and the elements.
fn parse_listing(json: &str, table: &str) -> Result<Observed, String> {
    let doc: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("nft -j output: {e}"))?;
    let items = doc
        .get("nftables")
        .and_then(|v| v.as_array())
        .ok_or("nft -j output has no `nftables` list")?;
    let mut sets = BTreeMap::new();
    let mut chains = BTreeMap::new();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut elements = BTreeMap::new();
    for item in items {
        if let Some(set) = item.get("set") {
            if set.get("table").and_then(|t| t.as_str()) != Some(table) {
                continue;
            }
            let name = set.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let kind = set.get("type").and_then(|n| n.as_str()).unwrap_or("");
            sets.insert(name.to_string(), kind.to_string());
            for elem in set
                .get("elem")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
            {
                if let Some((net, remaining)) = parse_element(elem) {
                    elements.insert(net, remaining);
                }
            }
        } else if let Some(chain) = item.get("chain") {
            let name = chain.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let hook = chain.get("hook").and_then(|n| n.as_str()).unwrap_or("");
            chains.insert(name.to_string(), hook.to_string());
        } else if let Some(rule) = item.get("rule") {
            let chain = rule.get("chain").and_then(|n| n.as_str()).unwrap_or("");
            *rules.entry(chain.to_string()).or_default() += 1;
        }
    }
    let intact = sets.len() == 2
        && sets.get("block_v4").map(String::as_str) == Some("ipv4_addr")
        && sets.get("block_v6").map(String::as_str) == Some("ipv6_addr")
        && chains.len() == 2
        && chains.get("input").map(String::as_str) == Some("input")
        && chains.get("forward").map(String::as_str) == Some("forward")
        && rules.len() == 2
        && rules.values().all(|n| *n == 2);
    Ok(Observed { intact, elements })
}

/// An element: a plain value, or `{"elem": {"val": …, "expires": s, …}}`; the value an
/// address or `{"prefix": {"addr": …, "len": n}}`. Remaining time in ms (`i64::MAX` when the
/// element has no timeout, which hikeshi never writes).
fn parse_element(elem: &serde_json::Value) -> Option<(IpNet, i64)> {
    let (val, expires) = match elem.get("elem") {
        Some(inner) => (
            inner.get("val")?,
            inner.get("expires").and_then(|e| e.as_i64()),
        ),
        None => (elem, None),
    };
    let net = match val {
        serde_json::Value::String(addr) => super::guardrails::canonical_target(addr)?,
        other => {
            let prefix = other.get("prefix")?;
            let addr = prefix.get("addr")?.as_str()?;
            let len = prefix.get("len")?.as_u64()?;
            super::guardrails::canonical_target(&format!("{addr}/{len}"))?
        }
    };
    Some((net, expires.map_or(i64::MAX, |s| s.saturating_mul(1000))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_with_elements_and_prefixes_is_read() {
        let json = r#"{"nftables":[{"metainfo":{"version":"1.0.6"}},
          {"table":{"family":"inet","name":"hikeshi","handle":1}},
          {"set":{"family":"inet","name":"block_v4","table":"hikeshi","type":"ipv4_addr","handle":1,"flags":["interval","timeout"],
            "elem":[{"elem":{"val":"127.0.0.2","timeout":3,"expires":2,"comment":"hikeshi A"}},
                    {"elem":{"val":{"prefix":{"addr":"10.0.0.0","len":24}},"timeout":60,"expires":59}}]}},
          {"set":{"family":"inet","name":"block_v6","table":"hikeshi","type":"ipv6_addr","handle":2,"flags":["interval","timeout"]}},
          {"chain":{"family":"inet","table":"hikeshi","name":"input","handle":3,"type":"filter","hook":"input","prio":-10,"policy":"accept"}},
          {"chain":{"family":"inet","table":"hikeshi","name":"forward","handle":4,"type":"filter","hook":"forward","prio":-10,"policy":"accept"}},
          {"rule":{"family":"inet","table":"hikeshi","chain":"input","handle":5}},
          {"rule":{"family":"inet","table":"hikeshi","chain":"input","handle":6}},
          {"rule":{"family":"inet","table":"hikeshi","chain":"forward","handle":7}},
          {"rule":{"family":"inet","table":"hikeshi","chain":"forward","handle":8}}]}"#;
        let seen = parse_listing(json, "hikeshi").expect("parsed");
        assert!(seen.intact);
        let nets: Vec<String> = seen.elements.keys().map(|n| n.to_string()).collect();
        assert_eq!(nets, vec!["10.0.0.0/24", "127.0.0.2/32"]);
        assert_eq!(
            seen.elements.values().copied().collect::<Vec<_>>(),
            vec![59_000, 2_000]
        );
        let damaged = json.replace(
            r#"{"rule":{"family":"inet","table":"hikeshi","chain":"forward","handle":8}}"#,
            r#"{"metainfo":{}}"#,
        );
        assert!(!parse_listing(&damaged, "hikeshi").expect("parsed").intact);
    }

    #[test]
    fn the_table_is_replaced_whole_and_elements_go_in_batches() {
        let text = render_structure("hikeshi");
        assert!(text.starts_with("add table inet hikeshi\ndelete table inet hikeshi\n"));
        assert!(!text.contains("elements"));
        let e = Element {
            net: "2001:db8::2/128".parse().expect("net"),
            remaining_ms: 2500,
            action_id: "01JX\"; flush ruleset".into(),
        };
        let range = Element {
            net: "10.0.0.0/24".parse().expect("net"),
            remaining_ms: 60_000,
            action_id: "01JY".into(),
        };
        let add = render_add("hikeshi", &[&e, &range]);
        assert_eq!(
            add,
            "add element inet hikeshi block_v4 { 10.0.0.0/24 timeout 60000ms comment \"hikeshi 01JY\" }\n\
             add element inet hikeshi block_v6 { 2001:db8::2 timeout 2500ms comment \"hikeshi 01JXflushruleset\" }\n"
        );
        let delete = render_delete("hikeshi", &[e.net]);
        assert_eq!(
            delete,
            "delete element inet hikeshi block_v6 { 2001:db8::2 }\n"
        );
    }
}
