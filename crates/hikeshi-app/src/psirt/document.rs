//! From the stored rows to a CSAF document: the publisher from the team profile, the folder
//! and canonical URL from the initial release, the revision history from earlier revisions.

use super::PUBLIC_TLP;
use crate::error::{AppError, AppResult};
use crate::App;
use chrono::{DateTime, Datelike, Utc};
use hikeshi_exchange::csaf::{self, DocStatus};
use hikeshi_model::{AdvisoryProfile, ProductStatus, RemediationKind, VexJustification};
use hikeshi_store::{Advisory, AdvisoryRevision, ProductVuln, VersionState};
use sha2::{Digest, Sha256, Sha512};

/// What one rendering is about: the revision's number, status, summary and release time.
pub struct Rendering<'a> {
    pub number: String,
    pub status: DocStatus,
    pub summary: &'a str,
    pub release_at: i64,
}

pub struct Rendered {
    pub model: csaf::Advisory,
    pub document: String,
    pub year: i64,
}

pub fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The revision numbers: 1.0.0 for the first, then 1.1.0, 1.2.0, …
pub fn number_of(seq: i64) -> String {
    format!("1.{}.0", seq - 1)
}

/// A revision frozen for approval: its document, checked, with its hashes.
pub struct Frozen {
    pub document: String,
    pub year: i64,
    pub sha256: String,
    pub sha512: String,
    /// Detached OpenPGP signature and the key's fingerprint; empty without a key.
    pub signature: String,
    pub signing_key: String,
}

/// Renders the revision and refuses it when it may not be published (the VEX rules).
pub async fn freeze(
    app: &App,
    advisory: &Advisory,
    earlier: &[AdvisoryRevision],
    this: Rendering<'_>,
) -> AppResult<Frozen> {
    let rendered = render(app, advisory, earlier, this).await?;
    csaf::check(&rendered.model).map_err(refusal)?;
    let bytes = rendered.document.as_bytes();
    let (signature, signing_key) = match &app.signer {
        Some(signer) => (
            signer.sign(&rendered.document).await?,
            signer.fingerprint.clone(),
        ),
        None => (String::new(), String::new()),
    };
    Ok(Frozen {
        sha256: hex::encode(Sha256::digest(bytes)),
        sha512: hex::encode(Sha512::digest(bytes)),
        document: rendered.document,
        year: rendered.year,
        signature,
        signing_key,
    })
}

async fn subject(app: &App, advisory: &Advisory) -> AppResult<(ProductVuln, Vec<VersionState>)> {
    let vuln = app
        .store
        .product_vuln(&advisory.vuln_id)
        .await?
        .ok_or_else(|| AppError::not_found("product vulnerability"))?;
    let states = app.store.version_states(&vuln.id).await?;
    Ok((vuln, states))
}

