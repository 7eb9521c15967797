//! Live monitoring: events from HTTP, syslog, watched folders and NATS JetStream go through a
//! bounded queue to detection workers running the same engine as `hikeshi hunt`; hits become
//! alerts (folded by rule, host and user within a window), may be suppressed, and may be
//! grouped into cases. A batch's sender learns the outcome only after the alerts are committed.

mod activity;
pub mod connections;
pub mod engine;
pub mod folder;
pub mod grouping;
pub mod metrics;
pub mod nats;
mod pipeline;
pub mod suppress;
pub mod syslog_net;

pub use engine::{BadLine, Format, LiveEngine, Payload, RawEvent};
pub use grouping::{GroupBy, GroupingRule};
pub use metrics::{Metrics, SourceKind};
pub use pipeline::BatchOutcome;

use crate::error::{AppError, AppResult, ErrorKind};
use crate::who::Who;
use crate::App;
use hikeshi_detect::{IndicatorKind, IndicatorSet};
use hikeshi_store::Store;
use pipeline::Batch;
use serde::Serialize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use suppress::Suppressions;
use tokio::sync::mpsc;

/// Repeats within this window fold into one alert.
pub const DEDUP_WINDOW_MS: i64 = 3_600_000;

/// Builds a fresh engine from the configured rule folders and indicator lists.
pub type Reloader = Box<dyn Fn() -> anyhow::Result<LiveEngine> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct LiveSettings {
    pub dedup_window_ms: i64,
    /// Batches that may wait for a detection worker; senders wait (or UDP drops) beyond.
    pub queue_batches: usize,
    pub workers: usize,
    pub grouping: Vec<GroupingRule>,
    /// Limits on syslog TCP senders.
    pub syslog_tcp: connections::ConnectionLimits,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            dedup_window_ms: DEDUP_WINDOW_MS,
            queue_batches: 64,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            grouping: Vec::new(),
            syslog_tcp: Default::default(),
        }
    }
}

/// The running pipeline, shared by the sources, the API and the workers.
pub struct Live {
    /// The use cases the pipeline calls (grouping opens cases); without a pipeline of its own.
    pub app: App,
    pub store: Store,
    pub metrics: Metrics,
    pub settings: LiveSettings,
    pub activity: activity::Activity,
    engine: RwLock<Arc<LiveEngine>>,
    reloader: Option<Reloader>,
    suppressions: RwLock<Arc<Suppressions>>,
    /// Indicators partners shared that are in force, read from the store (not from the rule
    /// folders), so a share works without a reload.
    shared_indicators: RwLock<Arc<IndicatorSet>>,
    sender: mpsc::Sender<Batch>,
    receiver: Mutex<Option<mpsc::Receiver<Batch>>>,
}

#[derive(Debug, Serialize)]
pub struct IngestResult {
    pub accepted: usize,
    /// The first 100 lines that could not be read, with why.
    pub invalid: Vec<BadLine>,
    /// How many lines could not be read in all.
    pub invalid_lines: usize,
    pub hits: usize,
    pub alerts_created: usize,
    /// Hits of events recorded before (a resent request): not counted again.
    pub repeated: usize,
    pub suppressed: usize,
}

impl Live {
    pub fn new(
        app: App,
        engine: LiveEngine,
        reloader: Option<Reloader>,
        settings: LiveSettings,
    ) -> Arc<Live> {
        let (sender, receiver) = mpsc::channel(settings.queue_batches.max(1));
        Arc::new(Live {
            store: app.store.clone(),
            app,
            metrics: Metrics::default(),
            settings,
            activity: activity::Activity::default(),
            engine: RwLock::new(Arc::new(engine)),
            reloader,
            suppressions: RwLock::new(Arc::new(Suppressions::default())),
            shared_indicators: RwLock::new(Arc::new(IndicatorSet::default())),
            sender,
            receiver: Mutex::new(Some(receiver)),
        })
    }

    /// Starts the detection workers and the suppression refresher (once).
    pub fn start(self: &Arc<Self>) {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(receiver) = receiver {
            pipeline::spawn_workers(self.clone(), receiver);
        }
    }

