//! SBOMs per product version, "which of our versions ship this library", and the first
//! assessment of a product vulnerability from one finding (a package and the version that
//! fixes it): every catalogue version gets a proposed state the analyst can apply or correct.

use super::vulns::{self, ProductVulnView, VersionStateInput};
use crate::error::{AppError, AppResult};
use crate::{App, Who};
use hikeshi_exchange::sbom::{self, compare_versions};
use hikeshi_model::{ProductStatus, RemediationKind, VexJustification};
use hikeshi_store::{NewComponent, ProductSbom, ShippedComponent};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// The largest SBOM accepted (a firmware image's SBOM with every package is a few MiB).
pub const MAX_SBOM_BYTES: usize = 32 << 20;

/// Who may import SBOMs; the web crate asks before it reads a large body.
pub fn may_import(who: &Who) -> AppResult<()> {
    who.require_edit("import SBOMs")
}

pub async fn import(
    app: &App,
    who: &Who,
    product_id: &str,
    version_id: &str,
    body: &[u8],
) -> AppResult<ProductSbom> {
    may_import(who)?;
    let belongs = app
        .store
        .product_versions()
        .await?
        .into_iter()
        .any(|v| v.id == version_id && v.product_id == product_id);
    if !belongs {
        return Err(AppError::not_found("product version"));
    }
    let parsed = sbom::parse(body).map_err(|e| AppError::invalid("sbom", format!("SBOM: {e}")))?;
    let components: Vec<NewComponent> = parsed
        .components
        .iter()
        .map(|c| NewComponent {
            name: c.name.clone(),
            version: c.version.clone(),
            purl: c.purl.clone(),
            purl_base: c.purl_base(),
            cpe: c.cpe.clone(),
        })
        .collect();
    let row = ProductSbom {
        version_id: version_id.to_string(),
        format: parsed.format.to_string(),
        spec_version: parsed.spec_version,
        sha256: hex::encode(Sha256::digest(body)),
        components: components.len() as i64,
        imported_by: who.name.clone(),
        imported_at: app.calendar.now_ms(),
    };
    app.store
        .replace_sbom(&row, &components, &who.actor())
        .await?;
    Ok(row)
}

/// A package: by purl (its version, qualifiers and subpath are ignored) or by name.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Package {
    #[serde(default)]
    pub purl: String,
    #[serde(default)]
    pub name: String,
}

/// Every product version whose SBOM lists the package, with the component's version.
pub async fn where_used(app: &App, _who: &Who, q: &Package) -> AppResult<Vec<ShippedComponent>> {
    let purl = q.purl.trim();
    let name = q.name.trim();
    match (purl.is_empty(), name.is_empty()) {
        (false, _) if !purl.starts_with("pkg:") => Err(AppError::invalid(
            "purl",
            "purl: a package URL starts with `pkg:`",
        )),
        (false, _) => Ok(app.store.components_by_purl(&sbom::purl_base(purl)).await?),
        (true, false) => Ok(app.store.components_by_name(name).await?),
        (true, true) => Err(AppError::invalid(
            "purl",
            "purl or name: say which package to look for",
        )),
    }
}

/// One finding against a package: versions from `introduced` (when known) up to, not
/// including, `fixed_version` are vulnerable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The package, by purl or by name (as [`Package`]).
    #[serde(default)]
    pub purl: String,
    #[serde(default)]
    pub name: String,
    pub fixed_version: String,
    #[serde(default)]
    pub introduced: String,
    /// Only these products (default: the whole catalogue).
    #[serde(default)]
    pub product_ids: Vec<String>,
    /// Save the proposal as the vulnerability's version states (replacing them).
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, Serialize)]
pub struct ProposedState {
    #[serde(flatten)]
    pub state: VersionStateInput,
    pub product: String,
    pub version: String,
    /// The package's version in this product version's SBOM; empty when it ships none.
    pub component_version: String,
    pub reason: Reason,
}

/// Why a version got its proposed state, for the analyst. Among several copies of the package
/// in one version the greatest counts (one vulnerable copy makes the version vulnerable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoSbom,
    NotShipped,
    BeforeIntroduced,
    Fixed,
    VersionUnknown,
    Vulnerable,
}

#[derive(Debug, Serialize)]
pub struct Assessment {
    pub versions: Vec<ProposedState>,
    /// The saved vulnerability, when `apply` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<ProductVulnView>,
}

