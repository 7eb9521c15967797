//! STIX identifiers that are the same every time the same thing is exported, so a partner's
//! copy is updated rather than duplicated.
//!
//! Cyber-observable objects use the standard's own rule (STIX 2.1, 2.9): a UUIDv5 in the STIX
//! namespace over the canonical JSON of the object's ID-contributing properties, which is what
//! every other STIX tool computes for the same value. Domain objects (report, indicator,
//! identity) and bundles must carry a UUIDv4: theirs is the SHA-1 of hikeshi's own namespace,
//! the object type and hikeshi's internal identifier, with the version 4 and variant bits set,
//! so it has the form the standard asks for and is still the same on every export.

use serde_json::Value;
use uuid::Uuid;

/// The namespace STIX 2.1 defines for cyber-observable identifiers.
const STIX_SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// hikeshi's namespace for its domain objects (a UUIDv5 of `hikeshi.dev` in the DNS namespace,
/// fixed here so it never changes with a library).
const HIKESHI_NAMESPACE: Uuid = Uuid::from_u128(0x2a7f0d1f_8600_5de9_814b_9a5198b0c05c);

/// `indicator--…` for hikeshi's object `key`.
pub fn domain_object_id(stix_type: &str, key: &str) -> String {
    let name = format!("{stix_type}/{key}");
    let digest = Uuid::new_v5(&HIKESHI_NAMESPACE, name.as_bytes()).into_bytes();
    format!(
        "{stix_type}--{}",
        uuid::Builder::from_random_bytes(digest).into_uuid()
    )
}

/// `ipv4-addr--…` from the object's ID-contributing properties (an object of them).
pub fn observable_id(stix_type: &str, contributing: &Value) -> String {
    let mut canonical = String::new();
    canonical_json(contributing, &mut canonical);
    format!(
        "{stix_type}--{}",
        Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes())
    )
}

/// RFC 8785 canonical JSON for the values observables carry (strings and objects of them):
/// keys sorted by code unit, no white space, strings escaped as serde_json escapes them
/// (quotation mark, reverse solidus and control characters only).
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domain_ids_are_version_4() {
        let id = domain_object_id("report", "case-1");
        let uuid = Uuid::parse_str(id.trim_start_matches("report--")).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn same_input_same_id() {
        assert_eq!(
            domain_object_id("indicator", "abc"),
            domain_object_id("indicator", "abc")
        );
        assert_ne!(
            domain_object_id("indicator", "abc"),
            domain_object_id("report", "abc")
        );
    }

    #[test]
    fn canonical_form_sorts_keys() {
        let mut s = String::new();
        canonical_json(
            &json!({"b": "2", "a": {"SHA-256": "x", "MD5": "y"}}),
            &mut s,
        );
        assert_eq!(s, r#"{"a":{"MD5":"y","SHA-256":"x"},"b":"2"}"#);
    }
}
