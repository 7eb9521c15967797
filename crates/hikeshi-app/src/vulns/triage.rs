//! Alerts weighed by what they hit, and assets ranked by expected damage.

use super::matching::AssetIndex;
use super::risk::{self, Factor, RiskWeights};
use hikeshi_store::{Alert, Store};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Serialize)]
pub struct RankedAlert {
    #[serde(flatten)]
    pub alert: Alert,
    pub priority: i64,
    pub factors: Vec<Factor>,
    pub explanation: String,
    /// Names of the assets it hit.
    pub assets: Vec<String>,
}

pub(crate) fn assets_of(index: &AssetIndex, a: &Alert) -> Vec<String> {
    index.matching(&[a.host.as_str()], &[a.src_ip.as_str(), a.dst_ip.as_str()])
}

pub fn rank_with(index: &AssetIndex, alerts: Vec<Alert>) -> Vec<RankedAlert> {
    let w = RiskWeights::configured();
    alerts
        .into_iter()
        .map(|alert| {
            let ids = assets_of(index, &alert);
            let tags: Vec<String> = serde_json::from_str(&alert.tags).unwrap_or_default();
            let ctx = risk::AlertContext {
                level: &alert.level,
                rule_id: &alert.rule_id,
                tags: &tags,
                assets: ids
                    .iter()
                    .filter_map(|id| index.assets.get(id).map(|a| (a, index.open.get(id))))
                    .collect(),
            };
            let p = risk::alert_priority(&w, &ctx);
            let mut names: Vec<String> = ids
                .iter()
                .filter_map(|id| index.assets.get(id).map(|a| a.name.clone()))
                .collect();
            names.sort();
            RankedAlert {
                explanation: p.explain(),
                priority: p.score,
                factors: p.factors,
                assets: names,
                alert,
            }
        })
        .collect()
}

/// The index with the CVEs these alerts' rules name.
pub async fn index_for(store: &Store, alerts: &[Alert]) -> hikeshi_store::Result<AssetIndex> {
    let mut index = AssetIndex::load(store).await?;
    let mut cves: Vec<String> = alerts
        .iter()
        .flat_map(|a| {
            risk::tag_cves(&serde_json::from_str::<Vec<String>>(&a.tags).unwrap_or_default())
        })
        .collect();
    cves.sort();
    cves.dedup();
    index.load_cves(store, &cves).await?;
    Ok(index)
}

pub async fn rank_alerts(
    store: &Store,
    alerts: Vec<Alert>,
) -> hikeshi_store::Result<Vec<RankedAlert>> {
    let index = index_for(store, &alerts).await?;
    Ok(rank_with(&index, alerts))
}

/// Every asset with value × impact × frequency, highest first.
pub async fn damage_ranking(store: &Store) -> hikeshi_store::Result<Vec<risk::ExpectedDamage>> {
    let index = AssetIndex::load(store).await?;
    let since = hikeshi_store::now_ms() - 90 * 86_400_000;
    let mut alerts: HashMap<String, i64> = HashMap::new();
    let mut cases: HashMap<String, HashSet<String>> = HashMap::new();
    for (host, addresses, case_id) in store.alert_activity_since(since).await? {
        let ips: Vec<&str> = addresses.split(' ').collect();
        for id in index.matching(&[host.as_str()], &ips) {
            *alerts.entry(id.clone()).or_default() += 1;
            if let Some(c) = &case_id {
                cases.entry(id).or_default().insert(c.clone());
            }
        }
    }
    let mut out: Vec<risk::ExpectedDamage> = index
        .assets
        .values()
        .map(|a| {
            let events = alerts.get(&a.id).copied().unwrap_or(0)
                + cases.get(&a.id).map(|c| c.len() as i64).unwrap_or(0);
            risk::expected_damage(a, index.open.get(&a.id), events)
        })
        .collect();
    out.sort_by(|a, b| {
        b.expected_damage
            .partial_cmp(&a.expected_damage)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.asset_name.cmp(&b.asset_name))
    });
    Ok(out)
}

/// Writes today's expected damage (the team's day) for every asset, for the risk history.
pub async fn record_risk_snapshot(app: &crate::App) -> hikeshi_store::Result<()> {
    let store = &app.store;
    let index = AssetIndex::load(store).await?;
    let day = app.calendar.day_code(app.calendar.now_ms());
    let rows: Vec<(String, f64, i64, i64)> = damage_ranking(store)
        .await?
        .into_iter()
        .map(|d| {
            let open = index.open.get(&d.asset_id);
            (
                d.asset_id.clone(),
                d.expected_damage,
                open.map(|o| o.count).unwrap_or(0),
                open.map(|o| o.kev.len() as i64).unwrap_or(0),
            )
        })
        .collect();
    store.record_risk(&day, &rows).await
}

/// How often the risk history is written, so each day has one.
pub const RISK_SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
