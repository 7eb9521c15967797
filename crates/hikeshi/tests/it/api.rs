//! The REST API and its access rules, through the real binary, on SQLite and on PostgreSQL.
//! Each test starts its own server with four users (admin, manager, handler, viewer) and two
//! cases: `n1` from the phishing template (with Markdown and a script in its description) and
//! `n2`, a critical web defacement.

use crate::common::{browser_login, Db, TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct World {
    s: TestServer,
    admin: String,
    manager: String,
    handler: String,
    viewer: String,
    /// The cases as created, and their numbers.
    case1: Value,
    case2: Value,
    n1: String,
    n2: String,
    year: String,
}

impl World {
    async fn new(db: Db, name: &str) -> World {
        let s = TestServer::start(db, name, &["--max-upload-bytes", "200000"]).await;
        for (name, role) in [
            ("root", "admin"),
            ("boss", "manager"),
            ("hana", "handler"),
            ("vic", "viewer"),
        ] {
            s.add_user(name, role);
        }
        let (admin, manager, handler, viewer) = (
            s.token("root"),
            s.token("boss"),
            s.token("hana"),
            s.token("vic"),
        );
        let (st, case1) = s
            .json(Method::POST, "/api/v1/cases", &handler, Some(json!({
                "title": "標的型メール攻撃の疑い", "template": "phishing",
                "description": "Intro **bold**\n\n<script>alert('x')</script>\n\n[x](javascript:alert(1))", "tags": ["mail", "apt"], "assignee": "hana"})))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{case1}");
        let (st, case2) = s
            .json(Method::POST, "/api/v1/cases", &handler, Some(json!({"title": "Web改ざん", "category": "web_defacement", "severity": "critical", "tags": ["web"]})))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{case2}");
        let n1 = case1["number"].as_str().unwrap_or_default().to_string();
        let n2 = case2["number"].as_str().unwrap_or_default().to_string();
        let year = n1.get(..4).unwrap_or_default().to_string();
        World {
            s,
            admin,
            manager,
            handler,
            viewer,
            case1,
            case2,
            n1,
            n2,
            year,
        }
    }

    /// A plain case opened by the handler; returns its number.
    async fn case(&self, title: &str) -> String {
        let (st, c) = self
            .s
            .json(
                Method::POST,
                "/api/v1/cases",
                &self.handler,
                Some(json!({ "title": title })),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        c["number"].as_str().unwrap_or_default().to_string()
    }
}

async fn add_observable(w: &World, number: &str, kind: &str, value: &str) {
    let (st, o) =
        w.s.json(
            Method::POST,
            &format!("/api/v1/cases/{number}/observables"),
            &w.handler,
            Some(json!({"kind": kind, "value": value, "ioc": true})),
        )
        .await;
    assert!(st.is_success(), "{o}");
}

/// Walks a case to closed: handler to resolved, then the manager closes it.
async fn close(w: &World, number: &str) {
    let path = format!("/api/v1/cases/{number}");
    for status in ["triage", "in_progress", "resolved"] {
        let (st, c) =
            w.s.json(
                Method::PATCH,
                &path,
                &w.handler,
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{status}: {c}");
    }
    let (st, c) = w.s.json(Method::PATCH, &path, &w.manager, Some(json!({"status": "closed", "resolution_summary": "restored", "lessons_learned": "patch CMS"}))).await;
    assert_eq!(st, StatusCode::OK, "{c}");
}

/// Each behaviour on both engines: `name::sqlite` and `name::postgres`.
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(&World::new(Db::Sqlite, "api").await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(&World::new(Db::Postgres, "api").await).await;
            }
        }
    )+};
}

on_both_engines!(
    anonymous_callers_read_nothing,
    a_template_fills_category_severity_and_tasks,
    a_viewer_reads_but_cannot_change,
    bad_input_names_the_field,
    search_and_filters,
    observables_are_validated_deduplicated_and_linked,
    tasks_are_added_and_done,
    the_timeline_is_in_order_and_exports_as_csv,
    evidence_is_content_addressed_and_downloads_are_recorded,
    closing_needs_a_summary_lessons_and_a_commander,
    merging_moves_everything_to_the_survivor,
    the_audit_log_is_for_admins_with_before_and_after,
    teams_add_their_own_categories,
    the_openapi_document_describes_the_routes,
    browser_sessions_need_the_csrf_token,
    markdown_never_runs_as_script,
    anonymous_pages_send_people_to_login,
    repeated_wrong_passwords_lock_the_account,
    revoked_and_disabled_credentials_stop_working,
    health,
);

