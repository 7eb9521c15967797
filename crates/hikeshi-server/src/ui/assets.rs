//! Assets and vulnerabilities as pages: the inventory ranked by expected damage, one asset with
//! its identifiers, findings and alerts, and the vulnerability queue ordered by priority.

use super::{choices, error_page, explain_factors, render, see_other, Choice, I18n, Nav, SignedIn};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use hikeshi_app::vulns;
use hikeshi_app::vulns::assets::{self, rank};
use hikeshi_model::{AssetKind, Environment};
use hikeshi_store::{FindingFilter, NewAsset};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets", get(list_page).post(create))
        .route("/assets/{id}", get(asset_page).post(update))
        .route("/assets/{id}/delete", axum::routing::post(delete))
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
    form: AssetForm,
    kinds: Vec<Choice>,
    environments: Vec<Choice>,
}

/// The asset form, as typed (lists separated by spaces, commas or new lines).
#[derive(Deserialize, Default, Clone)]
pub struct AssetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    hostnames: String,
    #[serde(default)]
    ips: String,
    #[serde(default)]
    cloud_ids: String,
    #[serde(default)]
    administrator: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    internet_facing: Option<String>,
    #[serde(default)]
    value_c: String,
    #[serde(default)]
    value_i: String,
    #[serde(default)]
    value_a: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    data_held: String,
}

fn split(text: &str) -> Vec<String> {
    text.split([' ', ',', '\n', '\r', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl AssetForm {
    fn from_asset(a: &hikeshi_store::Asset) -> AssetForm {
        AssetForm {
            csrf: String::new(),
            name: a.name.clone(),
            kind: a.kind.clone(),
            hostnames: a.hostnames.join(" "),
            ips: a.ips.join(" "),
            cloud_ids: a.cloud_ids.join(" "),
            administrator: a.administrator.clone(),
            department: a.department.clone(),
            location: a.location.clone(),
            environment: a.environment.clone(),
            internet_facing: a.internet_facing.then(|| "on".into()),
            value_c: a.value_c.to_string(),
            value_i: a.value_i.to_string(),
            value_a: a.value_a.to_string(),
            tags: a.tags.join(" "),
            data_held: a.data_held.clone(),
        }
    }

    fn to_asset(&self, keep: Option<&hikeshi_store::Asset>) -> Result<NewAsset, ApiError> {
        let value = |field: &str, v: &str| -> Result<i64, ApiError> {
            v.trim()
                .parse()
                .map_err(|_| ApiError::invalid(field, format!("{field}: from 1 to 5")))
        };
        let a = NewAsset {
            name: self.name.clone(),
            kind: self.kind.clone(),
            hostnames: split(&self.hostnames),
            ips: split(&self.ips),
            cloud_ids: split(&self.cloud_ids),
            macs: keep.map(|k| k.macs.clone()).unwrap_or_default(),
            administrator: self.administrator.clone(),
            department: self.department.clone(),
            location: self.location.clone(),
            environment: self.environment.clone(),
            internet_facing: self.internet_facing.is_some(),
            value_c: value("value_c", &self.value_c)?,
            value_i: value("value_i", &self.value_i)?,
            value_a: value("value_a", &self.value_a)?,
            tags: split(&self.tags),
            data_held: self.data_held.clone(),
            os: keep.map(|k| k.os.clone()).unwrap_or_default(),
        };
        Ok(hikeshi_app::vulns::assets::check_asset(&a)?)
    }
}

fn kind_choices(i: &I18n) -> (Vec<Choice>, Vec<Choice>) {
    (
        choices(i, "asset_kind", AssetKind::ALL, AssetKind::code),
        choices(i, "environment", Environment::ALL, Environment::code),
    )
}

async fn create(State(state): State<AppState>, s: SignedIn, Form(f): Form<AssetForm>) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let a = f.to_asset(None)?;
        Ok::<_, ApiError>(assets::create_asset(&state, &s.who, &a).await?)
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |a| format!("/assets/{}", a.id))
}

async fn delete(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<super::CsrfOnly>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        Ok::<_, ApiError>(assets::delete_asset(&state, &s.who, &id).await?)
    }
    .await;
    match result {
        Ok(()) => see_other("/assets"),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

async fn update(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<AssetForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let current = state.store.asset_by_id(&id).await?;
        let a = f.to_asset(Some(&current))?;
        Ok::<_, ApiError>(assets::update_asset(&state, &s.who, &current.id, &a).await?)
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |a| format!("/assets/{}", a.id))
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
        let (kinds, environments) = kind_choices(&i);
        let form = AssetForm {
            kind: "server".into(),
            environment: "production".into(),
            value_c: "3".into(),
            value_i: "3".into(),
            value_a: "3".into(),
            ..AssetForm::default()
        };
        Ok::<_, ApiError>(AssetsPage {
            rows,
            form,
            kinds,
            environments,
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
    form: AssetForm,
    kinds: Vec<Choice>,
    environments: Vec<Choice>,
    /// Cases its alerts were escalated to: (number, title).
    cases: Vec<(String, String)>,
    /// (day, expected damage, open findings, KEV findings), newest first.
    history: Vec<(String, String, i64, i64)>,
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
        let recent = state
            .store
            .list_alerts(None, None, None, None, 1000)
            .await?;
        let index = vulns::triage::index_for(&state.store, &recent).await?;
        let hitting: Vec<_> = vulns::triage::rank_with(&index, recent)
            .into_iter()
            .filter(|r| r.assets.contains(&a.name))
            .collect();
        let mut cases: Vec<(String, String)> = Vec::new();
        for r in &hitting {
            if let Some(id) = &r.alert.case_id {
                if let Ok(c) = state.store.case_by_id(id).await {
                    if !cases.iter().any(|(n, _)| *n == c.number) {
                        cases.push((c.number, c.title));
                    }
                }
            }
        }
        let alerts = hitting
            .into_iter()
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
        let (kinds, environments) = kind_choices(&i);
        let history = state
            .store
            .risk_history(&a.id, 90)
            .await?
            .into_iter()
            .map(|(day, d, open, kev)| (day, format!("{d:.1}"), open, kev))
            .collect();
        Ok::<_, ApiError>(AssetPage {
            history,
            form: AssetForm::from_asset(&a),
            kinds,
            environments,
            cases,
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
