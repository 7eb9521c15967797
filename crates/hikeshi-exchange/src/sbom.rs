//! SBOMs in: the components of one product version from a CycloneDX (1.4–1.6) or SPDX (2.2,
//! 2.3) JSON document. Only what the PSIRT needs to answer "which of our versions ship this
//! library" is read — name, version, purl, CPE — and the product itself (CycloneDX's
//! `metadata.component`, the package SPDX says the document describes) is not one of its own
//! components.

use serde_json::Value;
use std::cmp::Ordering;

/// More components than any real product ships: beyond it the file is refused, not cut.
pub const MAX_COMPONENTS: usize = 100_000;
/// Nesting of CycloneDX components beyond this is refused (a hostile file could recurse).
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub version: String,
    pub purl: String,
    pub cpe: String,
}

impl Component {
    /// The package the purl names, without version, qualifiers and subpath
    /// (`pkg:npm/lodash@4.17.20?x=y` → `pkg:npm/lodash`): what a finding and a component share.
    pub fn purl_base(&self) -> String {
        purl_base(&self.purl)
    }
}

pub fn purl_base(purl: &str) -> String {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    let p = &purl[..end];
    // The version follows the last `@` after the last `/` (a scope such as `@angular` comes first).
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let base = match p[name_start..].find('@') {
        Some(at) => &p[..name_start + at],
        None => p,
    };
    base.to_ascii_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbom {
    /// `cyclonedx` or `spdx`.
    pub format: &'static str,
    pub spec_version: String,
    pub components: Vec<Component>,
}

/// Reads a CycloneDX or SPDX JSON SBOM; the error names the field that is wrong.
pub fn parse(bytes: &[u8]) -> Result<Sbom, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not JSON (line {}, column {}): {e}", e.line(), e.column()))?;
    if doc["bomFormat"] == "CycloneDX" {
        cyclonedx(&doc)
    } else if doc["spdxVersion"].is_string() {
        spdx(&doc)
    } else {
        Err("neither a CycloneDX (bomFormat) nor an SPDX (spdxVersion) JSON document".into())
    }
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or("").trim().to_string()
}

fn cyclonedx(doc: &Value) -> Result<Sbom, String> {
    let spec = text(doc, "specVersion");
    if !["1.4", "1.5", "1.6"].contains(&spec.as_str()) {
        return Err(format!(
            "specVersion: `{spec}` — CycloneDX 1.4, 1.5 or 1.6 is expected"
        ));
    }
    let mut out = Vec::new();
    if let Some(list) = doc.get("components") {
        walk_cyclonedx(list, "components", 0, &mut out)?;
    }
    Ok(Sbom {
        format: "cyclonedx",
        spec_version: spec,
        components: out,
    })
}

fn walk_cyclonedx(
    list: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<Component>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("{path}: nested more than {MAX_DEPTH} levels"));
    }
    let items = list
        .as_array()
        .ok_or_else(|| format!("{path}: an array is expected"))?;
    for (i, c) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let name = text(c, "name");
        if name.is_empty() {
            return Err(format!("{at}.name: missing"));
        }
        push(
            out,
            Component {
                name,
                version: text(c, "version"),
                purl: text(c, "purl"),
                cpe: text(c, "cpe"),
            },
            &at,
        )?;
        if let Some(children) = c.get("components") {
            walk_cyclonedx(children, &format!("{at}.components"), depth + 1, out)?;
        }
    }
    Ok(())
}

fn push(out: &mut Vec<Component>, c: Component, at: &str) -> Result<(), String> {
    if out.len() >= MAX_COMPONENTS {
        return Err(format!("{at}: more than {MAX_COMPONENTS} components"));
    }
    for (field, value, max) in [
        ("name", &c.name, 500),
        ("version", &c.version, 200),
        ("purl", &c.purl, 2_000),
        ("cpe", &c.cpe, 2_000),
    ] {
        if value.chars().count() > max || value.chars().any(char::is_control) {
            return Err(format!(
                "{at}.{field}: longer than {max} characters or holds control characters"
            ));
        }
    }
    if !c.purl.is_empty() && !c.purl.starts_with("pkg:") {
        return Err(format!("{at}.purl: `{}` does not start with pkg:", c.purl));
    }
    out.push(c);
    Ok(())
}

