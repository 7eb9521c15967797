//! The rules and indicator lists live events run through, and the detection of one batch:
//! parse each event, run the same engine as `hikeshi hunt`, and turn matches into hits.

use super::metrics::SourceKind;
use super::suppress::Suppressions;
use hikeshi_detect::{Detector, Event, IndicatorSet, JsonEvent, Level};
use hikeshi_model::without_nul;
use hikeshi_store::NewHit;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Lines longer than this are refused (reported by number); the rest of the batch still counts.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// The part of a matching event kept with its alert.
const KEEP_EVENT_BYTES: usize = 8 * 1024;

/// The loaded rules and indicators, shared by every batch until a reload replaces them.
pub struct LiveEngine {
    pub detector: Detector,
    pub indicators: IndicatorSet,
    /// What was loaded, for the reload answer and the log.
    pub summary: String,
}

impl LiveEngine {
    pub fn new(detector: Detector) -> LiveEngine {
        let summary = format!("{} rules", detector.rules.len());
        LiveEngine {
            detector,
            indicators: IndicatorSet::default(),
            summary,
        }
    }
}

/// How the bytes of an event are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Syslog,
    /// JSON when it starts with `{`, syslog otherwise (watched folders).
    Sniff,
}

/// One event as it arrived.
pub enum Payload {
    Bytes(bytes::Bytes),
    /// Already parsed (EVTX records, CloudTrail `Records` entries).
    Parsed(Map<String, Value>),
}

pub struct RawEvent {
    /// A stable identity (e.g. `nats:STREAM:SEQ`); without one, the event's bytes are hashed.
    pub id: Option<String>,
    /// Line number within the request or file, for error messages.
    pub line: usize,
    pub payload: Payload,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadLine {
    pub line: usize,
    pub error: String,
}

/// What detection made of a batch.
pub struct Detected {
    pub hits: Vec<NewHit>,
    pub accepted: usize,
    pub invalid: Vec<BadLine>,
}

fn first_text(event: &JsonEvent, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| {
            event
                .field(n)
                .map(|v| v.as_text().into_owned())
                // An object (ECS `host: {name: …}`) is not a name; its dotted field is.
                .filter(|v| !v.is_empty() && !v.starts_with('{') && !v.starts_with('['))
        })
        .unwrap_or_default()
}

/// Where firewalls, proxies, mail gateways and EDRs say what they did with an event.
const ACTION_FIELDS: &[&str] = &[
    "action",
    "Action",
    "event.action",
    "disposition",
    "act",
    "EventOutcome",
];
const BLOCKED_ACTIONS: &[&str] = &[
    "block",
    "blocked",
    "deny",
    "denied",
    "drop",
    "dropped",
    "reject",
    "rejected",
    "quarantine",
    "quarantined",
    "prevent",
    "prevented",
    "reset-both",
    "reset-client",
    "reset-server",
];

/// Whether the event says a control stopped it.
fn was_blocked(event: &JsonEvent) -> bool {
    let action = first_text(event, ACTION_FIELDS).to_ascii_lowercase();
    BLOCKED_ACTIONS.contains(&action.trim())
}

const HOST_FIELDS: &[&str] = &["Computer", "Hostname", "host.name", "hostname", "host"];
const USER_FIELDS: &[&str] = &[
    "User",
    "TargetUserName",
    "SubjectUserName",
    "user.name",
    "userIdentity.arn",
    "user",
];
const SRC_IP_FIELDS: &[&str] = &[
    "SourceIp",
    "IpAddress",
    "sourceIPAddress",
    "src_ip",
    "source.ip",
    "SourceAddress",
    "client.ip",
];
const DST_IP_FIELDS: &[&str] = &["DestinationIp", "DestAddress", "destination.ip", "dst_ip"];

/// Parses one event; `Err` is the reason it was refused.
fn parse(format: Format, payload: &Payload, year: i32) -> Result<Map<String, Value>, String> {
    let bytes = match payload {
        Payload::Parsed(map) => return Ok(map.clone()),
        Payload::Bytes(b) => b.trim_ascii(),
    };
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(format!("longer than {MAX_EVENT_BYTES} bytes"));
    }
    let json = match format {
        Format::Json => true,
        Format::Syslog => false,
        Format::Sniff => bytes.first() == Some(&b'{'),
    };
    if json {
        return serde_json::from_slice::<Map<String, Value>>(bytes)
            .map_err(|e| format!("invalid JSON: {e}"));
    }
    // Syslog senders are not always UTF-8: undecodable bytes become U+FFFD, the event is kept.
    let text = String::from_utf8_lossy(bytes);
    Ok(
        hikeshi_ingest::syslog::parse_syslog_line(&text, year).unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("log_format".into(), Value::String("syslog".into()));
            m.insert("message".into(), Value::String(text.into_owned()));
            m
        }),
    )
}

