//! Reading the inputs: which format a file is, and turning its records into events for
//! `record`. JSON-lines files are split into chunks so several threads share a large file.

use super::{record, Engines, Tally};
use chrono::Datelike;
use hikeshi_detect::Level;
use serde_json::{Map, Value};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Lines longer than this are skipped and reported, not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;

pub(super) enum Format {
    Evtx,
    CloudTrail,
    JsonLines,
    Syslog,
}

pub(super) fn sniff(path: &Path) -> Result<Format, String> {
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = f
        .read(&mut head)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if n == 8 && &head == b"ElfFile\0" {
        return Ok(Format::Evtx);
    }
    let first = head[..n].iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => {
            // CloudTrail delivers one JSON object with a `Records` array per file.
            let mut start = String::new();
            let _ = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_string(&mut start));
            if start
                .trim_start()
                .trim_start_matches('{')
                .trim_start()
                .starts_with("\"Records\"")
            {
                Ok(Format::CloudTrail)
            } else {
                Ok(Format::JsonLines)
            }
        }
        _ => {
            let mut start = Vec::new();
            let _ = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut start));
            let first = String::from_utf8_lossy(&start);
            let first = first.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if hikeshi_ingest::parse_syslog_line(first, 2000).is_some() {
                Ok(Format::Syslog)
            } else {
                Err(format!("{}: not EVTX, JSON or syslog", path.display()))
            }
        }
    }
}

fn hunt_file(detector: &Engines, min: Level, path: &Path, tally: &mut Tally) {
    let name = path.display().to_string();
    tally.bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match sniff(path) {
        Err(e) => tally.skipped.push(e),
        Ok(Format::Evtx) => match hikeshi_ingest::read_evtx(path) {
            Err(e) => tally.skipped.push(e),
            Ok(records) => {
                for r in records {
                    match r {
                        Ok(ev) => record(detector, min, ev, &name, tally),
                        Err(e) => tally.skipped.push(format!("record skipped: {e}")),
                    }
                }
            }
        },
        Ok(Format::CloudTrail) => {
            let parsed: Result<Value, _> = std::fs::File::open(path)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    serde_json::from_reader(std::io::BufReader::new(f)).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(Value::Object(mut o)) => match o.remove("Records") {
                    Some(Value::Array(records)) => {
                        for r in records {
                            if let Value::Object(m) = r {
                                record(detector, min, m, &name, tally);
                            }
                        }
                    }
                    _ => tally.skipped.push(format!("{name}: no Records array")),
                },
                Ok(_) => tally.skipped.push(format!("{name}: not a JSON object")),
                Err(e) => tally.skipped.push(format!("{name}: invalid JSON: {e}")),
            }
        }
        Ok(Format::JsonLines) => hunt_lines(detector, min, path, None, LineKind::Json, tally),
        Ok(Format::Syslog) => {
            // BSD syslog lines carry no year: take the file's.
            let year = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).year())
                .unwrap_or(1970);
            hunt_lines(detector, min, path, None, LineKind::Syslog { year }, tally)
        }
    }
}

/// JSON-lines files above this size are split into chunks of this size for the worker threads.
const CHUNK: u64 = 8 * 1024 * 1024;

/// One piece of work: a whole file, or a byte range of a JSON-lines file.
pub(super) struct Work {
    path: PathBuf,
    range: Option<(u64, u64)>,
}

pub(super) fn plan(files: Vec<PathBuf>) -> Vec<Work> {
    let mut work = Vec::new();
    for path in files {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > CHUNK && matches!(sniff(&path), Ok(Format::JsonLines)) {
            let mut start = 0;
            while start < size {
                work.push(Work {
                    path: path.clone(),
                    range: Some((start, (start + CHUNK).min(size))),
                });
                start += CHUNK;
            }
        } else {
            work.push(Work { path, range: None });
        }
    }
    work
}

pub(super) fn hunt_work(engines: &Engines, min: Level, work: &Work, tally: &mut Tally) {
    match work.range {
        None => hunt_file(engines, min, &work.path, tally),
        Some(range) => hunt_lines(engines, min, &work.path, Some(range), LineKind::Json, tally),
    }
}

/// How each line of a line-oriented file becomes an event.
#[derive(Clone, Copy)]
enum LineKind {
    Json,
    Syslog { year: i32 },
}

/// Reads a line-oriented file: the whole file, or the lines that start inside `range` (a line
/// that crosses the end belongs to the chunk it starts in). Problems name the line number, or
/// the byte offset inside a chunk.
fn hunt_lines(
    engines: &Engines,
    min: Level,
    path: &Path,
    range: Option<(u64, u64)>,
    kind: LineKind,
    tally: &mut Tally,
) {
    use std::io::{Seek, SeekFrom};
    let name = path.display().to_string();
    let Ok(mut file) = std::fs::File::open(path) else {
        tally.skipped.push(format!("{name}: unreadable"));
        return;
    };
    let (start, end) = range.unwrap_or((0, u64::MAX));
    if range.is_some() {
        tally.bytes += end - start;
    }
    let mut pos = start.saturating_sub(1);
    if file.seek(SeekFrom::Start(pos)).is_err() {
        tally
            .skipped
            .push(format!("{name}: cannot seek to byte {pos}"));
        return;
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    if start > 0 {
        // Finish the line that started before this chunk; the previous chunk reads it.
        match reader.read_until(b'\n', &mut line) {
            Ok(n) => pos += n as u64,
            Err(e) => {
                tally.skipped.push(format!("{name}@{pos}: {e}"));
                return;
            }
        }
    }
    let mut number = 0u64;
    while pos < end {
        line.clear();
        number += 1;
        let at = if range.is_some() {
            format!("{name}@{pos}")
        } else {
            format!("{name}:{number}")
        };
        match reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(n) if line.len() > MAX_LINE && !line.ends_with(b"\n") => {
                tally
                    .skipped
                    .push(format!("{at}: line longer than {MAX_LINE} bytes"));
                let mut sink = Vec::new();
                let rest = reader.read_until(b'\n', &mut sink).unwrap_or(0);
                pos += (n + rest) as u64;
            }
            Ok(n) => {
                pos += n as u64;
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                let parsed = match kind {
                    LineKind::Json => serde_json::from_slice::<Map<String, Value>>(trimmed)
                        .map_err(|e| format!("invalid JSON: {e}")),
                    LineKind::Syslog { year } => {
                        hikeshi_ingest::parse_syslog_line(&String::from_utf8_lossy(trimmed), year)
                            .ok_or_else(|| "not a syslog line".to_string())
                    }
                };
                match parsed {
                    Ok(ev) => record(engines, min, ev, &name, tally),
                    Err(e) => tally.skipped.push(format!("{at}: {e}")),
                }
            }
            Err(e) => {
                tally.skipped.push(format!("{at}: {e}"));
                break;
            }
        }
    }
}
