//! A product vulnerability in the other forms users need beside CSAF: OpenVEX and CycloneDX
//! VEX for scanners, a CVE JSON 5 CNA container for CVE Services or for the hand-over to
//! JPCERT/CC. All three come from the same parts as the CSAF document.

use super::document::{parts, utc};
use super::provider;
use crate::error::{AppError, AppResult};
use crate::{App, Who};
use hikeshi_exchange::{cve5, vex};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Openvex,
    CyclonedxVex,
    Cve,
}

/// The export as JSON text.
pub async fn export(app: &App, who: &Who, id: &str, format: ExportFormat) -> AppResult<String> {
    who.require_edit("export product vulnerabilities")?;
    let vuln = app
        .store
        .product_vuln(id)
        .await?
        .ok_or_else(|| AppError::not_found("product vulnerability"))?;
    let states = app.store.version_states(id).await?;
    let (products, v) = parts(&vuln, &states)?;
    let team = crate::team::load(app).await;
    let base = app.config.public_url.trim_end_matches('/');
    let at = utc(vuln.updated_at);
    let value = match format {
        ExportFormat::Openvex => {
            let author = super::publisher_name(app).await;
            vex::openvex(
                &format!("{base}/psirt/vex/{}", vuln.id),
                &author,
                at,
                &products,
                &v,
            )
        }
        ExportFormat::CyclonedxVex => {
            // A stable serial per vulnerability and version of its states.
            let name = format!("{}:{}", vuln.id, vuln.updated_at);
            let serial = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
            vex::cyclonedx(serial, at, &products, &v)
        }
        ExportFormat::Cve => cve(app, &team, &vuln, &states, &products, &v).await?,
    };
    serde_json::to_string_pretty(&value).map_err(AppError::internal)
}

async fn cve(
    app: &App,
    team: &crate::team::TeamProfile,
    vuln: &hikeshi_store::ProductVuln,
    states: &[hikeshi_store::VersionState],
    products: &[hikeshi_exchange::csaf::ProductVersion],
    v: &hikeshi_exchange::csaf::Vulnerability,
) -> AppResult<serde_json::Value> {
    let org_id = team.get("cve_org_id").trim();
    if !crate::team::is_uuid_v4(org_id) {
        return Err(AppError::invalid(
            "cve_org_id",
            "cve_org_id: set the team profile's CNA organisation ID (a UUID) before exporting a CVE record",
        ));
    }
    if vuln.cve.is_empty() {
        return Err(AppError::invalid(
            "cve",
            "cve: the vulnerability has no CVE ID yet",
        ));
    }
    // References: every advisory of it that is out, then the fixes' pages.
    let mine: Vec<String> = app
        .store
        .advisories_of(&vuln.id)
        .await?
        .into_iter()
        .map(|a| a.file_name)
        .collect();
    let base = app.config.public_url.trim_end_matches('/');
    let mut references: Vec<String> = provider::published(app)
        .await?
        .iter()
        .filter(|r| mine.contains(&r.file_name))
        .map(|r| format!("{base}{}", provider::document_path(r)))
        .collect();
    for s in states {
        if !s.remediation_url.is_empty() && !references.contains(&s.remediation_url) {
            references.push(s.remediation_url.clone());
        }
    }
    if references.is_empty() {
        return Err(AppError::invalid(
            "references",
            "references: a CVE record needs a reference: publish an advisory or give a fix's URL",
        ));
    }
    let record = cve5::CveRecord {
        org_id,
        short_name: team.get("cve_short_name").trim(),
        title: &vuln.title,
        description_en: &vuln.description,
        description_ja: &vuln.description_ja,
        references,
    };
    Ok(cve5::cna_container(&record, products, v))
}