    pub fn engine(&self) -> Arc<LiveEngine> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn suppressions(&self) -> Arc<Suppressions> {
        self.suppressions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the suppression rules in force.
    pub async fn refresh_suppressions(&self) -> hikeshi_store::Result<()> {
        let rules = self
            .store
            .active_suppressions(hikeshi_store::now_ms())
            .await?;
        *self.suppressions.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(Suppressions::new(rules));
        Ok(())
    }

    fn shared_indicators(&self) -> Arc<IndicatorSet> {
        self.shared_indicators
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the indicators partners shared that are in force: those that have not decayed
    /// under MISP's default model since they arrived or were last sighted (a live hit).
    /// Returns how many there are.
    pub async fn refresh_shared_indicators(&self) -> hikeshi_store::Result<usize> {
        let lifetime = hikeshi_exchange::decay::DecayModel::default().decays_after_days();
        let since = self.app.calendar.now_ms() - (lifetime * 86_400_000.0) as i64;
        let rows = self.store.shared_indicators(since).await?;
        let mut set = IndicatorSet::default();
        let items = rows
            .iter()
            .filter_map(|(kind, value)| IndicatorKind::parse(kind).map(|k| (k, value.as_str())));
        for (value, error) in set.add_values(items, "sharing") {
            tracing::warn!(%value, %error, "shared indicator not used");
        }
        let count = set.len();
        *self
            .shared_indicators
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(count)
    }

    /// Loads the rule folders and indicator lists again and swaps them in; batches already
    /// being detected finish with the old set.
    pub async fn reload(self: &Arc<Self>) -> anyhow::Result<String> {
        let Some(_) = &self.reloader else {
            anyhow::bail!("this node has no rule folders to reload");
        };
        let me = self.clone();
        let engine = tokio::task::spawn_blocking(move || match &me.reloader {
            Some(load) => load(),
            None => anyhow::bail!("no reloader"),
        })
        .await??;
        let summary = engine.summary.clone();
        *self.engine.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(engine);
        tracing::info!(%summary, "rules reloaded");
        Ok(summary)
    }

    /// (batches waiting, capacity)
    pub fn queue_depth(&self) -> (usize, usize) {
        let cap = self.sender.max_capacity();
        (cap - self.sender.capacity(), cap)
    }

    fn batch(
        source: SourceKind,
        label: &str,
        format: Format,
        events: Vec<RawEvent>,
        received: Instant,
    ) -> Batch {
        Batch {
            source,
            label: label.to_string(),
            format,
            events,
            received,
            reply: None,
        }
    }

    /// Queues a batch, waiting while the queue is full (TCP and folders slow down).
    pub async fn submit(
        &self,
        source: SourceKind,
        label: &str,
        format: Format,
        events: Vec<RawEvent>,
        received: Instant,
        bytes: u64,
    ) {
        self.metrics.received(source, events.len() as u64, bytes);
        let batch = Live::batch(source, label, format, events, received);
        if self.sender.send(batch).await.is_err() {
            tracing::warn!("pipeline stopped; batch not queued");
        }
    }

    /// Queues a batch unless the queue is full; a refused batch is counted as dropped (UDP).
    pub fn try_submit(
        &self,
        source: SourceKind,
        label: &str,
        format: Format,
        events: Vec<RawEvent>,
        received: Instant,
        bytes: u64,
    ) -> bool {
        let n = events.len() as u64;
        self.metrics.received(source, n, bytes);
        match self
            .sender
            .try_send(Live::batch(source, label, format, events, received))
        {
            Ok(()) => true,
            Err(_) => {
                self.metrics.dropped(source, n);
                false
            }
        }
    }

    /// Queues a batch and waits until its alerts are committed (HTTP, NATS, folders).
    pub async fn process(
        &self,
        source: SourceKind,
        label: &str,
        format: Format,
        events: Vec<RawEvent>,
        bytes: u64,
    ) -> Result<BatchOutcome, String> {
        self.metrics.received(source, events.len() as u64, bytes);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut batch = Live::batch(source, label, format, events, Instant::now());
        batch.reply = Some(tx);
        self.sender
            .send(batch)
            .await
            .map_err(|_| "the pipeline has stopped".to_string())?;
        rx.await
            .map_err(|_| "the pipeline stopped before the batch was committed".to_string())?
    }
}

/// Events per batch a request body is cut into: memory per request stays one batch of parsed
/// events, however many tiny lines the body holds.
pub const HTTP_BATCH_EVENTS: usize = 1000;
/// Invalid lines reported back per request; the count goes on, the list stops.
const MAX_REPORTED_BAD_LINES: usize = 100;

/// Splits an NDJSON body into batches of events without copying it. An event is identified by
/// the body's hash and its line: the same body sent again (a retry after a timeout or a crash)
/// is not counted twice, while identical lines inside one body, or in two different bodies,
/// are separate events.
pub fn ndjson_batches(body: &bytes::Bytes) -> impl Iterator<Item = Vec<RawEvent>> + '_ {
    use sha2::Digest;
    let body_id = hex::encode(&sha2::Sha256::digest(body)[..16]);
    let mut lines = body.split(|b| *b == b'\n').enumerate();
    let mut start = 0;
    std::iter::from_fn(move || {
        let mut batch = Vec::new();
        for (n, piece) in lines.by_ref() {
            let end = start + piece.len();
            if !piece.trim_ascii().is_empty() {
                batch.push(RawEvent {
                    id: Some(format!("http:{body_id}:{}", n + 1)),
                    line: n + 1,
                    payload: Payload::Bytes(body.slice(start..end)),
                });
            }
            start = end + 1;
            if batch.len() == HTTP_BATCH_EVENTS {
                break;
            }
        }
        (!batch.is_empty()).then_some(batch)
    })
}

/// `POST /api/v1/events`: the body is answered after its alerts are committed.
pub async fn ingest_ndjson(
    live: Option<&Arc<Live>>,
    body: bytes::Bytes,
    source: &str,
) -> AppResult<IngestResult> {
    let Some(live) = live else {
        return Err(AppError::unavailable(
            "no_rules",
            "no rules are loaded: start the server with --rules DIR",
        ));
    };
    let mut result = IngestResult {
        accepted: 0,
        invalid: Vec::new(),
        invalid_lines: 0,
        hits: 0,
        alerts_created: 0,
        repeated: 0,
        suppressed: 0,
    };
    let mut bytes = body.len() as u64;
    // One batch at a time: the next is parsed only when the last is committed.
    for events in ndjson_batches(&body) {
        let outcome = live
            .process(SourceKind::Http, source, Format::Json, events, bytes)
            .await
            .map_err(|e| {
                AppError::unavailable(
                    "not_committed",
                    format!("the events were not stored, send them again: {e}"),
                )
            })?;
        // The body's size is counted once, with its first batch.
        bytes = 0;
        result.accepted += outcome.accepted;
        result.hits += outcome.hits;
        result.alerts_created += outcome.alerts_created;
        result.repeated += outcome.repeated;
        result.suppressed += outcome.suppressed;
        result.invalid_lines += outcome.invalid.len();
        let room = MAX_REPORTED_BAD_LINES.saturating_sub(result.invalid.len());
        result
            .invalid
            .extend(outcome.invalid.into_iter().take(room));
    }
    Ok(result)
}

/// `POST /api/v1/events` and the like: NDJSON from a shipper, answered after its alerts are
/// committed. The source is named after the caller.
pub async fn ingest(app: &App, who: &Who, body: bytes::Bytes) -> AppResult<IngestResult> {
    who.require_ingest()?;
    ingest_ndjson(app.live.as_ref(), body, &format!("http:{}", who.name)).await
}

/// Reads the rule folders and indicator lists again (admins).
pub async fn reload_rules(app: &App, who: &Who) -> AppResult<String> {
    who.require_admin("reload rules")?;
    let live = app.live()?;
    live.reload()
        .await
        .map_err(|e| AppError::new(ErrorKind::Unprocessable, "reload_failed", e.to_string()))
}
