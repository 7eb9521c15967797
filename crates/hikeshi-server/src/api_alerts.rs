//! Working the alert queue through the API: one alert, bulk state changes, escalation to a
//! case, suppression rules, rule reload, and a change feed (Server-Sent Events) for the page.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::live::grouping;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use hikeshi_model::AlertStatus;
use hikeshi_store::{Alert, Case, NewSuppression, Suppression};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;

/// Alerts one bulk request may touch.
const MAX_BULK: usize = 500;
/// Longest a suppression may run: it must be reviewed again after that.
const MAX_SUPPRESSION_DAYS: i64 = 366;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts/bulk", post(bulk_status))
        .route("/api/v1/alerts/escalate", post(escalate))
        .route("/api/v1/alerts/stream", get(stream))
        .route(
            "/api/v1/suppressions",
            get(list_suppressions).post(create_suppression),
        )
        .route("/api/v1/suppressions/{id}/revoke", post(revoke_suppression))
        .route("/api/v1/rules/reload", post(reload_rules))
}

pub async fn one(
    State(state): State<AppState>,
    _who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(state.store.alert_by_id(&id).await?))
}

fn check_ids(ids: &[String]) -> ApiResult<()> {
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "alert_ids",
            "alert_ids: give at least one alert",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "alert_ids",
            format!("alert_ids: at most {MAX_BULK} alerts per request"),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub alert_ids: Vec<String>,
    pub status: AlertStatus,
    #[serde(default)]
    pub reason: String,
}

/// Sets one state on many alerts; each change is audited on its own.
pub async fn set_many(
    state: &AppState,
    who: &CurrentUser,
    input: BulkInput,
) -> ApiResult<Vec<Alert>> {
    who.require(who.role.can_edit_cases(), "change alerts")?;
    check_ids(&input.alert_ids)?;
    if matches!(
        input.status,
        AlertStatus::Escalated | AlertStatus::Suppressed
    ) {
        return Err(ApiError::invalid(
            "status",
            "status: `escalated` is set by escalating to a case, `suppressed` by a suppression rule",
        ));
    }
    let required = input.status == AlertStatus::FalsePositive;
    let reason = crate::service::text_field("reason", &input.reason, required, 5_000)?;
    let mut out = Vec::new();
    for id in &input.alert_ids {
        out.push(
            state
                .store
                .set_alert_status(id, input.status.code(), &reason, &who.actor())
                .await?,
        );
    }
    Ok(out)
}

async fn bulk_status(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<BulkInput>,
) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(set_many(&state, &who, input).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateInput {
    pub alert_ids: Vec<String>,
    /// An existing case number (e.g. `2026-0042`); without it a new case is opened.
    #[serde(default)]
    pub case: Option<String>,
    /// Title of the new case; defaults to the first alert's rule.
    #[serde(default)]
    pub title: Option<String>,
}

/// Puts the selected alerts on one case, new or existing.
pub async fn escalate_alerts(
    state: &AppState,
    who: &CurrentUser,
    input: EscalateInput,
) -> ApiResult<Case> {
    who.require(who.role.can_edit_cases(), "escalate alerts")?;
    check_ids(&input.alert_ids)?;
    let mut alerts = Vec::new();
    for id in &input.alert_ids {
        alerts.push(state.store.alert_by_id(id).await?);
    }
    let into = match input.case.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(number) => {
            let number = crate::service::parse_number(number)?;
            Some(crate::service::case_detail(state, &number).await?.case)
        }
        None => None,
    };
    let title = match input
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => crate::service::text_field("title", t, true, 200)?,
        None => alerts
            .first()
            .map(|a| {
                if a.host.is_empty() {
                    a.rule_title.clone()
                } else {
                    format!("{} ({})", a.rule_title, a.host)
                }
            })
            .unwrap_or_default(),
    };
    Ok(grouping::escalate(
        &state.store,
        &state.config.sla,
        &alerts,
        into,
        &title,
        &who.actor(),
    )
    .await?)
}

