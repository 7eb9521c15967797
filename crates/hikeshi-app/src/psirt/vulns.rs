//! Product vulnerabilities: a triaged report about one of the team's own products becomes a
//! vulnerability record with the case that handles it (opened in the same transaction), and
//! the state of each product version for it.

use super::{link, short_text};
use crate::cases::{open_in, CreateCaseInput};
use crate::error::{AppError, AppResult};
use crate::{App, Lang, Who};
use hikeshi_model::cvss::{severity_of, Cvss3};
use hikeshi_model::cvss4::Cvss4;
use hikeshi_model::ReportStatus;
use hikeshi_model::{
    CaseSource, Coordinator, ProductStatus, RemediationKind, Severity, VexJustification,
};
use hikeshi_store::{new_id, ProductVuln, VersionState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProductVuln {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub description_ja: String,
    #[serde(default)]
    pub cve: String,
    #[serde(default)]
    pub cwe_id: String,
    /// The CWE entry's name, as the CWE list spells it (CSAF checks it).
    #[serde(default)]
    pub cwe_name: String,
    #[serde(default)]
    pub cvss3_vector: String,
    #[serde(default)]
    pub cvss4_vector: String,
    /// Who found it (kept in the case).
    #[serde(default)]
    pub finder: String,
    /// How the finder asked to be named in public; empty: not named.
    #[serde(default)]
    pub credit: String,
    pub coordinator: Coordinator,
    /// The coordinator's ID, e.g. `JVNVU#12345678`.
    #[serde(default)]
    pub coordinator_ref: String,
    /// The case's assignee.
    pub assignee: Option<String>,
    /// The tracking number of the report it came in by: the report joins the case, and the
    /// finder and credit default to the reporter's.
    #[serde(default)]
    pub report: String,
}

/// One version's state as the analyst sets it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VersionStateInput {
    pub version_id: String,
    pub status: ProductStatus,
    pub justification: Option<VexJustification>,
    #[serde(default)]
    pub impact: String,
    pub remediation: Option<RemediationKind>,
    #[serde(default)]
    pub remediation_details: String,
    #[serde(default)]
    pub remediation_url: String,
}

#[derive(Debug, Serialize)]
pub struct ProductVulnView {
    #[serde(flatten)]
    pub vuln: ProductVuln,
    pub case_number: String,
    pub versions: Vec<VersionState>,
}

fn check_cve(cve: &str) -> AppResult<String> {
    let cve = cve.trim().to_ascii_uppercase();
    let ok = cve.is_empty() || {
        let mut parts = cve.splitn(3, '-');
        parts.next() == Some("CVE")
            && parts
                .next()
                .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            && parts.next().is_some_and(|n| {
                n.len() >= 4 && n.len() <= 19 && n.bytes().all(|b| b.is_ascii_digit())
            })
    };
    if ok {
        Ok(cve)
    } else {
        Err(AppError::invalid(
            "cve",
            format!("cve: `{cve}` is not a CVE ID such as CVE-2026-12345"),
        ))
    }
}

fn check_cwe(id: &str, name: &str) -> AppResult<(String, String)> {
    let id = id.trim().to_ascii_uppercase();
    let name = short_text("cwe_name", name, !id.is_empty(), 300)?;
    if id.is_empty() {
        return Ok((id, String::new()));
    }
    let digits = id.strip_prefix("CWE-").unwrap_or("");
    if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid(
            "cwe_id",
            format!("cwe_id: `{id}` is not a CWE ID such as CWE-79"),
        ));
    }
    Ok((id, name))
}

