//! One alert with everything an analyst needs to judge it: the rule that fired (its
//! description, references and ATT&CK tags), the kept events as stored with the fields that
//! made the match, the assets it hit with their open findings, where it went (case,
//! suppression) and its audited history.

use super::{add_suppression, SuppressionInput};
use crate::error::{AppError, AppResult};
use crate::vulns::matching::OpenFindings;
use crate::vulns::triage::{assets_of, index_for, rank_with, RankedAlert};
use crate::who::Who;
use crate::App;
use hikeshi_detect::{CompiledRule, JsonEvent};
use hikeshi_store::{Asset, AuditEntry, AuditQuery, Finding, FindingFilter, Suppression};
use serde_json::{Map, Value};

/// Open findings shown per hit asset; the asset page has the rest.
const FINDINGS_PER_ASSET: usize = 5;
/// History entries shown; an alert changes state a handful of times.
const HISTORY: i64 = 100;
/// A field value longer than this is cut on the page (the stored event keeps it whole).
const FIELD_CHARS: usize = 2_000;

pub struct AlertDetail {
    pub ranked: RankedAlert,
    /// The rule as loaded now; `None` when it is an indicator match or no longer loaded.
    pub rule: Option<RuleFacts>,
    /// `ioc:<kind>:<value>` alerts: the indicator's kind and value.
    pub indicator: Option<(String, String)>,
    pub events: Vec<ShownEvent>,
    pub assets: Vec<HitAsset>,
    pub case_number: Option<String>,
    pub suppression: Option<Suppression>,
    pub history: Vec<AuditEntry>,
}

pub struct RuleFacts {
    pub title: String,
    pub description: String,
    pub author: String,
    pub status: String,
    pub references: Vec<String>,
    pub tags: Vec<TagLink>,
}

/// A rule tag, with a link to MITRE ATT&CK when it names a technique, group or software.
pub struct TagLink {
    pub tag: String,
    pub url: Option<String>,
}

pub struct ShownEvent {
    /// The event as stored, pretty-printed.
    pub stored: String,
    pub fields: Vec<ShownField>,
    /// The fields that made the match (rule field names, or the indicator's places).
    pub matched: Vec<String>,
}

pub struct ShownField {
    pub name: String,
    pub value: String,
    pub matched: bool,
}

pub struct HitAsset {
    pub asset: Asset,
    pub open: Option<OpenFindings>,
    pub findings: Vec<Finding>,
}

/// `attack.t1059.001` → the technique's page; tactics (`attack.execution`) have no number.
pub fn attack_link(tag: &str) -> Option<String> {
    let id = tag.strip_prefix("attack.")?.to_ascii_uppercase();
    let (kind, rest) = match id.chars().next()? {
        'T' => ("techniques", &id[..]),
        'G' => ("groups", &id[..]),
        'S' => ("software", &id[..]),
        _ => return None,
    };
    let mut parts = rest.splitn(2, '.');
    let main = parts.next()?;
    if main.len() < 4 || !main[1..].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(match parts.next() {
        Some(sub) if kind == "techniques" && sub.chars().all(|c| c.is_ascii_digit()) => {
            format!("https://attack.mitre.org/techniques/{main}/{sub}/")
        }
        Some(_) => return None,
        None => format!("https://attack.mitre.org/{kind}/{main}/"),
    })
}

fn rule_facts(rule: &CompiledRule) -> RuleFacts {
    RuleFacts {
        title: rule.title.clone(),
        description: rule.description.clone().unwrap_or_default(),
        author: rule.author.clone().unwrap_or_default(),
        status: rule.status.clone().unwrap_or_default(),
        references: rule.references.clone(),
        tags: rule
            .tags
            .iter()
            .map(|t| TagLink {
                url: attack_link(t),
                tag: t.clone(),
            })
            .collect(),
    }
}

/// Nested objects as dotted names, the way rules name them; arrays stay JSON text.
fn flatten(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => flatten(&name, inner, out),
            Value::String(s) => out.push((name, s.clone())),
            Value::Null => out.push((name, String::new())),
            other => out.push((name, other.to_string())),
        }
    }
}

