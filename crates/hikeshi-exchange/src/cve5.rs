//! A CVE JSON 5.1 CNA container for a product vulnerability: what a CNA publishes through CVE
//! Services, and what a vendor that is not a CNA hands to JPCERT/CC. English and Japanese
//! descriptions, each product's versions as single versions and ranges (from the first affected
//! version up to the first fixed one), the CWE, CVSS 3.1 and 4.0, and the finder's credit.

use crate::csaf::{ProductVersion, Vulnerability};
use hikeshi_model::cvss::{severity_of, Cvss3};
use hikeshi_model::cvss4::Cvss4;
use hikeshi_model::ProductStatus;
use serde_json::{json, Value};

pub struct CveRecord<'a> {
    /// The CNA's organisation UUID (CVE Services' `orgId`).
    pub org_id: &'a str,
    pub short_name: &'a str,
    pub title: &'a str,
    pub description_en: &'a str,
    pub description_ja: &'a str,
    /// Advisories and fixes: at least one is needed.
    pub references: Vec<String>,
}

fn status_of(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::KnownAffected => "affected",
        ProductStatus::Fixed | ProductStatus::KnownNotAffected => "unaffected",
        ProductStatus::UnderInvestigation => "unknown",
    }
}

/// Per (vendor, product), in the catalogue's version order.
fn affected(products: &[ProductVersion], v: &Vulnerability) -> Vec<Value> {
    let mut groups: Vec<(&str, &str, Vec<Value>)> = Vec::new();
    let mut firsts: Vec<Option<(String, usize)>> = Vec::new();
    for p in products {
        let Some(e) = v.entries.iter().find(|e| e.product_id == p.product_id) else {
            continue;
        };
        let at = match groups
            .iter()
            .position(|(vendor, name, _)| *vendor == p.vendor && *name == p.product)
        {
            Some(i) => i,
            None => {
                groups.push((&p.vendor, &p.product, Vec::new()));
                firsts.push(None);
                groups.len() - 1
            }
        };
        let versions = &mut groups[at].2;
        match e.status {
            ProductStatus::KnownAffected if firsts[at].is_none() => {
                firsts[at] = Some((p.version.clone(), versions.len()));
                versions.push(json!({"version": p.version, "status": "affected"}));
            }
            ProductStatus::Fixed => {
                // The first fixed version after an affected one closes the range.
                if let Some((from, index)) = firsts[at].take() {
                    versions[index] = json!({
                        "version": from, "lessThan": p.version,
                        "status": "affected", "versionType": "custom",
                    });
                }
                versions.push(json!({"version": p.version, "status": "unaffected"}));
            }
            s => versions.push(json!({"version": p.version, "status": status_of(s)})),
        }
    }
    groups
        .into_iter()
        .map(|(vendor, product, versions)| {
            json!({"vendor": vendor, "product": product, "versions": versions, "defaultStatus": "unknown"})
        })
        .collect()
}

fn metrics(v: &Vulnerability) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(vector) = &v.cvss3_vector {
        if let (Ok(c), true) = (Cvss3::parse(vector), vector.starts_with("CVSS:3.1/")) {
            let score = c.base_score();
            out.push(
                json!({"format": "CVSS", "scenarios": [{"lang": "en", "value": "GENERAL"}],
                "cvssV3_1": {"version": "3.1", "vectorString": vector, "baseScore": score,
                    "baseSeverity": severity_of(score).to_ascii_uppercase()}}),
            );
        }
    }
    if let Some(vector) = &v.cvss4_vector {
        if let Ok(c) = Cvss4::parse(vector) {
            let score = c.base_score();
            out.push(
                json!({"format": "CVSS", "scenarios": [{"lang": "en", "value": "GENERAL"}],
                "cvssV4_0": {"version": "4.0", "vectorString": vector, "baseScore": score,
                    "baseSeverity": severity_of(score).to_ascii_uppercase()}}),
            );
        }
    }
    out
}

pub fn cna_container(r: &CveRecord<'_>, products: &[ProductVersion], v: &Vulnerability) -> Value {
    let mut descriptions = vec![json!({"lang": "en", "value": r.description_en})];
    if !r.description_ja.trim().is_empty() {
        descriptions.push(json!({"lang": "ja", "value": r.description_ja}));
    }
    let mut refs: Vec<&String> = r.references.iter().collect();
    refs.dedup();
    let mut cna = json!({
        "providerMetadata": {"orgId": r.org_id},
        "title": r.title,
        "descriptions": descriptions,
        "affected": affected(products, v),
        "references": refs.into_iter().map(|u| json!({"url": u})).collect::<Vec<_>>(),
    });
    if !r.short_name.is_empty() {
        cna["providerMetadata"]["shortName"] = json!(r.short_name);
    }
    if let Some((id, name)) = &v.cwe {
        cna["problemTypes"] = json!([{"descriptions": [{"lang": "en", "type": "CWE", "cweId": id, "description": format!("{id} {name}")}]}]);
    }
    let m = metrics(v);
    if !m.is_empty() {
        cna["metrics"] = json!(m);
    }
    if !v.acknowledgments.is_empty() {
        cna["credits"] = v
            .acknowledgments
            .iter()
            .map(|name| json!({"lang": "en", "value": name, "type": "finder"}))
            .collect();
    }
    cna
}
