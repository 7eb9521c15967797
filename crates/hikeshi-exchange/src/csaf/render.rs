//! The CSAF 2.0 JSON of an [`Advisory`]. The product tree holds only the versions the
//! vulnerabilities speak of (an unused product ID fails optional test 6.2.1), scores name only
//! affected versions (6.2.3, 6.2.19), and every object's keys come out sorted (6.2.13).

use super::{date, Advisory, ProductEntry, ProductVersion, Vulnerability};
use hikeshi_model::cvss::{severity_of, Cvss3};
use hikeshi_model::cvss4::Cvss4;
use hikeshi_model::{AdvisoryProfile, ProductStatus};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const TLP_URL: &str = "https://www.first.org/tlp/";

pub fn render(a: &Advisory) -> Value {
    let mut document = json!({
        "category": a.profile.code(),
        "csaf_version": "2.0",
        "distribution": {"tlp": {"label": a.tlp_label, "url": TLP_URL}},
        "lang": a.lang,
        "publisher": publisher(a),
        "references": references(a),
        "title": a.title,
        "tracking": tracking(a),
    });
    if !a.summary.trim().is_empty() {
        document["notes"] = json!([{"category": "summary", "title": "Summary", "text": a.summary}]);
    }
    let mut root = json!({ "document": document });
    let used = used_products(a);
    if !used.is_empty() {
        root["product_tree"] = product_tree(&used);
    }
    if a.profile != AdvisoryProfile::Informational && !a.vulnerabilities.is_empty() {
        root["vulnerabilities"] = a.vulnerabilities.iter().map(vulnerability).collect();
    }
    sorted(root)
}

fn publisher(a: &Advisory) -> Value {
    let mut p = json!({
        "category": "vendor",
        "name": a.publisher.name,
        "namespace": a.publisher.namespace,
    });
    if !a.publisher.contact_details.trim().is_empty() {
        p["contact_details"] = json!(a.publisher.contact_details);
    }
    p
}

fn references(a: &Advisory) -> Value {
    let mut refs = vec![json!({
        "category": "self",
        "summary": "Canonical URL of this document",
        "url": a.canonical_url,
    })];
    refs.extend(
        a.references
            .iter()
            .map(|r| json!({"category": "external", "summary": r.summary, "url": r.url})),
    );
    Value::Array(refs)
}

fn tracking(a: &Advisory) -> Value {
    let t = &a.tracking;
    json!({
        "current_release_date": date(t.current_release_date),
        "generator": {
            "date": date(t.generated_at),
            "engine": {"name": "hikeshi", "version": t.generator_version},
        },
        "id": a.tracking_id,
        "initial_release_date": date(t.initial_release_date),
        "revision_history": t.revisions.iter().map(|r| json!({
            "date": date(r.date),
            "number": r.number,
            "summary": r.summary,
        })).collect::<Vec<_>>(),
        "status": t.status.code(),
        "version": t.version,
    })
}

fn used_products(a: &Advisory) -> Vec<&ProductVersion> {
    a.products
        .iter()
        .filter(|p| {
            a.vulnerabilities
                .iter()
                .any(|v| v.entries.iter().any(|e| e.product_id == p.product_id))
        })
        .collect()
}

/// vendor → product name → product version, each leaf with an identification helper (6.2.16).
fn product_tree(products: &[&ProductVersion]) -> Value {
    let mut vendors: BTreeMap<&str, BTreeMap<&str, Vec<&ProductVersion>>> = BTreeMap::new();
    for p in products {
        vendors
            .entry(&p.vendor)
            .or_default()
            .entry(&p.product)
            .or_default()
            .push(p);
    }
    let branches: Vec<Value> = vendors
        .into_iter()
        .map(|(vendor, names)| {
            let names: Vec<Value> = names
                .into_iter()
                .map(|(name, versions)| {
                    let leaves: Vec<Value> = versions.into_iter().map(leaf).collect();
                    json!({"category": "product_name", "name": name, "branches": leaves})
                })
                .collect();
            json!({"category": "vendor", "name": vendor, "branches": names})
        })
        .collect();
    json!({ "branches": branches })
}

fn leaf(p: &ProductVersion) -> Value {
    let mut helper = Map::new();
    let cpe = if p.cpe.is_empty() {
        format!(
            "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
            cpe_part(&p.vendor),
            cpe_part(&p.product),
            cpe_part(&p.version)
        )
    } else {
        p.cpe.clone()
    };
    helper.insert("cpe".into(), json!(cpe));
    if !p.purl.is_empty() {
        helper.insert("purl".into(), json!(p.purl));
    }
    json!({
        "category": "product_version",
        "name": p.version,
        "product": {
            "name": p.full_name(),
            "product_id": p.product_id,
            "product_identification_helper": helper,
        },
    })
}

