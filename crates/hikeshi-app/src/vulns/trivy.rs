//! Trivy JSON reports (`trivy ... --format json`, SchemaVersion 2): the artifact becomes an
//! asset and each vulnerability a finding.

use super::{checked_v3, checked_v4, cve_id, import_error, ImportError};
use hikeshi_store::{NewAsset, NewFinding, ScanImport};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report {
    schema_version: i64,
    artifact_name: String,
    #[serde(default)]
    artifact_type: String,
    #[serde(default)]
    results: Option<Vec<TrivyResult>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyResult {
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    #[serde(default)]
    pkg_name: String,
    #[serde(default)]
    fixed_version: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    title: String,
    #[serde(default, rename = "CVSS")]
    cvss: Option<BTreeMap<String, TrivyCvss>>,
}

#[derive(Deserialize, Default)]
struct TrivyCvss {
    #[serde(default, rename = "V2Vector")]
    v2_vector: String,
    #[serde(default, rename = "V3Vector")]
    v3_vector: String,
    #[serde(default, rename = "V2Score")]
    v2_score: f64,
    #[serde(default, rename = "V40Vector")]
    v40_vector: String,
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<ScanImport, ImportError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let report: Report = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| import_error(file, &e.path().to_string(), e.inner().to_string()))?;
    if report.schema_version != 2 {
        return Err(import_error(
            file,
            "SchemaVersion",
            format!(
                "version {} is not supported; hikeshi reads Trivy schema 2",
                report.schema_version
            ),
        ));
    }
    let name = report.artifact_name.trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(import_error(
            file,
            "ArtifactName",
            "must be 1 to 200 characters",
        ));
    }
    let kind = if report.artifact_type.contains("container")
        || report.artifact_type.contains("repository")
    {
        "application"
    } else {
        "server"
    };
    let mut findings = Vec::new();
    for (r, result) in report.results.unwrap_or_default().into_iter().enumerate() {
        for (v, vuln) in result
            .vulnerabilities
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let base = format!("Results[{r}].Vulnerabilities[{v}]");
            // Trivy also reports GHSA and distribution IDs; only CVEs are findings here.
            if !vuln
                .vulnerability_id
                .to_ascii_uppercase()
                .starts_with("CVE-")
            {
                continue;
            }
            let cve = cve_id(
                file,
                &format!("{base}.VulnerabilityID"),
                &vuln.vulnerability_id,
            )?;
            let mut best3 = (0.0, String::new());
            let mut best2 = (0.0, String::new());
            let mut best4 = (0.0, String::new());
            let mut scores = serde_json::Map::new();
            for (source, c) in vuln.cvss.unwrap_or_default() {
                let (vector, score) = checked_v3(
                    file,
                    &format!("{base}.CVSS.{source}.V3Vector"),
                    &c.v3_vector,
                )?;
                if score > best3.0 {
                    best3 = (score, vector.clone());
                }
                if c.v2_score > best2.0 {
                    best2 = (c.v2_score, c.v2_vector.clone());
                }
                let (v4, s4) = checked_v4(
                    file,
                    &format!("{base}.CVSS.{source}.V40Vector"),
                    &c.v40_vector,
                )?;
                if s4 > best4.0 {
                    best4 = (s4, v4);
                }
                scores.insert(source, serde_json::json!({"cvss2_score": c.v2_score, "cvss2_vector": c.v2_vector, "cvss3_score": score, "cvss3_vector": vector}));
            }
            findings.push(NewFinding {
                cve_id: cve,
                package: vuln.pkg_name,
                fixed_in: vuln.fixed_version,
                fix_state: vuln.status,
                confidence: 100,
                cvss2_score: best2.0,
                cvss2_vector: best2.1,
                cvss3_score: best3.0,
                cvss3_vector: best3.1,
                cvss4_score: best4.0,
                cvss4_vector: best4.1,
                scores: serde_json::Value::Object(scores).to_string(),
                title: vuln.title.chars().take(200).collect(),
            });
        }
    }
    Ok(ScanImport {
        source: "trivy".into(),
        asset: NewAsset {
            name: name.clone(),
            kind: kind.into(),
            hostnames: if kind == "server" {
                vec![name]
            } else {
                Vec::new()
            },
            environment: "production".into(),
            value_c: 3,
            value_i: 3,
            value_a: 3,
            ..NewAsset::default()
        },
        packages: Vec::new(),
        replace_packages: false,
        findings,
    })
}
