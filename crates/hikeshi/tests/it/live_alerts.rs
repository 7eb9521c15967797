//! Working the alerts: suppression rules (author, reason, expiry, audited; silenced hits still
//! counted), escalation to a new or existing case by hand, grouping rules that open and fill
//! cases, rule reload without restart, and the live queue page in both languages.

use crate::common::live::{hits_of, loadgen, write_rules, WIN_RULE_ID};
use crate::common::{temp_dir, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// loadgen's Windows hits all land on this host (event N with N % 100 == 99).
const HIT_HOST: &str = "WS-0049.corp.example.jp";

async fn send(s: &TestServer, token: &str, events: u64, start: u64) {
    let out = loadgen(&[
        "--http",
        &s.base,
        "--token",
        token,
        "--events",
        &events.to_string(),
        "--start",
        &start.to_string(),
    ]);
    assert_eq!(out["acknowledged"].as_u64(), Some(events), "{out}");
}

async fn alerts(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (st, v) = s
        .json(Method::GET, &format!("/api/v1/alerts?{query}"), token, None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn suppress_and_escalate(db: Db, name: &str) {
    let rules = temp_dir("live-alert-rules");
    write_rules(&rules);
    let s = TestServer::start(db, name, &["--rules", &rules.display().to_string()]).await;
    s.add_user("hana", "handler");
    s.add_user("vic", "viewer");
    s.add_user("root", "admin");
    let token = s.token("hana");
    let viewer = s.token("vic");
    let admin = s.token("root");

    // A suppression needs a scope, a reason and an expiry of 1 to 366 days.
    for (body, field) in [
        (json!({"reason": "noise", "days": 7}), "rule_id"),
        (json!({"host": HIT_HOST, "days": 7, "reason": ""}), "reason"),
        (
            json!({"host": HIT_HOST, "reason": "backup job", "days": 0}),
            "days",
        ),
        (json!({"field": "User", "reason": "x", "days": 3}), "value"),
    ] {
        let (st, e) = s
            .json(Method::POST, "/api/v1/suppressions", &token, Some(body))
            .await;
        assert_eq!(
            (st, e["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{e}"
        );
    }
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/suppressions",
            &viewer,
            Some(json!({"host": HIT_HOST, "reason": "x", "days": 1})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, sup) = s
        .json(
            Method::POST,
            "/api/v1/suppressions",
            &token,
            Some(json!({"rule_id": WIN_RULE_ID, "host": HIT_HOST, "reason": "nightly backup deletes shadows", "days": 7})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sup}");
    assert_eq!(sup["author"], "hana");

    // Silenced hits are counted on a `suppressed` alert, not shown in the queue.
    send(&s, &token, 1000, 0).await;
    let open = alerts(&s, &token, "status=new,acknowledged").await;
    assert!(open.iter().all(|a| a["rule_id"] != WIN_RULE_ID), "{open:?}");
    let silenced = alerts(&s, &token, "status=suppressed").await;
    assert_eq!(silenced.len(), 2, "one per user: {silenced:?}");
    assert_eq!(
        silenced
            .iter()
            .map(|a| a["count"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        10
    );
    assert!(silenced.iter().all(|a| a["suppression_id"] == sup["id"]));
    let (_, list) = s
        .json(Method::GET, "/api/v1/suppressions", &viewer, None)
        .await;
    assert_eq!(list[0]["hits"], 10, "{list}");

    // Revoked: new hits open an alert again. The change is audited.
    let id = sup["id"].as_str().unwrap_or_default();
    let (st, revoked) = s
        .json(
            Method::POST,
            &format!("/api/v1/suppressions/{id}/revoke"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        (st, revoked["revoked_by"].as_str()),
        (StatusCode::OK, Some("hana"))
    );
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/suppressions/{id}/revoke"),
            &token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    send(&s, &token, 500, 1000).await;
    let open = alerts(&s, &token, &format!("status=new&rule={WIN_RULE_ID}")).await;
    assert_eq!(open.len(), 2, "one alert per user: {open:?}");
    assert_eq!(
        open.iter()
            .map(|a| a["count"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        5
    );
    assert_eq!(
        hits_of(&s, &token, WIN_RULE_ID).await,
        15,
        "suppressed hits still count"
    );
    let (_, audit) = s
        .json(
            Method::GET,
            "/api/v1/audit?object_type=suppression",
            &admin,
            None,
        )
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .or(audit.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"suppression.create") && actions.contains(&"suppression.revoke"),
        "{audit}"
    );

    // Escalate one alert to a new case: host, user and the alert are on it.
    let first = open[0]["id"].as_str().unwrap_or_default().to_string();
    let second = open[1]["id"].as_str().unwrap_or_default().to_string();
    let (st, case) = s
        .json(
            Method::POST,
            "/api/v1/alerts/escalate",
            &token,
            Some(json!({"alert_ids": [first]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{case}");
    assert_eq!(case["severity"], "high");
    let number = case["number"].as_str().unwrap_or_default().to_string();
    let (_, detail) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &token,
            None,
        )
        .await;
    let observables: Vec<(String, String)> = detail["observables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or("").into(),
                o["value"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        observables
            .iter()
            .any(|(k, v)| k == "host" && v.eq_ignore_ascii_case(HIT_HOST)),
        "{observables:?}"
    );
    assert!(
        observables.iter().any(|(k, _)| k == "user_account"),
        "{observables:?}"
    );
    assert!(detail["timeline"]
        .to_string()
        .contains("Shadow Copies Deleted"));
    // ...and the other into the same case.
    let (st, same) = s
        .json(
            Method::POST,
            "/api/v1/alerts/escalate",
            &token,
            Some(json!({"alert_ids": [second], "case": number})),
        )
        .await;
    assert_eq!(
        (st, same["number"].as_str()),
        (StatusCode::OK, Some(number.as_str()))
    );
    let escalated = alerts(&s, &token, "status=escalated").await;
    assert_eq!(escalated.len(), 2);
    assert!(escalated.iter().all(|a| a["case_id"] == case["id"]));
    // New hits fold into the escalated alert; they do not open another.
    send(&s, &token, 100, 2000).await;
    assert_eq!(alerts(&s, &token, "status=new").await.len(), 0);

    // Bulk: close, and a false positive needs a reason.
    send(&s, &token, 100, 0).await; // a body already sent: nothing new is counted
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/alerts/bulk",
            &token,
            Some(json!({"alert_ids": [first], "status": "false_positive"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/alerts/bulk",
            &token,
            Some(json!({"alert_ids": [first, second], "status": "suppressed"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    let (st, closed) = s
        .json(
            Method::POST,
            "/api/v1/alerts/bulk",
            &token,
            Some(json!({"alert_ids": [first, second], "status": "closed", "reason": "handled in the case"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    assert!(closed
        .as_array()
        .is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["status"] == "closed")));

    // Reload: a rule added to the folder works without a restart (administrators only).
    std::fs::write(
        rules.join("excel.yml"),
        "title: Excel Started\nid: 0b1c2d3e-0000-4000-8000-000000000009\nlevel: low\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\EXCEL.EXE'\n  condition: sel\n",
    )
    .expect("rule");
    let (st, _) = s
        .json(Method::POST, "/api/v1/rules/reload", &token, None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = s
        .json(Method::POST, "/api/v1/rules/reload", &admin, None)
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert!(
        r["loaded"].as_str().unwrap_or("").starts_with("4 rules"),
        "{r}"
    );
    send(&s, &token, 10, 5000).await;
    assert_eq!(
        hits_of(&s, &token, "0b1c2d3e-0000-4000-8000-000000000009").await,
        2
    );
}

#[tokio::test]
async fn suppress_escalate_and_reload_on_sqlite() {
    suppress_and_escalate(Db::Sqlite, "live_alerts").await;
}

#[tokio::test]
async fn suppress_escalate_and_reload_on_postgres() {
    suppress_and_escalate(Db::Postgres, "live_alerts").await;
}

#[tokio::test]
async fn grouping_rules_open_one_case_per_host() {
    let rules = temp_dir("live-group-rules");
    write_rules(&rules);
    let config = rules.join("hikeshi.toml");
    std::fs::write(
        &config,
        "[live]\n[[live.grouping]]\nby = \"host\"\nwindow_hours = 24\nmin_level = \"medium\"\n",
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "live-group",
        &[
            "--rules",
            &rules.display().to_string(),
            "--config",
            &config.display().to_string(),
        ],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    // Two alerts (two users) on one host, then another rule's hit on the same host.
    send(&s, &token, 1000, 0).await;
    let body = "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"WS-0049.corp.example.jp\",\"CommandLine\":\"vssadmin delete shadows\",\"User\":\"CORP\\\\other\"}\n{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"WS-0007\",\"CommandLine\":\"vssadmin delete shadows\",\"User\":\"CORP\\\\x\"}\n";
    let r = s
        .req(Method::POST, "/api/v1/events", Some(&token))
        .body(body)
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), StatusCode::OK);
    let all = alerts(&s, &token, &format!("rule={WIN_RULE_ID}")).await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|a| a["status"] == "escalated"), "{all:?}");
    let on = |host: &str| -> Vec<String> {
        all.iter()
            .filter(|a| {
                a["host"]
                    .as_str()
                    .is_some_and(|h| h.eq_ignore_ascii_case(host))
            })
            .map(|a| a["case_id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let big = on(HIT_HOST);
    assert_eq!(big.len(), 3);
    assert!(
        big.iter().all(|c| !c.is_empty() && c == &big[0]),
        "one case per host: {big:?}"
    );
    let small = on("WS-0007");
    assert_eq!(small.len(), 1);
    assert_ne!(small[0], big[0]);
    let (_, cases) = s.json(Method::GET, "/api/v1/cases", &token, None).await;
    assert_eq!(cases["total"], 2, "{cases}");
}

/// Reads the stream until the next `changed` event; fails after `secs` seconds.
async fn next_change(stream: &mut reqwest::Response, secs: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut seen = String::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no change event within {secs} s; got {seen:?}"
        );
        match tokio::time::timeout(left, stream.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                seen.push_str(&String::from_utf8_lossy(&bytes));
                if let Some(at) = seen.find("event: changed") {
                    return seen[at..].to_string();
                }
            }
            other => panic!("stream ended: {other:?}"),
        }
    }
}

/// The queue page's feed says when alerts change: a new hit, a folded hit, a state change.
async fn queue_feed_reports_changes(db: Db, name: &str) {
    let rules = temp_dir("feed-rules");
    write_rules(&rules);
    let rules_arg = rules.display().to_string();
    let s = TestServer::start(db, name, &["--rules", &rules_arg]).await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let mut feed = s
        .req(Method::GET, "/api/v1/alerts/stream", Some(&token))
        .send()
        .await
        .expect("stream");
    assert_eq!(feed.status(), StatusCode::OK);
    next_change(&mut feed, 5).await;
    let hit = "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"WS-7\",\"CommandLine\":\"vssadmin delete shadows\",\"User\":\"CORP\\\\x\"}\n";
    for round in 0..2 {
        // A new alert, then the same hit again folded into it (the body differs by a space).
        let body = format!("{}{hit}", " ".repeat(round));
        let r = s
            .req(Method::POST, "/api/v1/events", Some(&token))
            .body(body)
            .send()
            .await
            .expect("events");
        assert_eq!(r.status(), StatusCode::OK);
        next_change(&mut feed, 10).await;
    }
    let all = alerts(&s, &token, &format!("rule={WIN_RULE_ID}")).await;
    assert_eq!(
        (all.len(), all[0]["count"].as_i64()),
        (1, Some(2)),
        "{all:?}"
    );
    let id = all[0]["id"].as_str().expect("id").to_string();
    let (st, v) = s
        .json(
            Method::POST,
            "/api/v1/alerts/bulk",
            &token,
            Some(json!({"alert_ids": [id], "status": "acknowledged", "reason": "seen"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    next_change(&mut feed, 10).await;
    let _ = std::fs::remove_dir_all(rules);
}

#[tokio::test]
async fn queue_feed_reports_changes_on_sqlite() {
    queue_feed_reports_changes(Db::Sqlite, "feed").await;
}

#[tokio::test]
async fn queue_feed_reports_changes_on_postgres() {
    queue_feed_reports_changes(Db::Postgres, "feed").await;
}
