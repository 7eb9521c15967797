//! A detection item `Field|mod|mod: values` compiled into tests over one field (or, without a
//! field name, over every value of the event: a keyword search).

use crate::event::{Event, FieldValue};
use crate::pattern::{is_plain, parse_sigma_string, plain_text, Piece, StringMatcher};
use crate::RuleError;
use base64::Engine as _;
use yaml_serde::Value as Yaml;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone)]
pub enum ValueTest {
    Str(StringMatcher),
    Regex(regex::Regex),
    Cidr(ipnet::IpNet),
    Num(Cmp, f64),
    /// `null`: the field is missing or null.
    Null,
    Exists(bool),
    /// Compares with another field of the same event.
    FieldRef {
        other: String,
        how: RefHow,
        cased: bool,
    },
    Time(TimePart, i64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefHow {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone)]
pub struct FieldTest {
    /// `None` for keyword searches over all values.
    pub field: Option<String>,
    pub tests: Vec<ValueTest>,
    /// `|all`: every test must hold, not just one.
    pub all: bool,
}

/// Intermediate form while string modifiers apply in the order they are written.
#[derive(Debug, Clone)]
enum Stage {
    Text(Vec<Piece>),
    Bytes(Vec<u8>),
}

const KNOWN: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
    "windash",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "lt",
    "lte",
    "gt",
    "gte",
    "exists",
    "fieldref",
    "expand",
    "cased",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
    "neq",
];

fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn values_of(v: &Yaml) -> Vec<&Yaml> {
    match v {
        Yaml::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Replaces the placeholders of `expand` (`%name%`) with a wildcard: without a pipeline that
/// knows the organisation's values, this is the fallback the Sigma tooling also uses.
fn expand_placeholders(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(t) => {
                let mut rest = t.as_str();
                while let Some(start) = rest.find('%') {
                    match rest[start + 1..].find('%') {
                        Some(len)
                            if len > 0
                                && !rest[start + 1..start + 1 + len]
                                    .contains(char::is_whitespace) =>
                        {
                            if start > 0 {
                                out.push(Piece::Text(rest[..start].to_string()));
                            }
                            out.push(Piece::AnyMany);
                            rest = &rest[start + len + 2..];
                        }
                        _ => break,
                    }
                }
                if !rest.is_empty() {
                    out.push(Piece::Text(rest.to_string()));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Every way of writing a Windows command-line switch: `-`, `/` and the dash look-alikes,
/// where a dash or slash starts a word.
fn windash_variants(pieces: &[Piece]) -> Vec<Vec<Piece>> {
    const DASHES: [char; 5] = ['-', '/', '–', '—', '―'];
    let mut results: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => {
                let chars: Vec<char> = t.chars().collect();
                let mut variants: Vec<String> = vec![String::new()];
                for (i, &c) in chars.iter().enumerate() {
                    let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
                    let before_word = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                    if (c == '-' || c == '/') && starts_word && before_word && variants.len() < 625
                    {
                        variants = variants
                            .iter()
                            .flat_map(|v| DASHES.iter().map(move |d| format!("{v}{d}")))
                            .collect();
                    } else {
                        for v in &mut variants {
                            v.push(c);
                        }
                    }
                }
                results = results
                    .iter()
                    .flat_map(|r| {
                        variants.iter().map(move |v| {
                            let mut r = r.clone();
                            r.push(Piece::Text(v.clone()));
                            r
                        })
                    })
                    .collect();
            }
            other => {
                for r in &mut results {
                    r.push(other.clone());
                }
            }
        }
    }
    results
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three encodings of `bytes` at offsets 0, 1, 2 inside a longer base64 text, trimmed to the
/// characters that do not depend on the surrounding bytes.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    (0..3usize)
        .filter_map(|shift| {
            let mut padded = vec![0u8; shift];
            padded.extend_from_slice(bytes);
            let encoded = b64(&padded);
            let start = [0, 2, 3][shift];
            let end_trim = [0, 3, 2][(bytes.len() + shift) % 3];
            let end = encoded.len().saturating_sub(end_trim);
            (start < end).then(|| encoded[start..end].to_string())
        })
        .collect()
}

fn stage_bytes(stage: &Stage, field: &str) -> Result<Vec<u8>, RuleError> {
    match stage {
        Stage::Bytes(b) => Ok(b.clone()),
        Stage::Text(p) if is_plain(p) => Ok(plain_text(p).into_bytes()),
        Stage::Text(_) => Err(RuleError::Value(format!(
            "{field}: wildcards cannot be encoded"
        ))),
    }
}

fn utf16(stage: &Stage, field: &str, little: bool, bom: bool) -> Result<Stage, RuleError> {
    let text = match stage {
        Stage::Text(p) if is_plain(p) => plain_text(p),
        _ => {
            return Err(RuleError::Value(format!(
                "{field}: utf16 needs a plain string"
            )))
        }
    };
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if little { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if little {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    Ok(Stage::Bytes(out))
}

pub fn compile_item(key: &str, value: &Yaml) -> Result<FieldTest, RuleError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").trim().to_string();
    let mut modifiers: Vec<String> = parts.map(|m| m.trim().to_ascii_lowercase()).collect();
    // Keywords search the full log message: a plain keyword matches anywhere in a value.
    if field.is_empty()
        && !modifiers
            .iter()
            .any(|m| ["contains", "startswith", "endswith", "re"].contains(&m.as_str()))
    {
        modifiers.push("contains".into());
    }
    for m in &modifiers {
        if !KNOWN.contains(&m.as_str()) {
            return Err(RuleError::Unsupported(format!("modifier `{m}`")));
        }
    }
    let has = |m: &str| modifiers.iter().any(|x| x == m);
    let field_name = (!field.is_empty()).then(|| field.clone());
    let all = has("all");
    let cased = has("cased");
    let raw = values_of(value);
    if raw.is_empty() {
        return Err(RuleError::Value(format!("{key}: empty list of values")));
    }
    if has("neq") {
        return Err(RuleError::Unsupported("modifier `neq`".into()));
    }

    let mut tests = Vec::new();
    if has("exists") {
        for v in &raw {
            match v {
                Yaml::Bool(b) => tests.push(ValueTest::Exists(*b)),
                Yaml::String(s)
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                {
                    tests.push(ValueTest::Exists(s.eq_ignore_ascii_case("true")))
                }
                _ => {
                    return Err(RuleError::Value(format!(
                        "{key}: exists takes true or false"
                    )))
                }
            }
        }
    } else if has("re") {
        let flags: String = ["i", "m", "s"].iter().filter(|f| has(f)).copied().collect();
        for v in &raw {
            let text = scalar_text(v).ok_or_else(|| {
                RuleError::Value(format!("{key}: a regular expression must be a string"))
            })?;
            let pattern = if flags.is_empty() {
                text
            } else {
                format!("(?{flags}){text}")
            };
            let re = regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| RuleError::Value(format!("{key}: bad regular expression: {e}")))?;
            tests.push(ValueTest::Regex(re));
        }
    } else if has("cidr") {
        for v in &raw {
            let text = scalar_text(v).unwrap_or_default();
            let net = text.trim().parse::<ipnet::IpNet>().or_else(|_| {
                text.trim()
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
            });
            tests.push(ValueTest::Cidr(net.map_err(|_| {
                RuleError::Value(format!("{key}: `{text}` is not a CIDR range"))
            })?));
        }
    } else if let Some(cmp) = [
        ("lt", Cmp::Lt),
        ("lte", Cmp::Lte),
        ("gt", Cmp::Gt),
        ("gte", Cmp::Gte),
    ]
    .iter()
    .find(|(m, _)| has(m))
    .map(|(_, c)| *c)
    {
        for v in &raw {
            let n = scalar_text(v).and_then(|t| t.trim().parse::<f64>().ok());
            tests.push(ValueTest::Num(
                cmp,
                n.ok_or_else(|| RuleError::Value(format!("{key}: comparison needs a number")))?,
            ));
        }
    } else if let Some(part) = [
        ("minute", TimePart::Minute),
        ("hour", TimePart::Hour),
        ("day", TimePart::Day),
        ("week", TimePart::Week),
        ("month", TimePart::Month),
        ("year", TimePart::Year),
    ]
    .iter()
    .find(|(m, _)| has(m))
    .map(|(_, p)| *p)
    {
        for v in &raw {
            let n = scalar_text(v).and_then(|t| t.trim().parse::<i64>().ok());
            tests.push(ValueTest::Time(
                part,
                n.ok_or_else(|| {
                    RuleError::Value(format!("{key}: time part needs a whole number"))
                })?,
            ));
        }
    } else if has("fieldref") {
        let how = if has("contains") {
            RefHow::Contains
        } else if has("startswith") {
            RefHow::StartsWith
        } else if has("endswith") {
            RefHow::EndsWith
        } else {
            RefHow::Equals
        };
        for v in &raw {
            let other = scalar_text(v)
                .ok_or_else(|| RuleError::Value(format!("{key}: fieldref needs a field name")))?;
            tests.push(ValueTest::FieldRef { other, how, cased });
        }
    } else {
        for v in &raw {
            if matches!(v, Yaml::Null) {
                tests.push(ValueTest::Null);
                continue;
            }
            let text = scalar_text(v).ok_or_else(|| {
                RuleError::Value(format!("{key}: values must be strings, numbers or null"))
            })?;
            let mut stages = vec![Stage::Text(parse_sigma_string(&text))];
            for m in &modifiers {
                stages = match m.as_str() {
                    "contains" | "startswith" | "endswith" => stages
                        .into_iter()
                        .map(|s| match s {
                            Stage::Text(mut p) => {
                                if m != "endswith" && p.last() != Some(&Piece::AnyMany) {
                                    p.push(Piece::AnyMany);
                                }
                                if m != "startswith" && p.first() != Some(&Piece::AnyMany) {
                                    p.insert(0, Piece::AnyMany);
                                }
                                Ok(Stage::Text(p))
                            }
                            Stage::Bytes(_) => Err(RuleError::Value(format!(
                                "{key}: `{m}` after an encoding needs base64"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                    "windash" => stages
                        .into_iter()
                        .flat_map(|s| match s {
                            Stage::Text(p) => windash_variants(&p)
                                .into_iter()
                                .map(Stage::Text)
                                .collect::<Vec<_>>(),
                            other => vec![other],
                        })
                        .collect(),
                    "utf16le" | "wide" => stages
                        .iter()
                        .map(|s| utf16(s, key, true, false))
                        .collect::<Result<_, _>>()?,
                    "utf16be" => stages
                        .iter()
                        .map(|s| utf16(s, key, false, false))
                        .collect::<Result<_, _>>()?,
                    "utf16" => stages
                        .iter()
                        .map(|s| utf16(s, key, true, true))
                        .collect::<Result<_, _>>()?,
                    "base64" => stages
                        .iter()
                        .map(|s| {
                            stage_bytes(s, key).map(|b| Stage::Text(vec![Piece::Text(b64(&b))]))
                        })
                        .collect::<Result<_, _>>()?,
                    "base64offset" => {
                        let mut out = Vec::new();
                        for s in &stages {
                            let bytes = stage_bytes(s, key)?;
                            out.extend(
                                base64_offsets(&bytes)
                                    .into_iter()
                                    .map(|t| Stage::Text(vec![Piece::Text(t)])),
                            );
                        }
                        out
                    }
                    "expand" => stages
                        .into_iter()
                        .map(|s| match s {
                            Stage::Text(p) => Stage::Text(expand_placeholders(p)),
                            other => other,
                        })
                        .collect(),
                    _ => stages,
                };
            }
            for s in stages {
                match s {
                    // base64 output is case-sensitive by nature.
                    Stage::Text(p) => tests.push(ValueTest::Str(StringMatcher::new(
                        p,
                        cased || has("base64") || has("base64offset"),
                    ))),
                    Stage::Bytes(_) => {
                        return Err(RuleError::Value(format!(
                            "{key}: an encoding modifier needs base64 or base64offset after it"
                        )))
                    }
                }
            }
        }
    }
    Ok(FieldTest {
        field: field_name,
        tests,
        all,
    })
}

fn time_part(value: &FieldValue<'_>, part: TimePart) -> Option<i64> {
    // Accepts RFC 3339 / ISO 8601 text: 2026-11-26T09:30:00Z or "2026-11-26 09:30:00".
    let text = value.as_text();
    let t = text.trim();
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    match part {
        TimePart::Year => Some(y),
        TimePart::Month => Some(mo),
        TimePart::Day => Some(d),
        TimePart::Hour => num(11..13),
        TimePart::Minute => num(14..16),
        TimePart::Week => {
            // ISO week number from the ordinal day.
            let days_before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let ordinal = days_before.get((mo - 1) as usize)? + d + i64::from(leap && mo > 2);
            // Day of week of that date (Monday = 1), by Zeller-like arithmetic.
            let (yy, mm) = if mo < 3 { (y - 1, mo + 12) } else { (y, mo) };
            let h = (d + (13 * (mm + 1)) / 5 + yy + yy / 4 - yy / 100 + yy / 400) % 7;
            let weekday = ((h + 5) % 7) + 1;
            Some(((ordinal - weekday + 10) / 7).max(1))
        }
    }
}

impl ValueTest {
    fn check(&self, value: Option<&FieldValue<'_>>, event: &dyn Event) -> bool {
        match self {
            ValueTest::Null => matches!(value, None | Some(FieldValue::Null)),
            ValueTest::Exists(want) => value.is_some() == *want,
            _ => {
                let Some(v) = value else { return false };
                if matches!(v, FieldValue::Null) {
                    return false;
                }
                match self {
                    ValueTest::Str(m) => m.matches(&v.as_text()),
                    ValueTest::Regex(re) => re.is_match(&v.as_text()),
                    ValueTest::Cidr(net) => v
                        .as_text()
                        .trim()
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| net.contains(&ip)),
                    ValueTest::Num(cmp, n) => v.as_number().is_some_and(|x| match cmp {
                        Cmp::Lt => x < *n,
                        Cmp::Lte => x <= *n,
                        Cmp::Gt => x > *n,
                        Cmp::Gte => x >= *n,
                    }),
                    ValueTest::Time(part, n) => time_part(v, *part) == Some(*n),
                    ValueTest::FieldRef { other, how, cased } => {
                        let Some(o) = event.field(other) else {
                            return false;
                        };
                        let (a, b) = if *cased {
                            (v.as_text().into_owned(), o.as_text().into_owned())
                        } else {
                            (v.as_text().to_lowercase(), o.as_text().to_lowercase())
                        };
                        match how {
                            RefHow::Equals => a == b,
                            RefHow::StartsWith => a.starts_with(&b),
                            RefHow::EndsWith => a.ends_with(&b),
                            RefHow::Contains => a.contains(&b),
                        }
                    }
                    ValueTest::Null | ValueTest::Exists(_) => false,
                }
            }
        }
    }

    fn check_text(&self, text: &str) -> bool {
        match self {
            ValueTest::Str(m) => m.matches(text),
            ValueTest::Regex(re) => re.is_match(text),
            _ => false,
        }
    }
}

impl FieldTest {
    pub fn matches(&self, event: &dyn Event) -> bool {
        match &self.field {
            Some(name) => {
                // Case-insensitive string tests share one folded copy of the field.
                if self
                    .tests
                    .iter()
                    .all(|t| matches!(t, ValueTest::Str(m) if m.takes_folded()))
                {
                    let Some(folded) = event.folded(name) else {
                        return false;
                    };
                    let mut results = self.tests.iter().map(|t| match t {
                        ValueTest::Str(m) => m.matches_folded(&folded),
                        _ => false,
                    });
                    return if self.all {
                        results.all(|r| r)
                    } else {
                        results.any(|r| r)
                    };
                }
                let value = event.field(name);
                let mut results = self.tests.iter().map(|t| t.check(value.as_ref(), event));
                if self.all {
                    results.all(|r| r)
                } else {
                    results.any(|r| r)
                }
            }
            None => {
                let mut hit = |t: &ValueTest| event.any_value(&mut |s| t.check_text(s));
                if self.all {
                    self.tests.iter().all(&mut hit)
                } else {
                    self.tests.iter().any(&mut hit)
                }
            }
        }
    }
}
