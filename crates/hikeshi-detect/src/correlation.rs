//! Sigma correlation rules: conditions over several matches of detection rules (or of other
//! correlations) within a time span, per group of field values.
//!
//! The engine is fed matches in time order (`observe`) and says which correlations fire. It
//! keeps, per correlation and group, only what its type needs: the times of matches
//! (`event_count`), the values seen (`value_count`, `value_sum`, `value_avg`,
//! `value_percentile`), or how far an ordered sequence got (`temporal`, `temporal_ordered`).
//!
//! Firing: a condition with a lower bound (`gt`, `gte`, `eq` reached from below) is checked on
//! every match over a sliding window and the group starts afresh after it fires, so a burst
//! of 1,000 failed logons yields one alert per threshold reached, not 900. A condition with only
//! an upper bound (`lt`, `lte`: "fewer than 3 in an hour") can only be judged when the window
//! is over, so those windows are judged when a later match falls outside them and at `finish`.

use crate::event::Event;
use crate::rule::{CompiledRule, Level};
use crate::RuleError;
use std::collections::{HashMap, VecDeque};
use yaml_serde::Value as Yaml;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationKind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationKind {
    fn parse(text: &str) -> Option<CorrelationKind> {
        Some(match text {
            "event_count" => CorrelationKind::EventCount,
            "value_count" => CorrelationKind::ValueCount,
            "temporal" => CorrelationKind::Temporal,
            "temporal_ordered" => CorrelationKind::TemporalOrdered,
            "value_sum" => CorrelationKind::ValueSum,
            "value_avg" => CorrelationKind::ValueAvg,
            "value_percentile" => CorrelationKind::ValuePercentile,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::ValueSum => "value_sum",
            CorrelationKind::ValueAvg => "value_avg",
            CorrelationKind::ValuePercentile => "value_percentile",
        }
    }

    fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationKind::ValueCount
                | CorrelationKind::ValueSum
                | CorrelationKind::ValueAvg
                | CorrelationKind::ValuePercentile
        )
    }

    fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Eq(f64),
}

impl Bound {
    fn holds(self, x: f64) -> bool {
        match self {
            Bound::Gt(n) => x > n,
            Bound::Gte(n) => x >= n,
            Bound::Lt(n) => x < n,
            Bound::Lte(n) => x <= n,
            Bound::Eq(n) => x == n,
        }
    }

    fn is_lower(self) -> bool {
        matches!(self, Bound::Gt(_) | Bound::Gte(_) | Bound::Eq(_))
    }
}

/// A correlation rule as written.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub level: Level,
    pub tags: Vec<String>,
    pub kind: CorrelationKind,
    /// Referenced rules, by id or name.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    /// All must hold (a range is two bounds).
    pub bounds: Vec<Bound>,
    /// The value field for the `value_*` types.
    pub field: Option<String>,
    /// For `value_percentile`: which percentile (0–100).
    pub percentile: Option<f64>,
    /// alias → (rule name or id → field name in that rule's events).
    pub aliases: HashMap<String, HashMap<String, String>>,
    /// Whether the referenced rules also alert on their own.
    pub generate: bool,
}

/// `5m`, `90s`, `1h`, `2d`, `1w` in milliseconds.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(ms)).flatten()
}

