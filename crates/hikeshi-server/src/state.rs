//! What every request handler shares: the app (store, configuration, calendar, pipeline) and
//! the web crate's own settings. It dereferences to [`App`], so `&state` is what a use case is
//! given.

use hikeshi_app::App;
use std::net::SocketAddr;
use std::sync::Arc;

/// The web part of the configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// Largest evidence upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Mark cookies `Secure`. Browsers accept Secure cookies from http://127.0.0.1 and
    /// http://localhost; any other address needs TLS in front of hikeshi.
    pub secure_cookies: bool,
    /// Requests with large bodies (event batches, scanner reports, imports) handled at once;
    /// more are answered 503 with Retry-After, so a flood cannot take the memory.
    pub max_large_requests: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_upload_bytes: 100 * 1024 * 1024,
            secure_cookies: true,
            max_large_requests: 4,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub web: Arc<WebConfig>,
    /// Slots for requests with large bodies ([`WebConfig::max_large_requests`]).
    pub large: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    pub fn new(app: App, web: WebConfig) -> Self {
        AppState {
            large: Arc::new(tokio::sync::Semaphore::new(web.max_large_requests.max(1))),
            app,
            web: Arc::new(web),
        }
    }
}
