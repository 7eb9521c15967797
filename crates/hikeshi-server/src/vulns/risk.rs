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
    pub reason: String,
    pub points: i64,
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

fn push(factors: &mut Vec<Factor>, reason: String, points: f64) {
    let points = points.round() as i64;
    if points > 0 {
        factors.push(Factor { reason, points });
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
        format!("asset value {value_max} ({environment})"),
        (value_max.clamp(1, 5) - 1) as f64 * w.value_step * share,
    );
    if internet_facing {
        push(&mut f, "internet-facing".into(), w.internet_facing);
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
    } else {
        (f.cvss2_score, "CVSS v2")
    };
    push(
        &mut factors,
        format!("{label} {cvss:.1}"),
        cvss * w.per_cvss_point,
    );
    if f.kev != 0 {
        push(&mut factors, format!("KEV {}", f.cve_id), w.kev);
    }
    if f.epss > 0.0 {
        push(&mut factors, format!("EPSS {:.2}", f.epss), f.epss * w.epss);
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
