//! Response in Prometheus text: actions by state (from the database, so every node agrees)
//! and this node's reconciler counters.

use crate::App;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

pub async fn render(app: &App) -> String {
    let mut out = String::new();
    let name = "hikeshi_response_actions";
    let _ = writeln!(
        out,
        "# HELP {name} Response actions by state.\n# TYPE {name} gauge"
    );
    match app.store.response_action_counts().await {
        Ok(counts) => {
            for (state, n) in counts {
                let _ = writeln!(out, "{name}{{state=\"{state}\"}} {n}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "response action counts not read"),
    }
    let c = &app.response.counters;
    for (metric, help, value, kind) in [
        (
            "hikeshi_response_reconcile_passes_total",
            "Reconciler passes on this node.",
            c.passes.load(Relaxed),
            "counter",
        ),
        (
            "hikeshi_response_drift_repaired_total",
            "Differences between intended and observed firewall state repaired.",
            c.drift_repaired.load(Relaxed),
            "counter",
        ),
        (
            "hikeshi_response_reconcile_failures_total",
            "Reconciler passes that failed.",
            c.failures.load(Relaxed),
            "counter",
        ),
        (
            "hikeshi_response_in_force",
            "Targets the last pass held in force.",
            c.in_force.load(Relaxed),
            "gauge",
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {metric} {help}\n# TYPE {metric} {kind}\n{metric} {value}"
        );
    }
    out
}