/// A CPE 2.3 component from a name: lower case, only characters the binding leaves unquoted.
fn cpe_part(text: &str) -> String {
    let part: String = text
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() {
        "-".into()
    } else {
        part
    }
}

fn ids_with(v: &Vulnerability, keep: impl Fn(&ProductEntry) -> bool) -> Vec<&str> {
    v.entries
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.product_id.as_str())
        .collect()
}

fn vulnerability(v: &Vulnerability) -> Value {
    let mut out = json!({ "title": v.title });
    if let Some(cve) = &v.cve {
        out["cve"] = json!(cve);
    }
    if !v.ids.is_empty() {
        out["ids"] = v
            .ids
            .iter()
            .map(|(system, text)| json!({"system_name": system, "text": text}))
            .collect();
    }
    if let Some((id, name)) = &v.cwe {
        out["cwe"] = json!({"id": id, "name": name});
    }
    let mut notes =
        vec![json!({"category": "description", "title": "Description", "text": v.description})];
    if let Some(vector) = &v.cvss4_vector {
        // CSAF 2.0's scores know CVSS v2 and v3 only: the 4.0 vector is told in a note.
        let text = match Cvss4::parse(vector) {
            Ok(c) => format!("CVSS v4.0 base score {:.1}: {vector}", c.base_score()),
            Err(_) => vector.clone(),
        };
        notes.push(json!({"category": "other", "title": "CVSS v4.0", "text": text}));
    }
    out["notes"] = Value::Array(notes);
    if !v.acknowledgments.is_empty() {
        out["acknowledgments"] = json!([{ "names": v.acknowledgments }]);
    }
    let mut status = Map::new();
    for s in ProductStatus::ALL {
        let ids = ids_with(v, |e| e.status == *s);
        if !ids.is_empty() {
            status.insert(s.code().into(), json!(ids));
        }
    }
    out["product_status"] = Value::Object(status);
    let remediations = remediations(v);
    if !remediations.is_empty() {
        out["remediations"] = Value::Array(remediations);
    }
    let affected = ids_with(v, |e| e.status == ProductStatus::KnownAffected);
    if let (Some(vector), false) = (&v.cvss3_vector, affected.is_empty()) {
        if let Ok(c) = Cvss3::parse(vector) {
            let score = c.base_score();
            let version = if vector.starts_with("CVSS:3.0/") {
                "3.0"
            } else {
                "3.1"
            };
            out["scores"] = json!([{
                "cvss_v3": {
                    "baseScore": score,
                    "baseSeverity": severity_of(score).to_ascii_uppercase(),
                    "vectorString": vector,
                    "version": version,
                },
                "products": affected,
            }]);
        }
    }
    let mut flags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut threats: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &v.entries {
        if e.status != ProductStatus::KnownNotAffected {
            continue;
        }
        if let Some(j) = e.justification {
            flags.entry(j.code()).or_default().push(&e.product_id);
        }
        if !e.impact.trim().is_empty() {
            threats
                .entry(e.impact.trim())
                .or_default()
                .push(&e.product_id);
        }
    }
    if !flags.is_empty() {
        out["flags"] = flags
            .into_iter()
            .map(|(label, ids)| json!({"label": label, "product_ids": ids}))
            .collect();
    }
    if !threats.is_empty() {
        out["threats"] = threats
            .into_iter()
            .map(|(details, ids)| json!({"category": "impact", "details": details, "product_ids": ids}))
            .collect();
    }
    out
}

/// What a version under investigation is offered when the team has said nothing yet: CSAF asks
/// a remediation of every version affected or under investigation (optional test 6.2.2).
const UNDER_INVESTIGATION: &str = "Under investigation: no remediation is available yet.";

/// One remediation per distinct (kind, details, URL), naming every version it applies to.
fn remediations(v: &Vulnerability) -> Vec<Value> {
    let mut grouped: BTreeMap<(&str, &str, &str), Vec<&str>> = BTreeMap::new();
    for e in &v.entries {
        if e.remediation.is_none() && e.status == ProductStatus::UnderInvestigation {
            grouped
                .entry(("none_available", UNDER_INVESTIGATION, ""))
                .or_default()
                .push(&e.product_id);
        }
        if let Some(r) = &e.remediation {
            if e.status == ProductStatus::KnownAffected
                || e.status == ProductStatus::UnderInvestigation
            {
                grouped
                    .entry((r.kind.code(), r.details.trim(), r.url.trim()))
                    .or_default()
                    .push(&e.product_id);
            }
        }
    }
    grouped
        .into_iter()
        .map(|((kind, details, url), ids)| {
            let mut r = json!({"category": kind, "details": details, "product_ids": ids});
            if !url.is_empty() {
                r["url"] = json!(url);
            }
            r
        })
        .collect()
}

/// Every object rebuilt with its keys in order, whatever map order serde_json was built with.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
