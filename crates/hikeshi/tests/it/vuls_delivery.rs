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

/// Logs what it is told (`add <target>`); a patch tool stand-in.
const PATCHER: &str = r#"#!/bin/sh
read -r message
target=$(printf '%s' "$message" | sed -n 's/.*"srcip":"\([^"]*\)".*/\1/p')
case "$message" in
  *'"command":"add"'*) echo "add $target" >> "$1" ;;
  *) echo "other $target" >> "$1" ;;
esac
"#;

async fn plans(s: &TestServer, token: &str) -> Vec<Value> {
    let (st, v) = s
        .json(
            Method::GET,
            "/api/v1/response/actions?policy=vulns.auto_case",
            token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn wait_plans(s: &TestServer, token: &str, state: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = plans(s, token).await;
        if all.iter().filter(|p| p["state"] == state).count() == n {
            return all;
        }
        assert!(Instant::now() < deadline, "{n} plans {state}: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_kev_finding_gets_a_patch_plan_that_the_next_scan_verifies() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("vuls-patch");
    let log = dir.join("patch.log");
    let script = dir.join("patch");
    std::fs::write(&script, PATCHER).expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "[vulns]\nauto_case = {{ kev = true, patch_connector = \"exec:patch\" }}\n\n[response]\nreconcile_every_ms = 200\nlease_ms = 2000\n\n[[response.exec]]\nname = \"patch\"\nprogram = \"{}\"\nargs = [\"{}\"]\n",
            script.display(),
            log.display()
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let s = TestServer::start(Db::Sqlite, "vuls_patch", &["--config", &config]).await;
    s.add_user("ops", "handler");
    s.add_user("boss", "admin");
    let token = s.token("ops");
    let kev = serde_json::json!({"vulnerabilities": [
        {"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12"},
        {"cveID": "CVE-2024-1086", "dateAdded": "2024-05-30"}]});
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/intel/kev",
            &s.token("boss"),
            Some(kev),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // The first scan: two KEV findings with fixes, two cases, two plans waiting.
    let first = vuls(
        "web42",
        "192.0.2.42",
        &[
            ("CVE-2024-3400", CRIT, "pan-os"),
            ("CVE-2024-1086", CRIT, "linux"),
        ],
    );
    let (st, r) = deliver(&s, &s.ingest_token("ops"), &first).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let waiting = wait_plans(&s, &token, "pending_approval", 2).await;
    let (_, cases) = s
        .json(Method::GET, "/api/v1/cases?q=web42", &token, None)
        .await;
    assert_eq!(cases["total"], 2, "{cases}");
    for plan in &waiting {
        assert_eq!(plan["kind"], "remediate_vuln");
        assert!(
            plan["plan"]
                .as_str()
                .unwrap_or("")
                .contains("to 9.9.9 on web42"),
            "{plan}"
        );
        assert!(
            std::fs::read_to_string(&log).unwrap_or_default().is_empty(),
            "nothing before the approval"
        );
        let id = plan["id"].as_str().expect("id");
        let (st, v) = crate::response::approve(&s, &token, id, &plan["plan_hash"]).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    wait_plans(&s, &token, "active", 2).await;
    let told = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        told.contains("add web42/CVE-2024-3400/pan-os")
            && told.contains("add web42/CVE-2024-1086/linux"),
        "{told}"
    );

    // The next scan: one finding gone (verified fixed), one still there (the plan fails).
    let second = vuls("web42", "192.0.2.42", &[("CVE-2024-1086", CRIT, "linux")]);
    let (st, r) = deliver(&s, &s.ingest_token("ops"), &second).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = plans(&s, &token).await;
        let fixed = all
            .iter()
            .find(|p| p["target"] == "web42/CVE-2024-3400/pan-os");
        let still = all
            .iter()
            .find(|p| p["target"] == "web42/CVE-2024-1086/linux");
        if let (Some(fixed), Some(still)) = (fixed, still) {
            if fixed["state"] == "reverted" && still["state"] == "failed" {
                assert!(
                    fixed["connector_answer"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("verified fixed"),
                    "{fixed}"
                );
                assert!(
                    still["last_error"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("not fixed"),
                    "{still}"
                );
                break;
            }
        }
        assert!(Instant::now() < deadline, "verified by the scan: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("other"),
        "a patch is never undone"
    );
}
