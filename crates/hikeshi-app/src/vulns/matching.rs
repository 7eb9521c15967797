//! Which assets an event touches: host names (case-insensitive, full or short), addresses
//! (exact, or inside an asset's CIDR range) and cloud IDs. The index is built once per request
//! from the identifier table, so a page of alerts is matched without a query per alert.

use hikeshi_store::{Asset, Store};
use std::collections::HashMap;
use std::net::IpAddr;

/// What is open on an asset, for risk: its worst finding and its KEV and CVE lists.
#[derive(Debug, Default, Clone)]
pub struct OpenFindings {
    pub count: i64,
    pub max_cvss: f64,
    pub kev: Vec<String>,
    /// Only the CVEs asked for with `load_cves` (those named in rule tags).
    pub cves: Vec<String>,
}

pub struct AssetIndex {
    pub assets: HashMap<String, Asset>,
    exact: HashMap<(String, String), Vec<String>>,
    ranges: Vec<(ipnet::IpNet, String)>,
    pub open: HashMap<String, OpenFindings>,
}

fn host_keys(host: &str) -> Vec<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h.is_empty() {
        return Vec::new();
    }
    // Windows writes DOMAIN\HOST sometimes; the host is what follows.
    let h = h.rsplit('\\').next().unwrap_or(&h).to_string();
    let mut out = vec![h.clone()];
    if let Some((short, _)) = h.split_once('.') {
        if h.parse::<IpAddr>().is_err() {
            out.push(short.to_string());
        }
    }
    out
}

impl AssetIndex {
    pub async fn load(store: &Store) -> hikeshi_store::Result<AssetIndex> {
        let assets: HashMap<String, Asset> = store
            .list_assets()
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut exact: HashMap<(String, String), Vec<String>> = HashMap::new();
        for (kind, value, id) in store.asset_identifier_rows().await? {
            exact.entry((kind, value)).or_default().push(id);
        }
        let mut ranges = Vec::new();
        for a in assets.values() {
            for ip in &a.ips {
                if let Ok(net) = ip.parse::<ipnet::IpNet>() {
                    ranges.push((net, a.id.clone()));
                }
            }
        }
        // Summaries only: an inventory can hold hundreds of thousands of findings.
        let mut open: HashMap<String, OpenFindings> = HashMap::new();
        for (asset, count, v3, v4, v2) in store.open_finding_summary().await? {
            let o = open.entry(asset).or_default();
            o.count = count;
            o.max_cvss = v3.max(v4).max(v2);
        }
        for (asset, cve) in store.open_kev_findings().await? {
            open.entry(asset).or_default().kev.push(cve);
        }
        Ok(AssetIndex {
            assets,
            exact,
            ranges,
            open,
        })
    }

    /// Notes which of these CVEs are open on which asset (for rules tagged with a CVE).
    pub async fn load_cves(&mut self, store: &Store, cves: &[String]) -> hikeshi_store::Result<()> {
        if cves.is_empty() {
            return Ok(());
        }
        for (asset, cve) in store.open_findings_of(cves).await? {
            self.open.entry(asset).or_default().cves.push(cve);
        }
        Ok(())
    }

    /// Asset IDs hit by any of these host names and addresses (sorted, without repeats).
    pub fn matching(&self, hosts: &[&str], ips: &[&str]) -> Vec<String> {
        let mut ids = Vec::new();
        for h in hosts {
            for key in host_keys(h) {
                if let Some(found) = self.exact.get(&("host".to_string(), key.clone())) {
                    ids.extend(found.iter().cloned());
                }
                if let Some(found) = self.exact.get(&("cloud".to_string(), key)) {
                    ids.extend(found.iter().cloned());
                }
            }
        }
        for ip in ips {
            let Ok(addr) = ip.trim().parse::<IpAddr>() else {
                continue;
            };
            if let Some(found) = self.exact.get(&("ip".to_string(), addr.to_string())) {
                ids.extend(found.iter().cloned());
            }
            for (net, id) in &self.ranges {
                if net.contains(&addr) {
                    ids.push(id.clone());
                }
            }
        }
        ids.sort();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::host_keys;

    #[test]
    fn host_names_match_full_short_and_domain_prefixed() {
        assert_eq!(
            host_keys("WS-0049.corp.example.jp."),
            vec!["ws-0049.corp.example.jp", "ws-0049"]
        );
        assert_eq!(host_keys("CORP\\WEB01"), vec!["web01"]);
        assert_eq!(host_keys("10.0.0.5"), vec!["10.0.0.5"]);
        assert!(host_keys(" ").is_empty());
    }
}