/// Opens a product vulnerability and its case in one transaction.
pub async fn open(
    app: &App,
    who: &Who,
    input: NewProductVuln,
    lang: Lang,
) -> AppResult<ProductVulnView> {
    who.require_edit("record product vulnerabilities")?;
    let report = match input.report.trim() {
        "" => None,
        tracking => Some(crate::intake::triage::undecided(app, tracking).await?),
    };
    let title = short_text("title", &input.title, true, 300)?;
    let description = short_text("description", &input.description, true, 20_000)?;
    let cve = check_cve(&input.cve)?;
    let (cwe_id, cwe_name) = check_cwe(&input.cwe_id, &input.cwe_name)?;
    let cvss3_vector = input.cvss3_vector.trim().to_string();
    let mut severity = Severity::Medium;
    if !cvss3_vector.is_empty() {
        let c = Cvss3::parse(&cvss3_vector)
            .map_err(|e| AppError::invalid("cvss3_vector", format!("cvss3_vector: {e}")))?;
        severity = match severity_of(c.base_score()) {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            _ => Severity::Low,
        };
    }
    let cvss4_vector = input.cvss4_vector.trim().to_string();
    if !cvss4_vector.is_empty() {
        Cvss4::parse(&cvss4_vector)
            .map_err(|e| AppError::invalid("cvss4_vector", format!("cvss4_vector: {e}")))?;
    }
    let coordinator_ref = short_text("coordinator_ref", &input.coordinator_ref, false, 100)?;
    let now = app.calendar.now_ms();
    let mut row = ProductVuln {
        id: new_id(),
        case_id: String::new(),
        title: title.clone(),
        description: description.clone(),
        description_ja: short_text("description_ja", &input.description_ja, false, 20_000)?,
        cve: cve.clone(),
        cwe_id,
        cwe_name,
        cvss3_vector,
        cvss4_vector,
        finder: match (short_text("finder", &input.finder, false, 300)?, &report) {
            (f, Some(r)) if f.is_empty() => crate::intake::triage::reporter_identity(r)
                .chars()
                .take(300)
                .collect(),
            (f, _) => f,
        },
        credit: match (short_text("credit", &input.credit, false, 300)?, &report) {
            (c, Some(r)) if c.is_empty() => r.credit.clone(),
            (c, _) => c,
        },
        coordinator: input.coordinator.code().to_string(),
        coordinator_ref,
        created_at: now,
        updated_at: now,
    };
    let mut tags = vec!["psirt".to_string()];
    if !cve.is_empty() {
        tags.push(cve.to_ascii_lowercase());
    }
    let case_input = CreateCaseInput {
        title: crate::cases::fit_title(&format!("[PSIRT] {title}")),
        description,
        category: Some("vulnerability".into()),
        severity: Some(severity),
        tlp: Some(hikeshi_model::Tlp::Amber),
        pap: None,
        phase: None,
        assignee: input.assignee.clone(),
        tags,
        affected_assets: String::new(),
        template: None,
        source: Some(CaseSource::Manual),
        business_impact: String::new(),
    };
    let mut tx = app.store.begin().await?;
    let case = open_in(app, &mut tx, who, case_input, lang).await?;
    row.case_id = case.id.clone();
    tx.insert_product_vuln(&row, &who.actor()).await?;
    let number = case.number.clone();
    if let Some(r) = &report {
        // The reporter's name and address stay with the report and the finder field.
        let how = crate::intake::triage::CarryOver {
            lang,
            include_reporter: false,
        };
        crate::intake::triage::join_case(app, &mut tx, who, r, case, ReportStatus::Case, how)
            .await?;
    }
    tx.commit().await?;
    Ok(ProductVulnView {
        vuln: row,
        case_number: number,
        versions: Vec::new(),
    })
}

pub async fn view(app: &App, _who: &Who, id: &str) -> AppResult<ProductVulnView> {
    let vuln = app
        .store
        .product_vuln(id)
        .await?
        .ok_or_else(|| AppError::not_found("product vulnerability"))?;
    let case_number = app
        .store
        .case_by_id(&vuln.case_id)
        .await
        .map(|c| c.number)
        .unwrap_or_default();
    let versions = app.store.version_states(id).await?;
    Ok(ProductVulnView {
        vuln,
        case_number,
        versions,
    })
}

/// Saves the state of every version named (the whole table: versions left out have none).
pub async fn save_states(
    app: &App,
    who: &Who,
    id: &str,
    input: Vec<VersionStateInput>,
) -> AppResult<ProductVulnView> {
    who.require_edit("set product versions' states")?;
    if app.store.product_vuln(id).await?.is_none() {
        return Err(AppError::not_found("product vulnerability"));
    }
    if input.len() > 5_000 {
        return Err(AppError::invalid(
            "versions",
            "versions: at most 5,000 per vulnerability",
        ));
    }
    let known: std::collections::HashSet<String> = app
        .store
        .product_versions()
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(input.len());
    for (n, s) in input.into_iter().enumerate() {
        let field = |name: &str| format!("versions[{n}].{name}");
        if !known.contains(&s.version_id) {
            return Err(AppError::invalid(
                &field("version_id"),
                format!("{}: unknown product version", field("version_id")),
            ));
        }
        if !seen.insert(s.version_id.clone()) {
            return Err(AppError::invalid(
                &field("version_id"),
                format!("{}: this version is listed twice", field("version_id")),
            ));
        }
        if s.justification.is_some() && s.status != ProductStatus::KnownNotAffected {
            return Err(AppError::invalid(
                &field("justification"),
                format!(
                    "{}: a justification belongs to a version that is not affected",
                    field("justification")
                ),
            ));
        }
        rows.push(VersionState {
            vuln_id: id.to_string(),
            version_id: s.version_id,
            status: s.status.code().into(),
            justification: s
                .justification
                .map(|j| j.code().to_string())
                .unwrap_or_default(),
            impact: short_text(&field("impact"), &s.impact, false, 2_000)?,
            remediation: s
                .remediation
                .map(|r| r.code().to_string())
                .unwrap_or_default(),
            remediation_details: short_text(
                &field("remediation_details"),
                &s.remediation_details,
                false,
                2_000,
            )?,
            remediation_url: link(&field("remediation_url"), &s.remediation_url)?,
            product_id: String::new(),
            vendor: String::new(),
            product: String::new(),
            version: String::new(),
            purl: String::new(),
            cpe: String::new(),
        });
    }
    let now = app.calendar.now_ms();
    let mut tx = app.store.begin().await?;
    tx.replace_version_states(id, &rows, &who.actor(), now)
        .await?;
    tx.commit().await?;
    view(app, who, id).await
}
