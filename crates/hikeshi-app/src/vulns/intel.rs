//! Vulnerability intelligence from files: the CISA Known Exploited Vulnerabilities catalogue
//! (JSON) and FIRST EPSS scores (CSV, `cve,epss,percentile` after an optional `#` comment line).

use super::{cve_id, import_error, ImportError};
use hikeshi_store::KevEntry;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalogue {
    vulnerabilities: Vec<KevItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevItem {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    date_added: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

pub fn parse_kev(file: &str, bytes: &[u8]) -> Result<Vec<KevEntry>, ImportError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let cat: Catalogue = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| import_error(file, &e.path().to_string(), e.inner().to_string()))?;
    cat.vulnerabilities
        .into_iter()
        .enumerate()
        .map(|(n, v)| {
            Ok(KevEntry {
                cve_id: cve_id(file, &format!("vulnerabilities[{n}].cveID"), &v.cve_id)?,
                date_added: v.date_added.chars().take(20).collect(),
                ransomware: v.known_ransomware_campaign_use.chars().take(20).collect(),
            })
        })
        .collect()
}

pub fn parse_epss(file: &str, bytes: &[u8]) -> Result<Vec<(String, f64, f64)>, ImportError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| import_error(file, "", format!("not UTF-8 text: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.to_ascii_lowercase().starts_with("cve,")
        {
            continue;
        }
        let at = format!("line {}", n + 1);
        let mut parts = line.split(',');
        let (Some(cve), Some(epss), Some(pct)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(import_error(file, &at, "expected cve,epss,percentile"));
        };
        let number = |name: &str, v: &str| -> Result<f64, ImportError> {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| {
                    import_error(
                        file,
                        &format!("{at}, {name}"),
                        format!("`{v}` is not a number from 0 to 1"),
                    )
                })
        };
        out.push((
            cve_id(file, &format!("{at}, cve"), cve)?,
            number("epss", epss)?,
            number("percentile", pct)?,
        ));
    }
    Ok(out)
}
