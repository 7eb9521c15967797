//! Windows EVTX files. Records are rendered to JSON by the `evtx` crate and flattened the way
//! Sigma names Windows fields: `EventData` children by name, `System` fields such as `EventID`,
//! `Channel`, `Computer`, `Provider_Name`.

use serde_json::{Map, Value};
use std::path::Path;

/// One record, or why it could not be read (the rest of the file is still read).
pub type EvtxRecord = Result<Map<String, Value>, String>;

/// Reads every record of an EVTX file. A file that is not EVTX at all is an error; a damaged
/// record or chunk yields an `Err` item and reading goes on.
pub fn read_evtx(path: &Path) -> Result<impl Iterator<Item = EvtxRecord>, String> {
    let parser = evtx::EvtxParser::from_path(path)
        .map_err(|e| format!("{}: not a readable EVTX file: {e}", path.display()))?;
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(records(parser, &path.display().to_string(), len))
}

/// The same for an EVTX file held in memory (a member of an archive), named `name` in errors.
pub fn read_evtx_bytes(
    bytes: Vec<u8>,
    name: &str,
) -> Result<impl Iterator<Item = EvtxRecord>, String> {
    let len = bytes.len() as u64;
    let parser = evtx::EvtxParser::from_buffer(bytes)
        .map_err(|e| format!("{name}: not a readable EVTX file: {e}"))?;
    Ok(records(parser, name, len))
}

/// EVTX files are a 4 KiB header and 64 KiB chunks.
const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

fn records<T: std::io::Read + std::io::Seek>(
    parser: evtx::EvtxParser<T>,
    name: &str,
    len: u64,
) -> std::vec::IntoIter<EvtxRecord> {
    let settings = evtx::ParserSettings::default().separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let records: Vec<EvtxRecord> = parser
        .records_json_value()
        .map(|r| match r {
            Ok(record) => Ok(flatten_evtx(&record.data)),
            Err(e) => Err(format!("{name}: {e}")),
        })
        .collect();
    let mut records = records;
    // The parser quietly stops at a partial last chunk; a cut-off copy should say so.
    if len > HEADER && !(len - HEADER).is_multiple_of(CHUNK) {
        records.push(Err(format!(
            "{name}: the file ends inside chunk {} (truncated copy?); the records before it were read",
            (len - HEADER) / CHUNK
        )));
    }
    records.into_iter()
}

fn text_of(v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) => o
            .get("#text")
            .cloned()
            .or_else(|| (o.is_empty()).then_some(Value::Null)),
        other => Some(other.clone()),
    }
}

fn attributes(v: &Value) -> Option<&Map<String, Value>> {
    v.get("#attributes").and_then(Value::as_object)
}

/// Leaves of a nested object (as in `UserData`) keep their own names.
fn flatten_leaves(v: &Value, out: &mut Map<String, Value>) {
    if let Value::Object(o) = v {
        for (k, child) in o {
            if k == "#attributes" {
                if let Some(attrs) = child.as_object() {
                    for (ak, av) in attrs {
                        out.entry(ak.clone()).or_insert_with(|| av.clone());
                    }
                }
                continue;
            }
            match child {
                Value::Object(inner) if !inner.contains_key("#text") => flatten_leaves(child, out),
                _ => {
                    if let Some(t) = text_of(child) {
                        // Defender and some other providers put spaces in names ("Threat Name");
                        // Sigma rules write them without ("ThreatName").
                        if k.contains(' ') {
                            out.insert(k.replace(' ', ""), t.clone());
                        }
                        out.insert(k.clone(), t);
                    }
                }
            }
        }
    }
}

/// The flat field map of one rendered record.
pub fn flatten_evtx(data: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let event = data.get("Event").unwrap_or(data);
    if let Some(system) = event.get("System").and_then(Value::as_object) {
        for (k, v) in system {
            match k.as_str() {
                "Provider" => {
                    if let Some(a) = attributes(v) {
                        for (ak, av) in a {
                            out.insert(format!("Provider_{ak}"), av.clone());
                        }
                    }
                }
                "TimeCreated" => {
                    if let Some(t) = attributes(v).and_then(|a| a.get("SystemTime")) {
                        out.insert("TimeCreated".into(), t.clone());
                    }
                }
                "Execution" | "Security" | "Correlation" => {
                    if let Some(a) = attributes(v) {
                        for (ak, av) in a {
                            out.insert(format!("{k}_{ak}"), av.clone());
                        }
                    }
                }
                _ => {
                    if let Some(t) = text_of(v) {
                        out.insert(k.clone(), t);
                    }
                }
            }
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(v) = event.get(section) {
            match v {
                Value::Object(_) => flatten_leaves(v, &mut out),
                Value::Null => {}
                other => {
                    out.insert(section.to_string(), other.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_system_and_event_data() {
        let rendered = serde_json::json!({"Event": {
            "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                       "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "pc1",
                       "TimeCreated": {"#attributes": {"SystemTime": "2025-11-27T07:40:10Z"}}},
            "EventData": {"Image": "C:\\x.exe", "CommandLine": "x -y"}}});
        let flat = flatten_evtx(&rendered);
        assert_eq!(flat["Provider_Name"], "Microsoft-Windows-Sysmon");
        assert_eq!(flat["EventID"], 1);
        assert_eq!(flat["Image"], "C:\\x.exe");
        assert_eq!(flat["TimeCreated"], "2025-11-27T07:40:10Z");
        let qualified = serde_json::json!({"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045}}}});
        assert_eq!(flatten_evtx(&qualified)["EventID"], 7045);
    }
}
