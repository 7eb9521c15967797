//! Reading the inputs: which format a file is, and turning its records into events for
//! `record`. JSON-lines files are split into chunks so several threads share a large file;
//! zip and gzip (and tar.gz) archives are read member by member without unpacking to disk.

use super::{record, Engines, Tally};
use chrono::Datelike;
use hikeshi_detect::Level;
use serde_json::{Map, Value};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Lines longer than this are skipped and reported, not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// An archive member read whole (EVTX needs to seek) may be at most this large.
const MAX_MEMBER: u64 = 1024 * 1024 * 1024;

/// An archive may expand at most this many times its compressed size (after a floor): the
/// OTRF Windows logs reach 61:1, a zip bomb is a thousand to one and more.
const MAX_RATIO: u64 = 250;
/// What any archive may expand to whatever its ratio (a small file of real logs).
const RATIO_FLOOR: u64 = 64 * 1024 * 1024;

/// How much of a file or member is looked at to tell its format.
const SNIFF_BYTES: usize = 4096;

pub(super) enum Format {
    Evtx,
    CloudTrail,
    JsonLines,
    Syslog,
    Zip,
    Gzip,
}

/// Tells the format from the first bytes.
pub(super) fn sniff_bytes(head: &[u8]) -> Result<Format, &'static str> {
    if head.starts_with(b"ElfFile\0") {
        return Ok(Format::Evtx);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Format::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Format::Gzip);
    }
    let text = String::from_utf8_lossy(head);
    if let Some(object) = text.trim_start().strip_prefix('{') {
        // CloudTrail delivers one JSON object with a `Records` array per file.
        return Ok(if object.trim_start().starts_with("\"Records\"") {
            Format::CloudTrail
        } else {
            Format::JsonLines
        });
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if hikeshi_ingest::parse_syslog_line(first, 2000).is_some() {
        Ok(Format::Syslog)
    } else {
        Err("not EVTX, JSON, syslog, zip or gzip")
    }
}

pub(super) fn sniff(path: &Path) -> Result<Format, String> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    sniff_bytes(&head).map_err(|why| format!("{}: {why}", path.display()))
}

/// BSD syslog lines carry no year: take the file's.
fn year_of(path: &Path) -> i32 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).year())
        .unwrap_or(1970)
}

