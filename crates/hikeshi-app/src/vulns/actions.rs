//! Automatic action on findings: when a finding meets the configured condition (for example KEV
//! and internet-facing), a case is opened with a task for the asset's administrator, and they
//! are told by e-mail when the administrator is an address. Each finding is acted on once, so
//! re-imports and repeated KEV loads do not open more cases.

use super::risk;
use crate::cases::{self, fit_title, CreateCaseInput};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::who::Who;
use crate::App;
use hikeshi_model::{CaseSource, Severity};
use hikeshi_store::{Finding, FindingFilter, NewTask};
use serde::{Deserialize, Serialize};

/// `[vulns.auto_case]`: every condition that is set must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoCase {
    pub kev: bool,
    pub internet_facing: bool,
    /// CVSS (v3, else v2) at least this.
    pub min_cvss: f64,
    /// A told connector (`webhook:<name>`, `exec:<name>`): a finding with a fix also gets a
    /// patch plan through it, waiting for approval (see `patch`).
    pub patch_connector: Option<String>,
}

impl AutoCase {
    pub fn matches(&self, f: &Finding) -> bool {
        (!self.kev || f.kev != 0)
            && (!self.internet_facing || f.internet_facing != 0)
            && f.cvss3_score.max(f.cvss4_score).max(f.cvss2_score) >= self.min_cvss
    }
}

/// Opens a case for every open finding that meets the condition and has not been acted on.
/// Returns the case numbers opened. Each finding is one transaction: the claim on it, its case
/// (opened under the case rules by `hikeshi-vulns`), the fix task and the mail to the asset's
/// administrator commit together, so a concurrent import or a second node never opens a second
/// case for it.
pub async fn apply(app: &App, rule: &AutoCase) -> AppResult<Vec<String>> {
    let store = &app.store;
    let who = Who::system("vulns");
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
            Some(u) if !asset.administrator.is_empty() && !u.is_disabled() => Some(u.username),
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
        let input = CreateCaseInput {
            title: fit_title(&format!("[vuln] {} on {}", f.cve_id, asset.name)),
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
            category: Some("vulnerability".into()),
            severity: Some(severity),
            assignee: assignee.clone(),
            tags: vec!["vulnerability".into(), f.cve_id.to_ascii_lowercase()],
            affected_assets: asset.name.clone(),
            source: Some(CaseSource::Vulnerability),
            ..CreateCaseInput::default()
        };
        let mut tx = store.begin().await?;
        let case = cases::open_in(app, &mut tx, &who, input, Lang::En).await?;
        if !tx.claim_finding_action(&f.id, &case.id).await? {
            // Another node claimed it first: its case stands, and this one is rolled back.
            continue;
        }
        let task = NewTask {
            title: fit_title(&fix),
            assignee,
            due_at: case.sla_due_at,
        };
        tx.add_task(&case.id, &task, &who.actor()).await?;
        if let (Some(connector), false) = (&rule.patch_connector, f.fixed_in.is_empty()) {
            super::patch::propose_in(app, &mut tx, &f, &asset.name, &case.number, connector)
                .await?;
        }
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
            tx.enqueue_mail(&asset.administrator, &subject, &body, "vuln_action", None)
                .await?;
        }
        tx.commit().await?;
        opened.push(case.number);
    }
    Ok(opened)
}
