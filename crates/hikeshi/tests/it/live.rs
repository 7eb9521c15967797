//! Live monitoring, first part: NDJSON events over HTTP become alerts, folded by rule, host
//! and user; bad lines are reported by number and the rest is accepted.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const RULE: &str = "title: Mimikatz Command Line
id: 11111111-2222-3333-4444-555555555555
level: high
tags: [attack.credential-access, attack.t1003.001]
logsource: {category: process_creation, product: windows}
detection:
  selection:
    CommandLine|contains: 'sekurlsa::'
  condition: selection
";

fn event(host: &str, cmd: &str) -> String {
    format!("{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"{host}\",\"User\":\"CORP\\\\alice\",\"CommandLine\":\"{cmd}\"}}\n")
}

async fn ingest(s: &TestServer, token: &str, body: String) -> (StatusCode, Value) {
    let r = s
        .req(Method::POST, "/api/v1/events", Some(token))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("post events");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn live(db: Db) {
    let dir = temp_dir("live-rules");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("mimikatz.yml"), RULE).expect("rule");
    let rules = dir.display().to_string();
    let s = TestServer::start(db, "live", &["--rules", &rules]).await;
    s.add_user("shipper", "viewer");
    // The shipper sends with an ingest token and reads with its own viewer token.
    let token = s.ingest_token("shipper");
    let reader = s.token("shipper");

    // 1,000 events, 30 hits on two hosts, one bad line in the middle.
    let mut body = String::new();
    for n in 0..1000 {
        if n == 500 {
            body.push_str("{not json\n");
        }
        let host = if n % 2 == 0 { "pc1" } else { "pc2" };
        let cmd = if n % 33 == 0 {
            "mimikatz sekurlsa::logonpasswords"
        } else {
            "notepad.exe"
        };
        body.push_str(&event(host, cmd));
    }
    let (st, r) = ingest(&s, &token, body).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["accepted"], 1000);
    assert_eq!(r["hits"], 31, "{r}");
    assert_eq!(r["invalid"][0]["line"], 501);
    assert!(r["invalid"][0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("invalid JSON"));
    assert_eq!(r["alerts_created"], 2, "one alert per host: {r}");

    let (_, alerts) = s.json(Method::GET, "/api/v1/alerts", &reader, None).await;
    let list = alerts.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{alerts}");
    let total: i64 = list.iter().map(|a| a["count"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, 31);
    assert!(list
        .iter()
        .all(|a| a["rule_id"] == "11111111-2222-3333-4444-555555555555" && a["level"] == "high"));
    assert!(list.iter().all(|a| a["user_name"] == "CORP\\alice"));
    let kept: Vec<Value> =
        serde_json::from_str(list[0]["events"].as_str().unwrap_or("[]")).unwrap_or_default();
    assert_eq!(kept.len(), 10, "ten events kept, the count goes on");

    // More of the same fold into the open alerts.
    let (_, r) = ingest(&s, &token, event("pc1", "sekurlsa::pth")).await;
    assert_eq!(
        (r["hits"].as_i64(), r["alerts_created"].as_i64()),
        (Some(1), Some(0))
    );
    let (_, pc1) = s
        .json(Method::GET, "/api/v1/alerts?host=pc1", &reader, None)
        .await;
    assert_eq!(pc1[0]["count"], 17);

    // An analyst judges one alert a false positive (a reason is required), closes the other.
    s.add_user("hana", "handler");
    let handler = s.token("hana");
    let id = pc1[0]["id"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/v1/alerts/{id}");
    let (st, e) = s
        .json(
            Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"status": "false_positive"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    let (st, _) = s
        .json(
            Method::PATCH,
            &path,
            &reader,
            Some(serde_json::json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "viewers cannot change alerts");
    let (st, e) = s
        .json(
            Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"status": "escalated"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let (st, a) = s
        .json(
            Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"status": "false_positive", "reason": "admin test box"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(
        (
            a["status"].as_str(),
            a["status_reason"].as_str(),
            a["status_by"].as_str()
        ),
        (Some("false_positive"), Some("admin test box"), Some("hana"))
    );
    // A new hit on pc1 opens a fresh alert: the judged one stays as it was.
    let (_, r) = ingest(&s, &token, event("pc1", "sekurlsa::tickets")).await;
    assert_eq!(r["alerts_created"], 1);
    let (_, open) = s
        .json(Method::GET, "/api/v1/alerts?status=new", &reader, None)
        .await;
    assert_eq!(open.as_array().map(|a| a.len()), Some(2));

    // Over the body limit: refused; without a token: refused.
    let (st, _) = ingest(&s, &token, "x".repeat(11 * 1024 * 1024)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let r = s
        .req(Method::POST, "/api/v1/events", None)
        .body(event("pc3", "x"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn live_events_on_sqlite() {
    live(Db::Sqlite).await;
}

#[tokio::test]
async fn live_events_on_postgres() {
    live(Db::Postgres).await;
}

#[tokio::test]
async fn without_rules_the_events_endpoint_says_so() {
    let s = TestServer::start(Db::Sqlite, "live_norules", &[]).await;
    s.add_user("shipper", "viewer");
    let token = s.ingest_token("shipper");
    let (st, r) = ingest(&s, &token, event("pc1", "x")).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r["error"]["code"], "no_rules");
    let (_, spec) = s
        .json(
            Method::GET,
            "/api/v1/openapi.json",
            &s.token("shipper"),
            None,
        )
        .await;
    for path in ["/api/v1/events", "/api/v1/alerts"] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}
