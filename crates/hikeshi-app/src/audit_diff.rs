//! An audit entry's before and after, as the fields that changed: what a reader of the log
//! wants, instead of two JSON documents to compare by eye.

use serde_json::{Map, Value};

/// One field of a changed object. `None` on a side: the object did not exist (created or
/// deleted) or the field was not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The fields that differ between `before` and `after` (stored JSON): the newer side's fields
/// in the order the record lists them, then the fields that are gone. A creation lists every
/// field of `after`, a deletion every field of `before`. A side that is not a JSON object counts
/// as one field named `value`.
pub fn field_changes(before: Option<&str>, after: Option<&str>) -> Vec<FieldChange> {
    let before = before.map(as_fields).unwrap_or_default();
    let after = after.map(as_fields).unwrap_or_default();
    let mut changes = Vec::new();
    for (field, new) in &after {
        let old = before.get(field);
        if old != Some(new) {
            changes.push(FieldChange {
                field: field.clone(),
                before: old.map(shown),
                after: Some(shown(new)),
            });
        }
    }
    for (field, old) in &before {
        if !after.contains_key(field) {
            changes.push(FieldChange {
                field: field.clone(),
                before: Some(shown(old)),
                after: None,
            });
        }
    }
    changes
}

fn as_fields(json: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => map,
        Ok(other) => Map::from_iter([("value".to_string(), other)]),
        // Not JSON (it never should be): shown as it is rather than dropped.
        Err(_) => Map::from_iter([("value".to_string(), Value::String(json.to_string()))]),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_with_both_sides() {
        let mut changes = field_changes(
            Some(r#"{"status":"new","title":"Phish","tags":["a"]}"#),
            Some(r#"{"status":"in_progress","title":"Phish","tags":["a","b"],"owner":"hana"}"#),
        );
        // The order follows serde_json's map, which features elsewhere in the build decide.
        changes.sort_by(|a, b| a.field.cmp(&b.field));
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "owner".into(),
                    before: None,
                    after: Some("hana".into())
                },
                FieldChange {
                    field: "status".into(),
                    before: Some("new".into()),
                    after: Some("in_progress".into())
                },
                FieldChange {
                    field: "tags".into(),
                    before: Some(r#"["a"]"#.into()),
                    after: Some(r#"["a","b"]"#.into())
                },
            ]
        );
    }

    #[test]
    fn creation_deletion_and_odd_values() {
        assert_eq!(field_changes(None, Some(r#"{"a":1}"#)).len(), 1);
        let gone = field_changes(Some(r#"{"a":1,"b":null}"#), None);
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().all(|c| c.after.is_none()));
        let odd = field_changes(Some("not json"), Some("42"));
        assert_eq!(odd[0].before.as_deref(), Some("not json"));
        assert_eq!(odd[0].after.as_deref(), Some("42"));
        assert!(field_changes(None, None).is_empty());
    }
}