fn hunt_file(engines: &Engines, min: Level, path: &Path, tally: &mut Tally) {
    let name = path.display().to_string();
    let format = match sniff(path) {
        Ok(f) => f,
        Err(e) => return tally.skipped.push(e),
    };
    // Archives count the bytes of their members as read, for honest MB/s.
    if !matches!(format, Format::Zip | Format::Gzip) {
        tally.bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    match format {
        Format::Evtx => match hikeshi_ingest::read_evtx(path) {
            Err(e) => tally.skipped.push(e),
            Ok(records) => evtx_records(engines, min, records, &name, tally),
        },
        Format::Zip => hunt_zip(engines, min, path, tally),
        Format::Gzip => hunt_gzip(engines, min, path, tally),
        other => match std::fs::File::open(path) {
            Ok(f) => {
                let reader = std::io::BufReader::with_capacity(1 << 20, f);
                hunt_stream(engines, min, other, reader, &name, year_of(path), tally)
            }
            Err(e) => tally.skipped.push(format!("{name}: {e}")),
        },
    }
}

fn evtx_records(
    engines: &Engines,
    min: Level,
    records: impl Iterator<Item = hikeshi_ingest::EvtxRecord>,
    name: &str,
    tally: &mut Tally,
) {
    for r in records {
        match r {
            Ok(ev) => record(engines, min, ev, name, tally),
            Err(e) => tally.skipped.push(format!("record skipped: {e}")),
        }
    }
}

/// Reads one file or archive member of a known, non-archive format from a stream.
fn hunt_stream(
    engines: &Engines,
    min: Level,
    format: Format,
    reader: impl BufRead,
    name: &str,
    year: i32,
    tally: &mut Tally,
) {
    match format {
        Format::Evtx => {
            let mut bytes = Vec::new();
            match reader.take(MAX_MEMBER + 1).read_to_end(&mut bytes) {
                Ok(_) if bytes.len() as u64 > MAX_MEMBER => tally
                    .skipped
                    .push(format!("{name}: EVTX member over {MAX_MEMBER} bytes")),
                Ok(_) => match hikeshi_ingest::read_evtx_bytes(bytes, name) {
                    Ok(records) => evtx_records(engines, min, records, name, tally),
                    Err(e) => tally.skipped.push(e),
                },
                Err(e) => tally.skipped.push(format!("{name}: {e}")),
            }
        }
        Format::CloudTrail => {
            // Streamed: one record in memory at a time, however long the Records array.
            let mut de = serde_json::Deserializer::from_reader(reader);
            let mut each = |m: Map<String, Value>| record(engines, min, m, name, tally);
            let seed = TrailRecords { each: &mut each };
            let outcome = serde::de::DeserializeSeed::deserialize(seed, &mut de);
            match outcome {
                Ok(true) => {}
                Ok(false) => tally.skipped.push(format!("{name}: no Records array")),
                Err(e) => tally.skipped.push(format!("{name}: {e}")),
            }
        }
        Format::JsonLines => read_lines(engines, min, reader, name, None, LineKind::Json, tally),
        Format::Syslog => read_lines(
            engines,
            min,
            reader,
            name,
            None,
            LineKind::Syslog { year },
            tally,
        ),
        Format::Zip | Format::Gzip => tally
            .skipped
            .push(format!("{name}: an archive inside an archive is not read")),
    }
}

/// Sniffs a member from its first bytes, then reads it from the same stream. Its bytes count
/// as read once decompressed.
fn hunt_member(
    engines: &Engines,
    min: Level,
    member: impl Read,
    name: &str,
    year: i32,
    tally: &mut Tally,
) {
    let read = std::cell::Cell::new(0u64);
    let counted = Counted {
        inner: member,
        read: &read,
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, counted);
    let format = match reader.fill_buf() {
        Ok(head) => sniff_bytes(&head[..head.len().min(SNIFF_BYTES)]),
        Err(e) => return tally.skipped.push(format!("{name}: {e}")),
    };
    match format {
        Ok(f) => hunt_stream(engines, min, f, reader, name, year, tally),
        Err(why) => tally.skipped.push(format!("{name}: {why}")),
    }
    tally.bytes += read.get();
}

/// The `Records` of a CloudTrail document, each handed to `each` as soon as it is read; the
/// other keys are skipped without being kept. Says whether there was a `Records` array.
struct TrailRecords<'a> {
    each: &'a mut dyn FnMut(Map<String, Value>),
}

impl<'de> serde::de::DeserializeSeed<'de> for TrailRecords<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TrailRecords<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudTrail document: an object with a Records array")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(EachRecord {
                    each: &mut *self.each,
                })?;
                found = true;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct EachRecord<'a> {
    each: &'a mut dyn FnMut(Map<String, Value>),
}

impl<'de> serde::de::DeserializeSeed<'de> for EachRecord<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for EachRecord<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            if let Value::Object(m) = v {
                (self.each)(m);
            }
        }
        Ok(())
    }
}

/// Stops reading with an error once more than `limit` bytes came through: the expansion cap
/// of an archive or member.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    compressed: u64,
}

