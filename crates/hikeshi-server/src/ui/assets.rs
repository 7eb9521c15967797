//! Assets and vulnerabilities as pages: the inventory ranked by expected damage, one asset with
//! its identifiers, findings and alerts, and the vulnerability queue ordered by priority.

use super::{error_page, explain_factors, render, I18n, Nav, SignedIn};
use crate::api_assets::rank;
use crate::error::ApiError;
use crate::state::AppState;
use crate::vulns;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hikeshi_store::FindingFilter;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets", get(list_page))
        .route("/assets/{id}", get(asset_page))
        .route("/vulns", get(queue_page))
}

struct AssetRow {
    id: String,
    name: String,
    kind: String,
    environment: String,
    exposure: String,
    owner: String,
    value: i64,
    impact: String,
    frequency: i64,
    damage: String,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<AssetRow>,
}

async fn list_page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let ranking = vulns::triage::damage_ranking(&state.store).await?;
        let assets = state.store.list_assets().await?;
        let rows = ranking
            .into_iter()
            .filter_map(|d| {
                let a = assets.iter().find(|a| a.id == d.asset_id)?;
                Some(AssetRow {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    kind: i.label("asset_kind", &a.kind),
                    environment: i.label("environment", &a.environment),
                    exposure: if a.internet_facing {
                        i.t("assets.internet_facing")
                    } else {
                        String::new()
                    },
                    owner: [a.department.as_str(), a.administrator.as_str()]
                        .into_iter()
                        .filter(|x| !x.is_empty())
                        .collect::<Vec<_>>()
                        .join(" / "),
                    value: d.value,
                    impact: format!("{:.1}", d.impact),
                    frequency: d.frequency,
                    damage: format!("{:.1}", d.expected_damage),
                })
            })
            .collect();
        Ok::<_, ApiError>(AssetsPage {
            rows,
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    match result {
        Ok(p) => render(&p),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

struct FindingRow {
    asset_id: String,
    asset: String,
    cve: String,
    package: String,
    fixed_in: String,
    cvss: String,
    kev: bool,
    epss: String,
    status: String,
    priority: i64,
    explanation: String,
}

struct AlertRow {
    title: String,
    level: String,
    count: i64,
    last_seen: String,
    priority: i64,
    explanation: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    i: I18n,
    nav: Option<Nav>,
    a: hikeshi_store::Asset,
    kind: String,
    environment: String,
    findings: Vec<FindingRow>,
    alerts: Vec<AlertRow>,
    packages: usize,
    damage: String,
}

fn finding_rows(i: &I18n, list: Vec<hikeshi_store::Finding>) -> Vec<FindingRow> {
    rank(list)
        .into_iter()
        .map(|r| FindingRow {
            asset_id: r.finding.asset_id.clone(),
            asset: r.finding.asset_name.clone(),
            cvss: if r.finding.cvss3_score > 0.0 {
                format!("{:.1}", r.finding.cvss3_score)
            } else if r.finding.cvss4_score > 0.0 {
                format!("{:.1} (v4)", r.finding.cvss4_score)
            } else {
                format!("{:.1} (v2)", r.finding.cvss2_score)
            },
            kev: r.finding.kev != 0,
            epss: if r.finding.epss > 0.0 {
                format!("{:.2}", r.finding.epss)
            } else {
                String::new()
            },
            status: i.label("finding_status", &r.finding.status),
            cve: r.finding.cve_id,
            package: r.finding.package,
            fixed_in: r.finding.fixed_in,
            priority: r.priority,
            explanation: explain_factors(i, &r.factors),
        })
        .collect()
}

async fn asset_page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let a = state.store.asset_by_id(&id).await?;
        let findings = state
            .store
            .list_findings(&FindingFilter {
                asset_id: Some(a.id.clone()),
                limit: 10_000,
                ..FindingFilter::default()
            })
            .await?;
        let index = vulns::matching::AssetIndex::load(&state.store).await?;
        let recent = state
            .store
            .list_alerts(None, None, None, None, 1000)
            .await?;
        let alerts = vulns::triage::rank_with(&index, recent)
            .into_iter()
            .filter(|r| r.assets.contains(&a.name))
            .map(|r| AlertRow {
                title: r.alert.rule_title,
                level: i.label("level", &r.alert.level),
                count: r.alert.count,
                last_seen: i.time(r.alert.last_seen),
                priority: r.priority,
                explanation: explain_factors(&i, &r.factors),
            })
            .collect();
        let damage = vulns::triage::damage_ranking(&state.store)
            .await?
            .into_iter()
            .find(|d| d.asset_id == a.id)
            .map(|d| {
                format!(
                    "{} × {:.1} × {} = {:.1}",
                    d.value, d.impact, d.frequency, d.expected_damage
                )
            })
            .unwrap_or_default();
        let packages = state.store.asset_packages(&a.id).await?.len();
        Ok::<_, ApiError>(AssetPage {
            kind: i.label("asset_kind", &a.kind),
            environment: i.label("environment", &a.environment),
            findings: finding_rows(&i, findings),
            alerts,
            packages,
            damage,
            a,
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    match result {
        Ok(p) => render(&p),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Deserialize, Default)]
struct QueueFilter {
    #[serde(default)]
    kev: Option<String>,
    #[serde(default)]
    internet_facing: Option<String>,
    #[serde(default)]
    fix_available: Option<String>,
    #[serde(default)]
    cve: String,
}

#[derive(Template)]
#[template(path = "vulns.html")]
struct QueuePage {
    i: I18n,
    nav: Option<Nav>,
    findings: Vec<FindingRow>,
    kev: bool,
    internet_facing: bool,
    fix_available: bool,
    cve: String,
}

async fn queue_page(
    State(state): State<AppState>,
    s: SignedIn,
    Query(f): Query<QueueFilter>,
) -> Response {
    let i = s.viewer.i.clone();
    let (kev, internet_facing, fix_available) = (
        f.kev.is_some(),
        f.internet_facing.is_some(),
        f.fix_available.is_some(),
    );
    let result = async {
        let list = state
            .store
            .list_findings(&FindingFilter {
                status: Some("open".into()),
                cve: Some(f.cve.trim().to_string()).filter(|c| !c.is_empty()),
                kev_only: kev,
                internet_facing_only: internet_facing,
                fix_available_only: fix_available,
                limit: 100_000,
                ..FindingFilter::default()
            })
            .await?;
        let mut findings = finding_rows(&i, list);
        findings.truncate(500);
        Ok::<_, ApiError>(QueuePage {
            findings,
            kev,
            internet_facing,
            fix_available,
            cve: f.cve.clone(),
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    match result {
        Ok(p) => render(&p),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}
