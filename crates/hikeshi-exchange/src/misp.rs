//! A case as a MISP event (the JSON of MISP's REST API and feeds: `{"Event": {…}}`), made,
//! like the STIX bundle, only from what the egress gate cleared.
//!
//! Each observable that leaves is an attribute of the MISP type and category MISP's own
//! categorisation uses for it; indicators of compromise have `to_ids` set. TLP travels as the
//! `tlp:` tags of MISP's TLP taxonomy, on the event (the case's marking) and on each attribute
//! (its effective marking). Identifiers are stable across exports, as in STIX.

use crate::egress::{Audience, Cleared};
use crate::stix::ids::domain_object_id;
use hikeshi_model::{ObservableKind, Tlp};
use serde_json::{json, Value};

/// MISP's type and category for an observable kind.
pub fn attribute_type(kind: ObservableKind) -> Option<(&'static str, &'static str)> {
    use ObservableKind::*;
    Some(match kind {
        Ip | Cidr => ("ip-dst", "Network activity"),
        Domain => ("domain", "Network activity"),
        Host => ("hostname", "Network activity"),
        Url => ("url", "Network activity"),
        Email => ("email-src", "Payload delivery"),
        Md5 => ("md5", "Payload delivery"),
        Sha1 => ("sha1", "Payload delivery"),
        Sha256 => ("sha256", "Payload delivery"),
        Filename => ("filename", "Payload delivery"),
        RegistryKey => ("regkey", "Persistence mechanism"),
        UserAccount => ("target-user", "Targeting data"),
        Other => return None,
    })
}

/// The tag of MISP's TLP taxonomy (`tlp:amber+strict`).
pub fn tlp_tag(tlp: Tlp) -> String {
    format!("tlp:{}", tlp.code())
}

/// MISP's distribution for the audience: 0 your organisation only, 1 this community only,
/// 3 all communities.
fn distribution(audience: Audience) -> &'static str {
    match audience {
        Audience::Organisation => "0",
        Audience::ClientPartner | Audience::Partner | Audience::Community => "1",
        Audience::Public => "3",
    }
}

fn uuid_of(kind: &str, key: &str) -> String {
    // The same version-4-form identifiers as the STIX objects, without the type prefix.
    domain_object_id(kind, key)
        .split_once("--")
        .map(|(_, u)| u.to_string())
        .unwrap_or_default()
}

fn seconds(ms: i64) -> String {
    (ms.max(0) / 1000).to_string()
}

/// The MISP event for what the gate cleared. `producer` is the organisation's name and key.
pub fn event(cleared: &Cleared, producer_name: &str, producer_key: &str) -> Value {
    let attributes: Vec<Value> = cleared
        .leaving()
        .iter()
        .filter_map(|o| {
            let (kind, category) = attribute_type(o.kind)?;
            Some(json!({
                "uuid": uuid_of("misp-attribute", &o.key),
                "type": kind,
                "category": category,
                "value": o.value,
                "to_ids": o.is_ioc,
                "comment": o.description,
                "distribution": "5",
                "timestamp": seconds(o.created_ms),
                "Tag": [{"name": tlp_tag(o.tlp)}],
            }))
        })
        .collect();
    let date = chrono::DateTime::from_timestamp_millis(cleared.created_ms())
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    json!({
        "Event": {
            "uuid": uuid_of("misp-event", cleared.key()),
            "info": cleared.title(),
            "date": date,
            "timestamp": seconds(cleared.modified_ms()),
            "threat_level_id": "4",
            "analysis": "1",
            "distribution": distribution(cleared.audience()),
            "published": false,
            "Orgc": {"name": producer_name, "uuid": uuid_of("misp-org", producer_key)},
            "Tag": [{"name": tlp_tag(cleared.tlp())}],
            "Attribute": attributes,
            "EventReport": [{
                "uuid": uuid_of("misp-report", cleared.key()),
                "name": cleared.number(),
                "content": cleared.description(),
                "distribution": "5",
                "timestamp": seconds(cleared.modified_ms()),
            }],
        }
    })
}
