//! `hikeshi hunt`: run the Sigma rules over log files (EVTX, JSON lines, CloudTrail, syslog) and print a
//! timeline of detections. Files are spread over all cores.

use crate::rules_load::{self, load, walk};
use chrono::Datelike;
use hikeshi_detect::Level;
use hikeshi_detect::{
    Correlator, Detector, Event, IndicatorSet, JsonEvent, Source as CorrelationSource,
    SourceMapping, WindowsMapping,
};
use serde_json::{Map, Value};
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct HuntArgs {
    pub paths: Vec<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub mappings: Vec<PathBuf>,
    pub iocs: Vec<PathBuf>,
    pub min_level: Level,
    pub format: String,
    pub threads: usize,
    /// Only events whose time falls inside (ms since the epoch, inclusive; open ends `None`).
    pub window: (Option<i64>, Option<i64>),
    /// Print detections and the summary (false for benchmarks).
    pub print: bool,
}

/// What a hunt did, for the summary and for benchmarks.
pub struct HuntStats {
    pub files: usize,
    pub events: u64,
    pub bytes: u64,
    pub scan_secs: f64,
    pub load_secs: f64,
    pub detections: usize,
    /// Something (file, record, line, rule, indicator) was left out.
    pub skipped: bool,
}

/// Lines longer than this are skipped and reported, not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// What fired: a rule, or an indicator from a list.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Rule(usize),
    Indicator(usize),
    Correlation(usize),
}

/// Rules and indicators, shared by the worker threads.
struct Engines {
    detector: Detector,
    indicators: IndicatorSet,
    /// Fed after the scan, in time order, with the matches of the rules it uses.
    correlator: Mutex<Correlator>,
    /// Per rule: the fields its matches must keep for correlations (`None`: not used by any).
    correlation_fields: Vec<Option<Vec<String>>>,
    /// Per rule: whether its matches are shown on their own (see `generate`).
    reports_alone: Vec<bool>,
    /// `--from`/`--to` in ms.
    window: (Option<i64>, Option<i64>),
}

/// A match kept for the correlation pass.
struct CorrelationInput {
    rule: usize,
    time_ms: i64,
    time: String,
    host: String,
    file: String,
    fields: Map<String, Value>,
}

/// A `--from`/`--to` value: an event time form, or a bare date (its midnight, UTC).
pub fn parse_time_bound(text: &str) -> Option<i64> {
    time_ms(text).or_else(|| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
    })
}

/// Event times as the formats we read write them: RFC 3339 (`2026-11-26T09:30:00.123Z`) or
/// `2026-11-26 09:30:00.123` taken as UTC.
fn time_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| n.and_utc().timestamp_millis())
}

/// How one detection is shown, whatever fired it.
struct Shown {
    title: String,
    id: String,
    level: Level,
    tags: Vec<String>,
}

impl Engines {
    fn show(&self, s: Source) -> Shown {
        match s {
            Source::Rule(r) => {
                let rule = &self.detector.rules[r];
                Shown {
                    title: rule.title.clone(),
                    id: rule.id.clone().unwrap_or_default(),
                    level: rule.level,
                    tags: rule.tags.clone(),
                }
            }
            Source::Correlation(c) => {
                let correlator = self.correlator.lock().unwrap_or_else(|e| e.into_inner());
                let rule = correlator.rule(c);
                Shown {
                    title: rule.title.clone(),
                    id: rule.id.clone().unwrap_or_default(),
                    level: rule.level,
                    tags: rule.tags.clone(),
                }
            }
            // Indicator hits are `high`: somebody put them on a list for a reason.
            Source::Indicator(i) => {
                let ind = &self.indicators.indicators[i];
                Shown {
                    title: format!("Indicator match: {} {}", ind.kind.as_str(), ind.value),
                    id: format!("ioc:{}", ind.source),
                    level: Level::High,
                    tags: Vec::new(),
                }
            }
        }
    }
}

