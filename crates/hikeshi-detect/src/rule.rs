//! Sigma rule documents: the metadata we show and the detection we compile.

use crate::condition::{parse_condition, Cond};
use crate::event::Event;
use crate::value::{compile_item, FieldTest};
use crate::RuleError;
use serde::Deserialize;
use yaml_serde::Value as Yaml;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Some(Level::Informational),
            "low" => Some(Level::Low),
            "medium" => Some(Level::Medium),
            "high" => Some(Level::High),
            "critical" => Some(Level::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// A Sigma filter: extra conditions ANDed onto the named rules of the same log source.
#[derive(Debug, Clone)]
pub struct SigmaFilter {
    pub id: Option<String>,
    pub title: String,
    /// Rule ids (or titles) the filter applies to.
    pub rules: Vec<String>,
    pub logsource: LogSource,
    pub selection_names: Vec<String>,
    pub selections: Vec<Vec<Vec<FieldTest>>>,
    pub condition: Cond,
}

/// One YAML document of a rule file, by kind.
#[derive(Debug)]
pub enum RuleDocument {
    Detection(Box<CompiledRule>),
    Correlation(Box<crate::correlation::CorrelationRule>),
    Filter(Box<SigmaFilter>),
}

/// A detection rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: Option<String>,
    /// The `name` correlation rules may refer to it by.
    pub name: Option<String>,
    pub title: String,
    pub level: Level,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub logsource: LogSource,
    pub author: Option<String>,
    pub description: Option<String>,
    pub references: Vec<String>,
    pub selection_names: Vec<String>,
    /// Per selection: alternatives (OR) of groups of field tests (AND).
    pub selections: Vec<Vec<Vec<FieldTest>>>,
    pub condition: Cond,
}

