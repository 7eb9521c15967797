//! CSAF 2.0 (OASIS, 2022): the advisory a PSIRT publishes, in its three profiles (security
//! advisory, VEX, informational), built from what the caller holds about one product
//! vulnerability. [`check`] says whether it may be published (and names the product that
//! stops it); [`render`] gives the document with its keys sorted (the standard's optional test
//! 6.2.13); [`file_name`] is the standard's rule for the file's name.
//!
//! Pure: the caller passes every date. CVSS 4.0 has no place in CSAF 2.0's `scores`, so its
//! vector travels in a note of the vulnerability.

mod check;
mod file_name;
mod render;

pub use check::{check, Refusal};
pub use file_name::file_name;
pub use render::render;

use chrono::{DateTime, Utc};
use hikeshi_model::{AdvisoryProfile, ProductStatus, RemediationKind, VexJustification};

/// `tracking.status`: a draft is what reviewers see; interim and final are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocStatus {
    Draft,
    Interim,
    Final,
}

impl DocStatus {
    pub fn code(self) -> &'static str {
        match self {
            DocStatus::Draft => "draft",
            DocStatus::Interim => "interim",
            DocStatus::Final => "final",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Advisory {
    pub profile: AdvisoryProfile,
    pub tracking_id: String,
    pub title: String,
    /// The document's language (BCP 47), e.g. `en` or `ja`.
    pub lang: String,
    /// CSAF 2.0's TLP label: `WHITE` (TLP:CLEAR), `GREEN`, `AMBER` or `RED`.
    pub tlp_label: String,
    pub publisher: Publisher,
    /// Where the document is published: the `self` reference, ending in [`file_name`].
    pub canonical_url: String,
    pub summary: String,
    pub references: Vec<Reference>,
    pub tracking: Tracking,
    pub products: Vec<ProductVersion>,
    pub vulnerabilities: Vec<Vulnerability>,
}

#[derive(Debug, Clone)]
pub struct Publisher {
    pub name: String,
    /// The publisher's URL (`publisher.namespace`).
    pub namespace: String,
    pub contact_details: String,
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub url: String,
    pub summary: String,
}

#[derive(Debug, Clone)]
pub struct Tracking {
    pub status: DocStatus,
    /// `1.2.0`; a draft carries a pre-release part (`1.2.0-draft`).
    pub version: String,
    pub initial_release_date: DateTime<Utc>,
    pub current_release_date: DateTime<Utc>,
    /// Oldest first; the last is the version being rendered (without a pre-release part).
    pub revisions: Vec<Revision>,
    pub generator_version: String,
    pub generated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub number: String,
    pub date: DateTime<Utc>,
    pub summary: String,
}

/// One version of one product: a leaf of the product tree.
#[derive(Debug, Clone)]
pub struct ProductVersion {
    /// Unique in the document (`product_id`).
    pub product_id: String,
    pub vendor: String,
    pub product: String,
    pub version: String,
    pub purl: String,
    pub cpe: String,
}

impl ProductVersion {
    pub fn full_name(&self) -> String {
        format!("{} {} {}", self.vendor, self.product, self.version)
    }
}

#[derive(Debug, Clone)]
pub struct Vulnerability {
    pub cve: Option<String>,
    /// Other tracking IDs, e.g. (`JVN`, `JVN#12345678`).
    pub ids: Vec<(String, String)>,
    pub title: String,
    pub description: String,
    /// (`CWE-79`, the CWE entry's name).
    pub cwe: Option<(String, String)>,
    pub cvss3_vector: Option<String>,
    pub cvss4_vector: Option<String>,
    /// The finders, as they asked to be named.
    pub acknowledgments: Vec<String>,
    pub entries: Vec<ProductEntry>,
}

/// What is known of one product version for this vulnerability.
#[derive(Debug, Clone)]
pub struct ProductEntry {
    pub product_id: String,
    pub status: ProductStatus,
    pub justification: Option<VexJustification>,
    /// Why it is not affected, in words (a CSAF `threats` entry of category `impact`).
    pub impact: String,
    pub remediation: Option<Remediation>,
}

#[derive(Debug, Clone)]
pub struct Remediation {
    pub kind: RemediationKind,
    pub details: String,
    pub url: String,
}

/// CSAF's date form: UTC with milliseconds, e.g. `2026-12-04T09:00:00.000Z`.
pub fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
