//! How a hunt shows what it found: a table, CSV or JSON lines on stdout, and a summary on
//! stderr.

use super::{Engines, Tally};
use serde_json::{Map, Value};
use std::io::Write;

pub(super) fn attack_tags(tags: &[String]) -> String {
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

/// Prints the detections in `format` and the summary lines.
pub(super) fn print(
    engines: &Engines,
    tally: &Tally,
    format: &str,
    scan_line: &str,
    rules_line: &str,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if format == "csv" {
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
        match format {
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
    eprintln!("\n{scan_line}");
    eprintln!("{rules_line}");
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
    Ok(())
}
