//! The live alert queue: filters, a table that refreshes itself when alerts change (Server-Sent
//! Events tell the page; it fetches the rows again), bulk actions (acknowledge, close, false
//! positive, escalate to a new or existing case) and the suppression rules.

use super::{choices, Choice, I18n, Nav, SignedIn};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::alerts::{self, AlertDetail, BulkInput, EscalateInput, SuppressionInput};
use hikeshi_app::vulns::triage::RankedAlert;
use hikeshi_model::AlertStatus;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(page))
        .route("/alerts/rows", get(rows))
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/suppress", post(suppress_from_alert))
        .route("/alerts/bulk", post(bulk))
        .route("/alerts/suppressions", post(add_suppression))
        .route("/alerts/suppressions/{id}/revoke", post(revoke))
        .route("/static/alerts.js", get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/alerts.js"),
    )
}

/// The queue shows what still needs a look unless asked otherwise.
const DEFAULT_STATES: &str = "new,acknowledged";
const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    level: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    host: String,
}

pub struct Row {
    id: String,
    level: String,
    level_code: String,
    title: String,
    rule_id: String,
    tags: String,
    host: String,
    user: String,
    addresses: String,
    count: i64,
    first_seen: String,
    last_seen: String,
    status: String,
    case_number: String,
    priority: i64,
    explanation: String,
    assets: String,
}

#[derive(Template)]
#[template(path = "alert_rows.html")]
struct RowsPart {
    i: I18n,
    rows: Vec<Row>,
}

struct SuppressionRow {
    id: String,
    scope: String,
    reason: String,
    author: String,
    expires: String,
    state: String,
    active: bool,
    hits: i64,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    i: I18n,
    nav: Option<Nav>,
    rows: Vec<Row>,
    status: String,
    level: String,
    rule: String,
    host: String,
    statuses: Vec<Choice>,
    levels: Vec<Choice>,
    suppressions: Vec<SuppressionRow>,
    live: bool,
}

async fn load_rows(state: &AppState, i: &I18n, f: &Filter) -> Result<Vec<Row>, ApiError> {
    let status = f.status.clone().unwrap_or_else(|| DEFAULT_STATES.into());
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let alerts = state
        .store
        .list_alerts(
            non_empty(&status).as_deref(),
            non_empty(&f.level).as_deref(),
            non_empty(&f.rule).as_deref(),
            non_empty(&f.host).as_deref(),
            500,
        )
        .await?;
    let mut numbers = std::collections::HashMap::new();
    let mut rows = Vec::new();
    for ranked in hikeshi_app::vulns::triage::rank_alerts(&state.store, alerts).await? {
        let case_number = match &ranked.alert.case_id {
            Some(id) => {
                if !numbers.contains_key(id) {
                    let n = state
                        .store
                        .case_by_id(id)
                        .await
                        .map(|c| c.number)
                        .unwrap_or_default();
                    numbers.insert(id.clone(), n);
                }
                numbers.get(id).cloned().unwrap_or_default()
            }
            None => String::new(),
        };
        rows.push(row_of(i, ranked, case_number));
    }
    Ok(rows)
}

fn row_of(i: &I18n, ranked: RankedAlert, case_number: String) -> Row {
    let a = ranked.alert;
    let tags: Vec<String> = serde_json::from_str(&a.tags).unwrap_or_default();
    let addresses = match (a.src_ip.is_empty(), a.dst_ip.is_empty()) {
        (true, true) => String::new(),
        (false, true) => a.src_ip.clone(),
        (true, false) => format!("→ {}", a.dst_ip),
        (false, false) => format!("{} → {}", a.src_ip, a.dst_ip),
    };
    Row {
        level: i.label("level", &a.level),
        level_code: a.level.clone(),
        title: a.rule_title,
        rule_id: a.rule_id,
        tags: tags.join(" "),
        host: a.host,
        user: a.user_name,
        addresses,
        count: a.count,
        first_seen: i.time(a.first_seen),
        last_seen: i.time(a.last_seen),
        status: i.label("alert_status", &a.status),
        case_number,
        id: a.id,
        priority: ranked.priority,
        explanation: super::explain_factors(i, &ranked.factors),
        assets: ranked.assets.join(", "),
    }
}

fn level_choices(i: &I18n) -> Vec<Choice> {
    LEVELS
        .iter()
        .map(|l| Choice {
            code: l.to_string(),
            label: i.label("level", l),
        })
        .collect()
}

