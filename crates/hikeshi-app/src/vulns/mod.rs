//! Vulnerability imports and intelligence: scanner reports (Vuls JSON v4, Trivy JSON, a CSV of
//! asset and CVE) become assets and findings; CISA KEV and EPSS weigh them; `risk` explains a
//! priority. Parsing is complete before anything is written, so a bad file changes nothing.

pub mod actions;
pub mod asset_csv;
pub mod assets;
pub mod csv_import;
pub mod delivery;
pub mod feeds;
pub mod intel;
pub mod matching;
pub mod patch;
pub mod risk;
pub mod triage;
pub mod trivy;
pub mod vuls;

use hikeshi_model::cvss::Cvss3;
use hikeshi_store::ScanImport;
use std::fmt;

/// Reports larger than this are refused before reading: no real host report comes close.
pub const MAX_REPORT_BYTES: u64 = 200 * 1024 * 1024;

/// Why a file was not imported: the file, the field (a JSON path or CSV line) and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    pub file: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

pub(crate) fn import_error(file: &str, field: &str, message: impl Into<String>) -> ImportError {
    ImportError {
        file: file.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// Which format a report is in, from its content.
pub fn sniff(bytes: &[u8]) -> &'static str {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    if head.contains("\"jsonVersion\"") || head.contains("\"scannedCves\"") {
        "vuls"
    } else if head.contains("\"SchemaVersion\"") || head.contains("\"ArtifactName\"") {
        "trivy"
    } else {
        "csv"
    }
}

/// Parses a report of any supported format into one import per host.
pub fn parse_report(file: &str, bytes: &[u8]) -> Result<Vec<ScanImport>, ImportError> {
    match sniff(bytes) {
        "vuls" => vuls::parse(file, bytes).map(|s| vec![s]),
        "trivy" => trivy::parse(file, bytes).map(|s| vec![s]),
        _ => csv_import::parse(file, bytes),
    }
}

/// Checks a CVSS v3 vector (a bare `AV:N/...` is read as 3.1); an empty one is allowed.
/// Returns the vector with its prefix and the score computed from it.
pub(crate) fn checked_v3(
    file: &str,
    field: &str,
    vector: &str,
) -> Result<(String, f64), ImportError> {
    let vector = vector.trim();
    if vector.is_empty() {
        return Ok((String::new(), 0.0));
    }
    let full = if vector.starts_with("CVSS:") {
        vector.to_string()
    } else {
        format!("CVSS:3.1/{vector}")
    };
    let parsed = Cvss3::parse(&full).map_err(|e| import_error(file, field, e.to_string()))?;
    Ok((full, parsed.base_score()))
}

/// Checks a CVSS v4.0 vector; an empty one is allowed. Returns the score computed from it.
pub(crate) fn checked_v4(
    file: &str,
    field: &str,
    vector: &str,
) -> Result<(String, f64), ImportError> {
    let vector = vector.trim();
    if vector.is_empty() {
        return Ok((String::new(), 0.0));
    }
    let parsed = hikeshi_model::cvss4::Cvss4::parse(vector)
        .map_err(|e| import_error(file, field, e.to_string()))?;
    Ok((vector.to_string(), parsed.base_score()))
}

/// A CVE identifier in canonical form, or the reason it is not one.
pub(crate) fn cve_id(file: &str, field: &str, text: &str) -> Result<String, ImportError> {
    let t = text.trim().to_ascii_uppercase();
    let ok = t.strip_prefix("CVE-").is_some_and(|rest| {
        rest.split_once('-').is_some_and(|(year, num)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && num.len() >= 4
                && num.len() <= 12
                && num.bytes().all(|b| b.is_ascii_digit())
        })
    });
    if ok {
        Ok(t)
    } else {
        Err(import_error(
            file,
            field,
            format!(
                "`{}` is not a CVE ID",
                text.chars().take(60).collect::<String>()
            ),
        ))
    }
}

/// Why an import did not happen: the file was wrong, or the database refused.
#[derive(Debug)]
pub enum ImportFailure {
    Invalid(ImportError),
    Store(hikeshi_store::StoreError),
}

impl fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportFailure::Invalid(e) => e.fmt(f),
            ImportFailure::Store(e) => e.fmt(f),
        }
    }
}

/// Parses a whole report, then writes each host in its own transaction. `format` forces a
/// parser (`vuls`, `trivy`, `csv`); `None` recognises it from the content.
pub async fn import_report(
    store: &hikeshi_store::Store,
    file: &str,
    bytes: &[u8],
    format: Option<&str>,
    actor: &hikeshi_store::Actor,
) -> Result<Vec<hikeshi_store::ImportOutcome>, ImportFailure> {
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(ImportFailure::Invalid(import_error(
            file,
            "",
            format!(
                "{} bytes is over the {MAX_REPORT_BYTES}-byte limit for one report",
                bytes.len()
            ),
        )));
    }
    let scans = match format {
        Some("vuls") => vuls::parse(file, bytes).map(|s| vec![s]),
        Some("trivy") => trivy::parse(file, bytes).map(|s| vec![s]),
        Some("csv") => csv_import::parse(file, bytes),
        Some(other) => Err(import_error(
            file,
            "",
            format!("unknown format `{other}` (vuls, trivy, csv)"),
        )),
        None => parse_report(file, bytes),
    }
    .map_err(ImportFailure::Invalid)?;
    let mut out = Vec::new();
    for scan in &scans {
        out.push(
            store
                .import_scan(scan, actor)
                .await
                .map_err(ImportFailure::Store)?,
        );
    }
    Ok(out)
}
