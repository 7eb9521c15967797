//! Every kind of queued job and every periodic task, in one place: what `serve` and `worker`
//! run in the background.

use super::{Job, MailSender, Periodic};
use crate::App;
use std::sync::Arc;
use std::time::Duration;

/// Alert roll-ups for the dashboard: settled hours every few minutes.
const ROLLUP_EVERY: Duration = Duration::from_secs(300);
/// How often suppression rules are re-read (other nodes may have changed them).
const SUPPRESSIONS_EVERY: Duration = Duration::from_secs(5);
const SHARED_INDICATORS_EVERY: Duration = Duration::from_secs(30);
/// How often the Maildir's `new/` is read.
const MAILDIR_EVERY: Duration = Duration::from_secs(2);
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often the evidence folder is swept of files no record points to.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The background work of `hikeshi serve`.
pub fn for_server(app: &App) -> (Vec<Arc<dyn Job>>, Vec<Periodic>) {
    let mut jobs: Vec<Arc<dyn Job>> = Vec::new();
    match &app.config.mail.relay {
        None => tracing::info!("no mail relay configured: outgoing mail stays queued"),
        Some(relay) => {
            match MailSender::new(relay, &app.config.mail, app.config.relay_password.as_ref()) {
                Ok(sender) => jobs.push(Arc::new(sender)),
                Err(e) => tracing::error!(error = %e, "outgoing mail stays queued"),
            }
        }
    }
    jobs.push(Arc::new(crate::vulns::delivery::DeliveryImport));
    jobs.push(Arc::new(crate::psirt::publish::Publish));
    let mut periodic = vec![
        Periodic::new(
            "risk-history",
            crate::vulns::triage::RISK_SNAPSHOT_EVERY,
            |app| {
                Box::pin(async move {
                    if let Err(e) = crate::vulns::triage::record_risk_snapshot(&app).await {
                        tracing::warn!(error = %e, "risk snapshot not recorded");
                    }
                })
            },
        ),
        Periodic::new("alert-rollups", ROLLUP_EVERY, |app| {
            Box::pin(async move {
                if let Err(e) = crate::reporting::rollup::ensure(&app).await {
                    tracing::warn!(error = %e.message, "cannot roll up alerts");
                }
            })
        }),
        Periodic::new("purge-jobs", PURGE_EVERY, |app| {
            Box::pin(async move {
                let keep = app.config.jobs.keep_done_days.max(1) * 86_400_000;
                if let Err(e) = app
                    .store
                    .purge_done_jobs(hikeshi_store::now_ms() - keep)
                    .await
                {
                    tracing::warn!(error = %e, "finished jobs not purged");
                }
            })
        }),
        // At start (a kill mid-upload leaves temporary files) and every hour after.
        Periodic::new("evidence-sweep", SWEEP_EVERY, |app| {
            Box::pin(async move {
                match app.store.referenced_file_hashes().await {
                    Ok(keep) => {
                        let removed = app.evidence.sweep(&keep).await;
                        if removed > 0 {
                            tracing::info!(removed, "files no record points to removed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "evidence folder not swept"),
                }
            })
        }),
    ];
    if !app.config.retention.is_off() {
        periodic.push(Periodic::new(
            "retention",
            crate::retention::APPLY_EVERY,
            |app| {
                Box::pin(async move {
                    let who = crate::Who::system("retention");
                    if let Err(e) = crate::retention::apply(&app, &who).await {
                        tracing::warn!(error = %e.message, "retention not applied");
                    }
                })
            },
        ));
    }
    if let Some(p) = crate::vulns::feeds::periodic(app) {
        periodic.push(p);
    }
    if let Some(p) = crate::response::content::periodic(app) {
        periodic.push(p);
    }
    if let Some(dir) = app.config.mail.maildir.clone() {
        periodic.push(Periodic::new("maildir", MAILDIR_EVERY, move |app| {
            let dir = dir.clone();
            Box::pin(async move { crate::intake::mail::read_maildir(&app, &dir).await })
        }));
    }
    periodic.extend(for_pipeline(app));
    (jobs, periodic)
}

/// The background work of a node that runs the live pipeline (`serve --rules` or `worker`).
pub fn for_pipeline(app: &App) -> Vec<Periodic> {
    if app.live.is_none() {
        return Vec::new();
    }
    vec![
        Periodic::new("suppressions", SUPPRESSIONS_EVERY, |app| {
            Box::pin(async move {
                if let Some(live) = &app.live {
                    if let Err(e) = live.refresh_suppressions().await {
                        tracing::warn!(error = %e, "cannot read suppression rules");
                    }
                }
            })
        }),
        // Another node (or a case closed since) changes what is in force: read it again.
        Periodic::new("shared indicators", SHARED_INDICATORS_EVERY, |app| {
            Box::pin(async move {
                if let Some(live) = &app.live {
                    if let Err(e) = live.refresh_shared_indicators().await {
                        tracing::warn!(error = %e, "cannot read shared indicators");
                    }
                }
            })
        }),
    ]
}
