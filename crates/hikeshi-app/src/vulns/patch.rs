//! Patch plans for findings: when the automatic case rule opens a case for a finding that has
//! a fix and `[vulns.auto_case] patch_connector` names a told connector (a webhook to the
//! patch tooling, an exec script), a `remediate_vuln` response action is written beside the case:
//! "update package P to version V on host H", waiting for a person's approval (never the
//! requester's own). Approved, the connector is told to carry it out. The next scan of that
//! host decides: the finding gone is verified fixed, still there fails the action and says so.

use crate::App;
use hikeshi_model::{ActionKind, ActionState};
use hikeshi_store::{Actor, Finding, ResponseAction, StoreError, Tx};

/// Who proposes patch plans in the audit.
pub const PROPOSER: &str = "hikeshi-vulns:auto_case";

/// What a plan's target is: the host, the CVE and the package, readable and unique per
/// finding.
pub fn target(asset_name: &str, f: &Finding) -> String {
    format!("{asset_name}/{}/{}", f.cve_id, f.package)
}

/// Writes the patch plan of one finding in the case's transaction.
pub async fn propose_in(
    app: &App,
    tx: &mut Tx,
    f: &Finding,
    asset_name: &str,
    case_number: &str,
    connector: &str,
) -> Result<(), StoreError> {
    let now = app.calendar.now_ms();
    let actor = Actor {
        username: PROPOSER.into(),
    };
    let plan = format!(
        "update {} to {} on {asset_name} for {} (case {case_number}), through {connector}; the next scan of {asset_name} verifies it",
        f.package, f.fixed_in, f.cve_id
    );
    let row = ResponseAction {
        id: hikeshi_store::new_id(),
        idempotency_key: format!("vulns|remediate_vuln|{}", f.id),
        policy: "vulns.auto_case".into(),
        policy_version: "1".into(),
        kind: ActionKind::RemediateVuln.code().into(),
        target: target(asset_name, f),
        connector: connector.into(),
        mode: hikeshi_model::ResponseMode::Approve.code().into(),
        state: ActionState::Proposed.code().into(),
        plan_hash: crate::response::propose::plan_hash(&plan),
        plan,
        alert_id: None,
        requested_by: PROPOSER.into(),
        approved_by: String::new(),
        offence: 1,
        // A plan stays in force until the scan verifies it; a year is "until then".
        ttl_ms: 365 * 86_400_000,
        created_at: now,
        approval_expires_at: None,
        activated_at: None,
        expires_at: None,
        attempts: 0,
        next_attempt_at: None,
        last_error: String::new(),
        connector_answer: String::new(),
        held_because: String::new(),
        updated_at: now,
        undone_at: None,
    };
    tx.insert_response_action(&row, &actor).await?;
    let mut waiting = row.clone();
    waiting.state = ActionState::PendingApproval.code().into();
    waiting.updated_at = now + 1;
    waiting.approval_expires_at =
        Some(now + app.config.response.approval_timeout_secs as i64 * 1000);
    tx.save_response_action(&row, &waiting, &actor).await?;
    Ok(())
}

/// After an import: each carried-out plan for the scanned hosts is verified fixed when its
/// finding is gone, and failed when the finding is still reported by a scan newer than the
/// patch. Returns how many plans were decided.
pub async fn verify(app: &App, asset_names: &[String]) -> Result<usize, StoreError> {
    let now = app.calendar.now_ms();
    let actor = Actor {
        username: "hikeshi-vulns:scan".into(),
    };
    let mut decided = 0;
    for asset in asset_names {
        let plans = app
            .store
            .response_actions(&hikeshi_store::ActionQuery {
                state: Some(ActionState::Active.code().into()),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let prefix = format!("{asset}/");
        for plan in plans
            .into_iter()
            .filter(|p| p.kind == ActionKind::RemediateVuln.code() && p.target.starts_with(&prefix))
        {
            let mut parts = plan.target.splitn(3, '/').skip(1);
            let (Some(cve), Some(package)) = (parts.next(), parts.next()) else {
                continue;
            };
            let findings = app
                .store
                .list_findings(&hikeshi_store::FindingFilter {
                    cve: Some(cve.to_string()),
                    limit: 1000,
                    ..Default::default()
                })
                .await?;
            let Some(finding) = findings
                .iter()
                .find(|f| f.asset_name == *asset && f.package == package)
            else {
                continue;
            };
            let activated = plan.activated_at.unwrap_or(0);
            let outcome = if finding.status == "fixed" {
                Some((
                    ActionState::Reverted,
                    format!("verified fixed: {cve} is no longer reported on {asset}"),
                ))
            } else if finding.last_seen > activated {
                Some((
                    ActionState::Failed,
                    format!("not fixed: the scan of {asset} still reports {cve} in {package}"),
                ))
            } else {
                None
            };
            let Some((to, text)) = outcome else { continue };
            let saved = app
                .store
                .write(async |tx| {
                    let mut ending = plan.clone();
                    ending.updated_at = now.max(plan.updated_at + 1);
                    if to == ActionState::Reverted {
                        // Active → reverting → reverted: a patch is verified, never undone.
                        ending.state = ActionState::Reverting.code().into();
                        if !tx.save_response_action(&plan, &ending, &actor).await? {
                            return Ok::<_, StoreError>(false);
                        }
                        let mut done = ending.clone();
                        done.state = ActionState::Reverted.code().into();
                        done.updated_at = ending.updated_at + 1;
                        done.undone_at = Some(now);
                        done.connector_answer = text.clone();
                        return tx.save_response_action(&ending, &done, &actor).await;
                    }
                    ending.state = to.code().into();
                    ending.last_error = text.clone();
                    ending.next_attempt_at = None;
                    ending.undone_at = Some(now);
                    tx.save_response_action(&plan, &ending, &actor).await
                })
                .await?;
            decided += usize::from(saved);
        }
    }
    Ok(decided)
}
