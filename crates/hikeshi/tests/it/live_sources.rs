//! Live monitoring, sources and reliability: syslog over TCP and UDP with hostile lines,
//! watched folders across restarts, and SIGKILL in the middle of 100,000 events over HTTP and
//! TCP, after which every hit is counted exactly once. Events come from `hikeshi loadgen`,
//! whose event N is always the same bytes, so a resend is a true resend.

use crate::common::live::{
    hits_of, loadgen, metric, wait_for, write_rules, SSH_RULE_ID, TRAIL_RULE_ID, WIN_RULE_ID,
};
use crate::common::{bin, free_port, temp_dir, Db, TestServer};
use reqwest::Method;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn syslog_tcp_and_udp_with_hostile_lines() {
    let rules = temp_dir("live-syslog-rules");
    write_rules(&rules);
    let (tcp, udp) = (free_port(), free_port());
    let tcp_addr = format!("127.0.0.1:{tcp}");
    let udp_addr = format!("127.0.0.1:{udp}");
    let s = TestServer::start(
        Db::Sqlite,
        "live-syslog",
        &[
            "--rules",
            &rules.display().to_string(),
            "--syslog-tcp",
            &tcp_addr,
            "--syslog-udp",
            &udp_addr,
        ],
    )
    .await;
    s.add_user("soc", "viewer");
    let token = s.token("soc");

    // 5,000 lines, newline and octet-counting framing mixed, 50 of them hits.
    let sent = loadgen(&["--syslog-tcp", &tcp_addr, "--events", "5000"]);
    assert_eq!(sent["hits"], 50);
    wait_for("5,000 TCP events", Duration::from_secs(30), || async {
        metric(&s, "hikeshi_events_parsed_total{source=\"syslog_tcp\"}").await == 5000
    })
    .await;
    // Parsed is counted before the batch's hits are written: wait for those too.
    wait_for(
        "the 50 TCP hits recorded",
        Duration::from_secs(10),
        || async { hits_of(&s, &token, SSH_RULE_ID).await == 50 },
    )
    .await;
    assert_eq!(hits_of(&s, &token, SSH_RULE_ID).await, 50, "and no more");

    // A line that is not UTF-8, a 10 MB line, then a good line, on one connection.
    let mut conn = std::net::TcpStream::connect(&tcp_addr).expect("connect");
    conn.write_all(
        b"<38>Nov 27 01:00:00 web-latin1 sshd[7]: caf\xe9 \xff Corrupted MAC on input\n",
    )
    .expect("write");
    let mut huge = b"<38>Nov 27 01:00:01 web-huge sshd[7]: ".to_vec();
    huge.resize(10 * 1024 * 1024, b'A');
    huge.push(b'\n');
    conn.write_all(&huge).expect("write huge");
    conn.write_all(b"<38>Nov 27 01:00:02 web-after sshd[7]: Corrupted MAC on input\n")
        .expect("write");
    drop(conn);
    wait_for("the hostile lines", Duration::from_secs(30), || async {
        metric(&s, "hikeshi_events_parsed_total{source=\"syslog_tcp\"}").await == 5002
    })
    .await;
    assert_eq!(
        metric(&s, "hikeshi_events_invalid_total{source=\"syslog_tcp\"}").await,
        1,
        "the 10 MB line is refused and counted"
    );
    // Parsing is counted before detection writes the alert: wait for the alerts themselves.
    wait_for(
        "the alerts of both hosts",
        Duration::from_secs(30),
        || async {
            let mut found = 0;
            for host in ["web-latin1", "web-after"] {
                let (_, a) = s
                    .json(
                        Method::GET,
                        &format!("/api/v1/alerts?host={host}"),
                        &token,
                        None,
                    )
                    .await;
                found += a.as_array().map(Vec::len).unwrap_or(0);
            }
            found == 2
        },
    )
    .await;
    for host in ["web-latin1", "web-after"] {
        let (_, a) = s
            .json(
                Method::GET,
                &format!("/api/v1/alerts?host={host}"),
                &token,
                None,
            )
            .await;
        assert_eq!(a.as_array().map(Vec::len), Some(1), "{host}: {a}");
        assert_eq!(a[0]["rule_id"], SSH_RULE_ID);
    }
    let (_, latin) = s
        .json(Method::GET, "/api/v1/alerts?host=web-latin1", &token, None)
        .await;
    assert!(
        latin[0]["events"]
            .as_str()
            .unwrap_or("")
            .contains('\u{fffd}'),
        "undecodable bytes are kept as U+FFFD: {latin}"
    );

    // UDP: one datagram, one message.
    let sent = loadgen(&[
        "--syslog-udp",
        &udp_addr,
        "--events",
        "200",
        "--start",
        "100000",
    ]);
    assert_eq!(sent["hits"], 2);
    wait_for("200 UDP events", Duration::from_secs(30), || async {
        metric(&s, "hikeshi_events_parsed_total{source=\"syslog_udp\"}").await
            + metric(&s, "hikeshi_events_dropped_total{source=\"syslog_udp\"}").await
            == 200
    })
    .await;
    assert_eq!(
        metric(&s, "hikeshi_events_dropped_total{source=\"syslog_udp\"}").await,
        0
    );
    wait_for("the UDP hits recorded", Duration::from_secs(10), || async {
        hits_of(&s, &token, SSH_RULE_ID).await == 50 + 1 + 1 + 2
    })
    .await;
    assert_eq!(
        hits_of(&s, &token, SSH_RULE_ID).await,
        50 + 1 + 1 + 2,
        "and no more"
    );
}

