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
        assert_eq!(to, "/cases?lang_switched=1", "/lang with next={next}");
        let login = format!("username=hana&password={PASSWORD}&next={next}");
        let to = location_after(&s, "/login", &login).await;
        assert_eq!(to, "/cases", "/login with next={next}");
    }
    // A path on this site is still followed.
    let to = location_after(&s, "/lang", "lang=ja&next=%2Freports%3Fstatus%3Dnew").await;
    assert_eq!(to, "/reports?status=new&lang_switched=1");
    // Switching again from the confirmed page confirms once, not twice.
    let again = "lang=en&next=%2Freports%3Fstatus%3Dnew%26lang_switched%3D1%23top";
    let to = location_after(&s, "/lang", again).await;
    assert_eq!(to, "/reports?status=new&lang_switched=1");
    // The page it lands on says what happened, in the new language; other pages do not.
    for (lang, words) in [
        ("ja", "表示言語を日本語にしました"),
        ("en", "The display language is now English"),
    ] {
        let s = &s;
        let page = |path: &'static str| async move {
            s.client
                .get(format!("{}{path}", s.base))
                .header("cookie", format!("hikeshi_lang={lang}"))
                .send()
                .await
                .expect("page")
                .text()
                .await
                .unwrap_or_default()
        };
        let html = page("/login?lang_switched=1").await;
        assert!(
            html.contains("id=\"lang-switched\"") && html.contains(words),
            "{lang}: {html}"
        );
        let html = page("/login").await;
        assert!(
            !html.contains("id=\"lang-switched\""),
            "{lang}: only after a switch"
        );
    }
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

/// Sends a request's head and the first bytes of a body it says is `declared` long, and keeps
/// the connection open (returned) without sending the rest.
async fn partial_post(
    s: &TestServer,
    path: &str,
    token: &str,
    declared: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n{{\"a\":1}}\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    stream
}

/// The status line of the answer on `stream`, if one comes within `secs`.
async fn answer_within(stream: &mut tokio::net::TcpStream, secs: u64) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(secs), stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .map(str::to_string)
}

#[tokio::test]
async fn a_refused_caller_is_answered_before_its_body_is_read() {
    let s = TestServer::start(Db::Sqlite, "hard_body_auth", &[]).await;
    s.add_user("vic", "viewer");
    let viewer = s.token("vic");
    for path in [
        "/api/v1/imports/vulns",
        "/api/v1/intel/kev",
        "/api/v1/assets/import",
        "/api/v1/cases/import",
        "/api/v1/events",
    ] {
        let mut stream = partial_post(&s, path, &viewer, 199 * 1024 * 1024).await;
        let status = answer_within(&mut stream, 5).await;
        assert!(
            status.as_deref().is_some_and(|l| l.contains(" 403 ")),
            "{path}: {status:?}"
        );
    }
}

#[tokio::test]
async fn large_requests_beyond_the_slots_wait_their_turn_with_503() {
    let rules = crate::common::temp_dir("hard-slots-rules");
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    let config = crate::common::temp_dir("hard-slots").join("hikeshi.toml");
    std::fs::write(&config, "max_large_requests = 2\n").expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "hard_slots",
        &[
            "--config",
            &config.display().to_string(),
            "--rules",
            &rules.display().to_string(),
        ],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    // Two slow senders hold both slots.
    let slow = [
        partial_post(&s, "/api/v1/events", &token, 5 * 1024 * 1024).await,
        partial_post(&s, "/api/v1/events", &token, 5 * 1024 * 1024).await,
    ];
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let r = s
        .req(reqwest::Method::POST, "/api/v1/events", Some(&token))
        .body("{\"a\":1}\n")
        .send()
        .await
        .expect("third");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "busy");
    // Health answers meanwhile, and once the slow senders go, the slots are free again.
    let health = s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(post_events(&s, &token, "{\"a\":1}\n").await, StatusCode::OK);
}

/// The server's peak resident memory, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

