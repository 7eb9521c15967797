//! Downloads from configured URLs (the KEV catalogue, EPSS scores; later TAXII collections) go
//! through this port. The binary plugs in its HTTP client (`hikeshi::http_fetch`, reqwest with
//! rustls), so this crate carries no HTTP stack of its own and tests can hand in files.

use futures_util::future::BoxFuture;

pub trait Fetch: Send + Sync {
    /// The body at `url`, refused when it is larger than `max_bytes`; redirects, timeouts and
    /// HTTP errors are the implementation's to turn into errors.
    fn get<'a>(&'a self, url: &'a str, max_bytes: usize) -> BoxFuture<'a, anyhow::Result<Vec<u8>>>;
}
