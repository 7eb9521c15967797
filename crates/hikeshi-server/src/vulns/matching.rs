//! Which assets an event touches: host names (case-insensitive, full or short), addresses
//! (exact, or inside an asset's CIDR range) and cloud IDs. The index is built once per request
//! from the identifier table, so a page of alerts is matched without a query per alert.

use hikeshi_store::{Asset, Finding, FindingFilter, Store};
use std::collections::HashMap;
use std::net::IpAddr;

/// What is open on an asset, for risk: its worst finding and its KEV and CVE lists.
#[derive(Debug, Default, Clone)]
pub struct OpenFindings {
    pub max_cvss: f64,
    pub kev: Vec<String>,
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
        let mut open: HashMap<String, OpenFindings> = HashMap::new();
        let findings: Vec<Finding> = store
            .list_findings(&FindingFilter {
                status: Some("open".into()),
                limit: 100_000,
                ..FindingFilter::default()
            })
            .await?;
        for f in findings {
            let o = open.entry(f.asset_id.clone()).or_default();
            o.max_cvss = o
                .max_cvss
                .max(f.cvss3_score.max(f.cvss4_score).max(f.cvss2_score));
            if f.kev != 0 {
                o.kev.push(f.cve_id.clone());
            }
            o.cves.push(f.cve_id);
        }
        Ok(AssetIndex {
            assets,
            exact,
            ranges,
            open,
        })
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
