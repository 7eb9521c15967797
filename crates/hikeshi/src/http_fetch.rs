//! The app's download port ([`hikeshi_app::fetch::Fetch`]) over reqwest with rustls: a
//! two-minute timeout, HTTP errors as errors, and the size limit checked before and while
//! reading.

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use std::time::Duration;

pub struct HttpFetch {
    client: reqwest::Client,
}

impl HttpFetch {
    pub fn new() -> anyhow::Result<HttpFetch> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(HttpFetch { client })
    }
}

impl HttpFetch {
    /// As [`HttpFetch::new`], also trusting the certificates of a PEM file (a private CA).
    pub fn with_ca_file(path: &std::path::Path) -> anyhow::Result<HttpFetch> {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: {e} / 読めません", path.display()))?;
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(120));
        for cert in reqwest::Certificate::from_pem_bundle(&pem)? {
            builder = builder.add_root_certificate(cert);
        }
        Ok(HttpFetch {
            client: builder.build()?,
        })
    }
}

impl hikeshi_app::fetch::Fetch for HttpFetch {
    fn get<'a>(&'a self, url: &'a str, max_bytes: usize) -> BoxFuture<'a, anyhow::Result<Vec<u8>>> {
        Box::pin(async move {
            let response = self.client.get(url).send().await?.error_for_status()?;
            if response
                .content_length()
                .is_some_and(|l| l as usize > max_bytes)
            {
                anyhow::bail!("{url}: larger than {max_bytes} bytes");
            }
            let mut body = Vec::new();
            let mut chunks = response.bytes_stream();
            while let Some(chunk) = chunks.next().await {
                body.extend_from_slice(&chunk?);
                if body.len() > max_bytes {
                    anyhow::bail!("{url}: larger than {max_bytes} bytes");
                }
            }
            Ok(body)
        })
    }
}
