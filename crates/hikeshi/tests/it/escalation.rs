//! Contacts, the escalation matrix and the checklist on a case, through the API.

use crate::common::{Db, TestServer};
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
    // The directory page lists contacts and the matrix.
    let html = s
        .req(Method::GET, "/contacts", Some(&viewer))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        html.contains("mailto:info@jpcert.or.jp") && html.contains("tel:03-0000-0000"),
        "{html}"
    );
    assert!(html.contains("id=\"rules-table\""));
    assert!(!html.contains("id=\"contact-form\""), "viewers get no form");
}

#[tokio::test]
async fn jpcert_and_ipa_reports_are_filled_from_the_case() {
    let s = TestServer::start(Db::Sqlite, "outbound", &[]).await;
    s.add_user("root", "admin");
    s.add_user("hana", "handler");
    let (admin, handler) = (s.token("root"), s.token("hana"));
    s.json(Method::PUT, "/api/v1/team", &admin, Some(json!({
        "team_name": "Example CSIRT", "contact_email": "csirt@example.jp", "phone": "03-1234-5678"})))
        .await;
    let (_, case) = s
        .json(Method::POST, "/api/v1/cases", &handler, Some(json!({
            "title": "Web改ざん", "category": "web_defacement", "severity": "high",
            "description": "トップページが改ざんされていた。", "affected_assets": "www.example.jp (Apache 2.4, 公開Web)"})))
        .await;
    let n = case["number"].as_str().unwrap_or_default().to_string();
    s.json(
        Method::POST,
        &format!("/api/v1/cases/{n}/observables"),
        &handler,
        Some(json!({"kind": "ip", "value": "203.0.113.5"})),
    )
    .await;
    s.json(
        Method::POST,
        &format!("/api/v1/cases/{n}/timeline"),
        &handler,
        Some(json!({
        "occurred_at": "2026-11-20T01:30:00Z", "kind": "observed", "text": "不審なPOSTを確認"})),
    )
    .await;
    s.json(
        Method::POST,
        &format!("/api/v1/cases/{n}/timeline"),
        &handler,
        Some(json!({
        "occurred_at": "2026-11-20T02:00:00Z", "kind": "action", "text": "コンテンツを復旧"})),
    )
    .await;

    let (st, jp) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/outbound-report?form=jpcert&lang=ja"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{jp}");
    let text = jp["text"].as_str().unwrap_or_default();
    for want in [
        "JPCERT/CC インシデント報告",
        "Example CSIRT",
        "csirt@example.jp",
        "報告の目的",
        "203.0.113.5",
        "2026-11-20 10:30:00 JST (UTC+09:00)",
        "不審なPOSTを確認",
        "コンテンツを復旧",
        "www.example.jp (Apache 2.4, 公開Web)",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let (_, ipa) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/outbound-report?form=ipa&lang=ja"),
            &handler,
            None,
        )
        .await;
    let text = ipa["text"].as_str().unwrap_or_default();
    for want in [
        "IPA 不正アクセス届出",
        "発見年月日: 2026-11-20 10:30:00 JST",
        "被害を受けたシステム",
        "発見経緯",
        "被害状況",
        "対策",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let (_, en) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/outbound-report?form=jpcert&lang=en"),
            &handler,
            None,
        )
        .await;
    assert!(en["text"]
        .as_str()
        .unwrap_or_default()
        .contains("2026-11-20 01:30:00 UTC"));
    let (st, e) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{n}/outbound-report?form=police"),
            &handler,
            None,
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("form"))
    );

    // Sending is recorded: the edited text as a comment, a line on the timeline.
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n}/outbound-report"),
            &handler,
            Some(json!({
            "form": "jpcert", "text": "編集済みの報告本文", "sent_to": "info@jpcert.or.jp"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, detail) = s
        .json(Method::GET, &format!("/api/v1/cases/{n}"), &handler, None)
        .await;
    assert!(detail["timeline"]
        .to_string()
        .contains("Sent the JPCERT/CC incident report to info@jpcert.or.jp"));
    assert!(detail["comments"]
        .to_string()
        .contains("編集済みの報告本文"));
}
