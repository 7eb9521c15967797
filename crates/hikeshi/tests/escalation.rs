//! Contacts, the escalation matrix and the checklist on a case, through the API.

mod common;

use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_matrix_decides_whom_a_case_must_reach() {
    let s = TestServer::start(Db::Sqlite, "escalation", &[]).await;
    s.add_user("boss", "manager");
    s.add_user("hana", "handler");
    s.add_user("vic", "viewer");
    let (manager, handler, viewer) = (s.token("boss"), s.token("hana"), s.token("vic"));

    let (st, jpcert) = s
        .json(Method::POST, "/api/v1/contacts", &manager, Some(json!({
            "name": "インシデント対応", "organisation": "JPCERT/CC", "role": "jpcert_cc",
            "email": "info@jpcert.or.jp", "pgp_fingerprint": "FC89 53BB DC65 BD97 4BDA D1BD 317D 97A4 9AAA 1A6C"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{jpcert}");
    let (_, legal) = s
        .json(
            Method::POST,
            "/api/v1/contacts",
            &manager,
            Some(json!({
            "name": "法務部 佐藤", "role": "legal", "phone": "03-0000-0000"})),
        )
        .await;
    // Bad input names the field; viewers cannot edit the directory.
    for (body, field) in [
        (json!({"name": "x", "role": "friend"}), "role"),
        (
            json!({"name": "x", "role": "pr", "email": "not-mail"}),
            "email",
        ),
        (json!({"name": "", "role": "pr"}), "name"),
        (
            json!({"name": "x", "role": "pr", "pgp_fingerprint": "zz"}),
            "pgp_fingerprint",
        ),
    ] {
        let (st, e) = s
            .json(Method::POST, "/api/v1/contacts", &manager, Some(body))
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
            "/api/v1/contacts",
            &viewer,
            Some(json!({"name": "x", "role": "pr"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Phishing from high up: JPCERT/CC. Anything critical: legal.
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/escalation",
            &manager,
            Some(json!({
            "category": "phishing_site", "min_severity": "high", "contact_id": jpcert["id"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/escalation",
            &manager,
            Some(json!({
            "min_severity": "critical", "contact_id": legal["id"]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/escalation",
            &manager,
            Some(json!({
            "category": "nope", "min_severity": "low", "contact_id": legal["id"]})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("category"))
    );

    let (_, case) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({
            "title": "偽ログインページ", "category": "phishing_site", "severity": "medium"})),
        )
        .await;
    let n = case["number"].as_str().unwrap_or_default().to_string();
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .map(|a| {
                a.iter()
                    .map(|i| i["contact"]["role"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, list) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/escalation"),
            &viewer,
            None,
        )
        .await;
    assert!(
        names(&list).is_empty(),
        "medium phishing needs no one: {list}"
    );
    let (st, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{n}"),
            &handler,
            Some(json!({"severity": "high"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/escalation"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(names(&list), vec!["jpcert_cc"]);
    let (_, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{n}"),
            &handler,
            Some(json!({"severity": "critical"})),
        )
        .await;
    let (_, list) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/escalation"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(names(&list), vec!["jpcert_cc", "legal"]);

    // Notifying is recorded on the checklist and the timeline.
    let (st, e) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n}/notify"),
            &handler,
            Some(json!({
            "contact_id": jpcert["id"], "channel": "fax"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("channel"))
    );
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n}/notify"),
            &viewer,
            Some(json!({
            "contact_id": jpcert["id"], "channel": "email"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n}/notify"),
            &handler,
            Some(json!({
            "contact_id": jpcert["id"], "channel": "email", "note": "インシデント報告様式で送付"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, list) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/escalation"),
            &viewer,
            None,
        )
        .await;
    // Open items come first: legal is still to do.
    assert_eq!(names(&list), vec!["legal", "jpcert_cc"]);
    assert_eq!(
        list[1]["notifications"].as_array().map(|a| a.len()),
        Some(1)
    );
    let (_, detail) = s
        .json(Method::GET, &format!("/api/v1/cases/{n}"), &viewer, None)
        .await;
    let timeline = detail["timeline"].to_string();
    assert!(
        timeline.contains(
            "Notified インシデント対応 (JPCERT/CC, jpcert_cc) by email: インシデント報告様式で送付"
        ),
        "{timeline}"
    );

    // The case page shows the checklist.
    let html = s
        .req(Method::GET, &format!("/cases/{n}"), Some(&viewer))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("id=\"escalation\""), "{html}");
    assert!(html.contains("法務部 佐藤"));
}