impl<R> Bounded<R> {
    fn new(inner: R, compressed: u64) -> Bounded<R> {
        Bounded {
            inner,
            read: 0,
            limit: compressed.saturating_mul(MAX_RATIO).max(RATIO_FLOOR),
            compressed,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read > self.limit {
            return Err(std::io::Error::other(format!(
                "expands to more than {} bytes from {} compressed (over {MAX_RATIO}:1): not read further",
                self.limit, self.compressed
            )));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Counts the bytes read through it.
struct Counted<'a, R> {
    inner: R,
    read: &'a std::cell::Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn hunt_zip(engines: &Engines, min: Level, path: &Path, tally: &mut Tally) {
    let name = path.display().to_string();
    let archive = std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
    let mut archive = match archive {
        Ok(a) => a,
        Err(e) => {
            return tally
                .skipped
                .push(format!("{name}: not a readable zip: {e}"))
        }
    };
    let year = year_of(path);
    for i in 0..archive.len() {
        let member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                tally.skipped.push(format!("{name}: member {i}: {e}"));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        // The member name is only shown, never used as a path.
        let member_name = match member.name() {
            Ok(n) => format!("{name}!{n}"),
            Err(_) => format!("{name}!#{i}"),
        };
        let compressed = member.compressed_size();
        hunt_member(
            engines,
            min,
            Bounded::new(member, compressed),
            &member_name,
            year,
            tally,
        );
    }
}

/// A `.gz` file: a tar archive inside (`.tar.gz`), or one compressed log.
fn hunt_gzip(engines: &Engines, min: Level, path: &Path, tally: &mut Tally) {
    let name = path.display().to_string();
    let open = || {
        std::fs::File::open(path)
            .map(|f| flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f)))
    };
    let mut head = Vec::new();
    if let Err(e) = open().and_then(|d| d.take(512).read_to_end(&mut head)) {
        return tally
            .skipped
            .push(format!("{name}: not readable gzip: {e}"));
    }
    let year = year_of(path);
    // A tar header carries "ustar" at byte 257.
    let is_tar = head.len() == 512 && head.get(257..262) == Some(b"ustar".as_slice());
    let decoder = match open() {
        Ok(d) => d,
        Err(e) => return tally.skipped.push(format!("{name}: {e}")),
    };
    // The whole stream (every tar member together) is held to the expansion cap.
    let compressed = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let decoder = Bounded::new(decoder, compressed);
    if !is_tar {
        return hunt_member(engines, min, decoder, &name, year, tally);
    }
    let mut archive = tar::Archive::new(decoder);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            return tally
                .skipped
                .push(format!("{name}: not a readable tar: {e}"))
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A damaged tar cannot be resynchronised: what was read so far counts.
                tally.skipped.push(format!("{name}: {e}"));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member_name = format!(
            "{name}!{}",
            entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        hunt_member(engines, min, entry, &member_name, year, tally);
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
        Some(range) => hunt_chunk(engines, min, &work.path, range, tally),
    }
}

/// How each line of a line-oriented file becomes an event.
#[derive(Clone, Copy)]
enum LineKind {
    Json,
    Syslog { year: i32 },
}

/// Reads the JSON lines that start inside `range` of a file (a line that crosses the end
/// belongs to the chunk it starts in). Problems name the byte offset.
fn hunt_chunk(engines: &Engines, min: Level, path: &Path, range: (u64, u64), tally: &mut Tally) {
    use std::io::{Seek, SeekFrom};
    let name = path.display().to_string();
    let Ok(mut file) = std::fs::File::open(path) else {
        tally.skipped.push(format!("{name}: unreadable"));
        return;
    };
    let (start, end) = range;
    tally.bytes += end - start;
    let mut pos = start.saturating_sub(1);
    if file.seek(SeekFrom::Start(pos)).is_err() {
        tally
            .skipped
            .push(format!("{name}: cannot seek to byte {pos}"));
        return;
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    if start > 0 {
        // Finish the line that started before this chunk; the previous chunk reads it.
        let mut partial = Vec::new();
        match reader.read_until(b'\n', &mut partial) {
            Ok(n) => pos += n as u64,
            Err(e) => {
                tally.skipped.push(format!("{name}@{pos}: {e}"));
                return;
            }
        }
    }
    read_lines(
        engines,
        min,
        reader,
        &name,
        Some((pos, end)),
        LineKind::Json,
        tally,
    );
}

/// Reads lines from `reader` until its end, or, for a chunk, until the position passes the
/// chunk's end (`chunk` = (current byte offset, end)). Problems name the line number, or the
/// byte offset inside a chunk.
fn read_lines(
    engines: &Engines,
    min: Level,
    mut reader: impl BufRead,
    name: &str,
    chunk: Option<(u64, u64)>,
    kind: LineKind,
    tally: &mut Tally,
) {
    let (mut pos, end) = chunk.unwrap_or((0, u64::MAX));
    let mut line = Vec::new();
    let mut number = 0u64;
    while pos < end {
        line.clear();
        number += 1;
        let at = if chunk.is_some() {
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
                let rest = skip_line(&mut reader);
                pos += n as u64 + rest;
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
                    Ok(ev) => record(engines, min, ev, name, tally),
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

/// Skips to just after the next newline without holding the rest of an oversized line.
fn skip_line(reader: &mut impl BufRead) -> u64 {
    let mut skipped = 0u64;
    loop {
        let (done, used) = match reader.fill_buf() {
            Ok([]) | Err(_) => return skipped,
            Ok(buf) => match memchr_newline(buf) {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            },
        };
        reader.consume(used);
        skipped += used as u64;
        if done {
            return skipped;
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|b| *b == b'\n')
}
