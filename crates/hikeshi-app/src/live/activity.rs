//! Which sources send events, written to the database at most every few seconds per source
//! so that the hot path does not pay a write per batch. The countermeasure map reads it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FLUSH_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Activity {
    pending: Mutex<HashMap<String, (Instant, i64)>>,
}

impl Activity {
    /// Adds `events` for `label`; returns the count to write when this source is due.
    pub fn add(&self, label: &str, events: i64) -> Option<i64> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = pending
            .entry(label.chars().take(200).collect())
            .or_insert((now - FLUSH_EVERY, 0));
        entry.1 += events;
        if now.duration_since(entry.0) >= FLUSH_EVERY {
            let due = entry.1;
            *entry = (now, 0);
            Some(due)
        } else {
            None
        }
    }
}