/// Anonymous callers read nothing.
#[allow(unused_variables)]
async fn anonymous_callers_read_nothing(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    for path in ["/api/v1/cases", "/api/v1/cases/2026-0001", "/api/v1/me"] {
        let r = s
            .req(Method::GET, path, None)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = r.json().await.expect("json error");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let (st, _) = s
        .json(Method::GET, "/api/v1/cases", "hks_not_a_real_token", None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// Create from a template: category, severity and tasks come from it.
#[allow(unused_variables)]
async fn a_template_fills_category_severity_and_tasks(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    assert_eq!(n1, format!("{year}-0001"));
    assert_eq!(w.case1["category"], "phishing_site");
    assert_eq!(w.case1["severity"], "medium");
    assert!(
        w.case1["sla_due_at"].as_i64().unwrap_or(0) > w.case1["created_at"].as_i64().unwrap_or(0)
    );
    let (_, detail) = s
        .json(Method::GET, &format!("/api/v1/cases/{n1}"), &viewer, None)
        .await;
    assert_eq!(
        detail["tasks"].as_array().map(|t| t.len()),
        Some(7),
        "phishing template has 7 tasks"
    );
    assert_eq!(w.case2["severity"], "critical");
    assert_eq!(n2, format!("{year}-0002"));
}

/// A viewer reads but cannot change.
#[allow(unused_variables)]
async fn a_viewer_reads_but_cannot_change(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (st, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{n1}"),
            &viewer,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &viewer,
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n1}/comments"),
            &viewer,
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, after) = s
        .json(Method::GET, &format!("/api/v1/cases/{n1}"), &viewer, None)
        .await;
    assert_eq!(after["case"]["title"], "標的型メール攻撃の疑い");
}

/// Bad input names the field.
#[allow(unused_variables)]
async fn bad_input_names_the_field(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "x", "severity": "urgent"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("severity")),
        "{e}"
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "x", "colour": "red"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("colour"),
        "{e}"
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "  "})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("title"))
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "x", "category": "nope"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("category"))
    );
    let r = s
        .req(Method::POST, "/api/v1/cases", Some(&handler))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let big = json!({"title": "x", "description": "a".repeat(2 * 1024 * 1024)});
    let (st, e) = s
        .json(Method::POST, "/api/v1/cases", &handler, Some(big))
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert_eq!(e["error"]["code"], "too_large");
    let (st, e) = s
        .json(Method::GET, "/api/v1/cases?severity=urgent", &viewer, None)
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("severity"))
    );
    let (st, _) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{year}-9999"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .json(Method::GET, "/api/v1/cases/not-a-number", &viewer, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Search and filters.
#[allow(unused_variables)]
async fn search_and_filters(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let list = |q: &str| {
        let q = q.to_string();
        let s = &s;
        let viewer = viewer.clone();
        async move {
            s.json(Method::GET, &format!("/api/v1/cases?{q}"), &viewer, None)
                .await
                .1
        }
    };
    let found = list(&format!("q={}", urlencode("標的型"))).await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["number"], n1);
    // Half-width and full-width forms find the same text (NFKC), and observables are searched.
    let numbers = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["number"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let found = list(&format!("q={}", urlencode("ﾒｰﾙ攻撃"))).await;
    assert_eq!(numbers(&found), vec![n1.clone()], "{found}");
    let found = list(&format!("q={}", urlencode("ＷＥＢ改ざん"))).await;
    assert_eq!(numbers(&found), vec![n2.clone()], "{found}");
    add_observable(w, &n2, "ip", "198.51.100.99").await;
    let found = list("q=198.51.100.99").await;
    assert_eq!(numbers(&found), vec![n2.clone()], "{found}");
    assert_eq!(
        list(&format!("q={}", urlencode("１９８．５１．１００．９９"))).await["total"],
        1
    );
    assert_eq!(list("severity=critical").await["items"][0]["number"], n2);
    assert_eq!(list("tag=mail").await["total"], 1);
    assert_eq!(list("category=web_defacement").await["total"], 1);
    assert_eq!(list("assignee=hana").await["total"], 1);
    assert_eq!(list("status=new").await["total"], 2);
    let paged = list("per_page=1&page=2").await;
    assert_eq!(
        (
            paged["total"].as_i64(),
            paged["items"].as_array().map(|a| a.len())
        ),
        (Some(2), Some(1))
    );
    assert_eq!(paged["items"][0]["number"], n1, "newest first");
}

