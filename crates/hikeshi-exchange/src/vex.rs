//! The same per-version statements as a CSAF VEX document, in the two other VEX forms users'
//! scanners read: OpenVEX 0.2.0 and CycloneDX 1.6 VEX. Both come from the neutral
//! [`csaf::ProductVersion`] / [`csaf::Vulnerability`] the CSAF document is built from, so the
//! three cannot disagree. Pure: the caller passes the time and the document's ID.

use crate::csaf::{date, ProductEntry, ProductVersion, Vulnerability};
use chrono::{DateTime, Utc};
use hikeshi_model::cvss::{severity_of, Cvss3};
use hikeshi_model::cvss4::Cvss4;
use hikeshi_model::{ProductStatus, RemediationKind, VexJustification};
use serde_json::{json, Value};

/// A version's identifier for other tools: its purl, else its CPE, else a hikeshi URN.
fn identifier(p: &ProductVersion) -> String {
    if !p.purl.is_empty() {
        p.purl.clone()
    } else if !p.cpe.is_empty() {
        p.cpe.clone()
    } else {
        format!("urn:hikeshi:product:{}", p.product_id)
    }
}

fn product_of<'a>(products: &'a [ProductVersion], e: &ProductEntry) -> Option<&'a ProductVersion> {
    products.iter().find(|p| p.product_id == e.product_id)
}

fn vuln_name(v: &Vulnerability) -> String {
    v.cve
        .clone()
        .or_else(|| v.ids.first().map(|(_, text)| text.clone()))
        .unwrap_or_else(|| v.title.clone())
}

/// OpenVEX 0.2.0: one statement per product version.
pub fn openvex(
    id: &str,
    author: &str,
    at: DateTime<Utc>,
    products: &[ProductVersion],
    v: &Vulnerability,
) -> Value {
    let statements: Vec<Value> = v
        .entries
        .iter()
        .filter_map(|e| {
            let p = product_of(products, e)?;
            let mut s = json!({
                "vulnerability": {"name": vuln_name(v)},
                "products": [{"@id": identifier(p)}],
                "status": match e.status {
                    ProductStatus::KnownAffected => "affected",
                    ProductStatus::Fixed => "fixed",
                    ProductStatus::KnownNotAffected => "not_affected",
                    ProductStatus::UnderInvestigation => "under_investigation",
                },
            });
            if let Some(j) = e.justification {
                s["justification"] = json!(j.code());
            }
            if !e.impact.trim().is_empty() {
                s["impact_statement"] = json!(e.impact.trim());
            }
            if let Some(r) = &e.remediation {
                if e.status == ProductStatus::KnownAffected {
                    s["action_statement"] = json!(r.details.trim());
                }
            }
            Some(s)
        })
        .collect();
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": id,
        "author": author,
        "timestamp": date(at),
        "version": 1,
        "statements": statements,
    })
}

/// CycloneDX's justification for a CSAF/OpenVEX one (CISA's VEX status mapping).
fn cdx_justification(j: VexJustification) -> &'static str {
    match j {
        VexJustification::ComponentNotPresent | VexJustification::VulnerableCodeNotPresent => {
            "code_not_present"
        }
        VexJustification::VulnerableCodeNotInExecutePath => "code_not_reachable",
        VexJustification::VulnerableCodeCannotBeControlledByAdversary => "requires_environment",
        VexJustification::InlineMitigationsAlreadyExist => "protected_by_mitigating_control",
    }
}

fn cdx_state(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::KnownAffected => "exploitable",
        ProductStatus::Fixed => "resolved",
        ProductStatus::KnownNotAffected => "not_affected",
        ProductStatus::UnderInvestigation => "in_triage",
    }
}

fn cdx_response(r: RemediationKind) -> &'static str {
    match r {
        RemediationKind::VendorFix => "update",
        RemediationKind::Workaround | RemediationKind::Mitigation => "workaround_available",
        RemediationKind::NoFixPlanned => "will_not_fix",
        RemediationKind::NoneAvailable => "can_not_fix",
    }
}

fn ratings(v: &Vulnerability) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(Ok(c)) = v.cvss3_vector.as_deref().map(Cvss3::parse) {
        let score = c.base_score();
        let vector = v.cvss3_vector.clone().unwrap_or_default();
        let method = if vector.starts_with("CVSS:3.0/") {
            "CVSSv3"
        } else {
            "CVSSv31"
        };
        out.push(json!({"method": method, "score": score, "severity": severity_of(score), "vector": vector}));
    }
    if let Some(Ok(c)) = v.cvss4_vector.as_deref().map(Cvss4::parse) {
        let score = c.base_score();
        out.push(json!({"method": "CVSSv4", "score": score, "severity": severity_of(score), "vector": v.cvss4_vector}));
    }
    out
}

/// CycloneDX 1.6 VEX: every product version a component, one vulnerability entry per version
/// (an analysis belongs to the entry, and the versions' states differ).
pub fn cyclonedx(
    serial: uuid::Uuid,
    at: DateTime<Utc>,
    products: &[ProductVersion],
    v: &Vulnerability,
) -> Value {
    let used: Vec<&ProductVersion> = products
        .iter()
        .filter(|p| v.entries.iter().any(|e| e.product_id == p.product_id))
        .collect();
    let components: Vec<Value> = used
        .iter()
        .map(|p| {
            let mut c = json!({
                "type": "application",
                "bom-ref": p.product_id,
                "supplier": {"name": p.vendor},
                "name": p.product,
                "version": p.version,
            });
            if !p.purl.is_empty() {
                c["purl"] = json!(p.purl);
            }
            if !p.cpe.is_empty() {
                c["cpe"] = json!(p.cpe);
            }
            c
        })
        .collect();
    let cwes: Vec<u64> = v
        .cwe
        .iter()
        .filter_map(|(id, _)| id.strip_prefix("CWE-")?.parse().ok())
        .collect();
    let vulnerabilities: Vec<Value> = v
        .entries
        .iter()
        .filter(|e| product_of(products, e).is_some())
        .map(|e| {
            let mut analysis = json!({"state": cdx_state(e.status)});
            if let Some(j) = e.justification {
                analysis["justification"] = json!(cdx_justification(j));
            }
            let mut detail = e.impact.trim().to_string();
            if let Some(r) = &e.remediation {
                analysis["response"] = json!([cdx_response(r.kind)]);
                if detail.is_empty() {
                    detail = r.details.trim().to_string();
                }
            }
            if !detail.is_empty() {
                analysis["detail"] = json!(detail);
            }
            let mut out = json!({
                "bom-ref": format!("{}:{}", vuln_name(v), e.product_id),
                "id": vuln_name(v),
                "description": v.description,
                "analysis": analysis,
                "affects": [{"ref": e.product_id}],
            });
            if v.cve.is_some() {
                out["source"] = json!({"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{}", vuln_name(v))});
            }
            let r = ratings(v);
            if !r.is_empty() {
                out["ratings"] = json!(r);
            }
            if !cwes.is_empty() {
                out["cwes"] = json!(cwes);
            }
            out
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {"timestamp": date(at)},
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}