fn text(map: &yaml_serde::Mapping, key: &str) -> Option<String> {
    map.get(key).and_then(|v| match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn texts(map: &yaml_serde::Mapping, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// One selection: a map (AND of items), a list of maps (OR), or a list of keywords.
fn compile_selection(name: &str, value: &Yaml) -> Result<Vec<Vec<FieldTest>>, RuleError> {
    match value {
        Yaml::Mapping(map) => Ok(vec![compile_map(name, map)?]),
        Yaml::Sequence(items)
            if items.iter().all(|i| matches!(i, Yaml::Mapping(_))) && !items.is_empty() =>
        {
            items
                .iter()
                .map(|i| match i {
                    Yaml::Mapping(m) => compile_map(name, m),
                    _ => Err(RuleError::Structure(format!("detection.{name}"))),
                })
                .collect()
        }
        // Keywords: any of the values anywhere in the event.
        Yaml::Sequence(items) if !items.is_empty() => Ok(vec![vec![compile_item("", value)
            .map_err(|e| match e {
                RuleError::Value(m) => RuleError::Value(format!("{name}: {m}")),
                other => other,
            })?]]),
        Yaml::String(_) | Yaml::Number(_) => Ok(vec![vec![compile_item("", value)?]]),
        _ => Err(RuleError::Structure(format!("detection.{name}"))),
    }
}

fn compile_map(name: &str, map: &yaml_serde::Mapping) -> Result<Vec<FieldTest>, RuleError> {
    map.iter()
        .map(|(k, v)| {
            let key = match k {
                Yaml::String(s) => s.clone(),
                Yaml::Number(n) => n.to_string(),
                _ => return Err(RuleError::Structure(format!("detection.{name} key"))),
            };
            compile_item(&key, v)
        })
        .collect()
}

/// Selections and condition of a `detection` (or `filter`) block.
type Block = (Vec<String>, Vec<Vec<Vec<FieldTest>>>, Cond);

fn compile_block(
    block: &yaml_serde::Mapping,
    what: &str,
    skip: &[&str],
) -> Result<Block, RuleError> {
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut condition_texts = Vec::new();
    for (k, v) in block {
        let key = k
            .as_str()
            .ok_or_else(|| RuleError::Structure(format!("{what} key")))?;
        match key {
            "condition" => match v {
                Yaml::String(s) => condition_texts.push(s.clone()),
                Yaml::Sequence(items) => condition_texts
                    .extend(items.iter().filter_map(|i| i.as_str().map(str::to_string))),
                _ => return Err(RuleError::Structure(format!("{what}.condition"))),
            },
            "timeframe" => {
                return Err(RuleError::Unsupported(
                    "`timeframe` in a detection: use a correlation rule".into(),
                ))
            }
            k if skip.contains(&k) => {}
            _ => {
                names.push(key.to_string());
                selections.push(compile_selection(key, v)?);
            }
        }
    }
    if condition_texts.is_empty() {
        return Err(RuleError::Structure(format!("{what}.condition")));
    }
    // Several conditions are alternatives.
    let mut conds = condition_texts
        .iter()
        .map(|c| parse_condition(c, &names))
        .collect::<Result<Vec<_>, _>>()?;
    let condition = if conds.len() == 1 {
        conds.remove(0)
    } else {
        Cond::Or(conds)
    };
    Ok((names, selections, condition))
}

fn logsource_of(doc: &yaml_serde::Mapping) -> LogSource {
    match doc.get("logsource") {
        Some(v) => yaml_serde::from_value(v.clone()).unwrap_or_default(),
        None => LogSource::default(),
    }
}

fn compile_filter(doc: &yaml_serde::Mapping) -> Result<SigmaFilter, RuleError> {
    let block = match doc.get("filter") {
        Some(Yaml::Mapping(m)) => m,
        _ => return Err(RuleError::Structure("filter".into())),
    };
    let rules = match block.get("rules") {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::String(one)) => vec![one.clone()],
        _ => return Err(RuleError::Structure("filter.rules".into())),
    };
    let (selection_names, selections, condition) = compile_block(block, "filter", &["rules"])?;
    Ok(SigmaFilter {
        id: text(doc, "id"),
        title: text(doc, "title").unwrap_or_default(),
        rules,
        logsource: logsource_of(doc),
        selection_names,
        selections,
        condition,
    })
}

fn shift(cond: &Cond, offset: usize) -> Cond {
    match cond {
        Cond::Sel(i) => Cond::Sel(i + offset),
        Cond::And(parts) => Cond::And(parts.iter().map(|c| shift(c, offset)).collect()),
        Cond::Or(parts) => Cond::Or(parts.iter().map(|c| shift(c, offset)).collect()),
        Cond::Not(inner) => Cond::Not(Box::new(shift(inner, offset))),
        Cond::AnyOf(s) => Cond::AnyOf(s.iter().map(|i| i + offset).collect()),
        Cond::AllOf(s) => Cond::AllOf(s.iter().map(|i| i + offset).collect()),
    }
}

/// A filter's log source fields, where given, must equal the rule's.
fn same_logsource(filter: &LogSource, rule: &LogSource) -> bool {
    let ok = |f: &Option<String>, r: &Option<String>| match f {
        None => true,
        Some(f) => r.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(f)),
    };
    ok(&filter.product, &rule.product)
        && ok(&filter.category, &rule.category)
        && ok(&filter.service, &rule.service)
}

/// ANDs each filter's condition onto the rules it names; returns how many rules were changed.
pub fn apply_filters(rules: &mut [CompiledRule], filters: &[SigmaFilter]) -> usize {
    let mut changed = 0;
    for filter in filters {
        for rule in rules.iter_mut() {
            let named = filter
                .rules
                .iter()
                .any(|r| rule.id.as_deref() == Some(r.as_str()) || rule.title == *r);
            if !named || !same_logsource(&filter.logsource, &rule.logsource) {
                continue;
            }
            let offset = rule.selections.len();
            rule.selection_names.extend(
                filter
                    .selection_names
                    .iter()
                    .map(|n| format!("{}:{n}", filter.title)),
            );
            rule.selections.extend(filter.selections.iter().cloned());
            let old = std::mem::replace(&mut rule.condition, Cond::And(Vec::new()));
            rule.condition = Cond::And(vec![old, shift(&filter.condition, offset)]);
            changed += 1;
        }
    }
    changed
}

fn compile_detection(doc: &yaml_serde::Mapping) -> Result<CompiledRule, RuleError> {
    let title = text(doc, "title").ok_or_else(|| RuleError::Structure("title".into()))?;
    let detection = match doc.get("detection") {
        Some(Yaml::Mapping(m)) => m,
        _ => return Err(RuleError::Structure("detection".into())),
    };
    let (names, selections, condition) = compile_block(detection, "detection", &[])?;
    let logsource = logsource_of(doc);
    Ok(CompiledRule {
        id: text(doc, "id"),
        name: text(doc, "name"),
        title,
        level: text(doc, "level")
            .and_then(|l| Level::parse(&l))
            .unwrap_or(Level::Medium),
        status: text(doc, "status"),
        tags: texts(doc, "tags"),
        logsource,
        author: text(doc, "author"),
        description: text(doc, "description"),
        references: texts(doc, "references"),
        selection_names: names,
        selections,
        condition,
    })
}

/// Parses every YAML document of a rule file. Each document compiles or fails on its own.
pub fn parse_rule_documents(source: &str) -> Vec<Result<RuleDocument, RuleError>> {
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(source) {
        let value = match Yaml::deserialize(doc) {
            Ok(v) => v,
            Err(e) => {
                out.push(Err(RuleError::Yaml(e.to_string())));
                // The parser cannot resynchronise after an error.
                break;
            }
        };
        let map = match value {
            Yaml::Mapping(m) => m,
            Yaml::Null => continue,
            _ => {
                out.push(Err(RuleError::Structure("document (not a mapping)".into())));
                continue;
            }
        };
        if map.contains_key("correlation") {
            out.push(
                crate::correlation::compile_correlation(&map)
                    .map(|c| RuleDocument::Correlation(Box::new(c))),
            );
        } else if map.contains_key("filter") {
            out.push(compile_filter(&map).map(|f| RuleDocument::Filter(Box::new(f))));
        } else {
            out.push(compile_detection(&map).map(|r| RuleDocument::Detection(Box::new(r))));
        }
    }
    out
}

impl CompiledRule {
    /// The field names the rule looks at, for showing what matched.
    pub fn field_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .selections
            .iter()
            .flatten()
            .flatten()
            .filter_map(|t| t.field.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn selection_matches(&self, index: usize, event: &dyn Event) -> bool {
        self.selections[index]
            .iter()
            .any(|group| group.iter().all(|t| t.matches(event)))
    }

    fn eval(&self, cond: &Cond, event: &dyn Event) -> bool {
        match cond {
            Cond::Sel(i) => self.selection_matches(*i, event),
            Cond::And(parts) => parts.iter().all(|c| self.eval(c, event)),
            Cond::Or(parts) => parts.iter().any(|c| self.eval(c, event)),
            Cond::Not(inner) => !self.eval(inner, event),
            Cond::AnyOf(sels) => sels.iter().any(|i| self.selection_matches(*i, event)),
            Cond::AllOf(sels) => sels.iter().all(|i| self.selection_matches(*i, event)),
        }
    }

    /// Whether the event matches the rule's detection (log source selection is the caller's).
    pub fn matches(&self, event: &dyn Event) -> bool {
        self.eval(&self.condition, event)
    }

    /// The fields that made a match, for showing an analyst why an event fired: the field tests
    /// of every wholly matching group in selections the condition counts for the match (a
    /// selection under `not` only ever keeps an event out, so it is never named). Keyword
    /// searches have no field and are not named. Empty when the event does not match.
    pub fn matched_fields(&self, event: &dyn Event) -> Vec<String> {
        let mut found = Vec::new();
        if self.matches(event) {
            self.collect_matched(&self.condition, event, &mut found);
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    fn collect_matched(&self, cond: &Cond, event: &dyn Event, found: &mut Vec<String>) {
        let from_selection = |index: usize, found: &mut Vec<String>| {
            for group in &self.selections[index] {
                if group.iter().all(|t| t.matches(event)) {
                    found.extend(group.iter().filter_map(|t| t.field.clone()));
                }
            }
        };
        match cond {
            Cond::Sel(i) => from_selection(*i, found),
            Cond::And(parts) | Cond::Or(parts) => {
                for part in parts {
                    if self.eval(part, event) {
                        self.collect_matched(part, event, found);
                    }
                }
            }
            Cond::Not(_) => {}
            Cond::AnyOf(sels) | Cond::AllOf(sels) => {
                for i in sels {
                    from_selection(*i, found);
                }
            }
        }
    }
}