/// Observables: validated, deduplicated, linked across cases.
#[allow(unused_variables)]
async fn observables_are_validated_deduplicated_and_linked(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let obs = |n: &str, kind: &str, value: &str| {
        (
            format!("/api/v1/cases/{n}/observables"),
            json!({"kind": kind, "value": value, "ioc": true}),
        )
    };
    let (p, b) = obs(&n1, "ip", "203.0.113.7");
    assert_eq!(
        s.json(Method::POST, &p, &handler, Some(b.clone())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        s.json(Method::POST, &p, &handler, Some(b)).await.0,
        StatusCode::OK,
        "duplicate is not added twice"
    );
    let (p, b) = obs(&n1, "ip", "203.0.113.999");
    let (st, e) = s.json(Method::POST, &p, &handler, Some(b)).await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("value"))
    );
    let (p, b) = obs(&n1, "domain", "Evil.Example.COM");
    s.json(Method::POST, &p, &handler, Some(b)).await;
    let (p, b) = obs(&n2, "domain", "evil.example.com.");
    s.json(Method::POST, &p, &handler, Some(b)).await;
    let (_, d2) = s
        .json(Method::GET, &format!("/api/v1/cases/{n2}"), &viewer, None)
        .await;
    assert_eq!(d2["linked"][0]["case_number"], n1, "{}", d2["linked"]);
    assert_eq!(d2["linked"][0]["value"], "evil.example.com");
}

/// Tasks.
#[allow(unused_variables)]
async fn tasks_are_added_and_done(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (st, task) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n2}/tasks"),
            &handler,
            Some(json!({"title": "Restore content", "due_at": "2026-12-01T09:00:00+09:00"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{task}");
    let tid = task["id"].as_str().unwrap_or_default();
    let (st, task) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{n2}/tasks/{tid}"),
            &handler,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(
        (st, task["status"].as_str()),
        (StatusCode::OK, Some("done"))
    );
}

/// Timeline, in order, exported as CSV.
#[allow(unused_variables)]
async fn the_timeline_is_in_order_and_exports_as_csv(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    for (at, text) in [
        ("2026-11-02T10:00:00Z", "second"),
        ("2026-11-01T10:00:00Z", "first =HYPERLINK()"),
    ] {
        let (st, _) = s
            .json(
                Method::POST,
                &format!("/api/v1/cases/{n2}/timeline"),
                &handler,
                Some(json!({"occurred_at": at, "kind": "observed", "text": text})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let csv = s
        .req(
            Method::GET,
            &format!("/api/v1/cases/{n2}/timeline.csv"),
            Some(&viewer),
        )
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .unwrap_or_default();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "occurred_at,kind,text,author,recorded_at");
    assert!(
        lines[1].starts_with("2026-11-01T10:00:00Z,observed,first"),
        "{csv}"
    );
    assert!(lines[2].contains("second"), "{csv}");
}

/// Evidence: content-addressed, hash shown, downloads recorded.
#[allow(unused_variables)]
async fn evidence_is_content_addressed_and_downloads_are_recorded(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let form = reqwest::multipart::Form::new()
        .text("description", "memory dump")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("dump.bin"),
        );
    let r = s
        .req(
            Method::POST,
            &format!("/api/v1/cases/{n2}/evidence"),
            Some(&handler),
        )
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let ev: Value = r.json().await.expect("json");
    assert_eq!(ev["sha256"], sha);
    assert_eq!(ev["size_bytes"], 50_000);
    let stored = s.data_dir.join("evidence").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&stored).expect("stored file"), bytes);
    let eid = ev["id"].as_str().unwrap_or_default();
    let dl = s
        .req(
            Method::GET,
            &format!("/api/v1/evidence/{eid}"),
            Some(&viewer),
        )
        .send()
        .await
        .expect("download");
    assert_eq!(
        dl.headers()
            .get("x-content-sha256")
            .and_then(|v| v.to_str().ok()),
        Some(sha.as_str())
    );
    assert_eq!(dl.bytes().await.expect("bytes").to_vec(), bytes);
    let (_, custody) = s
        .json(
            Method::GET,
            &format!("/api/v1/evidence/{eid}/custody"),
            &viewer,
            None,
        )
        .await;
    let actions: Vec<(&str, &str)> = custody
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["action"].as_str().unwrap_or(""),
                        c["actor"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(actions, vec![("upload", "hana"), ("download", "vic")]);
    let too_big = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 300_000]).file_name("big.bin"),
    );
    let r = s
        .req(
            Method::POST,
            &format!("/api/v1/cases/{n2}/evidence"),
            Some(&handler),
        )
        .multipart(too_big)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, d2) = s
        .json(Method::GET, &format!("/api/v1/cases/{n2}"), &viewer, None)
        .await;
    assert_eq!(
        d2["evidence"].as_array().map(|e| e.len()),
        Some(1),
        "refused upload left no record"
    );
}

