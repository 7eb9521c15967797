//! Helpers for the live-monitoring tests: the rules `hikeshi loadgen`'s hits are made for,
//! running loadgen, reading `/metrics`, and counting hits on alerts.

use super::{bin, TestServer};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const WIN_RULE_ID: &str = "0b1c2d3e-0000-4000-8000-000000000001";
pub const SSH_RULE_ID: &str = "0b1c2d3e-0000-4000-8000-000000000002";
pub const TRAIL_RULE_ID: &str = "0b1c2d3e-0000-4000-8000-000000000003";

/// The rules `loadgen`'s hits are made for, and one for CloudTrail.
pub fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir).expect("rules dir");
    std::fs::write(
        dir.join("shadows.yml"),
        format!("title: Shadow Copies Deleted\nid: {WIN_RULE_ID}\nlevel: high\ntags: [attack.impact, attack.t1490]\nlogsource: {{category: process_creation, product: windows}}\ndetection:\n  sel:\n    CommandLine|contains: 'delete shadows'\n  condition: sel\n"),
    )
    .expect("rule");
    std::fs::write(
        dir.join("sshd.yml"),
        format!("title: SSHD Corrupted MAC\nid: {SSH_RULE_ID}\nlevel: medium\nlogsource: {{product: linux, service: sshd}}\ndetection:\n  keywords:\n    - 'Corrupted MAC on input'\n  condition: keywords\n"),
    )
    .expect("rule");
    std::fs::write(
        dir.join("trail.yml"),
        format!("title: CloudTrail Stopped\nid: {TRAIL_RULE_ID}\nlevel: high\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel:\n    eventName: StopLogging\n  condition: sel\n"),
    )
    .expect("rule");
}

/// Runs `hikeshi loadgen` to the end and returns its summary.
pub fn loadgen(args: &[&str]) -> Value {
    let out = Command::new(bin())
        .arg("loadgen")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run loadgen");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("loadgen said: {text}"))
}

/// The value of a metric line, summed over its labels, e.g. `hikeshi_hits_total`.
pub async fn metric(s: &TestServer, prefix: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", s.base))
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

/// Hits counted on alerts of a rule, whatever their state.
pub async fn hits_of(s: &TestServer, token: &str, rule: &str) -> i64 {
    let (_, alerts) = s
        .json(
            Method::GET,
            &format!("/api/v1/alerts?rule={rule}&limit=1000"),
            token,
            None,
        )
        .await;
    alerts
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["count"].as_i64()).sum())
        .unwrap_or(0)
}

pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
