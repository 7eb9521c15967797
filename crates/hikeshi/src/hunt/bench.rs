//! `hikeshi bench detect`: the hunt over the same files with one thread and with every core,
//! beside the floor of parsing the JSON alone.

use super::input::{sniff, Format};
use super::{run, HuntArgs};
use crate::rules_load::walk;
use hikeshi_detect::Level;
use serde_json::Value;
use std::path::PathBuf;

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