/// Lifecycle: closing needs a summary and lessons, and a commander.
#[allow(unused_variables)]
async fn closing_needs_a_summary_lessons_and_a_commander(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let path2 = format!("/api/v1/cases/{n2}");
    for status in ["triage", "in_progress", "resolved"] {
        let (st, c) = s
            .json(
                Method::PATCH,
                &path2,
                &handler,
                Some(json!({"status": status})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{status}: {c}");
    }
    let (st, e) = s
        .json(
            Method::PATCH,
            &path2,
            &manager,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("resolution_summary"))
    );
    let (st, _) = s.json(Method::PATCH, &path2, &handler, Some(json!({"status": "closed", "resolution_summary": "restored", "lessons_learned": "patch CMS"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "handlers do not close");
    let (st, e) = s
        .json(
            Method::PATCH,
            &path2,
            &manager,
            Some(json!({"status": "closed", "resolution_summary": "restored"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("lessons_learned"))
    );
    let (st, closed) = s.json(Method::PATCH, &path2, &manager, Some(json!({"status": "closed", "resolution_summary": "restored", "lessons_learned": "patch CMS"}))).await;
    assert_eq!(
        (st, closed["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{closed}"
    );
    assert!(closed["closed_at"].as_i64().is_some());
    let (st, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{n1}"),
            &handler,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "new cannot jump to closed");
}

/// Merge: everything moves to the survivor, which the merged case points to.
#[allow(unused_variables)]
async fn merging_moves_everything_to_the_survivor(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    add_observable(w, &n1, "ip", "203.0.113.7").await;
    add_observable(w, &n1, "domain", "evil.example.com").await;
    let (st, c3) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "duplicate report"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let n3 = c3["number"].as_str().unwrap_or_default().to_string();
    s.json(
        Method::POST,
        &format!("/api/v1/cases/{n3}/observables"),
        &handler,
        Some(json!({"kind": "ip", "value": "203.0.113.7"})),
    )
    .await;
    s.json(
        Method::POST,
        &format!("/api/v1/cases/{n3}/tasks"),
        &handler,
        Some(json!({"title": "call reporter"})),
    )
    .await;
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n3}/merge"),
            &handler,
            Some(json!({"into": n1})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, survivor) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n3}/merge"),
            &manager,
            Some(json!({"into": n1})),
        )
        .await;
    assert_eq!(
        (st, survivor["number"].as_str()),
        (StatusCode::OK, Some(n1.as_str())),
        "{survivor}"
    );
    let (_, d1) = s
        .json(Method::GET, &format!("/api/v1/cases/{n1}"), &viewer, None)
        .await;
    assert_eq!(d1["tasks"].as_array().map(|t| t.len()), Some(8));
    assert_eq!(
        d1["observables"].as_array().map(|o| o.len()),
        Some(2),
        "the shared IP stays once"
    );
    let (_, d3) = s
        .json(Method::GET, &format!("/api/v1/cases/{n3}"), &viewer, None)
        .await;
    assert_eq!(d3["case"]["merged_into"], n1);
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{n3}/comments"),
            &handler,
            Some(json!({"body": "late"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

/// Audit: admins only, before and after recorded, CSV export.
#[allow(unused_variables)]
async fn the_audit_log_is_for_admins_with_before_and_after(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    close(w, &n2).await;
    let dup = w.case("duplicate report").await;
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/cases/{dup}/merge"),
            &manager,
            Some(json!({"into": n1})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.json(Method::GET, "/api/v1/audit", &manager, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, audit) = s
        .json(
            Method::GET,
            &format!("/api/v1/audit?object_id={n2}&limit=500"),
            &admin,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let closing = audit
        .as_array()
        .and_then(|a| {
            a.iter().find(|e| {
                e["after_json"]
                    .as_str()
                    .unwrap_or("")
                    .contains("\"closed\"")
            })
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(closing["actor"], "boss");
    assert!(closing["before_json"]
        .as_str()
        .unwrap_or("")
        .contains("\"resolved\""));
    let csv = s
        .req(Method::GET, "/api/v1/audit?format=csv", Some(&admin))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        csv.starts_with("at,actor,action,object_type,object_id,before,after"),
        "{csv}"
    );
    assert!(csv.contains("case.merge"));
}

/// Team-defined categories.
#[allow(unused_variables)]
async fn teams_add_their_own_categories(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (st, _) = s.json(Method::POST, "/api/v1/categories", &handler, Some(json!({"code": "supply_chain", "label_ja": "サプライチェーン", "label_en": "Supply chain"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.json(Method::POST, "/api/v1/categories", &manager, Some(json!({"code": "supply_chain", "label_ja": "サプライチェーン", "label_en": "Supply chain"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": "vendor breach", "category": "supply_chain"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
}

/// The OpenAPI document describes the routes used here.
#[allow(unused_variables)]
async fn the_openapi_document_describes_the_routes(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let spec: Value = s
        .client
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("json");
    assert_eq!(spec["openapi"], "3.0.3");
    for p in [
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/observables",
        "/api/v1/cases/{number}/evidence",
        "/api/v1/cases/{number}/merge",
        "/api/v1/audit",
        "/api/v1/evidence/{id}/custody",
        "/api/v1/cases/{number}/tasks/{task_id}",
        "/api/v1/cases/{number}/stix",
        "/api/v1/cases/{number}/share",
    ] {
        assert!(spec["paths"].get(p).is_some(), "openapi lacks {p}");
    }
}

/// Browser sessions: state changes need the CSRF token.
#[allow(unused_variables)]
async fn browser_sessions_need_the_csrf_token(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (cookie, csrf) = browser_login(s, "hana", PASSWORD)
        .await
        .expect("login works");
    let r = s
        .client
        .post(format!("{}/api/v1/cases", s.base))
        .header("cookie", &cookie)
        .json(&json!({"title": "from the browser"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF header");
    let r = s
        .client
        .post(format!("{}/api/v1/cases", s.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"title": "from the browser"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = s
        .client
        .post(format!("{}/cases/new", s.base))
        .header("cookie", &cookie)
        .form(&[("csrf", "wrong"), ("title", "forged")])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .client
        .post(format!("{}/cases/new", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "via the form"),
            ("template", "ransomware"),
        ])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Markdown never runs as script on the case page.
#[allow(unused_variables)]
async fn markdown_never_runs_as_script(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    add_observable(w, &n1, "domain", "evil.example.com").await;
    add_observable(w, &n2, "domain", "evil.example.com").await;
    let (cookie, _) = browser_login(s, "hana", PASSWORD)
        .await
        .expect("login works");
    let page = s
        .client
        .get(format!("{}/cases/{n1}", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains("<strong>bold</strong>"), "markdown rendered");
    assert!(
        !page.contains("<script>alert"),
        "script injected into the page"
    );
    assert!(page.contains("&lt;script&gt;"));
    assert!(
        !page.contains("href=\"javascript:"),
        "javascript: link defused"
    );
    assert!(
        page.contains(&format!("/cases/{n2}")),
        "also seen in links the other case"
    );
}

/// Anonymous pages send people to the login page.
#[allow(unused_variables)]
async fn anonymous_pages_send_people_to_login(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let r = s
        .client
        .get(format!("{}/cases/{n1}", s.base))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .starts_with("/login"));
}

/// Repeated wrong passwords lock the account even for the right one.
#[allow(unused_variables)]
async fn repeated_wrong_passwords_lock_the_account(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    for _ in 0..5 {
        assert!(browser_login(s, "vic", "wrong-password-1").await.is_none());
    }
    let r = s
        .client
        .post(format!("{}/login", s.base))
        .form(&[("username", "vic"), ("password", PASSWORD)])
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Revoked and disabled credentials stop working.
#[allow(unused_variables)]
async fn revoked_and_disabled_credentials_stop_working(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    let (ok, out, _) = s.cli(&["token", "list", "--user", "hana"], "");
    assert!(ok);
    let token_id = out
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(s.cli(&["token", "revoke", &token_id], "").0);
    assert_eq!(
        s.json(Method::GET, "/api/v1/me", &handler, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(s.cli(&["user", "disable", "boss"], "").0);
    assert_eq!(
        s.json(Method::GET, "/api/v1/me", &manager, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Health.
#[allow(unused_variables)]
async fn health(w: &World) {
    let s = &w.s;
    let (admin, manager, handler, viewer) = (
        w.admin.clone(),
        w.manager.clone(),
        w.handler.clone(),
        w.viewer.clone(),
    );
    let (n1, n2, year) = (w.n1.clone(), w.n2.clone(), w.year.clone());
    assert_eq!(
        s.client
            .get(format!("{}/healthz", s.base))
            .send()
            .await
            .expect("healthz")
            .status(),
        StatusCode::OK
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