async fn escalate(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<EscalateInput>,
) -> ApiResult<(StatusCode, Json<Case>)> {
    Ok((
        StatusCode::OK,
        Json(escalate_alerts(&state, &who, input).await?),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionInput {
    #[serde(default)]
    pub rule_id: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: String,
    pub reason: String,
    /// Days until it expires (1 to 366).
    pub days: i64,
}

pub async fn add_suppression(
    state: &AppState,
    who: &CurrentUser,
    input: SuppressionInput,
) -> ApiResult<Suppression> {
    who.require(who.role.can_edit_cases(), "add suppression rules")?;
    let rule_id = crate::service::text_field("rule_id", &input.rule_id, false, 300)?;
    let host = crate::service::text_field("host", &input.host, false, 300)?;
    let field = crate::service::text_field("field", &input.field, false, 200)?;
    let value = crate::service::text_field("value", &input.value, !field.is_empty(), 1_000)?;
    let reason = crate::service::text_field("reason", &input.reason, true, 5_000)?;
    if rule_id.is_empty() && host.is_empty() && field.is_empty() {
        return Err(ApiError::invalid(
            "rule_id",
            "rule_id: a suppression needs a rule, a host or a field value; one that matches everything would silence all monitoring",
        ));
    }
    if !(1..=MAX_SUPPRESSION_DAYS).contains(&input.days) {
        return Err(ApiError::invalid(
            "days",
            format!("days: from 1 to {MAX_SUPPRESSION_DAYS}"),
        ));
    }
    let new = NewSuppression {
        rule_id,
        host,
        field,
        value,
        reason,
        expires_at: hikeshi_store::now_ms() + input.days * 86_400_000,
    };
    let row = state.store.create_suppression(&new, &who.actor()).await?;
    if let Some(live) = &state.live {
        live.refresh_suppressions().await?;
    }
    Ok(row)
}

async fn create_suppression(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(input): ApiJson<SuppressionInput>,
) -> ApiResult<(StatusCode, Json<Suppression>)> {
    Ok((
        StatusCode::CREATED,
        Json(add_suppression(&state, &who, input).await?),
    ))
}

async fn list_suppressions(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> ApiResult<Json<Vec<Suppression>>> {
    Ok(Json(state.store.suppressions().await?))
}

pub async fn end_suppression(
    state: &AppState,
    who: &CurrentUser,
    id: &str,
) -> ApiResult<Suppression> {
    who.require(who.role.can_edit_cases(), "revoke suppression rules")?;
    let row = state.store.revoke_suppression(id, &who.actor()).await?;
    if let Some(live) = &state.live {
        live.refresh_suppressions().await?;
    }
    Ok(row)
}

async fn revoke_suppression(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Suppression>> {
    Ok(Json(end_suppression(&state, &who, &id).await?))
}

#[derive(Serialize)]
struct Reloaded {
    loaded: String,
}

async fn reload_rules(
    State(state): State<AppState>,
    who: CurrentUser,
) -> ApiResult<Json<Reloaded>> {
    who.require(who.role.is_admin(), "reload rules")?;
    let Some(live) = &state.live else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_rules",
            "no rules are loaded: start the server with --rules DIR",
        ));
    };
    let loaded = live.reload().await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            e.to_string(),
        )
    })?;
    Ok(Json(Reloaded { loaded }))
}

/// Sends `changed` whenever alerts were added to or changed; the page then fetches the list.
/// It polls a cheap watermark, so changes made by other nodes and workers show too.
async fn stream(
    State(state): State<AppState>,
    _who: CurrentUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let store = state.store.clone();
    let events = futures_util::stream::unfold(None, move |last| {
        let store = store.clone();
        async move {
            loop {
                let now = store.alerts_watermark().await.ok();
                if now.is_some() && now != last {
                    let data = now.map(|(c, t)| format!("{c}:{t}")).unwrap_or_default();
                    let event = Event::default().event("changed").data(data);
                    return Some((Ok(event), now));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