fn yaml_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn yaml_texts(v: Option<&Yaml>) -> Vec<String> {
    match v {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(yaml_text).collect(),
        Some(other) => yaml_text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn bad(what: &str) -> RuleError {
    RuleError::Structure(format!("correlation.{what}"))
}

/// Compiles a correlation document (a mapping with a `correlation` key).
pub fn compile_correlation(doc: &yaml_serde::Mapping) -> Result<CorrelationRule, RuleError> {
    let get = |k: &str| doc.get(k);
    let title = get("title")
        .and_then(yaml_text)
        .ok_or_else(|| RuleError::Structure("title".into()))?;
    let Some(Yaml::Mapping(body)) = get("correlation") else {
        return Err(RuleError::Structure("correlation".into()));
    };
    let kind_text = body
        .get("type")
        .and_then(yaml_text)
        .ok_or_else(|| bad("type"))?;
    let kind = CorrelationKind::parse(&kind_text)
        .ok_or_else(|| RuleError::Unsupported(format!("correlation type `{kind_text}`")))?;
    let rules = yaml_texts(body.get("rules"));
    if rules.is_empty() {
        return Err(bad("rules"));
    }
    let timespan_text = body
        .get("timespan")
        .or_else(|| body.get("timeframe"))
        .and_then(yaml_text)
        .ok_or_else(|| bad("timespan"))?;
    let timespan_ms = parse_timespan(&timespan_text).ok_or_else(|| {
        RuleError::Value(format!(
            "correlation.timespan: `{timespan_text}` is not a number followed by s, m, h, d or w"
        ))
    })?;
    let mut bounds = Vec::new();
    let mut field = None;
    let mut percentile = None;
    match body.get("condition") {
        Some(Yaml::Mapping(cond)) => {
            for (k, v) in cond {
                let key = k.as_str().unwrap_or_default();
                if key == "field" {
                    field = yaml_text(v);
                    continue;
                }
                let n = yaml_text(v)
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .ok_or_else(|| {
                        RuleError::Value(format!("correlation.condition.{key}: not a number"))
                    })?;
                bounds.push(match key {
                    "gt" => Bound::Gt(n),
                    "gte" => Bound::Gte(n),
                    "lt" => Bound::Lt(n),
                    "lte" => Bound::Lte(n),
                    "eq" => Bound::Eq(n),
                    "percentile" => {
                        percentile = Some(n);
                        continue;
                    }
                    other => {
                        return Err(RuleError::Value(format!(
                            "correlation.condition: unknown operator `{other}`"
                        )))
                    }
                });
            }
        }
        None if kind.is_temporal() => {}
        _ => return Err(bad("condition")),
    }
    if kind.needs_field() && field.is_none() {
        return Err(RuleError::Structure(format!(
            "correlation.condition.field (needed by {})",
            kind.as_str()
        )));
    }
    if kind == CorrelationKind::ValuePercentile {
        match percentile {
            Some(p) if (0.0..=100.0).contains(&p) => {}
            _ => {
                return Err(RuleError::Value(
                    "correlation.condition.percentile: a number from 0 to 100".into(),
                ))
            }
        }
    }
    if bounds.is_empty() && !kind.is_temporal() {
        return Err(bad("condition"));
    }
    let mut aliases = HashMap::new();
    if let Some(Yaml::Mapping(map)) = body.get("aliases") {
        for (alias, per_rule) in map {
            let (Some(alias), Yaml::Mapping(per_rule)) = (yaml_text(alias), per_rule) else {
                return Err(bad("aliases"));
            };
            let fields = per_rule
                .iter()
                .filter_map(|(r, f)| Some((yaml_text(r)?, yaml_text(f)?)))
                .collect();
            aliases.insert(alias, fields);
        }
    }
    Ok(CorrelationRule {
        id: get("id").and_then(yaml_text),
        name: get("name").and_then(yaml_text),
        title,
        level: get("level")
            .and_then(yaml_text)
            .and_then(|l| Level::parse(&l))
            .unwrap_or(Level::Medium),
        tags: yaml_texts(get("tags")),
        kind,
        rules,
        group_by: yaml_texts(body.get("group-by")),
        timespan_ms,
        bounds,
        field,
        percentile,
        aliases,
        generate: matches!(
            get("generate").or(body.get("generate")),
            Some(Yaml::Bool(true))
        ),
    })
}

/// What a correlation can be fed: a detection rule's match or another correlation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Rule(usize),
    Correlation(usize),
}

/// A correlation that fired.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    pub correlation: usize,
    /// The group-by fields and their values.
    pub group: Vec<(String, String)>,
    pub first_ms: i64,
    pub last_ms: i64,
    /// The figure the condition was checked against (count, distinct values, sum...).
    pub value: f64,
}

/// Per group state.
#[derive(Debug, Default)]
struct Window {
    /// (time, value) of each match in the window; the value is empty for counts.
    entries: VecDeque<(i64, String)>,
    /// For `temporal`: the latest time each referenced rule matched.
    seen: Vec<Option<i64>>,
    /// For `temporal_ordered`: per position, the start time of the best sequence reaching it.
    reached: Vec<Option<i64>>,
    start: i64,
}

struct Compiled {
    rule: CorrelationRule,
    /// Resolved references, in the order written.
    sources: Vec<Source>,
    /// Per reference: the name used to look up aliases (the referenced rule's name or id).
    ref_names: Vec<Vec<String>>,
    windows: HashMap<String, Window>,
}

pub struct Correlator {
    compiled: Vec<Compiled>,
    /// For each source, the correlations fed by it and at which reference positions.
    feeds: HashMap<Source, Vec<(usize, usize)>>,
}

/// A correlation's group-by values as an event, so that chained correlations can group on them.
struct GroupEvent<'a>(&'a [(String, String)]);

