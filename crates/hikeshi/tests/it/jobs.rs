//! Background jobs through the real binary: a mail the relay refuses is retried with back-off
//! and ends `dead`, shown on the jobs page and in the API and retried by an admin; and SIGTERM
//! ends the server with every background loop inside five seconds.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A relay that turns every message down after RCPT: a permanent failure the sender sees.
async fn refusing_relay() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 relay\r\n").await;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250 relay\r\n"
                    } else if upper.starts_with("RCPT") {
                        b"550 5.7.1 relaying denied for this test\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = w.write_all(answer).await;
                }
            });
        }
    });
    port
}

fn config_file(name: &str, text: &str) -> String {
    let dir = temp_dir(name);
    let path = dir.join("hikeshi.toml");
    std::fs::write(&path, text).expect("config");
    path.display().to_string()
}

async fn server_with_refusing_relay(db: Db, name: &str) -> TestServer {
    let relay = refusing_relay().await;
    let config = config_file(
        name,
        &format!(
            "[mail]\nrelay = \"127.0.0.1:{relay}\"\nfrom = \"csirt@example.jp\"\n[jobs]\nmax_attempts = 3\nretry_base_secs = 1\n"
        ),
    );
    TestServer::start(db, name, &["--config", &config]).await
}

/// Files a report whose reporter left an address: its acknowledgement is a `mail.send` job.
async fn file_report(s: &TestServer, token: &str) -> String {
    let (status, v) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            token,
            Some(
                json!({"subject": "不審なメール", "body": "添付を開いてしまいました",
                "reporter_contact": "yamada@example.jp", "lang": "ja"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["tracking"].as_str().expect("tracking").to_string()
}

async fn wait_for_dead(s: &TestServer, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (status, v) = s
            .json(Method::GET, "/api/v1/jobs?state=dead", token, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        if let Some(job) = v.as_array().and_then(|a| a.first()) {
            return job.clone();
        }
        assert!(Instant::now() < deadline, "no job died in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_refused_mail_is_retried_then_dead(db: Db) {
    let s = server_with_refusing_relay(db, "jobs_dead").await;
    s.add_user("root", "admin");
    s.add_user("lead", "manager");
    let admin = s.token("root");
    file_report(&s, &admin).await;

    let job = wait_for_dead(&s, &admin).await;
    assert_eq!(job["kind"], "mail.send");
    assert_eq!(job["attempts"], 3, "{job}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("relaying denied"),
        "the relay's answer is kept: {job}"
    );
    // Two waits between three attempts: one second, then two.
    let took = job["finished_at"].as_i64().unwrap_or(0) - job["created_at"].as_i64().unwrap_or(0);
    assert!(
        took >= 3_000,
        "back-off of 1 s then 2 s, but it took {took} ms"
    );

    // The mail row says so too.
    let (_, mail) = s.json(Method::GET, "/api/v1/mail", &admin, None).await;
    assert_eq!(mail[0]["status"], "failed", "{mail}");
    assert_eq!(mail[0]["attempts"], 3, "{mail}");

    // Only admins see jobs.
    let lead = s.token("lead");
    let (status, _) = s.json(Method::GET, "/api/v1/jobs", &lead, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The page lists it, dead, with its error and a retry button.
    let (cookie, csrf) = crate::common::browser_login(&s, "root", crate::common::PASSWORD)
        .await
        .expect("login");
    let page = s
        .client
        .get(format!("{}/admin/jobs?state=dead", s.base))
        .header("cookie", &cookie)
        .header("accept-language", "ja")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let id = job["id"].as_str().expect("id");
    assert!(html.contains(&format!("id=\"job-{id}\"")), "{html}");
    assert!(html.contains("relaying denied"));
    assert!(html.contains(&format!("/admin/jobs/{id}/retry")));
    let retried = s
        .client
        .post(format!("{}/admin/jobs/{id}/retry", s.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("retry");
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    let (_, again) = s
        .json(Method::GET, &format!("/api/v1/jobs/{id}"), &admin, None)
        .await;
    assert_ne!(again["state"], "dead", "retried: {again}");
    let (_, audit) = s
        .json(
            Method::GET,
            &format!("/api/v1/audit?object_id={id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(audit[0]["action"], "job.retry", "{audit}");
    // A retried job dies again after its attempts; retrying a job that is not dead is refused.
    let again = wait_for_dead(&s, &admin).await;
    assert_eq!(again["attempts"], 3);
    let (status, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_refused_mail_is_retried_with_backoff_then_dead_sqlite() {
    a_refused_mail_is_retried_then_dead(Db::Sqlite).await;
}

#[tokio::test]
async fn a_refused_mail_is_retried_with_backoff_then_dead_postgres() {
    a_refused_mail_is_retried_then_dead(Db::Postgres).await;
}

#[tokio::test]
async fn sigterm_ends_the_server_and_its_loops_within_five_seconds() {
    let relay = refusing_relay().await;
    let maildir = temp_dir("jobs-maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let rules = temp_dir("jobs-rules");
    std::fs::write(
        rules.join("whoami.yml"),
        "title: Whoami\nid: 6c0f5a2e-1d1b-4a59-9a4f-0d9d1c1e0a01\nstatus: test\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\nlevel: high\n",
    )
    .expect("rule");
    let watched = temp_dir("jobs-watch");
    let smtp = crate::common::free_port();
    let config = config_file(
        "jobs-term",
        &format!(
            "smtp_listen = \"127.0.0.1:{smtp}\"\n[mail]\nsender_checks = false\nrelay = \"127.0.0.1:{relay}\"\nmaildir = \"{}\"\n[vulns]\nkev_url = \"http://127.0.0.1:9/kev.json\"\nrefresh_hours = 0.001\n",
            maildir.display()
        ),
    );
    let mut s = TestServer::start(
        Db::Sqlite,
        "jobs-term",
        &[
            "--config",
            &config,
            "--rules",
            &rules.display().to_string(),
            "--watch",
            &watched.display().to_string(),
        ],
    )
    .await;
    s.add_user("root", "admin");
    let token = s.token("root");
    file_report(&s, &token).await;
    // A browser's alert stream stays open for ever; shutdown must not wait for it.
    let stream = s
        .client
        .get(format!("{}/api/v1/alerts/stream", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let asked = Instant::now();
    let status = s.signal_and_wait("TERM");
    let took = asked.elapsed();
    drop(stream);
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(
        took < Duration::from_secs(5),
        "the server took {took:?} to stop"
    );
}