pub async fn render(
    app: &App,
    advisory: &Advisory,
    earlier: &[AdvisoryRevision],
    this: Rendering<'_>,
) -> AppResult<Rendered> {
    let (vuln, states) = subject(app, advisory).await?;
    let (vuln, states) = (&vuln, &states[..]);
    let profile = AdvisoryProfile::parse(&advisory.profile)?;
    let initial = earlier.first().map_or(this.release_at, |r| r.release_at);
    let year = i64::from(utc(initial).year());
    let public_url = app.config.public_url.trim_end_matches('/');
    let canonical_url = format!(
        "{public_url}/.well-known/csaf/{}/{year}/{}",
        PUBLIC_TLP.to_ascii_lowercase(),
        advisory.file_name
    );
    let team = crate::team::load(app).await;
    let name = super::publisher_name(app).await;
    let mut revisions: Vec<csaf::Revision> = earlier
        .iter()
        .map(|r| csaf::Revision {
            number: r.number.clone(),
            date: utc(r.release_at),
            summary: r.summary.clone(),
        })
        .collect();
    revisions.push(csaf::Revision {
        number: this.number.clone(),
        date: utc(this.release_at),
        summary: this.summary.to_string(),
    });
    let version = if this.status == DocStatus::Draft {
        format!("{}-draft", this.number)
    } else {
        this.number.clone()
    };
    let (products, vulnerability) = parts(vuln, states)?;
    let model = csaf::Advisory {
        profile,
        tracking_id: advisory.tracking_id.clone(),
        title: advisory.title.clone(),
        lang: "en".into(),
        tlp_label: advisory.tlp.clone(),
        publisher: csaf::Publisher {
            name,
            namespace: public_url.to_string(),
            contact_details: team.get("contact_email").trim().to_string(),
        },
        canonical_url,
        summary: advisory.summary.clone(),
        references: Vec::new(),
        tracking: csaf::Tracking {
            status: this.status,
            version,
            initial_release_date: utc(initial),
            current_release_date: utc(this.release_at),
            revisions,
            generator_version: env!("CARGO_PKG_VERSION").into(),
            generated_at: utc(app.calendar.now_ms()),
        },
        products,
        vulnerabilities: vec![vulnerability],
    };
    let document =
        serde_json::to_string_pretty(&csaf::render(&model)).map_err(AppError::internal)?;
    Ok(Rendered {
        model,
        document,
        year,
    })
}

/// The neutral product versions and vulnerability every format (CSAF, OpenVEX, CycloneDX, CVE)
/// is written from.
pub fn parts(
    vuln: &ProductVuln,
    states: &[VersionState],
) -> AppResult<(Vec<csaf::ProductVersion>, csaf::Vulnerability)> {
    let mut products = Vec::new();
    let mut entries = Vec::new();
    for s in states {
        products.push(csaf::ProductVersion {
            product_id: format!("HIKESHI-{}", s.version_id),
            vendor: s.vendor.clone(),
            product: s.product.clone(),
            version: s.version.clone(),
            purl: s.purl.clone(),
            cpe: s.cpe.clone(),
        });
        entries.push(csaf::ProductEntry {
            product_id: format!("HIKESHI-{}", s.version_id),
            status: ProductStatus::parse(&s.status)?,
            justification: match s.justification.as_str() {
                "" => None,
                j => Some(VexJustification::parse(j)?),
            },
            impact: s.impact.clone(),
            remediation: match s.remediation.as_str() {
                "" => None,
                r => Some(csaf::Remediation {
                    kind: RemediationKind::parse(r)?,
                    details: s.remediation_details.clone(),
                    url: s.remediation_url.clone(),
                }),
            },
        });
    }
    let mut ids = Vec::new();
    if !vuln.coordinator_ref.is_empty() {
        let system = if vuln.coordinator == "jpcert" {
            "JVN"
        } else {
            "Coordinator"
        };
        ids.push((system.to_string(), vuln.coordinator_ref.clone()));
    }
    let vulnerability = csaf::Vulnerability {
        cve: (!vuln.cve.is_empty()).then(|| vuln.cve.clone()),
        ids,
        title: vuln.title.clone(),
        description: vuln.description.clone(),
        cwe: (!vuln.cwe_id.is_empty()).then(|| (vuln.cwe_id.clone(), vuln.cwe_name.clone())),
        cvss3_vector: (!vuln.cvss3_vector.is_empty()).then(|| vuln.cvss3_vector.clone()),
        cvss4_vector: (!vuln.cvss4_vector.is_empty()).then(|| vuln.cvss4_vector.clone()),
        acknowledgments: if vuln.credit.is_empty() {
            Vec::new()
        } else {
            vec![vuln.credit.clone()]
        },
        entries,
    };
    Ok((products, vulnerability))
}

/// The refusal of an advisory that may not be published, as the API's error.
fn refusal(r: csaf::Refusal) -> AppError {
    AppError::invalid(r.field, r.to_string())
}
