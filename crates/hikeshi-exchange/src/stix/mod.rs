//! STIX 2.1 (OASIS, 2021): a case as a report bundle.
//!
//! hikeshi writes its own STIX objects rather than using `rstix`: it needs a handful of object
//! types, byte-for-byte stable output and identifiers of its own choosing, and the objects are
//! judged by the OASIS validator and the `stix2` library in the tests, not by a Rust model.
//!
//! A bundle holds: the producer's identity; a report for the case, marked with the case's TLP;
//! for every observable that the gate let out, its cyber-observable object, and, when it is an
//! indicator of compromise, an indicator with its pattern, both marked with the observable's
//! effective TLP; and the TLP 2.0 marking definitions they reference.

pub mod ids;
pub mod import;
pub mod observable;

use crate::egress::Cleared;
use crate::tlp;
use hikeshi_model::Tlp;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub use observable::{stix_form, StixForm};

/// The media type of a STIX 2.1 bundle (STIX 2.1, 1.1 and the TAXII 2.1 media types).
pub const MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Who made the bundle: the team, as a STIX identity.
#[derive(Debug, Clone)]
pub struct Producer {
    /// Stable identifier of the team (the source of the identity's id).
    pub key: String,
    pub name: String,
    /// When the identity came to be; fixed, so the identity is one object across exports.
    pub created_ms: i64,
}

/// The case's report bundle from what the gate cleared. `now_ms` is the time of the export;
/// it names the bundle and nothing else, so two exports of an unchanged case differ only in
/// the bundle's id.
pub fn report_bundle(cleared: &Cleared, producer: &Producer, now_ms: i64) -> Value {
    let identity_id = ids::domain_object_id("identity", &producer.key);
    let mut objects = Vec::new();
    let mut markings = BTreeSet::new();
    let mut refs = Vec::new();

    objects.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": timestamp(producer.created_ms),
        "modified": timestamp(producer.created_ms),
        "name": producer.name,
        "identity_class": "organization",
    }));

    for o in cleared.leaving() {
        let Some(form) = stix_form(o.kind, &o.value) else {
            continue;
        };
        markings.insert(o.tlp);
        let sco_id = ids::observable_id(form.sco_type, &form.properties);
        if !refs.contains(&sco_id) {
            let mut sco = Map::new();
            sco.insert("type".into(), json!(form.sco_type));
            sco.insert("spec_version".into(), json!("2.1"));
            sco.insert("id".into(), json!(sco_id));
            if let Value::Object(props) = &form.properties {
                sco.extend(props.clone());
            }
            sco.insert(
                "object_marking_refs".into(),
                json!([tlp::marking_id(o.tlp)]),
            );
            objects.push(Value::Object(sco));
            refs.push(sco_id);
        }
        if o.is_ioc {
            let indicator_id = ids::domain_object_id("indicator", &o.key);
            let at = timestamp(o.created_ms);
            objects.push(json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": indicator_id,
                "created_by_ref": identity_id,
                "created": at,
                "modified": at,
                "name": o.value,
                "description": o.description,
                "indicator_types": ["malicious-activity"],
                "pattern": form.pattern,
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": at,
                "object_marking_refs": [tlp::marking_id(o.tlp)],
            }));
            refs.push(indicator_id);
        }
    }
    if refs.is_empty() {
        // A report must refer to something; with every observable withheld, that is its author.
        refs.push(identity_id.clone());
    }

    markings.insert(cleared.tlp());
    let report_id = ids::domain_object_id("report", cleared.key());
    objects.push(json!({
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created_by_ref": identity_id,
        "created": timestamp(cleared.created_ms()),
        "modified": timestamp(cleared.modified_ms()),
        "name": cleared.title(),
        "description": cleared.description(),
        "report_types": ["threat-report"],
        "published": timestamp(cleared.modified_ms()),
        "object_refs": refs,
        "external_references": [{
            "source_name": "hikeshi",
            "external_id": cleared.number(),
        }],
        "object_marking_refs": [tlp::marking_id(cleared.tlp())],
    }));

    let mut bundle_objects: Vec<Value> = markings
        .iter()
        .map(|t: &Tlp| tlp::marking_object(*t))
        .collect();
    bundle_objects.extend(objects);
    json!({
        "type": "bundle",
        "id": ids::domain_object_id("bundle", &format!("{report_id}/{now_ms}")),
        "objects": bundle_objects,
    })
}

/// STIX timestamps: UTC, `Z`, milliseconds.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
