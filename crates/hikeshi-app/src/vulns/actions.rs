//! Automatic action on findings: when a finding meets the configured condition (for example KEV
//! and internet-facing), a case is opened with a task for the asset's administrator, and they
//! are told by e-mail when the administrator is an address. Each finding is acted on once, so
//! re-imports and repeated KEV loads do not open more cases.

use super::risk;
use crate::config::SlaHours;
use hikeshi_model::Severity;
use hikeshi_store::{Actor, Finding, FindingFilter, NewCase, NewTask, Store};
use serde::{Deserialize, Serialize};

/// `[vulns.auto_case]`: every condition that is set must hold.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoCase {
    pub kev: bool,
    pub internet_facing: bool,
    /// CVSS (v3, else v2) at least this.
    pub min_cvss: f64,
}

impl AutoCase {
    pub fn matches(&self, f: &Finding) -> bool {
        (!self.kev || f.kev != 0)
            && (!self.internet_facing || f.internet_facing != 0)
            && f.cvss3_score.max(f.cvss4_score).max(f.cvss2_score) >= self.min_cvss
    }
}

fn actor() -> Actor {
    Actor::user("hikeshi-vulns")
}

/// Opens a case for every open finding that meets the condition and has not been acted on.
/// Returns the case numbers opened.
pub async fn apply(
    store: &Store,
    rule: &AutoCase,
    sla: &SlaHours,
) -> hikeshi_store::Result<Vec<String>> {
    let open = store
        .list_findings(&FindingFilter {
            status: Some("open".into()),
            kev_only: rule.kev,
            internet_facing_only: rule.internet_facing,
            limit: 100_000,
            ..FindingFilter::default()
        })
        .await?;
    let mut opened = Vec::new();
    for f in open.into_iter().filter(|f| rule.matches(f)) {
        if store.finding_acted_on(&f.id).await? {
            continue;
        }
        let asset = store.asset_by_id(&f.asset_id).await?;
        let assignee = match store.user_by_name(&asset.administrator).await? {
            Some(u) if !asset.administrator.is_empty() => Some(u.username),
            _ => None,
        };
        let priority = risk::finding_priority(&risk::RiskWeights::configured(), &f);
        let severity = if f.kev != 0 && f.cvss3_score.max(f.cvss2_score) >= 9.0 {
            Severity::Critical
        } else {
            Severity::High
        };
        let fix = if f.fixed_in.is_empty() {
            format!("Mitigate {} on {}", f.cve_id, asset.name)
        } else {
            format!("Update {} to {} on {}", f.package, f.fixed_in, asset.name)
        };
        let year = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .format("%Y")
            .to_string();
        let now = hikeshi_store::now_ms();
        let case = store
            .create_case(
                &NewCase {
                    year: year.parse().unwrap_or(1970),
                    title: format!("[vuln] {} on {}", f.cve_id, asset.name),
                    description: format!(
                        "{} ({}) is open on {}: package `{}`, fixed in `{}`.\n\nPriority {}: {}.",
                        f.cve_id,
                        f.title,
                        asset.name,
                        f.package,
                        f.fixed_in,
                        priority.score,
                        priority.explain()
                    ),
                    category: "vulnerability".into(),
                    severity: severity.code().into(),
                    tlp: "amber".into(),
                    pap: "amber".into(),
                    phase: "detection_analysis".into(),
                    assignee: assignee.clone(),
                    tags: vec!["vulnerability".into(), f.cve_id.to_ascii_lowercase()],
                    affected_assets: asset.name.clone(),
                    sla_due_at: sla.due_at(severity, now),
                    tasks: Vec::new(),
                    source: "vulnerability".into(),
                    business_impact: String::new(),
                },
                &actor(),
            )
            .await?;
        if !store.claim_finding_action(&f.id, &case.id).await? {
            // Another node acted first; its case stands and this one says so.
            let _ = store
                .add_comment(
                    &case.number,
                    "Opened twice by concurrent imports; see the other case for this finding.",
                    &actor(),
                )
                .await;
            continue;
        }
        store
            .add_task(
                &case.id,
                &NewTask {
                    title: fix.clone(),
                    assignee: assignee.clone(),
                    due_at: case.sla_due_at,
                },
                &actor(),
            )
            .await?;
        if asset.administrator.contains('@') {
            let subject = format!(
                "[hikeshi] {} / {} — 対応をお願いします / action needed",
                f.cve_id, asset.name
            );
            let body = format!(
                "{asset} で {cve} が未対応です。ケース {number} で対応をお願いします。\n{fix}\n\n{cve} is open on {asset}. Please handle it in case {number}.\n{fix}\n",
                asset = asset.name,
                cve = f.cve_id,
                number = case.number,
            );
            store
                .enqueue_mail(&asset.administrator, &subject, &body, "vuln_action", None)
                .await?;
        }
        opened.push(case.number);
    }
    Ok(opened)
}
