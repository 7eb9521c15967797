//! The audit log as an admin reads it: logins, refused logins and logouts are in it with the
//! method and the address; a change shows as the fields that changed; paging ends at the last
//! entry. On SQLite and PostgreSQL.

use crate::common::{browser_login, form_login_status, Db, TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn page(s: &TestServer, cookie: &str, path: &str) -> String {
    let r = s
        .client
        .get(format!("{}{path}", s.base))
        .header("cookie", format!("{cookie}; hikeshi_lang=ja"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap_or_default()
}

fn entries_of(audit: &Value, action: &str) -> Vec<Value> {
    audit
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["action"] == action)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

async fn logins_logouts_and_changes(db: Db) {
    let s = TestServer::start(db, "audit_log", &[]).await;
    s.add_user("root", "admin");
    s.add_user("hana", "handler");
    let admin = s.token("root");

    assert_eq!(
        form_login_status(&s, "hana", "wrong password 1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        form_login_status(&s, "nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    let (cookie, csrf) = browser_login(&s, "hana", PASSWORD)
        .await
        .expect("hana logs in");
    let out = s
        .client
        .post(format!("{}/logout", s.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);

    let (st, audit) = s
        .json(
            Method::GET,
            "/api/v1/audit?object_type=user&limit=500",
            &admin,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{audit}");
    let failed = entries_of(&audit, "session.login_failed");
    let detail = |e: &Value| -> Value {
        serde_json::from_str(e["after_json"].as_str().unwrap_or("null")).unwrap_or_default()
    };
    let hana_failed = failed
        .iter()
        .find(|e| e["object_id"] == "hana")
        .unwrap_or_else(|| panic!("hana's wrong password is recorded: {audit}"));
    assert_eq!(detail(hana_failed)["reason"], "invalid");
    assert_eq!(detail(hana_failed)["method"], "password");
    assert_eq!(detail(hana_failed)["from"], "127.0.0.1");
    assert!(
        failed.iter().any(|e| e["object_id"] == "nobody"),
        "a name that is no account is recorded as typed: {audit}"
    );
    let login = entries_of(&audit, "session.login");
    assert!(
        login
            .iter()
            .any(|e| e["actor"] == "hana" && detail(e)["from"] == "127.0.0.1"),
        "{audit}"
    );
    assert_eq!(entries_of(&audit, "session.logout").len(), 1, "{audit}");
    // The session really ended: the old cookie no longer opens a page.
    let after = s
        .client
        .get(format!("{}/cases", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("after logout");
    assert_eq!(after.status(), StatusCode::SEE_OTHER);

    // A case changes status: the page shows the one field with its old and new value.
    let (st, case) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &admin,
            Some(json!({"title": "監査の確認", "severity": "low"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    let number = case["number"].as_str().unwrap_or_default().to_string();
    let (st, c) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{number}"),
            &admin,
            Some(json!({"status": "triage"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let (root_cookie, _) = browser_login(&s, "root", PASSWORD)
        .await
        .expect("root logs in");
    let html = page(
        &s,
        &root_cookie,
        &format!("/admin/audit?object_id={number}"),
    )
    .await;
    assert!(html.contains("事案を変更"), "the action in words: {html}");
    assert!(html.contains("<th scope=\"row\">status</th>"), "{html}");
    assert!(
        html.contains("<del>new</del>") && html.contains("<ins>triage</ins>"),
        "{html}"
    );
    assert!(
        !html.contains("\"status\":"),
        "no raw JSON on the page: {html}"
    );
    let html = page(&s, &root_cookie, "/admin/audit?actor=hana").await;
    for words in [
        "<td class=\"audit-action\">ログイン失敗</td>",
        "<td class=\"audit-action\">ログイン</td>",
        "<td class=\"audit-action\">ログアウト</td>",
        "<ins>127.0.0.1</ins>",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    let html = page(&s, &root_cookie, "/admin/audit?actor=nobody-at-all").await;
    assert!(
        html.contains("id=\"audit-none\"") && !html.contains("audit-next"),
        "{html}"
    );

    // The chain of custody is a table in the reader's zone (JST by default), with who did what.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"mail headers".to_vec()).file_name("headers.txt"),
    );
    let up = s
        .req(
            Method::POST,
            &format!("/api/v1/cases/{number}/evidence"),
            Some(&admin),
        )
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), StatusCode::CREATED);
    let ev: Value = up.json().await.expect("evidence");
    let eid = ev["id"].as_str().unwrap_or_default().to_string();
    let hana = s.token("hana");
    let dl = s
        .req(Method::GET, &format!("/api/v1/evidence/{eid}"), Some(&hana))
        .header("user-agent", "forensic-kit/1.0")
        .send()
        .await
        .expect("download");
    assert_eq!(dl.status(), StatusCode::OK);
    let case_page = page(&s, &root_cookie, &format!("/cases/{number}")).await;
    assert!(
        case_page.contains(&format!("/evidence/{eid}/custody")),
        "the case links the page"
    );
    let html = page(&s, &root_cookie, &format!("/evidence/{eid}/custody")).await;
    let rows: Vec<&str> = html
        .split("<tr><td>")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap_or(""))
        .collect();
    assert_eq!(rows.len(), 2, "{html}");
    assert!(
        rows[0].contains("root") && rows[0].contains("登録") && rows[0].contains(" JST"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("hana")
            && rows[1].contains("ダウンロード")
            && rows[1].contains("forensic-kit/1.0"),
        "{}",
        rows[1]
    );
    assert!(
        html.contains(ev["sha256"].as_str().unwrap_or("missing")),
        "{html}"
    );
    let missing = s
        .client
        .get(format!("{}/evidence/no-such-id/custody", s.base))
        .header("cookie", &root_cookie)
        .send()
        .await
        .expect("missing evidence");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Enough entries for three pages: the pager offers "next" up to the last page and not on it.
    for n in 0..200 {
        let (st, _) = s
            .json(
                Method::POST,
                "/api/v1/cases",
                &admin,
                Some(json!({"title": format!("paging {n}")})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (_, all) = s
        .json(Method::GET, "/api/v1/audit?limit=10000", &admin, None)
        .await;
    let total = all.as_array().map(Vec::len).unwrap_or_default();
    assert!(total > 200, "{total}");
    let last = total.div_ceil(100);
    let html = page(&s, &root_cookie, &format!("/admin/audit?page={}", last - 1)).await;
    assert!(
        html.contains("id=\"audit-next\""),
        "page {} of {last}",
        last - 1
    );
    let html = page(&s, &root_cookie, &format!("/admin/audit?page={last}")).await;
    assert!(
        !html.contains("id=\"audit-next\""),
        "the last page ({last}) has no next"
    );
    assert!(html.contains("rel=\"prev\""));
    let rows = html.matches("class=\"audit-action\"").count();
    assert_eq!(
        rows,
        total - (last - 1) * 100,
        "the last page holds the rest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    logins_logouts_and_changes(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    logins_logouts_and_changes(Db::Postgres).await;
}
