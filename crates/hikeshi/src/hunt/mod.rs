//! `hikeshi hunt`: run the Sigma rules over log files (EVTX, JSON lines, CloudTrail, syslog) and print a
//! timeline of detections. Files are spread over all cores.

mod bench;
mod input;
mod output;
mod progress;
mod times;

pub use bench::{all_cores, bench};
pub use times::parse_time_bound;

use crate::rules_load::{self, load, walk};
use hikeshi_detect::Level;
use hikeshi_detect::{
    Correlator, Detector, Event, IndicatorSet, JsonEvent, Source as CorrelationSource,
    SourceMapping, WindowsMapping,
};
use input::{hunt_work, plan};
use progress::Progress;
use serde_json::{Map, Value};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use times::time_ms;

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
    output::print(
        &engines,
        &tally,
        &args.format,
        &format!("{file_count} files, {} events, {:.1} MB in {scan_secs:.2} s ({:.0} events/s, {:.1} MB/s; rules loaded in {load_secs:.2} s)",
            tally.events, tally.bytes as f64 / 1e6, tally.events as f64 / scan_secs.max(1e-9), tally.bytes as f64 / 1e6 / scan_secs.max(1e-9)),
        &format!("{} rules and {correlation_count} correlation rules in use, {rules_failed} not usable, {} filters applied to {} rules",
            detector.rules.len(), loaded.filters, loaded.filters_applied),
    )?;
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

/// `hikeshi hunt`'s flags.
#[derive(clap::Args)]
pub struct HuntVerb {
    /// Files or folders to read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Folder (or file) of Sigma rules; repeat for more.
    #[arg(long = "rules", required_unless_present = "iocs")]
    pub rules: Vec<PathBuf>,
    /// Extra log-source mapping file (Windows channels and categories, or a `sources:` list of
    /// other sources); repeat for more.
    #[arg(long = "mapping")]
    pub mappings: Vec<PathBuf>,
    /// Indicator list (one value per line, or CSV with `value` and `type` columns); repeat for more.
    #[arg(long = "iocs")]
    pub iocs: Vec<PathBuf>,
    /// Lowest rule level to show: informational, low, medium, high, critical.
    #[arg(long, default_value = "informational")]
    pub min_level: String,
    /// Output: table, csv or jsonl.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "jsonl"])]
    pub format: String,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Only events at or after this time (RFC 3339, or `YYYY-MM-DD[ HH:MM:SS]` in UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Only events at or before this time (same forms as --from).
    #[arg(long)]
    pub to: Option<String>,
}

/// `hikeshi hunt`: exits 3 when the hunt ran but some input or rules were left out (distinct
/// from failure, 1).
pub fn run_verb(a: HuntVerb) -> anyhow::Result<()> {
    let bound = |flag: &str, text: Option<String>| -> anyhow::Result<Option<i64>> {
        text.map(|t| {
            parse_time_bound(&t).ok_or_else(|| {
                anyhow::anyhow!(
                    "--{flag}: `{t}` is not a time (use 2026-11-26T09:00:00Z or 2026-11-26)"
                )
            })
        })
        .transpose()
    };
    let window = (bound("from", a.from)?, bound("to", a.to)?);
    let min_level = hikeshi_detect::Level::parse(&a.min_level)
        .ok_or_else(|| anyhow::anyhow!("--min-level: unknown level `{}`", a.min_level))?;
    let skipped = run(HuntArgs {
        paths: a.paths,
        rules: a.rules,
        mappings: a.mappings,
        iocs: a.iocs,
        min_level,
        format: a.format,
        threads: a.threads.unwrap_or_else(all_cores),
        window,
        print: true,
    })?
    .skipped;
    if skipped {
        std::process::exit(3);
    }
    Ok(())
}
