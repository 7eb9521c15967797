//! A watched folder: new or growing files are read once. JSON-lines and syslog files are read
//! line by line from the position remembered in the database (so a restart goes on where it
//! stopped, and a file that shrank was rotated and is read from the start); EVTX files and
//! CloudTrail `{"Records": [...]}` files are read whole once their size has stopped changing.
//! The position moves only after the alerts of what was read are committed.

use super::engine::{Format, Payload, RawEvent};
use super::metrics::SourceKind;
use super::Live;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Read at most this much of a growing file per step.
const STEP_BYTES: u64 = 4 * 1024 * 1024;
/// Whole-file formats larger than this are refused (logged once).
const MAX_WHOLE_FILE: u64 = 1024 * 1024 * 1024;
const EVENTS_PER_BATCH: usize = 1000;

/// Watches `dir` every `poll` until `shutdown`.
pub fn spawn_folder(
    live: Arc<Live>,
    dir: PathBuf,
    poll: Duration,
    mut shutdown: crate::jobs::Shutdown,
) {
    tokio::spawn(async move {
        tracing::info!(dir = %dir.display(), "watching folder");
        let mut watcher = Watcher {
            live,
            sizes: HashMap::new(),
            refused: HashMap::new(),
        };
        loop {
            let files = list_files(&dir);
            for file in files {
                if let Err(e) = watcher.visit(&file).await {
                    tracing::warn!(file = %file.display(), error = %e, "watched file not read");
                }
            }
            if !shutdown.sleep(poll).await {
                return;
            }
        }
    });
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

enum Kind {
    Lines,
    Evtx,
    CloudTrail,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "evtx" => Some(Kind::Evtx),
        "jsonl" | "ndjson" | "log" | "txt" | "syslog" => Some(Kind::Lines),
        "json" => {
            // One JSON document per line, or one CloudTrail document holding `Records`.
            let mut head = [0u8; 4096];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            let text = String::from_utf8_lossy(&head[..n]);
            let first_line = text.lines().next().unwrap_or("");
            if first_line.trim_start().starts_with('{') && !first_line.contains("\"Records\"") {
                let whole_line = text.contains('\n');
                if whole_line || n < head.len() {
                    return Some(Kind::Lines);
                }
            }
            Some(Kind::CloudTrail)
        }
        _ => None,
    }
}

struct Watcher {
    live: Arc<Live>,
    /// Sizes seen at the last poll, to tell when a whole-file format has stopped growing.
    sizes: HashMap<PathBuf, u64>,
    /// Files refused at a given size (not retried until they change).
    refused: HashMap<PathBuf, u64>,
}

fn event_id(path: &str, offset: u64, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update(offset.to_le_bytes());
    h.update(bytes);
    format!("file:{}", hex::encode(&h.finalize()[..16]))
}

impl Watcher {
    async fn visit(&mut self, path: &Path) -> anyhow::Result<()> {
        let Some(kind) = kind_of(path) else {
            return Ok(());
        };
        let size = std::fs::metadata(path)?.len();
        let key = path.display().to_string();
        if self.refused.get(path) == Some(&size) {
            return Ok(());
        }
        let (position, seen_size) = self
            .live
            .store
            .source_position(&key)
            .await?
            .map(|(p, s)| (p as u64, s as u64))
            .unwrap_or((0, 0));
        match kind {
            Kind::Lines => self.read_lines(path, &key, size, position).await,
            Kind::Evtx | Kind::CloudTrail => {
                let stable = self.sizes.insert(path.to_path_buf(), size) == Some(size);
                if !stable || (position == size && seen_size == size) {
                    return Ok(());
                }
                if size > MAX_WHOLE_FILE {
                    self.refused.insert(path.to_path_buf(), size);
                    anyhow::bail!("larger than {MAX_WHOLE_FILE} bytes");
                }
                let events = match read_whole(path, &key, &kind) {
                    Ok(e) => e,
                    Err(e) => {
                        self.refused.insert(path.to_path_buf(), size);
                        return Err(e);
                    }
                };
                let mut batch = Vec::new();
                for event in events {
                    batch.push(event);
                    if batch.len() >= EVENTS_PER_BATCH {
                        self.send(&key, std::mem::take(&mut batch), 0).await?;
                    }
                }
                self.send(&key, batch, size).await?;
                self.live
                    .store
                    .save_source_position(&key, size as i64, size as i64)
                    .await?;
                Ok(())
            }
        }
    }

