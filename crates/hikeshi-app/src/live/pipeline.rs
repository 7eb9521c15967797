//! The detection workers: each takes a batch from the bounded queue, runs the rules over it on
//! a blocking thread, commits the hits, groups new alerts into cases and answers the sender.

use super::engine::{detect_batch, BadLine, Format, InForce, RawEvent};
use super::metrics::SourceKind;
use super::Live;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Mutex};

pub struct Batch {
    pub source: SourceKind,
    /// Shown on alerts as their source, e.g. `http:agent` or `syslog_tcp:10.0.0.5`.
    pub label: String,
    pub format: Format,
    pub events: Vec<RawEvent>,
    /// When the first event arrived: latency is measured from here.
    pub received: Instant,
    pub reply: Option<oneshot::Sender<Result<BatchOutcome, String>>>,
}

#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    pub accepted: usize,
    pub invalid: Vec<BadLine>,
    pub hits: usize,
    pub alerts_created: usize,
    pub repeated: usize,
    pub suppressed: usize,
}

/// Attempts to commit a batch whose sender waits for the answer (it can send again).
const ANSWERED_ATTEMPTS: u32 = 3;

pub fn spawn_workers(live: Arc<Live>, receiver: mpsc::Receiver<Batch>) {
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..live.settings.workers.max(1) {
        let live = live.clone();
        let receiver = receiver.clone();
        tokio::spawn(async move {
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(batch) = next else { break };
                run_batch(&live, batch).await;
            }
        });
    }
}

async fn run_batch(live: &Arc<Live>, batch: Batch) {
    let Batch {
        source,
        label,
        format,
        events,
        received,
        reply,
    } = batch;
    let engine = live.engine();
    let suppressions = live.suppressions();
    let shared = live.shared_indicators();
    let source_label = label.clone();
    let year = live.app.calendar.this_year();
    let detected = tokio::task::spawn_blocking(move || {
        let in_force = InForce {
            engine: &engine,
            suppressions: &suppressions,
            shared: &shared,
        };
        detect_batch(&in_force, source, &label, format, &events, year)
    })
    .await;
    let detected = match detected {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "detection worker failed");
            live.metrics.batches_failed.fetch_add(1, Relaxed);
            if let Some(r) = reply {
                let _ = r.send(Err("detection failed".into()));
            }
            return;
        }
    };
    live.metrics.parsed(
        source,
        detected.accepted as u64,
        detected.invalid.len() as u64,
    );
    // A sender that waits gets an error after a few attempts and can send again; the others
    // (TCP, UDP) have nobody to tell, so their batch is retried until the database is back,
    // which stalls the queue and so slows the senders down.
    let mut attempt = 0;
    let recorded = loop {
        attempt += 1;
        match live
            .store
            .record_hits(&detected.hits, live.settings.dedup_window_ms)
            .await
        {
            Ok(r) => break Ok(r),
            Err(e) if reply.is_some() && attempt >= ANSWERED_ATTEMPTS => break Err(e),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "cannot commit alerts; retrying");
                let wait = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                tokio::time::sleep(wait).await;
            }
        }
    };
    let recorded = match recorded {
        Ok(r) => r,
        Err(e) => {
            live.metrics.batches_failed.fetch_add(1, Relaxed);
            if let Some(r) = reply {
                let _ = r.send(Err(e.to_string()));
            }
            return;
        }
    };
    let m = &live.metrics;
    m.hits.fetch_add(recorded.counted as u64, Relaxed);
    m.hits_repeated.fetch_add(recorded.repeated as u64, Relaxed);
    m.hits_suppressed
        .fetch_add(recorded.suppressed as u64, Relaxed);
    m.alerts_created
        .fetch_add(recorded.created.len() as u64, Relaxed);
    m.latency(
        received.elapsed().as_secs_f64(),
        (detected.accepted + detected.invalid.len()) as u64,
    );
    if !recorded.fresh.is_empty() {
        crate::response::on_hits(&live.app, &detected.hits, &recorded.fresh).await;
    }
    if !live.settings.grouping.is_empty() && !recorded.created.is_empty() {
        let grouped = super::grouping::group_new_alerts(live, &recorded.created).await;
        m.cases_grouped.fetch_add(grouped as u64, Relaxed);
    }
    if let Some(r) = reply {
        let _ = r.send(Ok(BatchOutcome {
            accepted: detected.accepted,
            invalid: detected.invalid,
            hits: detected.hits.len(),
            alerts_created: recorded.created.len(),
            repeated: recorded.repeated,
            suppressed: recorded.suppressed,
        }));
    }
    if let Some(events) = live.activity.add(&source_label, detected.accepted as i64) {
        if let Err(e) = live.store.note_source_activity(&source_label, events).await {
            tracing::warn!(error = %e, "cannot record source activity");
        }
    }
}
