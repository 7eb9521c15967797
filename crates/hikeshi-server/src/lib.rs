//! The HTTP side of hikeshi: REST API, server-rendered web UI, sessions and authentication.

pub mod api;
mod api_alerts;
mod api_assets;
mod api_events;
mod api_reporting;
mod api_reports;
pub mod asset_csv;
pub mod auth;
pub mod case_ledger;
pub mod config;
mod csv;
pub mod error;
pub mod escalation;
mod evidence_files;
pub mod form_guard;
pub mod i18n;
pub mod intake;
mod json;
pub mod live;
mod markdown;
mod openapi;
pub mod outbound_reports;
pub mod outbox;
pub mod reporting;
pub mod service;
pub mod smtp_intake;
pub mod state;
pub mod team;
mod timefmt;
mod ui;
pub mod vulns;

pub use config::{MailSettings, ReportFormSettings, ServerConfig, SlaHours};
pub use state::AppState;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::future::Future;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api::routes(&state))
        .merge(api_reports::routes())
        .merge(api_events::routes())
        .merge(api_alerts::routes())
        .merge(api_assets::routes())
        .merge(api_reporting::routes())
        .merge(ui::routes(&state))
        .layer(axum::extract::DefaultBodyLimit::max(json::JSON_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Prometheus text: live-monitoring counters (empty when this node runs no pipeline).
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state
        .live
        .as_ref()
        .map(|l| l.metrics.render(l.queue_depth()))
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// For `hikeshi worker`: only `/metrics` and `/healthz`, no UI and no API.
pub async fn metrics_listener(
    live: std::sync::Arc<live::Live>,
    addr: std::net::SocketAddr,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let live = live.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        live.metrics.render(live.queue_depth()),
                    )
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "metrics listener stopped");
        }
    });
    Ok(local)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = state.config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "hikeshi listening");
    if let Some(smtp) = state.config.smtp_listen {
        smtp_intake::start(state.clone(), smtp).await?;
    }
    if let Some(dir) = state.config.mail.maildir.clone() {
        smtp_intake::watch_maildir(state.clone(), dir);
    }
    outbox::spawn_outbox(state.clone());
    vulns::feeds::spawn(state.clone());
    vulns::triage::spawn_risk_snapshots(state.store.clone());
    reporting::rollup::spawn(state.clone());
    // Peer addresses reach handlers for the public form's per-address limit.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
