//! The CISA KEV catalogue and EPSS scores fetched from configured URLs on a schedule, for
//! deployments with network access (`[vulns] kev_url`, `epss_url`, `refresh_hours`). A failed
//! fetch is logged and the previous data stays; the next attempt comes at the next interval.

use super::{actions, intel};
use crate::App;
use std::io::Read;
use std::time::Duration;

/// Larger downloads are refused (the KEV catalogue is ~1 MB, EPSS ~10 MB unpacked).
const MAX_DOWNLOAD: usize = 200 * 1024 * 1024;

/// A download, unpacked when it is gzip: EPSS is published as .csv.gz, whatever the headers say.
async fn fetch(fetcher: &dyn crate::fetch::Fetch, url: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = fetcher.get(url, MAX_DOWNLOAD).await?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(MAX_DOWNLOAD as u64 + 1)
            .read_to_end(&mut out)?;
        if out.len() > MAX_DOWNLOAD {
            anyhow::bail!("{url}: larger than {MAX_DOWNLOAD} bytes unpacked");
        }
        return Ok(out);
    }
    Ok(bytes)
}

/// One round: fetch what is configured, load it, run the automatic rule.
pub async fn refresh(app: &App) -> anyhow::Result<(usize, usize)> {
    let feeds = &app.config.vulns;
    let Some(client) = app.fetch.as_deref() else {
        anyhow::bail!("this node has no HTTP client for downloads");
    };
    let mut counts = (0, 0);
    if let Some(url) = &feeds.kev_url {
        let bytes = fetch(client, url).await?;
        let entries = intel::parse_kev(url, &bytes)?;
        counts.0 = app.store.load_kev(&entries).await?;
    }
    if let Some(url) = &feeds.epss_url {
        let bytes = fetch(client, url).await?;
        let scores = intel::parse_epss(url, &bytes)?;
        counts.1 = app.store.load_epss(&scores).await?;
    }
    if let Some(rule) = &app.config.vulns.auto_case {
        actions::apply(app, rule)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    super::triage::record_risk_snapshot(app).await?;
    Ok(counts)
}

/// The scheduled refresh, when a KEV or EPSS URL is configured.
pub fn periodic(app: &App) -> Option<crate::jobs::Periodic> {
    let feeds = &app.config.vulns;
    if feeds.kev_url.is_none() && feeds.epss_url.is_none() {
        return None;
    }
    if app.fetch.is_none() {
        tracing::warn!("KEV/EPSS URLs are configured but this node cannot download");
        return None;
    }
    let every = Duration::from_secs_f64(
        feeds
            .refresh_hours
            .unwrap_or(24.0)
            .clamp(0.001, 24.0 * 30.0)
            * 3600.0,
    );
    Some(crate::jobs::Periodic::new("vuln-feeds", every, |app| {
        Box::pin(async move {
            match refresh(&app).await {
                Ok((kev, epss)) => {
                    tracing::info!(kev, epss, "vulnerability intelligence refreshed")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "vulnerability intelligence not refreshed; the previous data stays")
                }
            }
        })
    }))
}
