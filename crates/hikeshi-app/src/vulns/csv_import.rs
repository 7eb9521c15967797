//! A plain CSV of findings for scanners without a parser here: a header with `asset` and `cve`
//! and, optionally, `package`, `fixed_in` and `cvss3_vector`. One import per asset named.

use super::{checked_v3, cve_id, import_error, ImportError};
use hikeshi_store::{NewAsset, NewFinding, ScanImport};
use std::collections::BTreeMap;

/// Splits one CSV line (RFC 4180 quotes; no newlines inside fields).
pub(crate) fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<ScanImport>, ImportError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| import_error(file, "", format!("not UTF-8 text: {e}")))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(import_error(file, "line 1", "empty file"));
    };
    let header: Vec<String> = fields(header.trim_start_matches('\u{feff}'))
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(asset_col), Some(cve_col)) = (col("asset"), col("cve")) else {
        return Err(import_error(file, "line 1", "the header needs `asset` and `cve` columns (optional: package, fixed_in, cvss3_vector)"));
    };
    let (pkg_col, fix_col, vec_col) = (col("package"), col("fixed_in"), col("cvss3_vector"));
    let mut per_asset: BTreeMap<String, Vec<NewFinding>> = BTreeMap::new();
    for (n, line) in lines {
        let at = format!("line {}", n + 1);
        let f = fields(line);
        let get = |c: Option<usize>| c.and_then(|i| f.get(i)).cloned().unwrap_or_default();
        let asset = get(Some(asset_col));
        if asset.is_empty() || asset.len() > 200 {
            return Err(import_error(
                file,
                &format!("{at}, asset"),
                "must be 1 to 200 characters",
            ));
        }
        let cve = cve_id(file, &format!("{at}, cve"), &get(Some(cve_col)))?;
        let (vector, score) = checked_v3(file, &format!("{at}, cvss3_vector"), &get(vec_col))?;
        per_asset.entry(asset).or_default().push(NewFinding {
            cve_id: cve,
            package: get(pkg_col),
            fixed_in: get(fix_col),
            confidence: 100,
            cvss3_score: score,
            cvss3_vector: vector,
            scores: "{}".into(),
            ..NewFinding::default()
        });
    }
    Ok(per_asset
        .into_iter()
        .map(|(name, findings)| ScanImport {
            source: "csv".into(),
            asset: NewAsset {
                name: name.clone(),
                kind: "server".into(),
                hostnames: vec![name],
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
        .collect())
}