#[tokio::test]
async fn ten_mib_of_tiny_lines_do_not_take_the_memory() {
    let rules = crate::common::temp_dir("hard-rss-rules");
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    let s = TestServer::start(
        Db::Sqlite,
        "hard_rss",
        &["--rules", &rules.display().to_string()],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let before = peak_rss_mib(s.pid());
    let body = "{}\n".repeat(10 * 1024 * 1024 / 3);
    let r = s
        .req(reqwest::Method::POST, "/api/v1/events", Some(&token))
        .body(body)
        .send()
        .await
        .expect("flood");
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["accepted"].as_u64(), Some(10 * 1024 * 1024 / 3));
    let after = peak_rss_mib(s.pid());
    eprintln!("peak RSS {before} MiB before, {after} MiB after 10 MiB of tiny lines");
    assert!(
        after < before + 200,
        "peak RSS went from {before} to {after} MiB"
    );
}

/// A TCP connection to `port` from the loopback address `127.0.0.<from>`.
async fn connect_from(from: u8, port: u16) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, from], 0)))
        .expect("bind");
    socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("connect")
}

/// Whether the server closed `stream` within `secs` (a read returns end of stream).
async fn closed_within(stream: &mut tokio::net::TcpStream, secs: u64) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(secs), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn syslog_server(name: &str, live: &str) -> (TestServer, u16) {
    let port = crate::common::free_port();
    let config = crate::common::temp_dir(name).join("hikeshi.toml");
    std::fs::write(&config, format!("[live]\n{live}")).expect("config");
    let rules = crate::common::temp_dir(&format!("{name}-rules"));
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    let s = TestServer::start(
        Db::Sqlite,
        name,
        &[
            "--config",
            &config.display().to_string(),
            "--rules",
            &rules.display().to_string(),
            "--syslog-tcp",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .await;
    (s, port)
}

#[tokio::test]
async fn idle_syslog_senders_cannot_lock_others_out() {
    let (s, port) = syslog_server(
        "hard_syslog_slots",
        "syslog_max_connections = 4\nsyslog_connections_per_address = 3\nsyslog_idle_secs = 600\n",
    )
    .await;
    // One address holds its share; a fourth connection from it is closed at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(2, port).await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut fourth = connect_from(2, port).await;
    assert!(
        closed_within(&mut fourth, 3).await,
        "over the per-address share"
    );
    // Another address fills the table; a third address still gets in, in place of the
    // longest-idle connection.
    let _other = connect_from(3, port).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut sender = connect_from(4, port).await;
    assert!(
        closed_within(&mut held[0], 3).await,
        "the longest-idle connection gives way"
    );
    use tokio::io::AsyncWriteExt;
    sender
        .write_all(b"<13>Dec  1 10:00:00 web01 sshd[1]: Accepted password for alice\n")
        .await
        .expect("send");
    drop(sender);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got =
            crate::common::live::metric(&s, "hikeshi_events_received_total{source=\"syslog_tcp\"}")
                .await;
        if got >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new sender's line arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_syslog_connection_that_sends_nothing_is_closed() {
    let (_s, port) = syslog_server("hard_syslog_idle", "syslog_idle_secs = 1\n").await;
    let mut quiet = connect_from(1, port).await;
    assert!(
        closed_within(&mut quiet, 5).await,
        "closed after a second of silence"
    );
}

async fn smtp_server(name: &str, mail: &str) -> (TestServer, u16) {
    let smtp = crate::common::free_port();
    let config = crate::common::temp_dir(name).join("hikeshi.toml");
    std::fs::write(
        &config,
        format!("smtp_listen = \"127.0.0.1:{smtp}\"\n[mail]\nsender_checks = false\n{mail}"),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        name,
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("root", "admin");
    (s, smtp)
}

/// The first reply line the server sends within `secs`.
async fn greeting(stream: &mut tokio::net::TcpStream, secs: u64) -> String {
    answer_within(stream, secs).await.unwrap_or_default()
}

#[tokio::test]
async fn a_slow_smtp_sender_is_cut_off_at_the_session_deadline() {
    use tokio::io::AsyncWriteExt;
    let (_s, smtp) = smtp_server("hard_smtp_slow", "session_deadline_secs = 2\n").await;
    let mut stream = connect_from(1, smtp).await;
    assert!(greeting(&mut stream, 3).await.starts_with("220"));
    let started = std::time::Instant::now();
    // One byte every half second: each read is quick, the whole is not.
    let mut closed = false;
    for b in b"EHLO trickle.example.with.a.long.name\r\n"
        .iter()
        .cycle()
        .take(40)
    {
        if stream.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if started.elapsed() > std::time::Duration::from_secs(6) {
            break;
        }
    }
    let closed = closed || closed_within(&mut stream, 3).await;
    assert!(closed, "the trickling session was closed");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}

#[tokio::test]
async fn one_address_gets_its_share_of_smtp_sessions() {
    let (_s, smtp) = smtp_server("hard_smtp_share", "max_connections_per_address = 2\n").await;
    let mut first = connect_from(5, smtp).await;
    let mut second = connect_from(5, smtp).await;
    assert!(greeting(&mut first, 3).await.starts_with("220"));
    assert!(greeting(&mut second, 3).await.starts_with("220"));
    let mut third = connect_from(5, smtp).await;
    assert!(
        greeting(&mut third, 3).await.starts_with("421"),
        "over the share"
    );
    let mut other = connect_from(6, smtp).await;
    assert!(
        greeting(&mut other, 3).await.starts_with("220"),
        "others still get in"
    );
}

/// One SMTP reply, its continuation lines included.
async fn smtp_reply(r: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return all;
        }
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

#[tokio::test]
async fn a_bare_lf_dot_does_not_end_the_data() {
    use tokio::io::AsyncWriteExt;
    let (s, smtp) = smtp_server("hard_smtp_smuggle", "").await;
    let admin = s.token("root");
    let stream = connect_from(1, smtp).await;
    let (r, mut w) = stream.into_split();
    let mut r = tokio::io::BufReader::new(r);
    assert!(smtp_reply(&mut r).await.starts_with("220"));
    for cmd in [
        "EHLO a.example",
        "MAIL FROM:<a@example.org>",
        "RCPT TO:<csirt@example.jp>",
        "DATA",
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .expect("cmd");
        let reply = smtp_reply(&mut r).await;
        assert!(
            reply.starts_with('2') || reply.starts_with('3'),
            "{cmd}: {reply}"
        );
    }
    // A second message hidden behind LF . LF, as in the 2023 SMTP smuggling reports.
    w.write_all(b"Subject: first\r\n\r\nhello\n.\nMAIL FROM:<ceo@example.jp>\r\nRCPT TO:<csirt@example.jp>\r\nDATA\r\nSubject: smuggled\r\n\r\nwire money\r\n.\r\n")
        .await
        .expect("data");
    let reply = smtp_reply(&mut r).await;
    assert!(reply.starts_with("250"), "{reply}");
    w.write_all(b"QUIT\r\n").await.expect("quit");
    let (_, reports) = s
        .json(
            reqwest::Method::GET,
            "/api/v1/reports?limit=500",
            &admin,
            None,
        )
        .await;
    let reports = reports.as_array().cloned().unwrap_or_default();
    assert_eq!(reports.len(), 1, "one message, not two: {reports:?}");
    assert_eq!(reports[0]["subject"], "first");
}

#[tokio::test]
async fn acknowledgements_are_few_per_address_quote_nothing_and_skip_bulk_mail() {
    let (s, smtp) = smtp_server("hard_smtp_ack", "acknowledgements_per_hour = 2\n").await;
    let admin = s.token("root");
    for n in 0..4 {
        let message = format!("From: victim@example.org\r\nTo: csirt@example.jp\r\nSubject: Buy cheap pills now {n}\r\n\r\nspam\r\n");
        let replies = crate::mail::send_mail(
            smtp,
            "victim@example.org",
            "csirt@example.jp",
            message.as_bytes(),
            None,
        )
        .await;
        assert!(
            replies.last().is_some_and(|r| r.starts_with("250")),
            "{replies:?}"
        );
    }
    let bulk = "From: list@example.org\r\nTo: csirt@example.jp\r\nPrecedence: bulk\r\nSubject: newsletter\r\n\r\nnews\r\n";
    crate::mail::send_mail(
        smtp,
        "list@example.org",
        "csirt@example.jp",
        bulk.as_bytes(),
        None,
    )
    .await;
    let (_, mail) = s
        .json(reqwest::Method::GET, "/api/v1/mail", &admin, None)
        .await;
    let mail = mail.as_array().cloned().unwrap_or_default();
    let to_victim: Vec<_> = mail
        .iter()
        .filter(|m| m["to_addr"] == "victim@example.org")
        .collect();
    assert_eq!(to_victim.len(), 2, "two acknowledgements an hour: {mail:?}");
    assert!(
        to_victim
            .iter()
            .all(|m| !m["body"].as_str().unwrap_or("").contains("pills")),
        "the sender's subject is not sent back"
    );
    assert!(
        !mail.iter().any(|m| m["to_addr"] == "list@example.org"),
        "bulk mail is not answered"
    );
    let (_, reports) = s
        .json(
            reqwest::Method::GET,
            "/api/v1/reports?limit=500",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        reports.as_array().map(Vec::len),
        Some(5),
        "every message is still a report"
    );
}

async fn nul_is_replaced_the_same_on_both_engines(db: Db) {
    let rules = crate::common::temp_dir("hard-nul-rules");
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    let watched = crate::common::temp_dir("hard-nul-watch");
    let s = TestServer::start(
        db,
        "hard_nul",
        &[
            "--rules",
            &rules.display().to_string(),
            "--watch",
            &watched.display().to_string(),
        ],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let line = |host: &str| {
        format!("{{\"EventID\": 1, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"Image\": \"C:\\\\Windows\\\\System32\\\\whoami.exe\", \"Computer\": \"{host}\"}}\n")
    };
    // A NUL in the middle of a body: every line is kept, the NUL becomes U+FFFD.
    let body = format!("{}{}{}", line("pc1"), line("pc\\u00002"), line("pc3"));
    let r = s
        .req(reqwest::Method::POST, "/api/v1/events", Some(&token))
        .body(body)
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["accepted"], 3, "{v}");
    let (_, alerts) = s
        .json(
            reqwest::Method::GET,
            "/api/v1/alerts?limit=100",
            &token,
            None,
        )
        .await;
    let hosts: Vec<String> = alerts
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["host"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for host in ["pc1", "pc\u{FFFD}2", "pc3"] {
        assert!(hosts.iter().any(|h| h == host), "{host} in {hosts:?}");
    }
    // Text from people too.
    let (st, case) = s
        .json(
            reqwest::Method::POST,
            "/api/v1/cases",
            &token,
            Some(serde_json::json!({"title": "NUL\u{0}in the title"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    assert_eq!(case["title"], "NUL\u{FFFD}in the title");
    // A watched file: the lines after a NUL line are read too, and only once.
    let file = watched.join("sysmon.jsonl");
    std::fs::write(&file, format!("{}{}", line("pc\\u00004"), line("pc5"))).expect("file");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, a) = s
            .json(
                reqwest::Method::GET,
                "/api/v1/alerts?host=pc5",
                &token,
                None,
            )
            .await;
        if a.as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the line after the NUL line was read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn nul_is_replaced_the_same_on_sqlite() {
    nul_is_replaced_the_same_on_both_engines(Db::Sqlite).await;
}

#[tokio::test]
async fn nul_is_replaced_the_same_on_postgres() {
    nul_is_replaced_the_same_on_both_engines(Db::Postgres).await;
}

/// A login from the loopback address `127.0.0.<from>`: the status it gets.
async fn login_from(s: &TestServer, from: u8, user: &str, password: &str) -> StatusCode {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, from]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    client
        .post(format!("{}/login", s.base))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .expect("login")
        .status()
}

#[tokio::test]
async fn failed_logins_slow_the_sender_alike_for_every_name_and_lock_no_account() {
    let s = TestServer::start(Db::Sqlite, "hard_lockout", &[]).await;
    s.add_user("root", "admin");
    for name in ["root", "nobody-here"] {
        for _ in 0..5 {
            assert_eq!(
                login_from(&s, 7, name, "wrong-password-1").await,
                StatusCode::UNAUTHORIZED,
                "{name}"
            );
        }
        // The same answer whether the name exists or not: nobody learns who has an account.
        assert_eq!(
            login_from(&s, 7, name, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{name}"
        );
    }
    // The real admin, from their own address, is not locked out.
    assert_eq!(
        login_from(&s, 8, "root", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn weak_passwords_are_refused_by_the_cli() {
    let s = TestServer::start(Db::Sqlite, "hard_passwords", &[]).await;
    for (name, password) in [
        ("taro", "1234567890"),
        ("hana", "QwertyUiop"),
        ("administrator", "Administrator1"),
        ("miki", "zzzzzzzzzzzzzz"),
    ] {
        let (ok, _, err) = s.cli(
            &["user", "add", name, "--role", "viewer"],
            &format!("{password}\n"),
        );
        assert!(!ok, "{name}/{password} was accepted");
        assert!(err.contains("password"), "{err}");
    }
    let (ok, _, err) = s.cli(
        &["user", "add", "taro", "--role", "viewer"],
        "ひのようじん-fire-watch\n",
    );
    assert!(ok, "{err}");
}

#[tokio::test]
async fn a_closed_case_changes_only_by_reopening() {
    let s = TestServer::start(Db::Sqlite, "hard_closed", &[]).await;
    s.add_user("boss", "manager");
    s.add_user("hana", "handler");
    let (manager, handler) = (s.token("boss"), s.token("hana"));
    let (_, c) = s
        .json(
            reqwest::Method::POST,
            "/api/v1/cases",
            &handler,
            Some(serde_json::json!({"title": "old"})),
        )
        .await;
    let path = format!("/api/v1/cases/{}", c["number"].as_str().unwrap_or_default());
    for status in ["triage", "in_progress", "resolved"] {
        s.json(
            reqwest::Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"status": status})),
        )
        .await;
    }
    let (st, _) = s.json(reqwest::Method::PATCH, &path, &manager, Some(serde_json::json!({"status": "closed", "resolution_summary": "done", "lessons_learned": "patch"}))).await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = s
        .json(
            reqwest::Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"title": "rewritten"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("closed")),
        "{e}"
    );
    let (_, after) = s.json(reqwest::Method::GET, &path, &handler, None).await;
    assert_eq!(after["case"]["title"], "old");
    // Reopening is the way back (a commander's move), and then it changes again.
    let (st, _) = s
        .json(
            reqwest::Method::PATCH,
            &path,
            &handler,
            Some(serde_json::json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            reqwest::Method::PATCH,
            &path,
            &manager,
            Some(serde_json::json!({"status": "in_progress", "title": "reopened"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn pages_are_not_cached_and_the_data_folder_is_private() {
    let s = TestServer::start(Db::Sqlite, "hard_cache", &[]).await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let r = s
        .req(reqwest::Method::GET, "/api/v1/cases", Some(&token))
        .send()
        .await
        .expect("api");
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let r = s
        .client
        .get(format!("{}/login", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&s.data_dir)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the data folder is {mode:o}");
}

/// Runs `hikeshi hunt` under `/usr/bin/time` and returns (exit code, stderr, peak RSS in MiB).
fn hunt_measured(args: &[&str]) -> (i32, String, u64) {
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("peak-rss-kb=%M")
        .arg(crate::common::bin())
        .arg("hunt")
        .args(args)
        .output()
        .expect("hunt under /usr/bin/time");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let kb = err
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kb="))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    (out.status.code().unwrap_or(-1), err, kb / 1024)
}

#[test]
fn a_gzip_bomb_is_skipped_with_its_reason_in_bounded_memory() {
    let dir = crate::common::temp_dir("hard-bomb");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules");
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).expect("rule");
    // A CloudTrail document of 200 MB of records, gzipped to a few hundred KB.
    let bomb = dir.join("trail.json.gz");
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(printf '{{\"Records\":['; yes '{{\"eventName\":\"{pad}\"}},' | tr -d '\\n' | head -c 209715200; printf '{{}}]}}') | gzip -9 > '{}'",
            bomb.display(),
            pad = "x".repeat(1000)
        ))
        .status()
        .expect("sh");
    assert!(made.success());
    let compressed = std::fs::metadata(&bomb).expect("size").len();
    assert!(compressed < 1024 * 1024, "{compressed}");
    let (code, err, peak) = hunt_measured(&[
        bomb.to_str().expect("path"),
        "--rules",
        rules.to_str().expect("path"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 3, "skipped, not failed: {err}");
    assert!(err.contains("not read further"), "{err}");
    assert!(peak < 400, "peak RSS {peak} MiB");
}

#[tokio::test]
async fn a_login_form_posted_from_another_site_is_refused() {
    let s = TestServer::start(Db::Sqlite, "hard_login_csrf", &[]).await;
    s.add_user("hana", "handler");
    let post = |origin: Option<&'static str>| {
        let mut r = s
            .client
            .post(format!("{}/login", s.base))
            .form(&[("username", "hana"), ("password", PASSWORD)]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let r = post(Some("https://evil.example")).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session for the attacker's form"
    );
    let same = format!("http://127.0.0.1:{}", s.port);
    let r = s
        .client
        .post(format!("{}/login", s.base))
        .header("origin", same)
        .form(&[("username", "hana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        post(None).await.expect("post").status(),
        StatusCode::SEE_OTHER
    );
}