async fn page(State(state): State<AppState>, s: SignedIn, Query(f): Query<Filter>) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let rows = load_rows(&state, &i, &f).await?;
        let now = hikeshi_store::now_ms();
        let suppressions = state
            .store
            .suppressions()
            .await?
            .into_iter()
            .map(|x| {
                let active = x.revoked_at.is_none() && x.expires_at > now;
                let mut scope = Vec::new();
                if !x.rule_id.is_empty() {
                    scope.push(format!("{}: {}", i.t("alerts.rule"), x.rule_id));
                }
                if !x.host.is_empty() {
                    scope.push(format!("{}: {}", i.t("alerts.host"), x.host));
                }
                if !x.field.is_empty() {
                    scope.push(format!("{} = {}", x.field, x.value));
                }
                SuppressionRow {
                    state: if x.revoked_at.is_some() {
                        format!("{} ({})", i.t("alerts.revoked"), x.revoked_by)
                    } else if active {
                        i.t("alerts.active")
                    } else {
                        i.t("alerts.expired")
                    },
                    id: x.id,
                    scope: scope.join(", "),
                    reason: x.reason,
                    author: x.author,
                    expires: i.time(x.expires_at),
                    active,
                    hits: x.hits,
                }
            })
            .collect();
        let mut statuses = vec![Choice {
            code: DEFAULT_STATES.into(),
            label: i.t("alerts.open"),
        }];
        statuses.extend(choices(
            &i,
            "alert_status",
            AlertStatus::ALL,
            AlertStatus::code,
        ));
        statuses.push(Choice {
            code: String::new(),
            label: i.t("alerts.all"),
        });
        Ok::<_, ApiError>(AlertsPage {
            rows,
            status: f.status.clone().unwrap_or_else(|| DEFAULT_STATES.into()),
            level: f.level.clone(),
            rule: f.rule.clone(),
            host: f.host.clone(),
            statuses,
            levels: level_choices(&i),
            suppressions,
            live: state.live.is_some(),
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    super::page_or_error(&i, s.nav, result)
}

/// The table body alone, for the page's live refresh.
async fn rows(State(state): State<AppState>, s: SignedIn, Query(f): Query<Filter>) -> Response {
    let i = s.viewer.i.clone();
    match load_rows(&state, &i, &f).await {
        Ok(rows) => match (RowsPart { i, rows }).render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// The bulk form: `ids` repeats, so it is read by hand rather than with `Form`.
async fn bulk(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let i = s.viewer.i.clone();
    let mut ids = Vec::new();
    let (mut csrf, mut action, mut reason, mut case, mut back) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "ids" => ids.push(v.into_owned()),
            "csrf" => csrf = v.into_owned(),
            "action" => action = v.into_owned(),
            "reason" => reason = v.into_owned(),
            "case" => case = v.into_owned(),
            "back" => back = v.into_owned(),
            _ => {}
        }
    }
    // The alert page sends its own id to come back to; anything else goes to the queue.
    let queue = if ids.len() == 1 && ids[0] == back && is_plain_id(&back) {
        format!("/alerts/{back}")
    } else {
        "/alerts".to_string()
    };
    let result: crate::error::ApiResult<String> = async {
        s.who.check_csrf(Some(&csrf))?;
        if action == "escalate" {
            let case = alerts::escalate_alerts(
                &state,
                &s.who,
                EscalateInput {
                    alert_ids: ids,
                    case: Some(case),
                    title: None,
                },
            )
            .await?;
            return Ok(format!("/cases/{}", case.number));
        }
        let status = AlertStatus::parse(&action)
            .map_err(|_| ApiError::invalid("action", format!("action: unknown `{action}`")))?;
        alerts::set_many(
            &state,
            &s.who,
            BulkInput {
                alert_ids: ids,
                status,
                reason,
            },
        )
        .await?;
        Ok(queue)
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |to| to.to_string())
}

#[derive(Deserialize)]
struct SuppressionForm {
    csrf: String,
    #[serde(default)]
    rule_id: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
    days: i64,
}

async fn add_suppression(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<SuppressionForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = SuppressionInput {
            rule_id: f.rule_id,
            host: f.host,
            field: f.field,
            value: f.value,
            reason: f.reason,
            days: f.days,
        };
        alerts::add_suppression(&state, &s.who, input).await
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |_| "/alerts#suppressions".to_string())
}

async fn revoke(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<super::CsrfOnly>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        alerts::end_suppression(&state, &s.who, &id).await
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |_| "/alerts#suppressions".to_string())
}

/// Alert ids are generated here (letters and digits); a `back` that is anything else is not
/// followed.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

struct AssetView {
    id: String,
    name: String,
    open_count: i64,
    max_cvss: String,
    kev: String,
    findings: Vec<FindingView>,
}

struct FindingView {
    cve: String,
    package: String,
    cvss: String,
    kev: bool,
}