/// The event as the rules saw it: syslog lines are kept as `{"raw": …}` and read again.
fn as_seen(stored: &Map<String, Value>, year: i32) -> Map<String, Value> {
    if stored.len() == 1 {
        if let Some(Value::String(line)) = stored.get("raw") {
            if let Some(parsed) = hikeshi_ingest::syslog::parse_syslog_line(line, year) {
                return parsed;
            }
        }
    }
    stored.clone()
}

/// An event's fields as the rules saw them, by dotted name.
fn seen_fields(
    stored: &Map<String, Value>,
    year: i32,
) -> (Map<String, Value>, Vec<(String, String)>) {
    let seen = as_seen(stored, year);
    let mut flat = Vec::new();
    flatten("", &seen, &mut flat);
    (seen, flat)
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(FIELD_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn shown_event(
    stored: &Value,
    year: i32,
    rule: Option<&CompiledRule>,
    indicator: Option<&str>,
) -> ShownEvent {
    let pretty = serde_json::to_string_pretty(stored).unwrap_or_default();
    let Value::Object(map) = stored else {
        return ShownEvent {
            stored: pretty,
            fields: Vec::new(),
            matched: Vec::new(),
        };
    };
    let (seen, flat) = seen_fields(map, year);
    let matched: Vec<String> = match (rule, indicator) {
        (Some(rule), _) => rule.matched_fields(&JsonEvent::new(seen)),
        (None, Some(value)) => flat
            .iter()
            .filter(|(_, v)| v.to_lowercase().contains(value))
            .map(|(k, _)| k.clone())
            .collect(),
        (None, None) => Vec::new(),
    };
    let fields = flat
        .into_iter()
        .map(|(name, value)| ShownField {
            matched: matched.contains(&name),
            value: cut(&value),
            name,
        })
        .collect();
    ShownEvent {
        stored: pretty,
        fields,
        matched,
    }
}

/// The loaded rule an alert came from: by id, or by title for rules without one.
fn loaded_rule(app: &App, rule_id: &str) -> Option<CompiledRule> {
    let engine = app.live.as_ref()?.engine();
    engine
        .detector
        .rules
        .iter()
        .find(|r| r.id.as_deref().unwrap_or(&r.title) == rule_id)
        .cloned()
}

fn year_of(ms: i64) -> i32 {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.year())
        .unwrap_or(1970)
}

pub async fn alert_detail(app: &App, _who: &Who, id: &str) -> AppResult<AlertDetail> {
    let alert = app.store.alert_by_id(id).await?;
    let indicator = alert.rule_id.strip_prefix("ioc:").and_then(|rest| {
        rest.split_once(':')
            .map(|(kind, value)| (kind.to_string(), value.to_string()))
    });
    let rule = match indicator {
        Some(_) => None,
        None => loaded_rule(app, &alert.rule_id),
    };
    let stored: Vec<Value> = serde_json::from_str(&alert.events).unwrap_or_default();
    let year = year_of(alert.first_seen);
    let events = stored
        .iter()
        .map(|e| {
            shown_event(
                e,
                year,
                rule.as_ref(),
                indicator.as_ref().map(|(_, v)| v.as_str()),
            )
        })
        .collect();
    let index = index_for(&app.store, std::slice::from_ref(&alert)).await?;
    let mut assets = Vec::new();
    for asset_id in assets_of(&index, &alert) {
        let Some(asset) = index.assets.get(&asset_id).cloned() else {
            continue;
        };
        let mut findings = app
            .store
            .list_findings(&FindingFilter {
                asset_id: Some(asset_id.clone()),
                status: Some("open".into()),
                limit: FINDINGS_PER_ASSET as i64,
                ..FindingFilter::default()
            })
            .await?;
        findings.truncate(FINDINGS_PER_ASSET);
        assets.push(HitAsset {
            open: index.open.get(&asset_id).cloned(),
            asset,
            findings,
        });
    }
    let case_number = match &alert.case_id {
        Some(case_id) => Some(app.store.case_by_id(case_id).await?.number),
        None => None,
    };
    let suppression = match &alert.suppression_id {
        Some(sid) => app
            .store
            .suppressions()
            .await?
            .into_iter()
            .find(|s| &s.id == sid),
        None => None,
    };
    let history = app
        .store
        .audit_entries(&AuditQuery {
            object_type: Some("alert".into()),
            object_id: Some(alert.id.clone()),
            limit: HISTORY,
            ..AuditQuery::default()
        })
        .await?;
    let ranked = rank_with(&index, vec![alert])
        .pop()
        .ok_or_else(|| AppError::internal("ranking lost the alert"))?;
    Ok(AlertDetail {
        ranked,
        rule: rule.as_ref().map(rule_facts),
        indicator,
        events,
        assets,
        case_number,
        suppression,
        history,
    })
}

/// What a suppression made from an alert covers. The values (rule, host, field value) are
/// read from the stored alert, so nobody types a rule UUID and a form cannot widen the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressScope {
    RuleOnHost,
    Rule,
    /// The rule, when this field of an event has the value it has in the alert's first event.
    Field(String),
}

