//! The public advisory pages read what is out — the frozen CSAF documents of
//! [`super::provider::published`] — and nothing else, so the page can never say more, or
//! earlier, than the JSON beside it. This module turns one document into what the page shows.

use super::provider::document_path;
use hikeshi_store::VisibleRevision;
use serde_json::Value;

/// One advisory as the public page shows it.
#[derive(Debug, Clone)]
pub struct PublicAdvisory {
    pub tracking_id: String,
    pub title: String,
    pub version: String,
    pub status: String,
    pub initial_release: String,
    pub current_release: String,
    pub summary: String,
    pub vulnerabilities: Vec<PublicVulnerability>,
    pub revisions: Vec<PublicRevision>,
    /// Below `/.well-known/csaf/<tlp>/`: the JSON and its hash and signature files.
    pub json_path: String,
    pub signed: bool,
    /// `/advisories/<year>/<file>` without the `.json`.
    pub page_path: String,
}

#[derive(Debug, Clone)]
pub struct PublicVulnerability {
    pub cve: String,
    pub title: String,
    pub cwe: String,
    pub cvss3: String,
    pub cvss3_score: String,
    pub cvss4: String,
    pub credits: Vec<String>,
    pub products: Vec<PublicProduct>,
}

#[derive(Debug, Clone)]
pub struct PublicProduct {
    pub name: String,
    /// A CSAF product status: `known_affected`, `fixed`, `known_not_affected`,
    /// `under_investigation`.
    pub status: String,
    /// The VEX justification (a CSAF flag label) of a version that is not affected…
    pub justification: String,
    /// …or its impact statement.
    pub impact: String,
    pub remediations: Vec<PublicRemediation>,
}

#[derive(Debug, Clone)]
pub struct PublicRemediation {
    pub category: String,
    pub details: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct PublicRevision {
    pub number: String,
    pub date: String,
    pub summary: String,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

/// Every `product_id` → full product name of the product tree.
fn product_names(tree: &Value, out: &mut Vec<(String, String)>) {
    if let Some(p) = tree.get("product") {
        out.push((s(&p["product_id"]), s(&p["name"])));
    }
    for b in tree["branches"].as_array().into_iter().flatten() {
        product_names(b, out);
    }
    for p in tree["full_product_names"].as_array().into_iter().flatten() {
        out.push((s(&p["product_id"]), s(&p["name"])));
    }
}

fn mentions(entry: &Value, id: &str) -> bool {
    entry["product_ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|x| x == id))
}

fn vulnerability(v: &Value, names: &[(String, String)]) -> PublicVulnerability {
    let mut products = Vec::new();
    for status in [
        "known_affected",
        "fixed",
        "known_not_affected",
        "under_investigation",
    ] {
        for id in v["product_status"][status].as_array().into_iter().flatten() {
            let id = s(id);
            let name = names
                .iter()
                .find(|(pid, _)| *pid == id)
                .map_or(id.clone(), |(_, n)| n.clone());
            let justification = v["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| mentions(f, &id))
                .map(|f| s(&f["label"]))
                .unwrap_or_default();
            let impact = v["threats"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["category"] == "impact" && mentions(t, &id))
                .map(|t| s(&t["details"]))
                .unwrap_or_default();
            let remediations = v["remediations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| mentions(r, &id))
                .map(|r| PublicRemediation {
                    category: s(&r["category"]),
                    details: s(&r["details"]),
                    url: s(&r["url"]),
                })
                .collect();
            products.push(PublicProduct {
                name,
                status: status.to_string(),
                justification,
                impact,
                remediations,
            });
        }
    }
    let cvss3 = &v["scores"][0]["cvss_v3"];
    let cvss4 = v["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .find_map(|t| t.split_whitespace().find(|w| w.starts_with("CVSS:4.0/")))
        .unwrap_or("")
        .trim_end_matches(['.', ','])
        .to_string();
    let credits = v["acknowledgments"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| {
            let org = s(&a["organization"]);
            a["names"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |n| match org.as_str() {
                    "" => s(n),
                    o => format!("{} ({o})", s(n)),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    PublicVulnerability {
        cve: s(&v["cve"]),
        title: s(&v["title"]),
        cwe: match (v["cwe"]["id"].as_str(), v["cwe"]["name"].as_str()) {
            (Some(id), Some(name)) => format!("{id}: {name}"),
            _ => String::new(),
        },
        cvss3: s(&cvss3["vectorString"]),
        cvss3_score: cvss3["baseScore"]
            .as_f64()
            .map(|x| format!("{x:.1} ({})", s(&cvss3["baseSeverity"])))
            .unwrap_or_default(),
        cvss4,
        credits,
        products,
    }
}

/// The page's view of one published document; `None` when the stored document is not JSON
/// (it always is: it was rendered by hikeshi).
pub fn from_revision(r: &VisibleRevision) -> Option<PublicAdvisory> {
    let doc: Value = serde_json::from_str(&r.document).ok()?;
    let d = &doc["document"];
    let tracking = &d["tracking"];
    let mut names = Vec::new();
    product_names(&doc["product_tree"], &mut names);
    let summary = d["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["category"] == "summary")
        .map(|n| s(&n["text"]))
        .unwrap_or_default();
    let mut revisions: Vec<PublicRevision> = tracking["revision_history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| PublicRevision {
            number: s(&h["number"]),
            date: s(&h["date"]),
            summary: s(&h["summary"]),
        })
        .collect();
    revisions.reverse();
    Some(PublicAdvisory {
        tracking_id: s(&tracking["id"]),
        title: s(&d["title"]),
        version: s(&tracking["version"]),
        status: s(&tracking["status"]),
        initial_release: s(&tracking["initial_release_date"]),
        current_release: s(&tracking["current_release_date"]),
        summary,
        vulnerabilities: doc["vulnerabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| vulnerability(v, &names))
            .collect(),
        revisions,
        json_path: document_path(r),
        signed: !r.signature.is_empty(),
        page_path: format!(
            "/advisories/{}/{}",
            r.year,
            r.file_name.trim_end_matches(".json")
        ),
    })
}