struct Detection {
    time: String,
    host: String,
    rule: Source,
    fields: Vec<(String, String)>,
    file: String,
}

#[derive(Default)]
struct Tally {
    events: u64,
    bytes: u64,
    skipped: Vec<String>,
    detections: Vec<Detection>,
    correlation_inputs: Vec<CorrelationInput>,
    /// Events left out by `--from`/`--to`.
    outside_window: u64,
}

enum Format {
    Evtx,
    CloudTrail,
    JsonLines,
    Syslog,
}

fn sniff(path: &Path) -> Result<Format, String> {
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

fn text(map: &Map<String, Value>, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| map.get(*k).and_then(|v| v.as_str().map(str::to_string)))
        .unwrap_or_default()
}

fn record(engines: &Engines, min: Level, event: Map<String, Value>, file: &str, tally: &mut Tally) {
    tally.events += 1;
    let event = JsonEvent::new(event);
    let detector = &engines.detector;
    let time = || {
        text(
            &event.map,
            &[
                "TimeCreated",
                "eventTime",
                "@timestamp",
                "UtcTime",
                "EventTime",
            ],
        )
    };
    let host = || {
        text(
            &event.map,
            &["Computer", "Hostname", "recipientAccountId", "host"],
        )
    };
    if let (Some(_), _) | (_, Some(_)) = engines.window {
        let (from, to) = engines.window;
        // Events without a readable time are kept: dropping them would hide detections.
        if let Some(t) = time_ms(&time()) {
            if from.is_some_and(|f| t < f) || to.is_some_and(|x| t > x) {
                tally.outside_window += 1;
                return;
            }
        }
    }
    let mut hits = Vec::new();
    // Windows events carry their channel; everything else is recognised by `sources.yml`.
    if event.map.contains_key("Channel") {
        detector.detect_windows(&event, &mut hits);
    }
    detector.detect_other(&event, &mut hits);
    for rule in hits {
        let r = &detector.rules[rule];
        if let Some(needed) = &engines.correlation_fields[rule] {
            let when = time();
            match time_ms(&when) {
                Some(ms) => tally.correlation_inputs.push(CorrelationInput {
                    rule,
                    time_ms: ms,
                    time: when,
                    host: host(),
                    file: file.to_string(),
                    fields: needed
                        .iter()
                        .filter_map(|f| {
                            let v = event.field(f)?;
                            Some((f.clone(), Value::String(v.as_text().into_owned())))
                        })
                        .collect(),
                }),
                None => tally.skipped.push(format!(
                    "{file}: a match of `{}` has no readable time (`{when}`); it cannot count towards correlations",
                    r.title
                )),
            }
        }
        if r.level < min || !engines.reports_alone[rule] {
            continue;
        }
        let fields = r
            .field_names()
            .into_iter()
            .filter_map(|f| {
                event
                    .field(f)
                    .map(|v| (f.to_string(), v.as_text().chars().take(200).collect()))
            })
            .collect();
        tally.detections.push(Detection {
            time: time(),
            host: host(),
            rule: Source::Rule(rule),
            fields,
            file: file.to_string(),
        });
    }
    if !engines.indicators.is_empty() && Level::High >= min {
        for hit in engines.indicators.scan_event(&event) {
            let fields = vec![(
                "matched".to_string(),
                hit.matched.chars().take(200).collect(),
            )];
            tally.detections.push(Detection {
                time: time(),
                host: host(),
                rule: Source::Indicator(hit.indicator),
                fields,
                file: file.to_string(),
            });
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

/// Live counters for the progress line on a terminal.
#[derive(Default)]
struct Progress {
    items: AtomicUsize,
    events: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn done(&self, events: u64, bytes: u64) {
        self.items.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Redraws one status line on standard error until the workers are done.
    fn report(&self, total_items: usize, workers_left: &AtomicUsize, started: std::time::Instant) {
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

/// JSON-lines files above this size are split into chunks of this size for the worker threads.
const CHUNK: u64 = 8 * 1024 * 1024;

/// One piece of work: a whole file, or a byte range of a JSON-lines file.
struct Work {
    path: PathBuf,
    range: Option<(u64, u64)>,
}

fn plan(files: Vec<PathBuf>) -> Vec<Work> {
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

fn hunt_work(engines: &Engines, min: Level, work: &Work, tally: &mut Tally) {
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

fn attack_tags(tags: &[String]) -> String {
    tags.iter()
        .filter(|t| t.starts_with("attack."))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Returns whether anything was skipped (files, records, rules).
pub fn run(args: HuntArgs) -> anyhow::Result<HuntStats> {
    let started = std::time::Instant::now();
    let loaded = load(&args.rules);
    let mut mapping = WindowsMapping::builtin();
    let mut sources = SourceMapping::builtin();
    for m in &args.mappings {
        let text =
            std::fs::read_to_string(m).map_err(|e| anyhow::anyhow!("{}: {e}", m.display()))?;
        // A file with a top-level `sources:` list describes non-Windows sources.
        let is_sources = text.lines().any(|l| l.starts_with("sources:"));
        let problem = |e: hikeshi_detect::RuleError| anyhow::anyhow!("{}: {e}", m.display());
        if is_sources {
            sources.extend(SourceMapping::parse(&text).map_err(problem)?);
        } else {
            mapping.extend(WindowsMapping::parse(&text).map_err(problem)?);
        }
    }
    let rules_failed = loaded.failures.len();
    for (file, err) in &loaded.failures {
        eprintln!("rule not used: {}: {err}", file.display());
    }
    let mut indicators = IndicatorSet::default();
    let mut ioc_problems = Vec::new();
    for f in &args.iocs {
        let text =
            std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for e in indicators.add_list(&text, &name) {
            ioc_problems.push(format!("{}:{}: {}", f.display(), e.line, e.message));
        }
    }
    let (correlator, refused) = rules_load::correlator(&loaded);
    for (file, err) in &refused {
        eprintln!("rule not used: {}: {err}", file.display());
    }
    let rules_failed = rules_failed + refused.len();
    let correlation_count = correlator.len();
    let rule_count = loaded.rules.len();
    let correlation_fields = (0..rule_count)
        .map(|r| {
            correlator
                .uses_rule(r)
                .then(|| correlator.fields_for_rule(r))
        })
        .collect();
    let reports_alone = (0..rule_count)
        .map(|r| correlator.rule_reports_alone(r))
        .collect();
    let engines = Engines {
        detector: Detector::with_sources(loaded.rules, &mapping, sources),
        indicators,
        correlator: Mutex::new(correlator),
        correlation_fields,
        reports_alone,
        window: args.window,
    };
    let detector = &engines.detector;
    let load_secs = started.elapsed().as_secs_f64();
    let mut files = Vec::new();
    for p in &args.paths {
        walk(p, &|f| f.is_file(), &mut files);
    }
    let file_count = files.len();
    let work = plan(files);
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Tally::default());
    let progress = Progress::default();
    let workers_left = AtomicUsize::new(args.threads.max(1));
    let scan = std::time::Instant::now();
    std::thread::scope(|s| {
        if args.print && std::io::stderr().is_terminal() {
            s.spawn(|| progress.report(work.len(), &workers_left, scan));
        }
        for _ in 0..args.threads.max(1) {
            s.spawn(|| {
                let mut tally = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = work.get(i) else { break };
                    let (events, bytes) = (tally.events, tally.bytes);
                    hunt_work(&engines, args.min_level, item, &mut tally);
                    progress.done(tally.events - events, tally.bytes - bytes);
                }
                workers_left.fetch_sub(1, Ordering::Relaxed);
                if let Ok(mut t) = total.lock() {
                    t.events += tally.events;
                    t.bytes += tally.bytes;
                    t.skipped.extend(tally.skipped);
                    t.detections.extend(tally.detections);
                    t.correlation_inputs.extend(tally.correlation_inputs);
                    t.outside_window += tally.outside_window;
                }
            });
        }
    });
    let mut tally = total.into_inner().unwrap_or_default();
    correlate(&engines, args.min_level, &mut tally);
    let scan_secs = scan.elapsed().as_secs_f64();
    tally
        .detections
        .sort_by(|a, b| a.time.cmp(&b.time).then(a.rule.cmp(&b.rule)));
    tally.skipped.extend(ioc_problems);
    let stats = HuntStats {
        files: file_count,
        events: tally.events,
        bytes: tally.bytes,
        scan_secs,
        load_secs,
        detections: tally.detections.len(),
        skipped: !tally.skipped.is_empty() || rules_failed > 0,
    };
    if !args.print {
        return Ok(stats);
    }
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.format == "csv" {
        writeln!(
            out,
            "time,host,level,rule_title,rule_id,attack_tags,fields,file"
        )?;
    }
    let mut by_level = std::collections::BTreeMap::new();
    for d in &tally.detections {
        let shown = engines.show(d.rule);
        *by_level
            .entry(std::cmp::Reverse(shown.level))
            .or_insert(0u64) += 1;
        let fields = d
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ¦ ");
        match args.format.as_str() {
            "jsonl" => {
                let field_map: Map<String, Value> = d
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let line = serde_json::json!({
                    "time": d.time, "host": d.host, "rule_id": shown.id, "rule_title": shown.title,
                    "level": shown.level.as_str(), "tags": shown.tags, "fields": field_map, "file": d.file,
                });
                writeln!(out, "{line}")?;
            }
            "csv" => writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                csv_cell(&d.time),
                csv_cell(&d.host),
                shown.level.as_str(),
                csv_cell(&shown.title),
                csv_cell(&shown.id),
                csv_cell(&attack_tags(&shown.tags)),
                csv_cell(&fields),
                csv_cell(&d.file)
            )?,
            _ => writeln!(
                out,
                "{} {} [{}] {} ({}) {} | {fields}",
                d.time,
                d.host,
                shown.level.as_str(),
                shown.title,
                shown.id,
                attack_tags(&shown.tags)
            )?,
        }
    }
    eprintln!("\n{} files, {} events, {:.1} MB in {scan_secs:.2} s ({:.0} events/s, {:.1} MB/s; rules loaded in {load_secs:.2} s)",
        file_count, tally.events, tally.bytes as f64 / 1e6, tally.events as f64 / scan_secs.max(1e-9), tally.bytes as f64 / 1e6 / scan_secs.max(1e-9));
    eprintln!("{} rules and {correlation_count} correlation rules in use, {rules_failed} not usable, {} filters applied to {} rules",
        detector.rules.len(), loaded.filters, loaded.filters_applied);
    let levels: Vec<String> = by_level
        .iter()
        .map(|(l, n)| format!("{}: {n}", l.0.as_str()))
        .collect();
    eprintln!(
        "{} detections ({})",
        tally.detections.len(),
        levels.join(", ")
    );
    if tally.outside_window > 0 {
        eprintln!(
            "{} events outside --from/--to left out",
            tally.outside_window
        );
    }
    for s in tally.skipped.iter().take(50) {
        eprintln!("skipped: {s}");
    }
    if tally.skipped.len() > 50 {
        eprintln!("skipped: … and {} more", tally.skipped.len() - 50);
    }
    Ok(stats)
}

/// Runs the correlation rules over the kept matches, in time order (the scan reads files and
/// chunks in parallel, so matches arrive out of order).
fn correlate(engines: &Engines, min: Level, tally: &mut Tally) {
    let mut inputs = std::mem::take(&mut tally.correlation_inputs);
    if inputs.is_empty() {
        return;
    }
    inputs.sort_by_key(|i| (i.time_ms, i.rule));
    let mut correlator = engines.correlator.lock().unwrap_or_else(|e| e.into_inner());
    let mut fired = Vec::new();
    for input in &inputs {
        let event = JsonEvent::new(input.fields.clone());
        for hit in correlator.observe(CorrelationSource::Rule(input.rule), input.time_ms, &event) {
            fired.push((hit, Some(input)));
        }
    }
    fired.extend(correlator.finish().into_iter().map(|h| (h, None)));
    for (hit, input) in fired {
        if correlator.rule(hit.correlation).level < min {
            continue;
        }
        let mut fields: Vec<(String, String)> = hit.group.clone();
        fields.push(("correlation_value".into(), hit.value.to_string()));
        let time = match input {
            Some(i) => i.time.clone(),
            None => chrono::DateTime::from_timestamp_millis(hit.last_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
        };
        tally.detections.push(Detection {
            time,
            host: input.map(|i| i.host.clone()).unwrap_or_default(),
            rule: Source::Correlation(hit.correlation),
            fields,
            file: input.map(|i| i.file.clone()).unwrap_or_default(),
        });
    }
}

/// Peak resident memory of this process so far, from Linux's /proc (None elsewhere).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `hikeshi bench detect`: one pass with one thread, one with every core.
/// Every core the process may use.
pub fn all_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

pub fn bench(paths: Vec<PathBuf>, rules: Vec<PathBuf>) -> anyhow::Result<()> {
    let cores = all_cores();
    println!(
        "{:<8} {:>6} {:>10} {:>9} {:>8} {:>11} {:>8} {:>10} {:>10}",
        "threads",
        "files",
        "events",
        "MB",
        "seconds",
        "events/s",
        "MB/s",
        "rule load",
        "detections"
    );
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for threads in counts {
        let stats = run(HuntArgs {
            paths: paths.clone(),
            rules: rules.clone(),
            mappings: Vec::new(),
            iocs: Vec::new(),
            min_level: Level::Informational,
            format: "table".into(),
            threads,
            window: (None, None),
            print: false,
        })?;
        let secs = stats.scan_secs.max(1e-9);
        println!(
            "{:<8} {:>6} {:>10} {:>9.1} {:>8.2} {:>11.0} {:>8.1} {:>9.2}s {:>10}",
            threads,
            stats.files,
            stats.events,
            stats.bytes as f64 / 1e6,
            stats.scan_secs,
            stats.events as f64 / secs,
            stats.bytes as f64 / 1e6 / secs,
            stats.load_secs,
            stats.detections
        );
    }
    if let Some((events, bytes, secs)) = parse_baseline(&paths) {
        println!(
            "parse only (serde_json DOM, 1 thread, JSON lines): {events} events in {secs:.2} s, {:.0} events/s, {:.1} MB/s",
            events as f64 / secs.max(1e-9),
            bytes as f64 / 1e6 / secs.max(1e-9)
        );
    }
    if let Some(mb) = peak_memory_mb() {
        println!("peak memory: {mb:.0} MB");
    }
    Ok(())
}

/// The floor the brief measures against: parsing every JSON line into a DOM and nothing else,
/// on one thread, over the JSON-lines files among `paths`.
fn parse_baseline(paths: &[PathBuf]) -> Option<(u64, u64, f64)> {
    let mut files = Vec::new();
    for p in paths {
        walk(p, &|f| f.is_file(), &mut files);
    }
    let json_files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| matches!(sniff(f), Ok(Format::JsonLines)))
        .collect();
    if json_files.is_empty() {
        return None;
    }
    let (mut events, mut bytes, mut secs) = (0u64, 0u64, 0f64);
    for f in json_files {
        let Ok(file) = std::fs::File::open(&f) else {
            continue;
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        let started = std::time::Instant::now();
        loop {
            line.clear();
            match std::io::BufRead::read_until(&mut reader, b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes += n as u64,
            }
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&line) {
                std::hint::black_box(&map);
                events += 1;
            }
        }
        secs += started.elapsed().as_secs_f64();
    }
    Some((events, bytes, secs))
}
