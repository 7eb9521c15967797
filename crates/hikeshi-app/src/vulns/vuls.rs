//! Vuls scan results, JSON format version 4 (future-architect/vuls `models/scanresults.go` and
//! `models/vulninfos.go`): the server becomes an asset, its packages are kept, and every CVE in
//! `scannedCves` becomes one finding per affected package (or one for a CPE match).

use super::{checked_v3, checked_v4, cve_id, import_error, ImportError};
use hikeshi_store::{NewAsset, NewFinding, ScanImport, ScanPackage};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanResult {
    json_version: i64,
    server_name: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    release: String,
    #[serde(default)]
    ipv4_addrs: Option<Vec<String>>,
    #[serde(default)]
    ipv6_addrs: Option<Vec<String>>,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    scanned_cves: Option<BTreeMap<String, VulnInfo>>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Package>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Platform {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "instanceID")]
    instance_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    release: String,
    #[serde(default)]
    new_version: String,
    #[serde(default)]
    new_release: String,
    #[serde(default)]
    arch: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VulnInfo {
    #[serde(default, rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    confidences: Option<Vec<Confidence>>,
    #[serde(default)]
    affected_packages: Option<Vec<PackageFixStatus>>,
    #[serde(default)]
    cve_contents: Option<BTreeMap<String, OneOrMany>>,
    #[serde(default, rename = "cpeURIs")]
    cpe_uris: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Confidence {
    #[serde(default)]
    score: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PackageFixStatus {
    #[serde(default)]
    name: String,
    #[serde(default)]
    not_fixed_yet: bool,
    #[serde(default)]
    fix_state: String,
    #[serde(default)]
    fixed_in: String,
}

/// Older Vuls writes one content per source, newer a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<CveContent>),
    Many(Vec<CveContent>),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CveContent {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    cvss2_score: f64,
    #[serde(default)]
    cvss2_vector: String,
    #[serde(default)]
    cvss3_score: f64,
    #[serde(default)]
    cvss3_vector: String,
    #[serde(default, rename = "cvss40Vector")]
    cvss40_vector: String,
}

/// The version string as the distribution writes it (`1.2.3-4`).
fn full_version(v: &str, r: &str) -> String {
    if r.is_empty() {
        v.to_string()
    } else {
        format!("{v}-{r}")
    }
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<ScanImport, ImportError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: ScanResult = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        import_error(
            file,
            if path == "." { "" } else { &path },
            e.inner().to_string(),
        )
    })?;
    if result.json_version != 4 {
        return Err(import_error(
            file,
            "jsonVersion",
            format!(
                "version {} is not supported; hikeshi reads Vuls JSON version 4",
                result.json_version
            ),
        ));
    }
    let name = result.server_name.trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(import_error(
            file,
            "serverName",
            "must be 1 to 200 characters",
        ));
    }
    let mut ips: Vec<String> = Vec::new();
    for (field, list) in [
        ("ipv4Addrs", &result.ipv4_addrs),
        ("ipv6Addrs", &result.ipv6_addrs),
    ] {
        for (n, ip) in list.iter().flatten().enumerate() {
            let parsed: std::net::IpAddr = ip.trim().parse().map_err(|_| {
                import_error(
                    file,
                    &format!("{field}[{n}]"),
                    format!("`{ip}` is not an IP address"),
                )
            })?;
            ips.push(parsed.to_string());
        }
    }
    let platform = result.platform.unwrap_or_default();
    let os = format!("{} {}", result.family, result.release)
        .trim()
        .to_string();
    let asset = NewAsset {
        name: name.clone(),
        kind: "server".into(),
        hostnames: vec![name],
        ips,
        cloud_ids: (!platform.instance_id.is_empty())
            .then(|| platform.instance_id.clone())
            .into_iter()
            .collect(),
        location: if platform.name.is_empty() || platform.name == "other" {
            String::new()
        } else {
            platform.name.clone()
        },
        environment: "production".into(),
        value_c: 3,
        value_i: 3,
        value_a: 3,
        os,
        ..NewAsset::default()
    };
    let packages = result
        .packages
        .unwrap_or_default()
        .into_iter()
        .map(|(key, p)| ScanPackage {
            name: if p.name.is_empty() { key } else { p.name },
            version: full_version(&p.version, &p.release),
            new_version: full_version(&p.new_version, &p.new_release),
            arch: p.arch,
        })
        .collect();
    let mut findings = Vec::new();
    for (key, info) in result.scanned_cves.unwrap_or_default() {
        let base = format!("scannedCves.{key}");
        let cve = cve_id(
            file,
            &format!("{base}.cveID"),
            if info.cve_id.is_empty() {
                &key
            } else {
                &info.cve_id
            },
        )?;
        let mut best3 = (0.0, String::new());
        let mut best2 = (0.0f64, String::new());
        let mut best4 = (0.0f64, String::new());
        let mut title = String::new();
        let mut scores = serde_json::Map::new();
        for (source, contents) in info.cve_contents.unwrap_or_default() {
            let list = match contents {
                OneOrMany::One(c) => vec![*c],
                OneOrMany::Many(v) => v,
            };
            for (n, c) in list.into_iter().enumerate() {
                let field = format!("{base}.cveContents.{source}[{n}].cvss3Vector");
                let (vector, computed) = checked_v3(file, &field, &c.cvss3_vector)?;
                // Some sources give a score without a vector; a vector's own score wins.
                let score3 = if vector.is_empty() {
                    c.cvss3_score
                } else {
                    computed
                };
                if !(0.0..=10.0).contains(&c.cvss2_score) || !(0.0..=10.0).contains(&c.cvss3_score)
                {
                    return Err(import_error(
                        file,
                        &format!("{base}.cveContents.{source}[{n}]"),
                        "a CVSS score outside 0 to 10",
                    ));
                }
                if score3 > best3.0 {
                    best3 = (score3, vector.clone());
                }
                let field4 = format!("{base}.cveContents.{source}[{n}].cvss40Vector");
                let (vector4, score4) = checked_v4(file, &field4, &c.cvss40_vector)?;
                if score4 > best4.0 {
                    best4 = (score4, vector4);
                }
                if c.cvss2_score > best2.0 {
                    best2 = (c.cvss2_score, c.cvss2_vector.clone());
                }
                if title.is_empty() {
                    title = if c.title.is_empty() {
                        c.summary.chars().take(200).collect()
                    } else {
                        c.title.chars().take(200).collect()
                    };
                }
                scores.insert(
                    format!("{source}{}", if n > 0 { format!("#{n}") } else { String::new() }),
                    serde_json::json!({"cvss2_score": c.cvss2_score, "cvss2_vector": c.cvss2_vector, "cvss3_score": score3, "cvss3_vector": vector}),
                );
            }
        }
        let confidence = info
            .confidences
            .unwrap_or_default()
            .iter()
            .map(|c| c.score)
            .max()
            .unwrap_or(0)
            .clamp(0, 100);
        let scores = serde_json::Value::Object(scores).to_string();
        let finding = |package: String, fixed_in: String, fix_state: String| NewFinding {
            cve_id: cve.clone(),
            package,
            fixed_in,
            fix_state,
            confidence,
            cvss2_score: best2.0,
            cvss2_vector: best2.1.clone(),
            cvss3_score: best3.0,
            cvss3_vector: best3.1.clone(),
            cvss4_score: best4.0,
            cvss4_vector: best4.1.clone(),
            scores: scores.clone(),
            title: title.clone(),
        };
        let affected = info.affected_packages.unwrap_or_default();
        if affected.is_empty() {
            let cpe = info.cpe_uris.unwrap_or_default().join(" ");
            findings.push(finding(cpe, String::new(), String::new()));
        }
        for p in affected {
            let state = if p.not_fixed_yet && p.fix_state.is_empty() {
                "not fixed yet".to_string()
            } else {
                p.fix_state
            };
            findings.push(finding(p.name, p.fixed_in, state));
        }
    }
    Ok(ScanImport {
        source: "vuls".into(),
        asset,
        packages,
        replace_packages: true,
        findings,
    })
}
