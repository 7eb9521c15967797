//! The progress line on a terminal: files, bytes, events/s.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Live counters for the progress line on a terminal.
#[derive(Default)]
pub(super) struct Progress {
    items: AtomicUsize,
    events: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub(super) fn done(&self, events: u64, bytes: u64) {
        self.items.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Redraws one status line on standard error until the workers are done.
    pub(super) fn report(
        &self,
        total_items: usize,
        workers_left: &AtomicUsize,
        started: std::time::Instant,
    ) {
        while workers_left.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(250));
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let events = self.events.load(Ordering::Relaxed);
            eprint!(
                "\r{}/{} files and chunks, {} events, {:.1} MB, {:.0} events/s   ",
                self.items.load(Ordering::Relaxed),
                total_items,
                events,
                self.bytes.load(Ordering::Relaxed) as f64 / 1e6,
                events as f64 / secs
            );
        }
        eprint!("\r{:70}\r", "");
    }
}