fn kept_event(payload: &Payload, map: &Map<String, Value>) -> String {
    let text = match payload {
        Payload::Bytes(b) => String::from_utf8_lossy(b.trim_ascii()).into_owned(),
        Payload::Parsed(_) => Value::Object(map.clone()).to_string(),
    };
    if text.len() <= KEEP_EVENT_BYTES {
        if serde_json::from_str::<Value>(&text).is_ok() {
            return text;
        }
        return serde_json::json!({ "raw": text }).to_string();
    }
    let mut cut = KEEP_EVENT_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({ "truncated": &text[..cut] }).to_string()
}

/// The identity a hit is recorded under: the event's own id, or a hash of its bytes.
fn event_identity(source: SourceKind, event: &RawEvent, map: &Map<String, Value>) -> String {
    if let Some(id) = &event.id {
        return id.clone();
    }
    let mut h = Sha256::new();
    h.update(source.name().as_bytes());
    h.update([0x1f]);
    match &event.payload {
        Payload::Bytes(b) => h.update(b.trim_ascii()),
        Payload::Parsed(_) => h.update(Value::Object(map.clone()).to_string().as_bytes()),
    }
    hex::encode(&h.finalize()[..16])
}

/// What a batch is detected against: the loaded rules and lists, the suppressions and the
/// indicators partners shared, each as it was when the batch was taken.
pub struct InForce<'a> {
    pub engine: &'a LiveEngine,
    pub suppressions: &'a Suppressions,
    pub shared: &'a IndicatorSet,
}

/// Runs the rules over a batch; pure CPU work, done off the async threads. `year` is the
/// team's current year, for syslog lines that carry none (RFC 3164).
pub fn detect_batch(
    in_force: &InForce,
    source: SourceKind,
    source_label: &str,
    format: Format,
    events: &[RawEvent],
    year: i32,
) -> Detected {
    let InForce {
        engine,
        suppressions,
        shared,
    } = *in_force;
    let now = hikeshi_store::now_ms();
    let mut out = Detected {
        hits: Vec::new(),
        accepted: 0,
        invalid: Vec::new(),
    };
    let mut matched = Vec::new();
    for raw in events {
        let map = match parse(format, &raw.payload, year) {
            Ok(m) => m,
            Err(error) => {
                out.invalid.push(BadLine {
                    line: raw.line,
                    error,
                });
                continue;
            }
        };
        out.accepted += 1;
        let event = JsonEvent::new(map);
        matched.clear();
        if event.map.contains_key("Channel") {
            engine.detector.detect_windows(&event, &mut matched);
        }
        engine.detector.detect_other(&event, &mut matched);
        let indicator_hits = if engine.indicators.is_empty() {
            Vec::new()
        } else {
            engine.indicators.scan_event(&event)
        };
        let shared_hits = if shared.is_empty() {
            Vec::new()
        } else {
            shared.scan_event(&event)
        };
        if matched.is_empty() && indicator_hits.is_empty() && shared_hits.is_empty() {
            continue;
        }
        let host = first_text(&event, HOST_FIELDS);
        let user = first_text(&event, USER_FIELDS);
        let src_ip = first_text(&event, SRC_IP_FIELDS);
        let dst_ip = first_text(&event, DST_IP_FIELDS);
        let kept = kept_event(&raw.payload, &event.map);
        let blocked = was_blocked(&event);
        let identity = event_identity(source, raw, &event.map);
        let mut push = |rule_id: String, title: String, level: Level, tags: &[String]| {
            let dedup_key = hex::encode(Sha256::digest(
                format!("{rule_id}\u{1f}{host}\u{1f}{user}").as_bytes(),
            ));
            let suppression_id = suppressions
                .matching(&rule_id, &host, &event)
                .map(str::to_string);
            out.hits.push(NewHit {
                hit_key: format!("{identity}/{rule_id}"),
                dedup_key: without_nul(&dedup_key).into_owned(),
                rule_id,
                rule_title: title,
                level: level.as_str().into(),
                tags: serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()),
                source: source_label.to_string(),
                host: without_nul(&host).into_owned(),
                user_name: without_nul(&user).into_owned(),
                src_ip: without_nul(&src_ip).into_owned(),
                dst_ip: without_nul(&dst_ip).into_owned(),
                event_json: without_nul(&kept).into_owned(),
                seen_at: now,
                suppression_id,
                blocked,
            });
        };
        for &index in &matched {
            let rule = &engine.detector.rules[index];
            let rule_id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
            push(rule_id, rule.title.clone(), rule.level, &rule.tags);
        }
        let listed = indicator_hits
            .iter()
            .map(|h| &engine.indicators.indicators[h.indicator]);
        let from_partners = shared_hits.iter().map(|h| &shared.indicators[h.indicator]);
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for ind in listed.chain(from_partners) {
            // A value on a list and shared by a partner is one hit.
            if seen.contains(&(ind.kind.as_str(), ind.value.as_str())) {
                continue;
            }
            seen.push((ind.kind.as_str(), ind.value.as_str()));
            // Indicator hits are `high`: somebody put them on a list for a reason.
            push(
                format!("ioc:{}:{}", ind.kind.as_str(), ind.value),
                format!("Indicator match: {} {}", ind.kind.as_str(), ind.value),
                Level::High,
                &[],
            );
        }
    }
    out
}