impl SuppressScope {
    pub fn parse(code: &str) -> AppResult<SuppressScope> {
        match code {
            "rule_host" => Ok(SuppressScope::RuleOnHost),
            "rule" => Ok(SuppressScope::Rule),
            other => match other.strip_prefix("field:") {
                Some(name) if !name.is_empty() => Ok(SuppressScope::Field(name.to_string())),
                _ => Err(AppError::invalid(
                    "scope",
                    format!("scope: unknown `{other}` (rule_host, rule or field:NAME)"),
                )),
            },
        }
    }
}

/// A suppression rule built from one alert.
pub async fn suppress_from_alert(
    app: &App,
    who: &Who,
    id: &str,
    scope: SuppressScope,
    reason: String,
    days: i64,
) -> AppResult<Suppression> {
    who.require_edit("add suppression rules")?;
    let alert = app.store.alert_by_id(id).await?;
    let mut input = SuppressionInput {
        rule_id: alert.rule_id.clone(),
        host: String::new(),
        field: String::new(),
        value: String::new(),
        reason,
        days,
    };
    match scope {
        SuppressScope::Rule => {}
        SuppressScope::RuleOnHost => {
            if alert.host.is_empty() {
                return Err(AppError::invalid(
                    "scope",
                    "scope: the alert names no host; suppress the rule or a field value",
                ));
            }
            input.host = alert.host.clone();
        }
        SuppressScope::Field(name) => {
            let stored: Vec<Value> = serde_json::from_str(&alert.events).unwrap_or_default();
            let year = year_of(alert.first_seen);
            let value = stored
                .iter()
                .filter_map(|e| match e {
                    Value::Object(m) => seen_fields(m, year)
                        .1
                        .into_iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v),
                    _ => None,
                })
                .next()
                .ok_or_else(|| {
                    AppError::invalid(
                        "scope",
                        format!("scope: no kept event of this alert has the field `{name}`"),
                    )
                })?;
            input.field = name;
            input.value = value;
        }
    }
    add_suppression(app, who, input).await
}

#[cfg(test)]
mod tests {
    use super::attack_link;

    #[test]
    fn attack_tags_link_to_their_pages() {
        assert_eq!(
            attack_link("attack.t1059.001").as_deref(),
            Some("https://attack.mitre.org/techniques/T1059/001/")
        );
        assert_eq!(
            attack_link("attack.t1105").as_deref(),
            Some("https://attack.mitre.org/techniques/T1105/")
        );
        assert_eq!(
            attack_link("attack.g0032").as_deref(),
            Some("https://attack.mitre.org/groups/G0032/")
        );
        assert_eq!(attack_link("attack.execution"), None);
        assert_eq!(attack_link("attack.s0002.x"), None);
        assert_eq!(attack_link("cve.2021-44228"), None);
    }
}
