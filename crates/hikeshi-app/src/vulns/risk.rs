//! Priority 0–100 with its reasons. The weights are in one place (`RiskWeights`, documented in
//! the README) so that each score can be explained factor by factor:
//! "internet-facing (+20), KEV (+25), CVSS 9.8 (+29)".

use hikeshi_store::Finding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskWeights {
    /// Points per step of asset value above 1 (max of C, I, A; 1–5).
    pub value_step: f64,
    /// Share of the value points by environment.
    pub production: f64,
    pub staging: f64,
    pub test: f64,
    pub internet_facing: f64,
    /// Points per CVSS point (0–10).
    pub per_cvss_point: f64,
    pub kev: f64,
    /// Points for an EPSS probability of 1.
    pub epss: f64,
}

/// The weights this process was started with (`[risk]` in the config file).
static CONFIGURED: std::sync::OnceLock<RiskWeights> = std::sync::OnceLock::new();

impl RiskWeights {
    /// Sets the weights for the life of the process; the first call wins.
    pub fn configure(w: RiskWeights) {
        let _ = CONFIGURED.set(w);
    }

    /// The configured weights, or the defaults.
    pub fn configured() -> RiskWeights {
        CONFIGURED.get().copied().unwrap_or_default()
    }
}

impl Default for RiskWeights {
    fn default() -> Self {
        RiskWeights {
            value_step: 5.0,
            production: 1.0,
            staging: 0.6,
            test: 0.3,
            internet_facing: 20.0,
            per_cvss_point: 3.0,
            kev: 25.0,
            epss: 15.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Factor {
    /// In English, for the API and logs.
    pub reason: String,
    pub points: i64,
    /// What kind of reason (`asset_value`, `internet_facing`, `cvss`, `kev`, `epss`,
    /// `rule_level`, `cve_open`, `kev_open`, `indicator`), for labels in either language.
    pub code: &'static str,
    /// The value the label is filled with ("5 (production)", "CVE-2024-3400").
    pub detail: String,
    /// The asset the reason is about, when an alert hit several.
    pub asset: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Priority {
    pub score: i64,
    pub factors: Vec<Factor>,
}

impl Priority {
    /// "internet-facing (+20), KEV CVE-2024-3400 open (+25), …"
    pub fn explain(&self) -> String {
        self.factors
            .iter()
            .map(|f| format!("{} (+{})", f.reason, f.points))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn push(
    factors: &mut Vec<Factor>,
    code: &'static str,
    detail: String,
    reason: String,
    points: f64,
) {
    let points = points.round() as i64;
    if points > 0 {
        factors.push(Factor {
            reason,
            points,
            code,
            detail,
            asset: None,
        });
    }
}

/// The asset's part: its value in its environment, and its exposure.
pub fn asset_factors(
    w: &RiskWeights,
    value_max: i64,
    environment: &str,
    internet_facing: bool,
) -> Vec<Factor> {
    let mut f = Vec::new();
    let share = match environment {
        "production" => w.production,
        "staging" => w.staging,
        _ => w.test,
    };
    push(
        &mut f,
        "asset_value",
        format!("{value_max}|{environment}"),
        format!("asset value {value_max} ({environment})"),
        (value_max.clamp(1, 5) - 1) as f64 * w.value_step * share,
    );
    if internet_facing {
        push(
            &mut f,
            "internet_facing",
            String::new(),
            "internet-facing".into(),
            w.internet_facing,
        );
    }
    f
}

fn total(factors: Vec<Factor>) -> Priority {
    let score = factors.iter().map(|f| f.points).sum::<i64>().clamp(0, 100);
    Priority { score, factors }
}

pub fn finding_priority(w: &RiskWeights, f: &Finding) -> Priority {
    let mut factors = asset_factors(w, f.value_max, &f.environment, f.internet_facing != 0);
    let (cvss, label) = if f.cvss3_score > 0.0 {
        (f.cvss3_score, "CVSS v3")
    } else if f.cvss4_score > 0.0 {
        (f.cvss4_score, "CVSS v4")
    } else {
        (f.cvss2_score, "CVSS v2")
    };
    push(
        &mut factors,
        "cvss",
        format!("{label} {cvss:.1}"),
        format!("{label} {cvss:.1}"),
        cvss * w.per_cvss_point,
    );
    if f.kev != 0 {
        push(
            &mut factors,
            "kev",
            f.cve_id.clone(),
            format!("KEV {}", f.cve_id),
            w.kev,
        );
    }
    if f.epss > 0.0 {
        push(
            &mut factors,
            "epss",
            format!("{:.2}", f.epss),
            format!("EPSS {:.2}", f.epss),
            f.epss * w.epss,
        );
    }
    total(factors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        Finding {
            id: "f".into(),
            asset_id: "a".into(),
            asset_name: "web".into(),
            cve_id: "CVE-2024-3400".into(),
            package: "pan-os".into(),
            fixed_in: String::new(),
            fix_state: String::new(),
            confidence: 100,
            cvss2_score: 0.0,
            cvss2_vector: String::new(),
            cvss3_score: 10.0,
            cvss3_vector: String::new(),
            cvss4_score: 0.0,
            cvss4_vector: String::new(),
            scores: "{}".into(),
            title: String::new(),
            source: "vuls".into(),
            status: "open".into(),
            first_seen: 0,
            last_seen: 0,
            fixed_at: None,
            kev: 1,
            epss: 0.94,
            internet_facing: 1,
            environment: "production".into(),
            value_max: 5,
        }
    }

    #[test]
    fn every_point_has_a_reason_and_the_total_is_capped() {
        let p = finding_priority(&RiskWeights::default(), &finding());
        assert_eq!(
            p.factors.iter().map(|f| f.points).sum::<i64>(),
            20 + 20 + 30 + 25 + 14
        );
        assert_eq!(p.score, 100);
        assert_eq!(
            p.explain(),
            "asset value 5 (production) (+20), internet-facing (+20), CVSS v3 10.0 (+30), KEV CVE-2024-3400 (+25), EPSS 0.94 (+14)"
        );
    }

    #[test]
    fn a_test_laptop_with_a_medium_cve_ranks_low() {
        let mut f = finding();
        f.kev = 0;
        f.epss = 0.0;
        f.internet_facing = 0;
        f.environment = "test".into();
        f.value_max = 2;
        f.cvss3_score = 5.3;
        let p = finding_priority(&RiskWeights::default(), &f);
        assert_eq!(p.score, 2 + 16);
        assert_eq!(p.explain(), "asset value 2 (test) (+2), CVSS v3 5.3 (+16)");
    }
}

/// Points for the rule's level: the detection's own severity.
fn level_points(level: &str) -> f64 {
    match level {
        "critical" => 40.0,
        "high" => 30.0,
        "medium" => 20.0,
        "low" => 10.0,
        _ => 0.0,
    }
}

/// CVE IDs named in a rule's tags (`cve.2021-44228` in Sigma).
pub fn tag_cves(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| {
            t.to_ascii_lowercase()
                .strip_prefix("cve.")
                .map(|c| format!("CVE-{}", c.to_ascii_uppercase()))
        })
        .collect()
}

/// What an alert's priority is computed from.
pub struct AlertContext<'a> {
    pub level: &'a str,
    pub rule_id: &'a str,
    pub tags: &'a [String],
    /// The assets it hit, with what is open on each.
    pub assets: Vec<(
        &'a hikeshi_store::Asset,
        Option<&'a super::matching::OpenFindings>,
    )>,
}

pub fn alert_priority(w: &RiskWeights, a: &AlertContext<'_>) -> Priority {
    let mut factors = Vec::new();
    push(
        &mut factors,
        "rule_level",
        a.level.to_string(),
        format!("rule level {}", a.level),
        level_points(a.level),
    );
    // The most valuable asset hit speaks for the alert.
    let best = a.assets.iter().max_by_key(|(asset, _)| {
        let f = asset_factors(
            w,
            asset.value_c.max(asset.value_i).max(asset.value_a),
            &asset.environment,
            asset.internet_facing,
        );
        f.iter().map(|x| x.points).sum::<i64>()
    });
    if let Some((asset, open)) = best {
        let value = asset.value_c.max(asset.value_i).max(asset.value_a);
        for mut f in asset_factors(w, value, &asset.environment, asset.internet_facing) {
            f.reason = format!("{}: {}", asset.name, f.reason);
            f.asset = Some(asset.name.clone());
            factors.push(f);
        }
        let wanted = tag_cves(a.tags);
        let open = open.cloned().unwrap_or_default();
        if let Some(cve) = wanted.iter().find(|c| open.cves.contains(c)) {
            push(
                &mut factors,
                "cve_open",
                format!("{cve} → {}", asset.name),
                format!("{cve} open on {}", asset.name),
                w.kev,
            );
        } else if let Some(cve) = open.kev.first() {
            push(
                &mut factors,
                "kev_open",
                format!("{cve} → {}", asset.name),
                format!("KEV {cve} open on {}", asset.name),
                w.kev * 0.6,
            );
        }
    }
    if a.rule_id.starts_with("ioc:") {
        push(
            &mut factors,
            "indicator",
            String::new(),
            "indicator list match".into(),
            10.0,
        );
    }
    total(factors)
}

/// Expected damage = value × impact × frequency, each explained.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedDamage {
    pub asset_id: String,
    pub asset_name: String,
    /// Max of C, I, A (1–5).
    pub value: i64,
    /// 1–5 from the worst open finding (5 when a KEV one is open).
    pub impact: f64,
    /// 1 + alerts and cases touching the asset in the last 90 days.
    pub frequency: i64,
    pub expected_damage: f64,
}

pub fn expected_damage(
    asset: &hikeshi_store::Asset,
    open: Option<&super::matching::OpenFindings>,
    events_90d: i64,
) -> ExpectedDamage {
    let value = asset
        .value_c
        .max(asset.value_i)
        .max(asset.value_a)
        .clamp(1, 5);
    let impact = match open {
        Some(o) if !o.kev.is_empty() => 5.0,
        Some(o) => 1.0 + 4.0 * (o.max_cvss / 10.0),
        None => 1.0,
    };
    let impact = (impact * 10.0).round() / 10.0;
    let frequency = 1 + events_90d.max(0);
    ExpectedDamage {
        asset_id: asset.id.clone(),
        asset_name: asset.name.clone(),
        value,
        impact,
        frequency,
        expected_damage: ((value as f64 * impact * frequency as f64) * 10.0).round() / 10.0,
    }
}
