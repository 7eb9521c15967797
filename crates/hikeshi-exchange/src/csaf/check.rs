//! Whether an advisory may be published: the VEX rules (every version not affected says why,
//! every affected one has a remediation) and what each profile needs, so that a published
//! document passes the standard's mandatory and optional tests. A refusal names the product.

use super::{Advisory, ProductVersion};
use hikeshi_model::{AdvisoryProfile, ProductStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The input field at fault (`products`, `cvss3_vector`, `references`, …).
    pub field: &'static str,
    /// The product version it is about, by its full name, when it is about one.
    pub product: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.product {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn refuse(field: &'static str, product: Option<&ProductVersion>, message: &str) -> Refusal {
    Refusal {
        field,
        product: product.map(ProductVersion::full_name),
        message: message.to_string(),
    }
}

pub fn check(a: &Advisory) -> Result<(), Refusal> {
    if a.tracking_id.trim().is_empty() || a.tracking_id.trim() != a.tracking_id {
        return Err(refuse(
            "tracking_id",
            None,
            "the tracking ID is empty or starts or ends with a space",
        ));
    }
    if a.title.trim().is_empty() {
        return Err(refuse("title", None, "the advisory has no title"));
    }
    if a.profile == AdvisoryProfile::Informational {
        if !a.vulnerabilities.is_empty() {
            return Err(refuse(
                "profile",
                None,
                "an informational advisory carries no vulnerabilities",
            ));
        }
        if a.references.is_empty() {
            return Err(refuse(
                "references",
                None,
                "an informational advisory needs at least one reference",
            ));
        }
        return Ok(());
    }
    if a.vulnerabilities.is_empty() {
        return Err(refuse(
            "vulnerabilities",
            None,
            "the advisory names no vulnerability",
        ));
    }
    for v in &a.vulnerabilities {
        if a.profile == AdvisoryProfile::Vex && v.cve.is_none() && v.ids.is_empty() {
            return Err(refuse(
                "cve",
                None,
                "a VEX document needs a CVE or another tracking ID for each vulnerability",
            ));
        }
        if v.entries.is_empty() {
            return Err(refuse(
                "products",
                None,
                "no product version has a status for this vulnerability",
            ));
        }
        for e in &v.entries {
            let product = a.products.iter().find(|p| p.product_id == e.product_id);
            let Some(p) = product else {
                return Err(refuse(
                    "products",
                    None,
                    &format!("unknown product ID `{}`", e.product_id),
                ));
            };
            match e.status {
                ProductStatus::KnownNotAffected
                    if e.justification.is_none() && e.impact.trim().is_empty() =>
                {
                    return Err(refuse(
                        "justification",
                        Some(p),
                        "not affected, but neither a justification nor an impact statement says why",
                    ));
                }
                ProductStatus::KnownAffected => {
                    let Some(r) = &e.remediation else {
                        return Err(refuse(
                            "remediation",
                            Some(p),
                            "affected, but no remediation (fix, workaround, mitigation or no fix planned) is given",
                        ));
                    };
                    if r.details.trim().is_empty() {
                        return Err(refuse(
                            "remediation_details",
                            Some(p),
                            "the remediation has no details",
                        ));
                    }
                    if v.cvss3_vector.is_none() {
                        return Err(refuse(
                            "cvss3_vector",
                            Some(p),
                            "affected, but the vulnerability has no CVSS 3.1 score",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::check;
    use chrono::DateTime;
    use hikeshi_model::{AdvisoryProfile, ProductStatus, RemediationKind, VexJustification};

    fn advisory(entries: Vec<ProductEntry>) -> Advisory {
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let product = |id: &str, v: &str| ProductVersion {
            product_id: id.into(),
            vendor: "Example".into(),
            product: "Router".into(),
            version: v.into(),
            purl: String::new(),
            cpe: String::new(),
        };
        Advisory {
            profile: AdvisoryProfile::Vex,
            tracking_id: "EX-1".into(),
            title: "t".into(),
            lang: "en".into(),
            tlp_label: "WHITE".into(),
            publisher: Publisher {
                name: "p".into(),
                namespace: "https://example.jp".into(),
                contact_details: String::new(),
            },
            canonical_url: "https://example.jp/ex-1.json".into(),
            summary: String::new(),
            references: Vec::new(),
            tracking: Tracking {
                status: DocStatus::Final,
                version: "1.0.0".into(),
                initial_release_date: at,
                current_release_date: at,
                revisions: Vec::new(),
                generator_version: "0".into(),
                generated_at: at,
            },
            products: vec![product("A", "1.0"), product("B", "2.0")],
            vulnerabilities: vec![Vulnerability {
                cve: Some("CVE-2026-1".into()),
                ids: Vec::new(),
                title: "v".into(),
                description: "d".into(),
                cwe: None,
                cvss3_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
                cvss4_vector: None,
                acknowledgments: Vec::new(),
                entries,
            }],
        }
    }

    fn entry(id: &str, status: ProductStatus) -> ProductEntry {
        ProductEntry {
            product_id: id.into(),
            status,
            justification: None,
            impact: String::new(),
            remediation: None,
        }
    }

    #[test]
    fn the_vex_rules_name_the_product_version() {
        let e = check(&advisory(vec![entry("A", ProductStatus::KnownNotAffected)]));
        assert_eq!(
            e.map_err(|r| r.product),
            Err(Some("Example Router 1.0".into()))
        );
        let e = check(&advisory(vec![entry("B", ProductStatus::KnownAffected)]));
        assert_eq!(e.map_err(|r| r.field), Err("remediation"));
        let mut ok_a = entry("A", ProductStatus::KnownNotAffected);
        ok_a.justification = Some(VexJustification::ComponentNotPresent);
        let mut ok_b = entry("B", ProductStatus::KnownAffected);
        ok_b.remediation = Some(Remediation {
            kind: RemediationKind::VendorFix,
            details: "Update to 2.1".into(),
            url: String::new(),
        });
        assert_eq!(check(&advisory(vec![ok_a, ok_b])), Ok(()));
    }

    #[test]
    fn an_impact_statement_is_reason_enough() {
        let mut a = entry("A", ProductStatus::KnownNotAffected);
        a.impact = "The web server is not shipped on this model.".into();
        assert_eq!(check(&advisory(vec![a])), Ok(()));
    }
}
