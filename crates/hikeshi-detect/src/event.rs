//! What the engine reads: an event is anything that can look up a field by its (Sigma) name and
//! list its string values for keyword searches.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl FieldValue<'_> {
    /// The value as text, the way a log line would show it.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            FieldValue::Str(s) => Cow::Borrowed(s.as_ref()),
            FieldValue::Int(i) => Cow::Owned(i.to_string()),
            FieldValue::Float(f) => Cow::Owned(f.to_string()),
            FieldValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            FieldValue::Null => Cow::Borrowed(""),
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::Float(f) => Some(*f),
            FieldValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

pub trait Event {
    /// The value of a field, `None` when the event does not have it.
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;
    /// Calls `visit` with every string value until it returns true; returns whether it did.
    fn any_value(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool;
    /// Calls `visit` with the top-level field name and the text of every value under it,
    /// numbers and booleans included: the literal prefilter must see everything a field test
    /// could compare with. An empty name means "unknown" and is always scanned.
    fn each_text(&self, visit: &mut dyn FnMut(&str, &str)) {
        self.any_value(&mut |s| {
            visit("", s);
            false
        });
    }
    /// The field's text folded to lower case. Many rules test the same field of one event, so
    /// events that can should fold once and keep the result.
    fn folded(&self, name: &str) -> Option<Rc<str>> {
        self.field(name)
            .filter(|v| !matches!(v, FieldValue::Null))
            .map(|v| Rc::from(v.as_text().to_lowercase()))
    }
}

/// An event held as a flat JSON object: nested objects are reached with dotted names
/// (`user.name`), and a name present literally at the top level wins.
#[derive(Debug, Clone, Default)]
pub struct JsonEvent {
    pub map: serde_json::Map<String, serde_json::Value>,
    folded: RefCell<HashMap<String, Option<Rc<str>>>>,
}

impl JsonEvent {
    pub fn new(map: serde_json::Map<String, serde_json::Value>) -> JsonEvent {
        JsonEvent {
            map,
            folded: RefCell::default(),
        }
    }
}

fn to_field(v: &serde_json::Value) -> FieldValue<'_> {
    match v {
        serde_json::Value::String(s) => FieldValue::Str(Cow::Borrowed(s)),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(FieldValue::Int)
            .or_else(|| n.as_f64().map(FieldValue::Float))
            .unwrap_or(FieldValue::Null),
        serde_json::Value::Bool(b) => FieldValue::Bool(*b),
        serde_json::Value::Null => FieldValue::Null,
        other => FieldValue::Str(Cow::Owned(other.to_string())),
    }
}

impl Event for JsonEvent {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        if let Some(v) = self.map.get(name) {
            return Some(to_field(v));
        }
        let mut parts = name.split('.');
        let mut current = self.map.get(parts.next()?)?;
        for part in parts {
            current = current.get(part)?;
        }
        Some(to_field(current))
    }

    fn any_value(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool {
        fn walk(v: &serde_json::Value, visit: &mut dyn FnMut(&str) -> bool) -> bool {
            match v {
                serde_json::Value::String(s) => visit(s),
                serde_json::Value::Array(a) => a.iter().any(|x| walk(x, visit)),
                serde_json::Value::Object(o) => o.values().any(|x| walk(x, visit)),
                serde_json::Value::Number(n) => visit(&n.to_string()),
                _ => false,
            }
        }
        self.map.values().any(|v| walk(v, visit))
    }

    fn each_text(&self, visit: &mut dyn FnMut(&str, &str)) {
        fn walk(v: &serde_json::Value, visit: &mut dyn FnMut(&str), buf: &mut String) {
            match v {
                serde_json::Value::String(s) => visit(s),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, visit, buf)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, visit, buf)),
                serde_json::Value::Number(n) => {
                    use std::fmt::Write;
                    buf.clear();
                    let _ = write!(buf, "{n}");
                    visit(buf);
                }
                serde_json::Value::Bool(b) => visit(if *b { "true" } else { "false" }),
                serde_json::Value::Null => {}
            }
        }
        let mut buf = String::new();
        for (name, v) in &self.map {
            walk(v, &mut |text| visit(name, text), &mut buf);
        }
    }

    fn folded(&self, name: &str) -> Option<Rc<str>> {
        if let Some(hit) = self.folded.borrow().get(name) {
            return hit.clone();
        }
        let value = self
            .field(name)
            .filter(|v| !matches!(v, FieldValue::Null))
            .map(|v| Rc::from(v.as_text().to_lowercase()));
        self.folded
            .borrow_mut()
            .insert(name.to_string(), value.clone());
        value
    }
}