/// SIGKILL in the middle of 100,000 events over HTTP; restart; every acknowledged hit is there;
/// after resending everything each hit is counted exactly once.
async fn http_kill_and_resend(db: Db) {
    let rules = temp_dir("live-kill-rules");
    write_rules(&rules);
    let mut s = TestServer::start(
        db,
        "live_kill_http",
        &["--rules", &rules.display().to_string()],
    )
    .await;
    s.add_user("shipper", "handler");
    let token = s.token("shipper");
    let sender = Command::new(bin())
        .args([
            "loadgen", "--http", &s.base, "--token", &token, "--events", "100000", "--batch",
            "1000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("loadgen");
    wait_for(
        "a third of the events",
        Duration::from_secs(120),
        || async { metric(&s, "hikeshi_events_parsed_total{source=\"http\"}").await >= 30_000 },
    )
    .await;
    s.signal_and_wait("KILL");
    let out = sender.wait_with_output().expect("loadgen output");
    let first: Value = serde_json::from_slice(&out.stdout).expect("summary");
    let acknowledged_hits = first["acknowledged_hits"].as_i64().unwrap_or(0);
    assert!(
        first["failed_batches"].as_i64().unwrap_or(0) > 0,
        "the kill was mid-stream: {first}"
    );
    assert!(acknowledged_hits >= 200, "{first}");

    s.spawn().await;
    let after_restart = hits_of(&s, &token, WIN_RULE_ID).await;
    assert!(
        after_restart >= acknowledged_hits && after_restart <= 1000,
        "every acknowledged hit survives the kill: {after_restart} of {acknowledged_hits} acknowledged"
    );
    // The shipper sends everything again: nothing is counted twice.
    let second = loadgen(&[
        "--http", &s.base, "--token", &token, "--events", "100000", "--batch", "1000",
    ]);
    assert_eq!(second["acknowledged"], 100_000, "{second}");
    assert_eq!(hits_of(&s, &token, WIN_RULE_ID).await, 1000);
    assert!(metric(&s, "hikeshi_hits_repeated_total").await >= acknowledged_hits as u64);
}

#[tokio::test]
async fn http_kill_and_resend_on_sqlite() {
    http_kill_and_resend(Db::Sqlite).await;
}

#[tokio::test]
async fn http_kill_and_resend_on_postgres() {
    http_kill_and_resend(Db::Postgres).await;
}

#[tokio::test]
async fn tcp_syslog_kill_and_resend() {
    let rules = temp_dir("live-kill-tcp-rules");
    write_rules(&rules);
    let tcp_addr = format!("127.0.0.1:{}", free_port());
    let mut s = TestServer::start(
        Db::Sqlite,
        "live-kill-tcp",
        &[
            "--rules",
            &rules.display().to_string(),
            "--syslog-tcp",
            &tcp_addr,
        ],
    )
    .await;
    s.add_user("soc", "viewer");
    let token = s.token("soc");
    let sender = Command::new(bin())
        .args(["loadgen", "--syslog-tcp", &tcp_addr, "--events", "100000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("loadgen");
    wait_for("some events", Duration::from_secs(60), || async {
        metric(&s, "hikeshi_events_parsed_total{source=\"syslog_tcp\"}").await >= 20_000
    })
    .await;
    s.signal_and_wait("KILL");
    let _ = sender.wait_with_output();
    s.spawn().await;
    let survived = hits_of(&s, &token, SSH_RULE_ID).await;
    assert!(survived <= 1000, "{survived}");
    // Plain TCP syslog has no acknowledgement: the sender resends all; hits are not doubled.
    loadgen(&["--syslog-tcp", &tcp_addr, "--events", "100000"]);
    wait_for("the resent events", Duration::from_secs(120), || async {
        metric(&s, "hikeshi_events_parsed_total{source=\"syslog_tcp\"}").await == 100_000
    })
    .await;
    // Events are counted parsed before their hits commit: wait for the last commit, then make
    // sure nothing was counted twice.
    wait_for("the resent hits", Duration::from_secs(30), || async {
        hits_of(&s, &token, SSH_RULE_ID).await >= 1000
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits_of(&s, &token, SSH_RULE_ID).await, 1000);
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

fn generated(events: u64, start: u64) -> String {
    let out = Command::new(bin())
        .args([
            "loadgen",
            "--print",
            "--events",
            &events.to_string(),
            "--start",
            &start.to_string(),
        ])
        .output()
        .expect("loadgen --print");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn watched_folder_reads_each_line_once_across_restarts() {
    let rules = temp_dir("live-watch-rules");
    write_rules(&rules);
    let watch = temp_dir("live-watch");
    let log = watch.join("agent.jsonl");
    append(&log, &generated(300, 0)); // hits at 99, 199, 299
                                      // A CloudTrail delivery file: read whole once it stops growing.
    std::fs::write(
        watch.join("trail.json"),
        r#"{"Records":[{"eventVersion":"1.08","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"ap-northeast-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory"}},{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"ap-northeast-1"}]}"#,
    )
    .expect("trail");
    let mut s = TestServer::start(
        Db::Sqlite,
        "live-watch",
        &[
            "--rules",
            &rules.display().to_string(),
            "--watch",
            &watch.display().to_string(),
        ],
    )
    .await;
    s.add_user("soc", "viewer");
    let token = s.token("soc");
    wait_for("the first lines", Duration::from_secs(30), || async {
        hits_of(&s, &token, WIN_RULE_ID).await == 3
    })
    .await;
    wait_for("the CloudTrail file", Duration::from_secs(30), || async {
        hits_of(&s, &token, TRAIL_RULE_ID).await == 1
    })
    .await;
    let (_, trail) = s
        .json(
            Method::GET,
            &format!("/api/v1/alerts?rule={TRAIL_RULE_ID}"),
            &token,
            None,
        )
        .await;
    assert_eq!(trail[0]["src_ip"], "198.51.100.7");
    assert!(trail[0]["user_name"]
        .as_str()
        .unwrap_or("")
        .ends_with("user/mallory"));

    // The file grows; a half-written last line waits for its newline.
    let more = generated(200, 300); // hits at 399, 499
    let (whole, partial) = more.split_at(more.len() - 300);
    append(&log, whole);
    wait_for("the appended lines", Duration::from_secs(30), || async {
        hits_of(&s, &token, WIN_RULE_ID).await == 4
    })
    .await;
    append(&log, partial);
    wait_for("the completed line", Duration::from_secs(30), || async {
        hits_of(&s, &token, WIN_RULE_ID).await == 5
    })
    .await;

    // A restart resumes from the remembered position: nothing is read twice.
    s.signal_and_wait("TERM");
    append(&log, &generated(100, 500)); // hit at 599
    s.spawn().await;
    wait_for(
        "the lines written while stopped",
        Duration::from_secs(30),
        || async { hits_of(&s, &token, WIN_RULE_ID).await >= 6 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hits_of(&s, &token, WIN_RULE_ID).await, 6);
    assert_eq!(hits_of(&s, &token, TRAIL_RULE_ID).await, 1);
    assert_eq!(
        metric(&s, "hikeshi_events_parsed_total{source=\"folder\"}").await,
        100,
        "after the restart only the 100 new lines were read"
    );
}
