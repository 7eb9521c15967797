//! Live monitoring, first part: events arrive as NDJSON over HTTP, run through the same engine
//! as `hikeshi hunt` (rules given to `serve --rules`), and hits become alerts, folded by rule,
//! host and user within a window. The answer is sent only after the alerts are committed.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use hikeshi_detect::{Detector, Event, JsonEvent};
use hikeshi_store::NewHit;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Repeats within this window fold into one alert.
pub const DEDUP_WINDOW_MS: i64 = 3_600_000;
/// Lines longer than this are refused (reported by number); the rest of the body still counts.
const MAX_LINE: usize = 1024 * 1024;
/// The part of a matching event kept with its alert.
const KEEP_EVENT_BYTES: usize = 8 * 1024;

/// The loaded rules, shared by every request.
pub struct LiveEngine {
    pub detector: Detector,
}

#[derive(Debug, Serialize)]
pub struct BadLine {
    pub line: usize,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct IngestResult {
    pub accepted: usize,
    pub invalid: Vec<BadLine>,
    pub hits: usize,
    pub alerts_created: usize,
}

fn first_text(event: &JsonEvent, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| {
            event
                .field(n)
                .map(|v| v.as_text().into_owned())
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_default()
}

/// Runs the rules over each line; pure CPU work, done off the async threads.
fn detect_lines(
    engine: &LiveEngine,
    body: &[u8],
    source: &str,
) -> (Vec<NewHit>, usize, Vec<BadLine>) {
    let now = hikeshi_store::now_ms();
    let mut hits = Vec::new();
    let mut invalid = Vec::new();
    let mut accepted = 0;
    for (n, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = raw.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE {
            invalid.push(BadLine {
                line: n + 1,
                error: format!("longer than {MAX_LINE} bytes"),
            });
            continue;
        }
        let map = match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line) {
            Ok(m) => m,
            Err(e) => {
                invalid.push(BadLine {
                    line: n + 1,
                    error: format!("invalid JSON: {e}"),
                });
                continue;
            }
        };
        accepted += 1;
        let event = JsonEvent::new(map);
        let mut matched = Vec::new();
        if event.map.contains_key("Channel") {
            engine.detector.detect_windows(&event, &mut matched);
        }
        engine.detector.detect_other(&event, &mut matched);
        if matched.is_empty() {
            continue;
        }
        let host = first_text(
            &event,
            &["Computer", "Hostname", "host", "host.name", "hostname"],
        );
        let user = first_text(
            &event,
            &[
                "User",
                "TargetUserName",
                "SubjectUserName",
                "user.name",
                "userIdentity.arn",
            ],
        );
        let kept = if line.len() <= KEEP_EVENT_BYTES {
            String::from_utf8_lossy(line).into_owned()
        } else {
            serde_json::json!({"truncated": String::from_utf8_lossy(&line[..KEEP_EVENT_BYTES])})
                .to_string()
        };
        for index in matched {
            let rule = &engine.detector.rules[index];
            let rule_id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
            let key = hex::encode(Sha256::digest(
                format!("{rule_id}\u{1f}{host}\u{1f}{user}").as_bytes(),
            ));
            hits.push(NewHit {
                dedup_key: key,
                rule_id,
                rule_title: rule.title.clone(),
                level: rule.level.as_str().into(),
                tags: serde_json::to_string(&rule.tags).unwrap_or_else(|_| "[]".into()),
                source: source.to_string(),
                host: host.clone(),
                user_name: user.clone(),
                event_json: kept.clone(),
                seen_at: now,
            });
        }
    }
    (hits, accepted, invalid)
}

pub async fn ingest_ndjson(
    state: &AppState,
    body: axum::body::Bytes,
    source: &str,
) -> ApiResult<IngestResult> {
    let Some(engine) = state.engine.clone() else {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no_rules",
            "no rules are loaded: start the server with --rules DIR",
        ));
    };
    let source_name = source.to_string();
    let (hits, accepted, invalid) =
        tokio::task::spawn_blocking(move || detect_lines(&engine, &body, &source_name))
            .await
            .map_err(ApiError::internal)?;
    let alerts_created = state.store.record_hits(&hits, DEDUP_WINDOW_MS).await?;
    Ok(IngestResult {
        accepted,
        invalid,
        hits: hits.len(),
        alerts_created,
    })
}

impl LiveEngine {
    pub fn new(detector: Detector) -> Arc<LiveEngine> {
        Arc::new(LiveEngine { detector })
    }
}
