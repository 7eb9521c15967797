//! `hikeshi bench response`: how fast a proposed block becomes active (verified in nftables),
//! and how long the reconciler takes over 10,000 blocks in force. It writes to nftables, so it
//! runs only in a network namespace of its own: `unshare -rn hikeshi bench response`.
//! A benchmark, not a test: it prints figures and asserts nothing.

use anyhow::Context;
use hikeshi_app::config::AppConfig;
use hikeshi_app::response::nftables::NftSettings;
use hikeshi_app::response::propose::propose;
use hikeshi_app::response::reconcile::reconcile_once;
use hikeshi_app::response::{Policy, Trigger};
use hikeshi_app::App;
use std::time::{Duration, Instant};

pub async fn run(latency_actions: usize, in_force: usize) -> anyhow::Result<()> {
    refuse_outside_a_namespace()?;
    let temp = std::env::temp_dir().join(format!("hikeshi-bench-response-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let store = hikeshi_store::Store::open_sqlite(&temp).await?;
    store.migrate().await?;
    let policy: Policy = toml::from_str(
        "name = \"bench\"\ntarget = \"src_ip\"\naction = \"block_ip\"\nmode = \"auto\"\nttl_secs = 3600\n",
    )?;
    let mut config = AppConfig {
        data_dir: temp.clone(),
        ..AppConfig::default()
    };
    config.response.nftables = Some(NftSettings::default());
    config.response.policies = vec![policy.clone()];
    let app = App::new(store.clone(), config);
    reconcile_once(&app).await.map_err(anyhow::Error::msg)?;

    // Alert → active: propose, then the reconciler's pass that applies and reads it back.
    let mut took = Vec::with_capacity(latency_actions);
    for n in 0..latency_actions {
        let started = Instant::now();
        block(&app, &policy, n).await?;
        reconcile_once(&app).await.map_err(anyhow::Error::msg)?;
        took.push(started.elapsed());
    }
    took.sort();
    println!(
        "proposed → active (verified), {latency_actions} actions one after another: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&took, 0.50)),
        ms(percentile(&took, 0.99))
    );

    // Up to `in_force` blocks, then three passes: rebuild after a flush, no drift, repair of 10 %.
    for n in latency_actions..in_force {
        block(&app, &policy, n).await?;
    }
    let first = timed(&app).await?;
    println!(
        "first pass over {in_force} new blocks (apply and verify): {:.0} ms",
        ms(first)
    );
    nft(&["flush", "ruleset"])?;
    println!(
        "rebuild after nft flush ruleset, {in_force} blocks: {:.0} ms",
        ms(timed(&app).await?)
    );
    println!(
        "pass with nothing to repair, {in_force} blocks: {:.0} ms",
        ms(timed(&app).await?)
    );
    let gone: Vec<String> = (0..in_force / 10).map(address).collect();
    for chunk in gone.chunks(500) {
        nft(&[
            "delete",
            "element",
            "inet",
            "hikeshi",
            "block_v4",
            &format!("{{ {} }}", chunk.join(", ")),
        ])?;
    }
    println!(
        "repair of {} elements deleted by hand among {in_force}: {:.0} ms",
        gone.len(),
        ms(timed(&app).await?)
    );
    restore_5mb(&app, &temp).await?;
    store.close().await;
    let _ = std::fs::remove_dir_all(&temp);
    Ok(())
}

/// A 5 MB file tampered with, then one content scan that finds it, keeps the tampered bytes
/// and writes the known-good copy back (hashing included), 20 times.
async fn restore_5mb(app: &App, temp: &std::path::Path) -> anyhow::Result<()> {
    use hikeshi_app::response::content::{promote, scan_once, ContentSettings};
    let site = ContentSettings {
        name: "bench".into(),
        root: temp.join("www"),
        store: temp.join("baseline"),
        quarantine: temp.join("quarantine"),
        scan_every_ms: 1000,
    };
    std::fs::create_dir_all(&site.root)?;
    let good: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let file = site.root.join("big.bin");
    std::fs::write(&file, &good)?;
    promote(app, &site, "bench")
        .await
        .map_err(anyhow::Error::msg)?;
    let mut took = Vec::new();
    for n in 0..20u8 {
        std::fs::write(&file, vec![n; good.len()])?;
        let started = Instant::now();
        let scan = scan_once(app, &site).await.map_err(anyhow::Error::msg)?;
        took.push(started.elapsed());
        anyhow::ensure!(
            scan.restored.len() == 1,
            "the file was not restored: {scan:?}"
        );
        // The evidence copies would fill the disk over many runs.
        let _ = std::fs::remove_dir_all(&site.quarantine);
    }
    took.sort();
    println!(
        "content restore of a tampered 5 MB file (detect, keep evidence, write back), 20 runs: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&took, 0.50)),
        ms(percentile(&took, 0.99))
    );
    Ok(())
}

async fn block(app: &App, policy: &Policy, n: usize) -> anyhow::Result<()> {
    let ip = address(n);
    let trigger = Trigger {
        alert_id: None,
        rule_id: "bench",
        level: "high",
        tags: "[]",
        src_ip: &ip,
        dst_ip: "",
        host: "",
    };
    let target =
        hikeshi_app::response::guardrails::Target::Net(ip.parse::<std::net::IpAddr>()?.into());
    propose(app, policy, &trigger, target).await?;
    Ok(())
}

async fn timed(app: &App) -> anyhow::Result<Duration> {
    let started = Instant::now();
    reconcile_once(app).await.map_err(anyhow::Error::msg)?;
    Ok(started.elapsed())
}

fn address(n: usize) -> String {
    let n = n + 1;
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn nft(args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("nft")
        .args(args)
        .status()
        .context("run nft")?;
    anyhow::ensure!(status.success(), "nft {} failed", args.join(" "));
    Ok(())
}

/// The machine's own firewall is not a benchmark's to change: a fresh network namespace has
/// loopback and nothing else.
fn refuse_outside_a_namespace() -> anyhow::Result<()> {
    // /proc/self/net follows the process's network namespace (/sys/class/net does not).
    let devices =
        std::fs::read_to_string("/proc/self/net/dev").context("read /proc/self/net/dev")?;
    let others: Vec<String> = devices
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(|name| name.trim().to_string())
        .filter(|name| name != "lo")
        .collect();
    anyhow::ensure!(
        others.is_empty(),
        "bench response writes to nftables: run it in a network namespace of its own, as `unshare -rn hikeshi bench response` (this one has {})",
        others.join(", ")
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