impl Event for GroupEvent<'_> {
    fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| crate::FieldValue::Str(std::borrow::Cow::Borrowed(v.as_str())))
    }

    fn any_value(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0.iter().any(|(_, v)| visit(v))
    }
}

impl Correlator {
    /// Resolves each correlation's references against the detection rules and the other
    /// correlations (by id or name). Correlations with a reference that cannot be resolved, or
    /// that take part in a cycle, are returned as errors with their index.
    pub fn new(
        correlations: Vec<CorrelationRule>,
        rules: &[CompiledRule],
    ) -> (Correlator, Vec<(CorrelationRule, RuleError)>) {
        let mut by_ref: HashMap<&str, Source> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            for key in [&r.id, &r.name].into_iter().flatten() {
                by_ref.entry(key.as_str()).or_insert(Source::Rule(i));
            }
        }
        for (i, c) in correlations.iter().enumerate() {
            for key in [&c.id, &c.name].into_iter().flatten() {
                by_ref.entry(key.as_str()).or_insert(Source::Correlation(i));
            }
        }
        let names_of = |s: Source| -> Vec<String> {
            match s {
                Source::Rule(i) => [&rules[i].id, &rules[i].name],
                Source::Correlation(i) => [&correlations[i].id, &correlations[i].name],
            }
            .into_iter()
            .flatten()
            .cloned()
            .collect()
        };
        let mut resolved: Vec<Result<Vec<Source>, RuleError>> = correlations
            .iter()
            .map(|c| {
                c.rules
                    .iter()
                    .map(|r| {
                        by_ref.get(r.as_str()).copied().ok_or_else(|| {
                            RuleError::Structure(format!(
                                "correlation.rules: no rule or correlation `{r}`"
                            ))
                        })
                    })
                    .collect()
            })
            .collect();
        // A correlation that depends, directly or not, on itself can never fire.
        for start in 0..correlations.len() {
            let mut stack = vec![start];
            let mut visited = vec![false; correlations.len()];
            let mut cyclic = false;
            while let Some(c) = stack.pop() {
                if let Ok(sources) = &resolved[c] {
                    for s in sources {
                        if let Source::Correlation(n) = s {
                            if *n == start {
                                cyclic = true;
                            } else if !visited[*n] {
                                visited[*n] = true;
                                stack.push(*n);
                            }
                        }
                    }
                }
            }
            if cyclic {
                resolved[start] = Err(RuleError::Structure(
                    "correlation.rules: the chain refers back to this correlation".into(),
                ));
            }
        }
        let mut kept_index = HashMap::new();
        let mut compiled = Vec::new();
        let mut failed = Vec::new();
        let mut pending = Vec::new();
        for (i, (c, r)) in correlations.iter().zip(resolved).enumerate() {
            match r {
                Ok(sources) => {
                    kept_index.insert(i, compiled.len());
                    let ref_names = sources.iter().map(|s| names_of(*s)).collect();
                    pending.push(sources.clone());
                    compiled.push(Compiled {
                        rule: c.clone(),
                        sources,
                        ref_names,
                        windows: HashMap::new(),
                    });
                }
                Err(e) => failed.push((c.clone(), e)),
            }
        }
        // Renumber correlation references to the kept list; drop those feeding from failures.
        let mut feeds: HashMap<Source, Vec<(usize, usize)>> = HashMap::new();
        let mut broken = Vec::new();
        for (ci, sources) in pending.into_iter().enumerate() {
            let mut renumbered = Vec::new();
            for s in sources {
                match s {
                    Source::Correlation(old) => match kept_index.get(&old) {
                        Some(new) => renumbered.push(Source::Correlation(*new)),
                        None => {
                            broken.push(ci);
                            break;
                        }
                    },
                    other => renumbered.push(other),
                }
            }
            compiled[ci].sources = renumbered;
        }
        for (ci, c) in compiled.iter().enumerate() {
            if broken.contains(&ci) {
                continue;
            }
            for (pos, s) in c.sources.iter().enumerate() {
                feeds.entry(*s).or_default().push((ci, pos));
            }
        }
        for ci in broken.into_iter().rev() {
            let c = compiled.remove(ci);
            failed.push((
                c.rule,
                RuleError::Structure(
                    "correlation.rules: refers to a correlation that failed".into(),
                ),
            ));
            // Indices after `ci` shift; rebuild the feeds from scratch.
            feeds.clear();
            for (i, c) in compiled.iter().enumerate() {
                for (pos, s) in c.sources.iter().enumerate() {
                    feeds.entry(*s).or_default().push((i, pos));
                }
            }
        }
        (Correlator { compiled, feeds }, failed)
    }

    pub fn len(&self) -> usize {
        self.compiled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.compiled.is_empty()
    }

    pub fn rule(&self, index: usize) -> &CorrelationRule {
        &self.compiled[index].rule
    }

    /// Whether a detection rule feeds some correlation.
    pub fn uses_rule(&self, rule: usize) -> bool {
        self.feeds.contains_key(&Source::Rule(rule))
    }

    /// Whether a detection rule's own matches should still be reported: not when every
    /// correlation using it says `generate: false` (the default).
    pub fn rule_reports_alone(&self, rule: usize) -> bool {
        match self.feeds.get(&Source::Rule(rule)) {
            None => true,
            Some(users) => users.iter().any(|(ci, _)| self.compiled[*ci].rule.generate),
        }
    }

    /// The event fields a detection rule's matches must carry for the correlations it feeds
    /// (group-by fields, alias targets, value fields), so callers can keep only those.
    pub fn fields_for_rule(&self, rule: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (ci, pos) in self.feeds.get(&Source::Rule(rule)).into_iter().flatten() {
            let c = &self.compiled[*ci];
            for g in &c.rule.group_by {
                out.push(self.field_name(c, *pos, g));
            }
            if let Some(f) = &c.rule.field {
                out.push(self.field_name(c, *pos, f));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The event field a group-by name stands for in the events of one reference.
    fn field_name(&self, c: &Compiled, pos: usize, name: &str) -> String {
        c.rule
            .aliases
            .get(name)
            .and_then(|per_rule| {
                c.ref_names[pos]
                    .iter()
                    .find_map(|n| per_rule.get(n))
                    .cloned()
            })
            .unwrap_or_else(|| name.to_string())
    }

    /// Feeds one match. Matches must come in time order. Returns the correlations that fired,
    /// including chained ones.
    pub fn observe(
        &mut self,
        source: Source,
        time_ms: i64,
        event: &dyn Event,
    ) -> Vec<CorrelationHit> {
        let mut fired = Vec::new();
        // A match to pass on: its source, the group values a correlation produced, and the
        // original event for detection-rule matches.
        type Pending<'e> = (Source, Vec<(String, String)>, Option<&'e dyn Event>);
        let mut queue: Vec<Pending> = vec![(source, Vec::new(), Some(event))];
        while let Some((src, group_values, original)) = queue.pop() {
            let users = self.feeds.get(&src).cloned().unwrap_or_default();
            for (ci, pos) in users {
                let hits = {
                    let group_event = GroupEvent(&group_values);
                    let ev: &dyn Event = match original {
                        Some(e) => e,
                        None => &group_event,
                    };
                    self.step(ci, pos, time_ms, ev)
                };
                for hit in hits {
                    queue.push((Source::Correlation(ci), hit.group.clone(), None));
                    fired.push(hit);
                }
            }
        }
        fired
    }

    fn step(&mut self, ci: usize, pos: usize, time: i64, event: &dyn Event) -> Vec<CorrelationHit> {
        let names: Vec<String> = {
            let c = &self.compiled[ci];
            c.rule
                .group_by
                .iter()
                .map(|g| self.field_name(c, pos, g))
                .collect()
        };
        let value_field = {
            let c = &self.compiled[ci];
            c.rule.field.as_ref().map(|f| self.field_name(c, pos, f))
        };
        let c = &mut self.compiled[ci];
        let group: Vec<(String, String)> = c
            .rule
            .group_by
            .iter()
            .zip(&names)
            .map(|(g, f)| {
                let v = event
                    .field(f)
                    .map(|v| v.as_text().into_owned())
                    .unwrap_or_default();
                (g.clone(), v)
            })
            .collect();
        let key: String = group
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("\u{1f}");
        let value = match &value_field {
            Some(f) => match event.field(f) {
                Some(v) if !matches!(v, crate::FieldValue::Null) => v.as_text().into_owned(),
                // A match without the value field says nothing about the values.
                _ => return Vec::new(),
            },
            None => String::new(),
        };
        let rule = &c.rule;
        let span = rule.timespan_ms;
        let lower = rule.bounds.iter().any(|b| b.is_lower()) || rule.kind.is_temporal();
        let refs = c.sources.len();
        let mut out = Vec::new();
        let window = c.windows.entry(key.clone()).or_default();
        if window.entries.is_empty() && window.seen.iter().all(Option::is_none) {
            window.start = time;
        }
        // Windows judged at their end (upper bounds only): close the old one first.
        if !lower && !window.entries.is_empty() && time - window.start > span {
            if let Some(v) = measure(rule, window) {
                if rule.bounds.iter().all(|b| b.holds(v)) {
                    out.push(hit(ci, &group, window, v));
                }
            }
            *window = Window::default();
            window.start = time;
        }
        if lower {
            while window.entries.front().is_some_and(|(t, _)| time - t > span) {
                window.entries.pop_front();
            }
        }
        window.entries.push_back((time, value));
        if !lower {
            return out;
        }
        let figure = match rule.kind {
            CorrelationKind::Temporal => {
                window.seen.resize(refs, None);
                window.seen[pos] = Some(time);
                let fresh = window
                    .seen
                    .iter()
                    .filter(|t| t.is_some_and(|t| time - t <= span))
                    .count();
                Some(fresh as f64)
            }
            CorrelationKind::TemporalOrdered => {
                window.reached.resize(refs, None);
                // The same rule may sit at several positions: advance from the back so one
                // match does not count twice.
                let positions: Vec<usize> = (0..refs)
                    .rev()
                    .filter(|p| c.sources[*p] == c.sources[pos])
                    .collect();
                for p in positions {
                    let start = if p == 0 {
                        Some(time)
                    } else {
                        window.reached[p - 1].filter(|s| time - s <= span)
                    };
                    if let Some(s) = start {
                        window.reached[p] = Some(window.reached[p].map_or(s, |old| old.max(s)));
                    }
                }
                let done = window
                    .reached
                    .iter()
                    .rposition(|r| r.is_some_and(|s| time - s <= span));
                Some(done.map_or(0.0, |d| (d + 1) as f64))
            }
            _ => measure(rule, window),
        };
        let Some(v) = figure else {
            return out;
        };
        let holds = if rule.bounds.is_empty() {
            // Temporal without a condition: every referenced rule.
            v as usize >= refs
        } else {
            rule.bounds.iter().all(|b| b.holds(v))
        };
        if holds {
            out.push(hit(ci, &group, window, v));
            c.windows.remove(&key);
        }
        out
    }

    /// Judges the windows still open at the end of the input (upper-bound conditions only).
    pub fn finish(&mut self) -> Vec<CorrelationHit> {
        let mut out = Vec::new();
        for (ci, c) in self.compiled.iter_mut().enumerate() {
            let lower = c.rule.bounds.iter().any(|b| b.is_lower()) || c.rule.kind.is_temporal();
            if lower {
                continue;
            }
            let mut keys: Vec<&String> = c.windows.keys().collect();
            keys.sort();
            for key in keys {
                let window = &c.windows[key];
                if let Some(v) = measure(&c.rule, window) {
                    if c.rule.bounds.iter().all(|b| b.holds(v)) {
                        let group = c
                            .rule
                            .group_by
                            .iter()
                            .cloned()
                            .zip(key.split('\u{1f}').map(str::to_string))
                            .collect::<Vec<_>>();
                        out.push(hit(ci, &group, window, v));
                    }
                }
            }
            c.windows.clear();
        }
        out
    }
}

fn hit(ci: usize, group: &[(String, String)], window: &Window, value: f64) -> CorrelationHit {
    CorrelationHit {
        correlation: ci,
        group: group.to_vec(),
        first_ms: window.entries.front().map_or(window.start, |(t, _)| *t),
        last_ms: window.entries.back().map_or(window.start, |(t, _)| *t),
        value,
    }
}

/// The figure a counting or value correlation compares with its bounds.
fn measure(rule: &CorrelationRule, window: &Window) -> Option<f64> {
    let numbers = || -> Vec<f64> {
        window
            .entries
            .iter()
            .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
            .collect()
    };
    match rule.kind {
        CorrelationKind::EventCount => Some(window.entries.len() as f64),
        CorrelationKind::ValueCount => {
            let mut distinct: Vec<&str> = window.entries.iter().map(|(_, v)| v.as_str()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            Some(distinct.len() as f64)
        }
        CorrelationKind::ValueSum => Some(numbers().iter().sum()),
        CorrelationKind::ValueAvg => {
            let n = numbers();
            (!n.is_empty()).then(|| n.iter().sum::<f64>() / n.len() as f64)
        }
        CorrelationKind::ValuePercentile => {
            let mut n = numbers();
            if n.is_empty() {
                return None;
            }
            n.sort_by(f64::total_cmp);
            // Nearest-rank percentile.
            let p = rule.percentile.unwrap_or(50.0);
            let rank = ((p / 100.0) * n.len() as f64).ceil().max(1.0) as usize;
            n.get(rank - 1).copied()
        }
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => None,
    }
}
