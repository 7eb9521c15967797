//! Reading a STIX 2.1 bundle a partner sent: its report (title and text), and every indicator
//! and cyber-observable that hikeshi can hold as an observable, with the TLP it was marked
//! with. What hikeshi cannot hold is listed with the reason, never dropped in silence.
//!
//! Indicator patterns are read when they are one comparison of an observable's identifying
//! property (`[ipv4-addr:value = '…']`), or several such comparisons joined by `OR`: that is what
//! indicator feeds send almost always. Anything else (AND, FOLLOWEDBY, qualifiers, other
//! properties) is kept out with its pattern quoted, because a half-read pattern would match
//! something the sender did not mean.

use crate::tlp;
use hikeshi_model::{normalise_observable, ObservableKind, Tlp};
use serde_json::Value;
use std::collections::HashMap;

/// A bundle larger than this is refused before it is parsed.
pub const MAX_BUNDLE_BYTES: usize = 10 * 1024 * 1024;
/// At most this many objects in one bundle.
pub const MAX_OBJECTS: usize = 20_000;
/// At most this many comparisons in one pattern.
const MAX_COMPARISONS: usize = 100;
/// At most this many observables from one bundle; the rest are listed as skipped.
pub const MAX_OBSERVABLES: usize = 20_000;

/// TLP 1.0 markings STIX 2.1 predefines (WHITE is TLP 2.0's CLEAR).
const TLP_1: &[(&str, Tlp)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedObservable {
    pub kind: ObservableKind,
    /// In hikeshi's canonical form.
    pub value: String,
    pub description: String,
    /// The object's TLP marking, when it has one hikeshi knows.
    pub tlp: Option<Tlp>,
    /// From an indicator (rather than a bare cyber-observable).
    pub is_ioc: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The STIX object's id, or `bundle` for the bundle itself.
    pub id: String,
    pub reason: SkipReason,
}

/// Why an object was not read. The caller words it in the reader's language from
/// [`SkipReason::code`] and [`SkipReason::detail`].
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// An object type hikeshi holds no observable for (`process`).
    UnsupportedType(String),
    /// An indicator whose `pattern_type` is not `stix`.
    PatternType(String),
    /// A pattern that is not comparisons joined by OR (quoted, cut at 200 characters).
    Pattern(String),
    /// A pattern's object path hikeshi has no kind for (`process:name`).
    UnsupportedPath(String),
    /// A value that is not what its kind says (hikeshi_model's message).
    InvalidValue(String),
    /// A value past the bundle's observable limit.
    OverLimit(String),
}

impl SkipReason {
    /// Stable code, also the tail of the locale key `share.skip.<code>`.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::UnsupportedType(_) => "unsupported_type",
            SkipReason::PatternType(_) => "pattern_type",
            SkipReason::Pattern(_) => "pattern",
            SkipReason::UnsupportedPath(_) => "unsupported_path",
            SkipReason::InvalidValue(_) => "invalid_value",
            SkipReason::OverLimit(_) => "over_limit",
        }
    }

    /// What the message quotes: the type, pattern, path or value.
    pub fn detail(&self) -> &str {
        match self {
            SkipReason::UnsupportedType(d)
            | SkipReason::PatternType(d)
            | SkipReason::Pattern(d)
            | SkipReason::UnsupportedPath(d)
            | SkipReason::InvalidValue(d)
            | SkipReason::OverLimit(d) => d,
        }
    }
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[derive(Debug, Clone, Default)]
pub struct ImportedBundle {
    /// The first report's name and description, if the bundle has a report.
    pub title: Option<String>,
    pub description: String,
    /// The strictest TLP marking found on any object read.
    pub strictest_tlp: Option<Tlp>,
    pub observables: Vec<ImportedObservable>,
    pub skipped: Vec<Skipped>,
}

