//! What a hostile outsider tried (issue 18), each as a test that failed before its fix.

use crate::common::{Db, TestServer, PASSWORD};
use reqwest::StatusCode;

/// The `Location` of a form post sent with exactly these bytes as its body.
async fn location_after(s: &TestServer, path: &str, body: &str) -> String {
    let r = s
        .client
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path} {body}");
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn login_and_language_never_redirect_off_site() {
    let s = TestServer::start(Db::Sqlite, "hard_redirect", &[]).await;
    s.add_user("hana", "handler");
    for next in [
        "/%09/evil.example/x",
        "/%0A/evil.example/x",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "https%3A%2F%2Fevil.example",
    ] {
        let to = location_after(&s, "/lang", &format!("lang=en&next={next}")).await;
        assert_eq!(to, "/cases", "/lang with next={next}");
        let login = format!("username=hana&password={PASSWORD}&next={next}");
        let to = location_after(&s, "/login", &login).await;
        assert_eq!(to, "/cases", "/login with next={next}");
    }
    // A path on this site is still followed.
    let to = location_after(&s, "/lang", "lang=ja&next=%2Freports%3Fstatus%3Dnew").await;
    assert_eq!(to, "/reports?status=new");
}

const WHOAMI_RULE: &str = "title: Whoami\nid: 3c5a0f4e-8d59-4e0b-9a57-7e7f7a1d2b01\nstatus: test\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\nlevel: high\n";

async fn post_events(s: &TestServer, token: &str, body: &str) -> StatusCode {
    s.client
        .post(format!("{}/api/v1/events", s.base))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .expect("events")
        .status()
}

#[tokio::test]
async fn only_case_workers_and_ingest_tokens_send_events() {
    let rules = crate::common::temp_dir("hard-ingest-rules");
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    let s = TestServer::start(
        Db::Sqlite,
        "hard_ingest",
        &["--rules", &rules.display().to_string()],
    )
    .await;
    s.add_user("vic", "viewer");
    s.add_user("hana", "handler");
    s.add_user("shipper", "viewer");
    let event = "{\"EventID\": 1, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"Image\": \"C:\\\\Windows\\\\System32\\\\whoami.exe\", \"Computer\": \"pc1\"}\n";

    let viewer = s.token("vic");
    assert_eq!(post_events(&s, &viewer, event).await, StatusCode::FORBIDDEN);
    let handler = s.token("hana");
    assert_eq!(post_events(&s, &handler, event).await, StatusCode::OK);

    // An ingest token of a viewer sends events and can do nothing else, not even read.
    let ingest = s.ingest_token("shipper");
    assert_eq!(post_events(&s, &ingest, event).await, StatusCode::OK);
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/alerts"),
        (reqwest::Method::GET, "/api/v1/cases"),
        (reqwest::Method::GET, "/api/v1/me"),
        (reqwest::Method::POST, "/api/v1/cases"),
    ] {
        let r = s
            .req(method.clone(), path, Some(&ingest))
            .json(&serde_json::json!({"title": "x"}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "token_scope");
    }
    let page = s
        .client
        .get(format!("{}/alerts", s.base))
        .bearer_auth(&ingest)
        .send()
        .await
        .expect("page");
    assert_ne!(page.status(), StatusCode::OK, "no page for an ingest token");
}