fn spdx(doc: &Value) -> Result<Sbom, String> {
    let spec = text(doc, "spdxVersion");
    if !["SPDX-2.2", "SPDX-2.3"].contains(&spec.as_str()) {
        return Err(format!(
            "spdxVersion: `{spec}` — SPDX-2.2 or SPDX-2.3 is expected"
        ));
    }
    let mut described: Vec<String> = doc["documentDescribes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for r in doc["relationships"].as_array().into_iter().flatten() {
        if r["spdxElementId"] == "SPDXRef-DOCUMENT" && r["relationshipType"] == "DESCRIBES" {
            described.extend(r["relatedSpdxElement"].as_str().map(str::to_string));
        }
    }
    let mut out = Vec::new();
    let packages = match doc.get("packages") {
        Some(p) => p
            .as_array()
            .ok_or_else(|| "packages: an array is expected".to_string())?
            .as_slice(),
        None => &[],
    };
    for (i, p) in packages.iter().enumerate() {
        let at = format!("packages[{i}]");
        if described.iter().any(|d| p["SPDXID"] == d.as_str()) {
            continue;
        }
        let name = text(p, "name");
        if name.is_empty() {
            return Err(format!("{at}.name: missing"));
        }
        let mut purl = String::new();
        let mut cpe = String::new();
        for r in p["externalRefs"].as_array().into_iter().flatten() {
            let locator = text(r, "referenceLocator");
            match r["referenceType"].as_str() {
                Some("purl") if purl.is_empty() => purl = locator,
                Some("cpe23Type") if cpe.is_empty() => cpe = locator,
                _ => {}
            }
        }
        let version = match text(p, "versionInfo") {
            v if v == "NOASSERTION" => String::new(),
            v => v,
        };
        push(
            &mut out,
            Component {
                name,
                version,
                purl,
                cpe,
            },
            &at,
        )?;
    }
    Ok(Sbom {
        format: "spdx",
        spec_version: spec,
        components: out,
    })
}

/// Orders two versions as package managers mostly do: numeric parts as numbers, other parts
/// as text, a release after its pre-releases (`1.2.0-rc1` < `1.2.0`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a_main, a_pre) = split_pre(a.trim().trim_start_matches(['v', 'V']));
    let (b_main, b_pre) = split_pre(b.trim().trim_start_matches(['v', 'V']));
    compare_parts(a_main, b_main).then_with(|| match (a_pre, b_pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_parts(x, y),
    })
}

fn split_pre(v: &str) -> (&str, Option<&str>) {
    match v.split_once(['-', '~']) {
        Some((main, pre)) => (main, Some(pre)),
        None => (v, None),
    }
}

/// Part by part; a missing part counts as `0`, so `1.2` equals `1.2.0`.
fn compare_parts(a: &str, b: &str) -> Ordering {
    let xs: Vec<&str> = a.split(['.', '+', '_']).collect();
    let ys: Vec<&str> = b.split(['.', '+', '_']).collect();
    for i in 0..xs.len().max(ys.len()) {
        let (x, y) = (
            xs.get(i).copied().unwrap_or("0"),
            ys.get(i).copied().unwrap_or("0"),
        );
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_lose_version_qualifiers_and_subpath() {
        assert_eq!(purl_base("pkg:npm/lodash@4.17.20"), "pkg:npm/lodash");
        assert_eq!(
            purl_base("pkg:npm/%40angular/core@16.0.0"),
            "pkg:npm/%40angular/core"
        );
        assert_eq!(
            purl_base("pkg:maven/org.apache/log4j@2.14.1?type=jar#x"),
            "pkg:maven/org.apache/log4j"
        );
        assert_eq!(purl_base("pkg:generic/openssl"), "pkg:generic/openssl");
    }

    #[test]
    fn versions_compare_by_number_and_pre_release() {
        use Ordering::*;
        for (a, b, o) in [
            ("1.2.10", "1.2.9", Greater),
            ("1.2", "1.2.0", Equal),
            ("1.2.0-rc1", "1.2.0", Less),
            ("v2.0.0", "1.9.9", Greater),
            ("3.0.7", "3.0.13", Less),
            ("1.1.1k", "1.1.1w", Less),
            ("1.2.1", "1.2", Greater),
        ] {
            assert_eq!(compare_versions(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn cyclonedx_components_nest_and_the_product_is_not_its_own_component() {
        let bom = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"name":"router-x","version":"2.0.0"}},
            "components":[{"type":"library","name":"openssl","version":"3.0.7","purl":"pkg:generic/openssl@3.0.7",
              "components":[{"type":"library","name":"zlib","version":"1.2.13"}]}]}"#;
        let s = parse(bom).expect("parses");
        assert_eq!(s.format, "cyclonedx");
        let names: Vec<&str> = s.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["openssl", "zlib"]);
        let err = parse(
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"version":"1"}]}"#,
        );
        assert_eq!(err, Err("components[0].name: missing".to_string()));
        let err = parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.2","components":[]}"#);
        assert!(err.is_err_and(|e| e.starts_with("specVersion")));
    }

    #[test]
    fn spdx_packages_with_purl_and_cpe_but_not_the_described_one() {
        let doc = br#"{"spdxVersion":"SPDX-2.3","documentDescribes":["SPDXRef-router"],
            "packages":[{"SPDXID":"SPDXRef-router","name":"router-x","versionInfo":"2.0.0"},
              {"SPDXID":"SPDXRef-ssl","name":"openssl","versionInfo":"3.0.7","externalRefs":[
                {"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:generic/openssl@3.0.7"},
                {"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"}]}]}"#;
        let s = parse(doc).expect("parses");
        assert_eq!(s.format, "spdx");
        assert_eq!(s.components.len(), 1);
        assert_eq!(s.components[0].purl_base(), "pkg:generic/openssl");
        assert!(s.components[0].cpe.starts_with("cpe:2.3:a:openssl"));
    }
}
