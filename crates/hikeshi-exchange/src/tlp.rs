//! TLP 2.0 (FIRST) as STIX 2.1 marking definitions. STIX 2.1 predefines only TLP 1.0; the
//! TLP 2.0 objects are the ones OASIS publishes with the `tlp_2_0` property extension, and
//! their identifiers, names and creation time are part of the published objects, so they are
//! written here exactly as published and never generated.

use hikeshi_model::Tlp;
use serde_json::{json, Value};

/// The extension every TLP 2.0 marking definition declares itself through.
pub const TLP_2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

const TLP_2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The published identifier of a TLP 2.0 marking definition.
pub fn marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The label as FIRST writes it: `TLP:AMBER+STRICT`.
pub fn label(tlp: Tlp) -> String {
    format!("TLP:{}", tlp.code().to_ascii_uppercase())
}

/// The marking definition object a bundle carries so that references to it resolve.
pub fn marking_object(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id(tlp),
        "created": TLP_2_CREATED,
        "name": label(tlp),
        "extensions": {
            TLP_2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.code(),
            }
        }
    })
}

/// The stricter of two markings: the effective TLP of an object is the strictest of its own,
/// its case's and its source's ceiling.
pub fn strictest(a: Tlp, b: Tlp) -> Tlp {
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_tightens_from_clear_to_red() {
        assert_eq!(strictest(Tlp::Green, Tlp::AmberStrict), Tlp::AmberStrict);
        assert_eq!(strictest(Tlp::Red, Tlp::Clear), Tlp::Red);
        assert_eq!(strictest(Tlp::Amber, Tlp::Green), Tlp::Amber);
    }

    #[test]
    fn labels_as_first_writes_them() {
        assert_eq!(label(Tlp::AmberStrict), "TLP:AMBER+STRICT");
        assert_eq!(marking_object(Tlp::Clear)["name"], "TLP:CLEAR");
    }
}
