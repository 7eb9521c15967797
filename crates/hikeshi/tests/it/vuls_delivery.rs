//! `vuls report -to-http` against the server: Basic authentication with the token as the
//! password (what Go sends for `http://vuls:TOKEN@host/…`), the body stored before the answer
//! and imported by a job, the same body three times imported once, and the refusals.

use crate::common::{temp_dir, vuls, Db, TestServer};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};

const CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

async fn deliver(s: &TestServer, token: &str, body: &str) -> (StatusCode, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("vuls:{token}"));
    let r = s
        .req(Method::POST, "/api/v1/imports/vuls-http", None)
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn a_pushed_scan_is_stored_first_imported_once_and_refused_when_too_big() {
    let config = temp_dir("vuls-http-config").join("hikeshi.toml");
    std::fs::write(&config, "[vulns]\nhttp_max_bytes = 1048576\n").expect("config");
    let config = config.display().to_string();
    let s = TestServer::start(Db::Sqlite, "vuls_http", &["--config", &config]).await;
    s.add_user("ops", "handler");
    s.add_user("eye", "viewer");
    let scanner = s.ingest_token("ops");
    let token = s.token("ops");
    let body = vuls("web42", "192.0.2.42", &[("CVE-2024-3400", CRIT, "pan-os")]);

    // Three deliveries of one body: one stored delivery, one import.
    let mut ids = Vec::new();
    for n in 0..3 {
        let (st, r) = deliver(&s, &scanner, &body).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(r["duplicate"], n > 0, "{r}");
        assert_eq!(r["server_name"], "web42");
        ids.push(r["id"].as_str().expect("id").to_string());
    }
    assert!(ids.iter().all(|i| *i == ids[0]));
    let stored = s
        .data_dir
        .join("vuls-deliveries")
        .join(format!("{}.json", ids[0]));
    assert_eq!(std::fs::read_to_string(&stored).expect("stored body"), body);
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = loop {
        let (st, d) = s
            .json(
                Method::GET,
                &format!("/api/v1/imports/vuls-http/{}", ids[0]),
                &token,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        if d["state"] != "stored" {
            break d;
        }
        assert!(Instant::now() < deadline, "imported by the job: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["state"], "imported", "{done}");
    let (_, which) = s
        .json(
            Method::GET,
            "/api/v1/findings?cve=cve-2024-3400",
            &token,
            None,
        )
        .await;
    assert_eq!(which.as_array().map(Vec::len), Some(1), "{which}");
    s.add_user("boss", "admin");
    let (_, jobs) = s
        .json(
            Method::GET,
            "/api/v1/jobs?limit=100",
            &s.token("boss"),
            None,
        )
        .await;
    let imports = jobs.as_array().map(|j| {
        j.iter()
            .filter(|j| j["kind"] == "vuls-delivery-import")
            .count()
    });
    assert_eq!(imports, Some(1), "one import job: {jobs}");

    // Over the limit: 413 before anything is stored.
    let big = vuls("web43", "192.0.2.43", &[]).replace(
        "\"family\"",
        &format!("\"pad\":\"{}\",\"family\"", "x".repeat(2 << 20)),
    );
    let (st, r) = deliver(&s, &scanner, &big).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{r}");
    let kept = std::fs::read_dir(s.data_dir.join("vuls-deliveries"))
        .expect("folder")
        .flatten()
        .count();
    assert_eq!(kept, 1, "nothing of the refused body was kept");

    // Not a scan result; no server name; a viewer; no credentials.
    let (st, r) = deliver(&s, &scanner, "{\"jsonVersion\": 4,").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{r}");
    let (st, r) = deliver(&s, &scanner, "{\"jsonVersion\": 4}").await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("serverName")),
        "{r}"
    );
    let (st, _) = deliver(&s, &s.token("eye"), &body).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = deliver(&s, "not-a-token", &body).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
