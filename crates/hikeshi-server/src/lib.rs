//! The HTTP side of hikeshi: REST API, server-rendered web UI, sessions and authentication.

mod api;
pub mod auth;
mod body;
pub mod error;
mod json;
mod markdown;
mod monthly_html;
pub mod state;
pub mod tls;
mod ui;
mod upload;

pub use state::{AppState, WebConfig};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use std::future::{Future, IntoFuture};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api::routes(&state))
        .merge(ui::routes(&state))
        .fallback(ui::no_such_page)
        .layer(axum::extract::DefaultBodyLimit::max(json::JSON_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        // Pages and API answers hold case data: no cache keeps them (static files set their own).
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(TraceLayer::new_for_http());
    // Over HTTPS, browsers are told to come back only that way.
    let router = if state.app.config.tls.is_some() {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        router
    };
    router.with_state(state)
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

/// Prometheus text: live-monitoring counters (when this node runs a pipeline) and response
/// actions by state with the reconciler's counters.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state
        .live
        .as_ref()
        .map(|l| l.metrics.render(l.queue_depth()))
        .unwrap_or_default();
    body.push_str(&hikeshi_app::response::metrics::render(&state).await);
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
    live: std::sync::Arc<hikeshi_app::live::Live>,
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

/// How long requests still open at shutdown may take (a browser's alert stream never ends).
const DRAIN: std::time::Duration = std::time::Duration::from_secs(3);
/// How long background work may take to stop.
const STOP_JOBS: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves until `shutdown` resolves, then lets in-flight requests finish for a few seconds
/// while `runner`'s background work stops. Starts the SMTP intake when configured.
pub async fn serve(
    state: AppState,
    runner: hikeshi_app::jobs::Runner,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = state.web.listen;
    // The certificate is read before anything listens: a bad file stops the start, loudly.
    let tls = state
        .app
        .config
        .tls
        .as_ref()
        .map(tls::acceptor)
        .transpose()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, https = tls.is_some(), "hikeshi listening");
    if let Some(smtp) = state.app.config.smtp_listen {
        hikeshi_app::intake::smtp::start(state.app.clone(), smtp, runner.shutdown()).await?;
    }
    match tls {
        None => serve_on(listener, state, runner, shutdown).await,
        Some(acceptor) => {
            // tap_io lets the peer address reach handlers as for plain TCP.
            let listener = tls::TlsListener::new(listener, acceptor)?.tap_io(|_| {});
            serve_on(listener, state, runner, shutdown).await
        }
    }
}

async fn serve_on<L>(
    listener: L,
    state: AppState,
    runner: hikeshi_app::jobs::Runner,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    for<'a> std::net::SocketAddr:
        axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    // Peer addresses reach handlers for the public form's per-address limit.
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    });
    let mut stopping_jobs = stopping.clone();
    let drained = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN).await;
    };
    let serving = async move {
        tokio::select! {
            served = server.into_future() => served,
            _ = drained => {
                tracing::warn!("requests still open after {DRAIN:?}; closing them");
                Ok(())
            }
        }
    };
    // Background work stops while the last requests finish, not after them.
    let jobs_stopped = async move {
        let _ = stopping_jobs.wait_for(|s| *s).await;
        runner.stop(STOP_JOBS).await;
    };
    let (served, ()) = tokio::join!(serving, jobs_stopped);
    served?;
    Ok(())
}