pub async fn assess(app: &App, who: &Who, vuln_id: &str, f: Finding) -> AppResult<Assessment> {
    who.require_edit("assess product vulnerabilities")?;
    if app.store.product_vuln(vuln_id).await?.is_none() {
        return Err(AppError::not_found("product vulnerability"));
    }
    let fixed = f.fixed_version.trim().to_string();
    if fixed.is_empty() {
        return Err(AppError::invalid(
            "fixed_version",
            "fixed_version: the package version that fixes it is needed",
        ));
    }
    let package = Package {
        purl: f.purl.clone(),
        name: f.name.clone(),
    };
    let shipped = where_used(app, who, &package).await?;
    let mut shipped_in: HashMap<&str, Vec<&ShippedComponent>> = HashMap::new();
    for c in &shipped {
        shipped_in.entry(c.version_id.as_str()).or_default().push(c);
    }
    let with_sbom: HashSet<String> = app
        .store
        .product_sboms()
        .await?
        .into_iter()
        .map(|s| s.version_id)
        .collect();
    let products: HashMap<String, String> = app
        .store
        .products()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let versions: Vec<_> = app
        .store
        .product_versions()
        .await?
        .into_iter()
        .filter(|v| f.product_ids.is_empty() || f.product_ids.contains(&v.product_id))
        .collect();
    // First each version's own verdict, then the fix each affected one is pointed to.
    let mut verdicts: Vec<(usize, Reason, String)> = Vec::with_capacity(versions.len());
    for (i, v) in versions.iter().enumerate() {
        let (reason, component_version) = match shipped_in.get(v.id.as_str()) {
            _ if !with_sbom.contains(&v.id) => (Reason::NoSbom, String::new()),
            None => (Reason::NotShipped, String::new()),
            Some(cs) => verdict(cs, &fixed, f.introduced.trim()),
        };
        verdicts.push((i, reason, component_version));
    }
    let mut out = Vec::with_capacity(versions.len());
    for (i, reason, component_version) in &verdicts {
        let v = &versions[*i];
        let product = products.get(&v.product_id).cloned().unwrap_or_default();
        let first_fixed = || {
            verdicts
                .iter()
                .filter(|(j, r, _)| {
                    *r == Reason::Fixed
                        && versions[*j].product_id == v.product_id
                        && compare_versions(&versions[*j].version, &v.version) == Ordering::Greater
                })
                .map(|(j, _, _)| &versions[*j])
                .min_by(|a, b| compare_versions(&a.version, &b.version))
        };
        let mut state = VersionStateInput {
            version_id: v.id.clone(),
            status: ProductStatus::UnderInvestigation,
            justification: None,
            impact: String::new(),
            remediation: None,
            remediation_details: String::new(),
            remediation_url: String::new(),
        };
        match *reason {
            Reason::NotShipped => {
                state.status = ProductStatus::KnownNotAffected;
                state.justification = Some(VexJustification::ComponentNotPresent);
            }
            Reason::BeforeIntroduced => {
                state.status = ProductStatus::KnownNotAffected;
                state.justification = Some(VexJustification::VulnerableCodeNotPresent);
            }
            Reason::Fixed => state.status = ProductStatus::Fixed,
            Reason::Vulnerable => {
                state.status = ProductStatus::KnownAffected;
                match first_fixed() {
                    Some(fix) => {
                        state.remediation = Some(RemediationKind::VendorFix);
                        state.remediation_details = format!("Update to {product} {}.", fix.version);
                    }
                    None => {
                        state.remediation = Some(RemediationKind::NoneAvailable);
                        state.remediation_details = "No fixed version is available yet.".into();
                    }
                }
            }
            Reason::NoSbom | Reason::VersionUnknown => {}
        }
        out.push(ProposedState {
            state,
            product,
            version: v.version.clone(),
            component_version: component_version.clone(),
            reason: *reason,
        });
    }
    let saved = if f.apply {
        let input = out.iter().map(|p| p.state.clone()).collect();
        Some(vulns::save_states(app, who, vuln_id, input).await?)
    } else {
        None
    };
    Ok(Assessment {
        versions: out,
        saved,
    })
}

/// The verdict for one product version from the copies of the package it ships, with the
/// version of the copy that decided it.
fn verdict(copies: &[&ShippedComponent], fixed: &str, introduced: &str) -> (Reason, String) {
    copies
        .iter()
        .map(|c| {
            let v = c.version.trim();
            let reason = if v.is_empty() {
                Reason::VersionUnknown
            } else if compare_versions(v, fixed) != Ordering::Less {
                Reason::Fixed
            } else if !introduced.is_empty() && compare_versions(v, introduced) == Ordering::Less {
                Reason::BeforeIntroduced
            } else {
                Reason::Vulnerable
            };
            (reason, v.to_string())
        })
        .max_by_key(|(reason, _)| *reason)
        .unwrap_or((Reason::NotShipped, String::new()))
}