struct SuppressedBy {
    reason: String,
    author: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    i: I18n,
    nav: Option<Nav>,
    a: Row,
    status_code: String,
    status_reason: String,
    status_by: String,
    source: String,
    detail: AlertDetail,
    assets: Vec<AssetView>,
    suppressed_by: Option<SuppressedBy>,
    history: Vec<super::admin::AuditRow>,
    /// The state moves offered from the current state.
    moves: Vec<Choice>,
    /// Suppression scopes the alert's own values allow.
    scopes: Vec<Choice>,
}

/// The moves a person can make from `status`: never to where it already is, and `escalated`
/// only by escalating (which an alert already on a case does not need).
fn moves_from(i: &I18n, status: &str, on_case: bool) -> Vec<Choice> {
    let mut out = Vec::new();
    let mut offer = |code: &str, key: &str| {
        if code != status {
            out.push(Choice {
                code: code.into(),
                label: i.t(key),
            });
        }
    };
    offer("acknowledged", "alerts.do_ack");
    offer("closed", "alerts.do_close");
    offer("false_positive", "alerts.do_fp");
    if !on_case {
        offer("escalate", "alerts.do_escalate");
    }
    out
}

fn scopes_for(i: &I18n, a: &Row, detail: &AlertDetail) -> Vec<Choice> {
    let mut out = Vec::new();
    if !a.host.is_empty() {
        out.push(Choice {
            code: "rule_host".into(),
            label: i.t("alert.scope_rule_host").replace("{host}", &a.host),
        });
    }
    out.push(Choice {
        code: "rule".into(),
        label: i.t("alert.scope_rule"),
    });
    if let Some(first) = detail.events.first() {
        for f in first.fields.iter().filter(|f| f.matched) {
            out.push(Choice {
                code: format!("field:{}", f.name),
                label: i
                    .t("alert.scope_field")
                    .replace("{field}", &f.name)
                    .replace("{value}", &f.value.chars().take(80).collect::<String>()),
            });
        }
    }
    out
}

async fn alert_page(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let detail = alerts::alert_detail(&state, &s.who, &id).await?;
        let alert = &detail.ranked.alert;
        let (status_code, status_reason, status_by, source) = (
            alert.status.clone(),
            alert.status_reason.clone(),
            alert.status_by.clone(),
            alert.source.clone(),
        );
        let on_case = alert.case_id.is_some();
        let a = row_of(
            &i,
            detail.ranked.clone(),
            detail.case_number.clone().unwrap_or_default(),
        );
        let assets = detail
            .assets
            .iter()
            .map(|h| AssetView {
                id: h.asset.id.clone(),
                name: h.asset.name.clone(),
                open_count: h.open.as_ref().map(|o| o.count).unwrap_or(0),
                max_cvss: h
                    .open
                    .as_ref()
                    .map(|o| format!("{:.1}", o.max_cvss))
                    .unwrap_or_default(),
                kev: h
                    .open
                    .as_ref()
                    .map(|o| o.kev.join(", "))
                    .unwrap_or_default(),
                findings: h
                    .findings
                    .iter()
                    .map(|f| FindingView {
                        cve: f.cve_id.clone(),
                        package: f.package.clone(),
                        cvss: format!("{:.1}", f.cvss3_score.max(f.cvss4_score)),
                        kev: f.kev != 0,
                    })
                    .collect(),
            })
            .collect();
        let suppressed_by = detail.suppression.as_ref().map(|x| SuppressedBy {
            reason: x.reason.clone(),
            author: x.author.clone(),
            expires: i.time(x.expires_at),
        });
        let history = detail
            .history
            .iter()
            .cloned()
            .map(|e| super::admin::AuditRow::new(&i, e))
            .collect();
        let scopes = scopes_for(&i, &a, &detail);
        Ok::<_, ApiError>(AlertPage {
            moves: moves_from(&i, &status_code, on_case),
            scopes,
            a,
            status_code,
            status_reason,
            status_by,
            source,
            assets,
            suppressed_by,
            history,
            detail,
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    super::page_or_error(&i, s.nav, result)
}

#[derive(Deserialize)]
struct SuppressFromAlertForm {
    csrf: String,
    scope: String,
    #[serde(default)]
    reason: String,
    days: i64,
}

async fn suppress_from_alert(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<SuppressFromAlertForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let back = if is_plain_id(&id) {
        format!("/alerts/{id}#alert-suppression")
    } else {
        "/alerts".to_string()
    };
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let scope = alerts::SuppressScope::parse(&f.scope)?;
        alerts::suppress_from_alert(&state, &s.who, &id, scope, f.reason, f.days).await
    }
    .await;
    super::redirect_or_error(&i, s.nav, result, |_| back.clone())
}