    async fn send(&self, key: &str, events: Vec<RawEvent>, bytes: u64) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let label = format!("folder:{key}");
        let outcome = self
            .live
            .process(SourceKind::Folder, &label, Format::Sniff, events, bytes)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        for bad in outcome.invalid.iter().take(5) {
            tracing::warn!(file = key, error = %bad.error, "event refused");
        }
        Ok(())
    }

    async fn read_lines(
        &mut self,
        path: &Path,
        key: &str,
        size: u64,
        stored: u64,
    ) -> anyhow::Result<()> {
        // A file smaller than where we were was truncated or replaced: start again.
        let mut position = if size < stored { 0 } else { stored };
        while position < size {
            let want = (size - position).min(STEP_BYTES);
            let mut chunk = vec![0u8; want as usize];
            {
                let mut f = std::fs::File::open(path)?;
                f.seek(SeekFrom::Start(position))?;
                f.read_exact(&mut chunk)?;
            }
            let Some(last_newline) = chunk.iter().rposition(|b| *b == b'\n') else {
                if want == STEP_BYTES {
                    // One line longer than a whole step: skip it, counted invalid.
                    self.live.metrics.received(SourceKind::Folder, 1, want);
                    self.live.metrics.parsed(SourceKind::Folder, 0, 1);
                    tracing::warn!(file = key, position, "line over {STEP_BYTES} bytes skipped");
                    position += want;
                    self.live
                        .store
                        .save_source_position(key, position as i64, size as i64)
                        .await?;
                    continue;
                }
                // A last line still being written: wait for its newline.
                return Ok(());
            };
            let body = bytes::Bytes::from(chunk).slice(..last_newline + 1);
            let mut events = Vec::new();
            let mut offset = 0usize;
            for piece in body.split(|b| *b == b'\n') {
                let start = offset;
                offset += piece.len() + 1;
                if piece.trim_ascii().is_empty() {
                    continue;
                }
                events.push(RawEvent {
                    id: Some(event_id(key, position + start as u64, piece)),
                    line: 0,
                    payload: Payload::Bytes(body.slice(start..start + piece.len())),
                });
            }
            let mut batch = Vec::new();
            for e in events {
                batch.push(e);
                if batch.len() >= EVENTS_PER_BATCH {
                    self.send(key, std::mem::take(&mut batch), 0).await?;
                }
            }
            self.send(key, batch, body.len() as u64).await?;
            position += body.len() as u64;
            self.live
                .store
                .save_source_position(key, position as i64, size as i64)
                .await?;
        }
        Ok(())
    }
}

fn read_whole(path: &Path, key: &str, kind: &Kind) -> anyhow::Result<Vec<RawEvent>> {
    let parsed = |i: usize, map: serde_json::Map<String, serde_json::Value>| RawEvent {
        id: Some(format!("file:{key}#{i}")),
        line: i + 1,
        payload: Payload::Parsed(map),
    };
    match kind {
        Kind::Evtx => {
            let records = hikeshi_ingest::read_evtx(path).map_err(|e| anyhow::anyhow!(e))?;
            let mut out = Vec::new();
            for (i, r) in records.enumerate() {
                match r {
                    Ok(map) => out.push(parsed(i, map)),
                    Err(e) => tracing::warn!(file = key, error = %e, "EVTX record skipped"),
                }
            }
            Ok(out)
        }
        _ => {
            let text = std::fs::read(path)?;
            let doc: serde_json::Value =
                serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
            let records = doc
                .get("Records")
                .and_then(|r| r.as_array())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "a .json file with neither one event per line nor a `Records` list"
                    )
                })?;
            Ok(records
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_object().map(|m| parsed(i, m.clone())))
                .collect())
        }
    }
}
