//! Counters for `/metrics` (Prometheus text format). Plain atomics: the hot path only adds.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Http,
    SyslogUdp,
    SyslogTcp,
    Folder,
    Nats,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Http,
        SourceKind::SyslogUdp,
        SourceKind::SyslogTcp,
        SourceKind::Folder,
        SourceKind::Nats,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Http => "http",
            SourceKind::SyslogUdp => "syslog_udp",
            SourceKind::SyslogTcp => "syslog_tcp",
            SourceKind::Folder => "folder",
            SourceKind::Nats => "nats",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Default)]
struct SourceCounters {
    received: AtomicU64,
    parsed: AtomicU64,
    invalid: AtomicU64,
    dropped: AtomicU64,
    bytes: AtomicU64,
}

/// Upper bounds (seconds) of the latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

#[derive(Default)]
pub struct Metrics {
    sources: [SourceCounters; 5],
    pub hits: AtomicU64,
    pub hits_repeated: AtomicU64,
    pub hits_suppressed: AtomicU64,
    pub alerts_created: AtomicU64,
    pub batches_failed: AtomicU64,
    pub cases_grouped: AtomicU64,
    /// Events per latency bucket (the last slot is +Inf).
    latency_buckets: [AtomicU64; 13],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
}

impl Metrics {
    pub fn received(&self, source: SourceKind, events: u64, bytes: u64) {
        let c = &self.sources[source.index()];
        c.received.fetch_add(events, Relaxed);
        c.bytes.fetch_add(bytes, Relaxed);
    }

    pub fn parsed(&self, source: SourceKind, ok: u64, invalid: u64) {
        let c = &self.sources[source.index()];
        c.parsed.fetch_add(ok, Relaxed);
        c.invalid.fetch_add(invalid, Relaxed);
    }

    pub fn dropped(&self, source: SourceKind, events: u64) {
        self.sources[source.index()]
            .dropped
            .fetch_add(events, Relaxed);
    }

    /// Counts `events` that waited `seconds` from arrival to committed alerts.
    pub fn latency(&self, seconds: f64, events: u64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency_buckets[slot].fetch_add(events, Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64 * events, Relaxed);
        self.latency_count.fetch_add(events, Relaxed);
    }

    /// Events parsed (valid) over all sources.
    pub fn total_parsed(&self) -> u64 {
        self.sources.iter().map(|c| c.parsed.load(Relaxed)).sum()
    }

    /// An upper bound on the given quantile of the latency, from the histogram.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let total = self.latency_count.load(Relaxed);
        if total == 0 {
            return None;
        }
        let wanted = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, bucket) in self.latency_buckets.iter().enumerate() {
            seen += bucket.load(Relaxed);
            if seen >= wanted {
                return Some(LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        None
    }

    /// The Prometheus exposition text; `queue` is (batches waiting, capacity).
    pub fn render(&self, queue: (usize, usize)) -> String {
        let mut out = String::new();
        let per_source =
            |out: &mut String, name: &str, help: &str, get: &dyn Fn(&SourceCounters) -> u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for kind in SourceKind::ALL {
                    let _ = writeln!(
                        out,
                        "{name}{{source=\"{}\"}} {}",
                        kind.name(),
                        get(&self.sources[kind.index()])
                    );
                }
            };
        per_source(
            &mut out,
            "hikeshi_events_received_total",
            "Events that reached hikeshi, per source.",
            &|c| c.received.load(Relaxed),
        );
        per_source(
            &mut out,
            "hikeshi_events_parsed_total",
            "Events parsed and run through the rules.",
            &|c| c.parsed.load(Relaxed),
        );
        per_source(
            &mut out,
            "hikeshi_events_invalid_total",
            "Events refused as malformed or oversized.",
            &|c| c.invalid.load(Relaxed),
        );
        per_source(
            &mut out,
            "hikeshi_events_dropped_total",
            "Events dropped because the pipeline was full (UDP only).",
            &|c| c.dropped.load(Relaxed),
        );
        per_source(
            &mut out,
            "hikeshi_bytes_received_total",
            "Bytes of events received.",
            &|c| c.bytes.load(Relaxed),
        );
        let counters: [(&str, &str, &AtomicU64); 6] = [
            (
                "hikeshi_hits_total",
                "Rule and indicator hits recorded.",
                &self.hits,
            ),
            (
                "hikeshi_hits_repeated_total",
                "Hits of events already recorded (resent or redelivered), not counted again.",
                &self.hits_repeated,
            ),
            (
                "hikeshi_hits_suppressed_total",
                "Hits silenced by a suppression rule (still counted on suppressed alerts).",
                &self.hits_suppressed,
            ),
            (
                "hikeshi_alerts_created_total",
                "Alerts created.",
                &self.alerts_created,
            ),
            (
                "hikeshi_batches_failed_total",
                "Batches whose alerts could not be committed.",
                &self.batches_failed,
            ),
            (
                "hikeshi_alerts_grouped_total",
                "Alerts added to a case by a grouping rule.",
                &self.cases_grouped,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP hikeshi_queue_batches Batches waiting for detection.\n# TYPE hikeshi_queue_batches gauge\nhikeshi_queue_batches {}", queue.0);
        let _ = writeln!(out, "# HELP hikeshi_queue_capacity_batches Size of the pipeline queue.\n# TYPE hikeshi_queue_capacity_batches gauge\nhikeshi_queue_capacity_batches {}", queue.1);
        let name = "hikeshi_pipeline_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Time from an event's arrival to its alerts being committed.\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bucket) in self.latency_buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map(|b| b.to_string())
                .unwrap_or_else(|| "+Inf".into());
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{name}_sum {}\n{name}_count {}",
            self.latency_sum_micros.load(Relaxed) as f64 / 1e6,
            self.latency_count.load(Relaxed)
        );
        out
    }
}