/// Why a bundle is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleError(pub String);

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn read_bundle(bytes: &[u8]) -> Result<ImportedBundle, BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError(format!(
            "the bundle is {} bytes; at most {MAX_BUNDLE_BYTES} are read",
            bytes.len()
        )));
    }
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        BundleError(format!(
            "not JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if root.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(BundleError("`type` is not `bundle`".into()));
    }
    let objects = root
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| BundleError("`objects` is missing or not a list".into()))?;
    if objects.len() > MAX_OBJECTS {
        return Err(BundleError(format!(
            "{} objects; at most {MAX_OBJECTS} are read",
            objects.len()
        )));
    }
    let mut out = ImportedBundle::default();
    let mut seen: HashMap<(ObservableKind, String), usize> = HashMap::new();
    for object in objects {
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("(no id)")
            .to_string();
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        let marking = marking_of(object);
        let found = match kind {
            "report" => {
                if out.title.is_none() {
                    out.title = text_of(object, "name");
                    out.description = text_of(object, "description").unwrap_or_default();
                    note_tlp(&mut out, marking);
                }
                continue;
            }
            "indicator" => read_indicator(object),
            "marking-definition" | "identity" | "relationship" | "extension-definition" => continue,
            other => match sco_observable(other, object) {
                Some(found) => found.map(|o| vec![o]),
                None => Err(SkipReason::UnsupportedType(cut(other, 40))),
            },
        };
        match found {
            Ok(list) => {
                for mut o in list {
                    if out.observables.len() >= MAX_OBSERVABLES {
                        out.skipped.push(Skipped {
                            id: id.clone(),
                            reason: SkipReason::OverLimit(cut(&o.value, 80)),
                        });
                        continue;
                    }
                    o.tlp = marking;
                    note_tlp(&mut out, marking);
                    match seen.get(&(o.kind, o.value.clone())) {
                        None => {
                            seen.insert((o.kind, o.value.clone()), out.observables.len());
                            out.observables.push(o);
                        }
                        // The indicator says more than the bare observable read before it.
                        Some(&at) if o.is_ioc => {
                            let e = &mut out.observables[at];
                            e.is_ioc = true;
                            if e.description.is_empty() {
                                e.description = o.description;
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            Err(reason) => out.skipped.push(Skipped { id, reason }),
        }
    }
    Ok(out)
}

fn note_tlp(out: &mut ImportedBundle, marking: Option<Tlp>) {
    if let Some(t) = marking {
        out.strictest_tlp = Some(out.strictest_tlp.map_or(t, |s| tlp::strictest(s, t)));
    }
}

fn text_of(object: &Value, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(|s| {
        s.chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect()
    })
}

/// The strictest TLP among the object's markings (TLP 2.0 or 1.0).
fn marking_of(object: &Value) -> Option<Tlp> {
    let refs = object.get("object_marking_refs")?.as_array()?;
    refs.iter()
        .filter_map(Value::as_str)
        .filter_map(|r| {
            Tlp::ALL
                .iter()
                .copied()
                .find(|t| tlp::marking_id(*t) == r)
                .or_else(|| TLP_1.iter().find(|(id, _)| *id == r).map(|(_, t)| *t))
        })
        .max()
}

fn read_indicator(object: &Value) -> Result<Vec<ImportedObservable>, SkipReason> {
    let pattern_type = object
        .get("pattern_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if pattern_type != "stix" {
        return Err(SkipReason::PatternType(cut(pattern_type, 40)));
    }
    let pattern = object.get("pattern").and_then(Value::as_str).unwrap_or("");
    let comparisons =
        parse_or_pattern(pattern).ok_or_else(|| SkipReason::Pattern(cut(pattern, 200)))?;
    let description = text_of(object, "description").unwrap_or_default();
    comparisons
        .into_iter()
        .map(|(path, value)| {
            let kind = kind_of_path(&path, &value)
                .ok_or_else(|| SkipReason::UnsupportedPath(cut(&path, 80)))?;
            observable(kind, &value, description.clone(), true)
        })
        .collect()
}

fn observable(
    kind: ObservableKind,
    value: &str,
    description: String,
    is_ioc: bool,
) -> Result<ImportedObservable, SkipReason> {
    let value =
        normalise_observable(kind, value).map_err(|e| SkipReason::InvalidValue(e.to_string()))?;
    Ok(ImportedObservable {
        kind,
        value,
        description,
        tlp: None,
        is_ioc,
    })
}

/// A cyber-observable object as an observable; `None` when hikeshi has no kind for the type.
fn sco_observable(
    sco_type: &str,
    object: &Value,
) -> Option<Result<ImportedObservable, SkipReason>> {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let (kind, value) = match sco_type {
        "ipv4-addr" | "ipv6-addr" => {
            let v = text("value")?;
            let kind = if v.contains('/') {
                ObservableKind::Cidr
            } else {
                ObservableKind::Ip
            };
            (kind, v.to_string())
        }
        "domain-name" => (ObservableKind::Domain, text("value")?.to_string()),
        "url" => (ObservableKind::Url, text("value")?.to_string()),
        "email-addr" => (ObservableKind::Email, text("value")?.to_string()),
        "windows-registry-key" => (ObservableKind::RegistryKey, text("key")?.to_string()),
        "user-account" => (
            ObservableKind::UserAccount,
            text("account_login")
                .or_else(|| text("user_id"))?
                .to_string(),
        ),
        "file" => {
            let hashes = object.get("hashes").and_then(Value::as_object);
            let hash = |name: &str| hashes.and_then(|h| h.get(name)).and_then(Value::as_str);
            if let Some(v) = hash("SHA-256") {
                (ObservableKind::Sha256, v.to_string())
            } else if let Some(v) = hash("SHA-1") {
                (ObservableKind::Sha1, v.to_string())
            } else if let Some(v) = hash("MD5") {
                (ObservableKind::Md5, v.to_string())
            } else {
                (ObservableKind::Filename, text("name")?.to_string())
            }
        }
        _ => return None,
    };
    Some(observable(kind, &value, String::new(), false))
}

/// Which observable kind a pattern's object path names.
fn kind_of_path(path: &str, value: &str) -> Option<ObservableKind> {
    use ObservableKind::*;
    Some(match path {
        "ipv4-addr:value" | "ipv6-addr:value" if value.contains('/') => Cidr,
        "ipv4-addr:value" | "ipv6-addr:value" => Ip,
        "domain-name:value" => Domain,
        "url:value" => Url,
        "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value" => {
            Email
        }
        "file:hashes.MD5" | "file:hashes.'MD5'" => Md5,
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" => Sha1,
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" => Sha256,
        "file:name" => Filename,
        "windows-registry-key:key" => RegistryKey,
        "user-account:account_login" | "user-account:user_id" => UserAccount,
        _ => return None,
    })
}

/// `[a:b = 'x']`, `[a:b = 'x' OR c:d = 'y']` or `[a:b = 'x'] OR [c:d = 'y']`, where each
/// comparison is `=` (or `ISSUBSET` for an address range); `None` for anything else.
fn parse_or_pattern(pattern: &str) -> Option<Vec<(String, String)>> {
    let mut p = Parser {
        s: pattern.as_bytes(),
        at: 0,
    };
    let mut out = Vec::new();
    loop {
        p.space();
        p.eat(b'[')?;
        loop {
            p.space();
            let path = p.path()?;
            p.space();
            let op = p.word();
            if op != "=" && !(op == "ISSUBSET" && path.ends_with("-addr:value")) {
                return None;
            }
            p.space();
            let value = p.string()?;
            out.push((path, value));
            if out.len() > MAX_COMPARISONS {
                return None;
            }
            p.space();
            if p.keyword("OR") {
                continue;
            }
            break;
        }
        p.eat(b']')?;
        p.space();
        if p.at == p.s.len() {
            return Some(out);
        }
        if !p.keyword("OR") {
            return None;
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.s.get(self.at) == Some(&b)).then(|| self.at += 1)
    }

    fn keyword(&mut self, word: &str) -> bool {
        let end = self.at + word.len();
        let follows_space = self
            .s
            .get(end)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'[');
        if self.s.get(self.at..end) == Some(word.as_bytes()) && follows_space {
            self.at = end;
            true
        } else {
            false
        }
    }

    /// An object path: `type:prop`, `type:prop.sub`, `type:hashes.'SHA-256'`.
    fn path(&mut self) -> Option<String> {
        let start = self.at;
        while let Some(&b) = self.s.get(self.at) {
            if b.is_ascii_alphanumeric() || b"-_:.".contains(&b) {
                self.at += 1;
            } else if b == b'\'' && self.s.get(self.at.wrapping_sub(1)) == Some(&b'.') {
                // A quoted property name: `hashes.'SHA-256'`.
                self.at += 1;
                while self.s.get(self.at).is_some_and(|c| *c != b'\'') {
                    self.at += 1;
                }
                self.eat(b'\'')?;
            } else {
                break;
            }
        }
        let path = std::str::from_utf8(&self.s[start..self.at]).ok()?;
        (path.contains(':')).then(|| path.to_string())
    }

    fn word(&mut self) -> String {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| !b.is_ascii_whitespace())
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
    }

    /// A quoted string literal, with `\'` and `\\` unescaped.
    fn string(&mut self) -> Option<String> {
        self.eat(b'\'')?;
        let mut out = Vec::new();
        loop {
            match *self.s.get(self.at)? {
                b'\\' => {
                    let next = *self.s.get(self.at + 1)?;
                    if next != b'\\' && next != b'\'' {
                        return None;
                    }
                    out.push(next);
                    self.at += 2;
                }
                b'\'' => {
                    self.at += 1;
                    return String::from_utf8(out).ok();
                }
                b => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_patterns_feeds_send() {
        assert_eq!(
            parse_or_pattern("[ipv4-addr:value = '198.51.100.1']").unwrap(),
            vec![("ipv4-addr:value".into(), "198.51.100.1".into())]
        );
        assert_eq!(
            parse_or_pattern(
                r"[file:hashes.'SHA-256' = 'ab' OR file:name = 'O\'Neil.exe'] OR [url:value = 'x']"
            )
            .unwrap(),
            vec![
                ("file:hashes.'SHA-256'".into(), "ab".into()),
                ("file:name".into(), "O'Neil.exe".into()),
                ("url:value".into(), "x".into()),
            ]
        );
        assert!(parse_or_pattern("[a:b = 'x' AND c:d = 'y']").is_none());
        assert!(parse_or_pattern("[a:b = 'x'] WITHIN 5 SECONDS").is_none());
        assert!(parse_or_pattern("[a:b MATCHES 'x']").is_none());
        assert!(parse_or_pattern("[a:b = 'x'").is_none());
        assert!(parse_or_pattern("[a:b = 'x\\n']").is_none());
    }

    #[test]
    fn caps_the_observables_of_one_bundle() {
        // 201 indicators of 100 addresses each: 20,100 values, 100 over the cap.
        let objects: Vec<Value> = (0..201)
            .map(|i| {
                let pattern = (0..100)
                    .map(|j| format!("[ipv4-addr:value = '10.{i}.{}.{}']", j / 256, j % 256))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                serde_json::json!({"type": "indicator", "id": format!("indicator--{i}"),
                    "pattern_type": "stix", "pattern": pattern})
            })
            .collect();
        let bundle = serde_json::json!({"type": "bundle", "objects": objects}).to_string();
        let read = read_bundle(bundle.as_bytes()).unwrap();
        assert_eq!(read.observables.len(), MAX_OBSERVABLES);
        assert_eq!(read.skipped.len(), 100);
        assert!(matches!(read.skipped[0].reason, SkipReason::OverLimit(_)));
    }

    #[test]
    fn refuses_what_is_not_a_bundle() {
        assert!(read_bundle(b"{\"type\":\"report\"}").is_err());
        let e = read_bundle(b"{\n\"type\": \"bundle\",\n oops}").unwrap_err();
        assert!(e.0.contains("line 3"), "{e}");
    }
}
