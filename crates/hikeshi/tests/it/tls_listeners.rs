//! TLS beyond HTTPS, with a certificate the test makes: STARTTLS on the SMTP intake (and what
//! was pipelined behind it thrown away), outgoing mail to a real relay (aiosmtpd) over
//! STARTTLS and implicit TLS with a login, the relay password kept out of the config file, and
//! syslog over TLS (RFC 5425).

use crate::common::live::{hits_of, wait_for, write_rules, SSH_RULE_ID};
use crate::common::{certificate, free_port, temp_dir, Db, TestServer};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::{Method, StatusCode};
use rustls::pki_types::ServerName;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A TLS client that trusts only the test's certificate.
fn connector(cert: &str) -> tokio_rustls::TlsConnector {
    let config = hikeshi_app::tls::client_config(Path::new(cert)).expect("client config");
    tokio_rustls::TlsConnector::from(config)
}

/// Sends one command (or nothing) and reads the whole reply, continuation lines included.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    send: &str,
) -> String {
    if !send.is_empty() {
        conn.get_mut()
            .write_all(send.as_bytes())
            .await
            .expect("send");
        conn.get_mut().flush().await.expect("flush");
    }
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read_line(&mut line))
            .await
            .expect("reply in time")
            .expect("read");
        reply.push_str(&line);
        if n == 0 || line.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

#[tokio::test]
async fn the_intake_offers_starttls_and_forgets_what_was_sent_before_it() {
    let dir = temp_dir("smtp-starttls");
    let (cert, key) = certificate(&dir);
    let smtp = free_port();
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!("smtp_listen = \"127.0.0.1:{smtp}\"\n[mail]\nsender_checks = false\nintake_addresses = [\"csirt@example.jp\"]\nrequire_starttls = true\n"),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "smtp-starttls",
        &[
            "--config",
            &config.display().to_string(),
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
    )
    .await;
    s.add_user("lead", "manager");
    let token = s.token("lead");

    let tcp = TcpStream::connect(("127.0.0.1", smtp))
        .await
        .expect("connect");
    let mut plain = BufReader::new(tcp);
    assert!(exchange(&mut plain, "").await.starts_with("220 "));
    let ehlo = exchange(&mut plain, "EHLO client.example\r\n").await;
    assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
    // With require_starttls, no envelope in the clear.
    let refused = exchange(&mut plain, "MAIL FROM:<a@example.jp>\r\n").await;
    assert!(refused.starts_with("530 "), "{refused}");

    // A MAIL command pipelined behind STARTTLS in the same packet must not count once the
    // session is encrypted (STARTTLS command injection).
    let go = exchange(
        &mut plain,
        "STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n",
    )
    .await;
    assert!(go.starts_with("220 "), "{go}");
    let tcp = plain.into_inner();
    let tls = connector(&cert)
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("TLS handshake with the intake");
    let mut secure = BufReader::new(tls);
    let ehlo = exchange(&mut secure, "EHLO client.example\r\n").await;
    assert!(ehlo.starts_with("250-hikeshi"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "not offered twice: {ehlo}");
    let rcpt = exchange(&mut secure, "RCPT TO:<csirt@example.jp>\r\n").await;
    assert!(
        rcpt.starts_with("503 "),
        "the injected MAIL was dropped: {rcpt}"
    );
    let again = exchange(&mut secure, "STARTTLS\r\n").await;
    assert!(again.starts_with("503 "), "{again}");
    assert!(exchange(&mut secure, "QUIT\r\n").await.starts_with("221 "));

    // A real SMTP client (lettre) that insists on STARTTLS and checks the certificate.
    let pem = std::fs::read(&cert).expect("cert");
    let params = TlsParameters::builder("127.0.0.1".into())
        .add_root_certificate(Certificate::from_pem(&pem).expect("pem"))
        .build_rustls()
        .expect("tls parameters");
    let client = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp)
        .tls(Tls::Required(params))
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let message = lettre::Message::builder()
        .from("鈴木 <suzuki@example.jp>".parse().expect("from"))
        .to("csirt@example.jp".parse().expect("to"))
        .subject("暗号化された報告")
        .body("不審なメールを受け取りました。".to_string())
        .expect("message");
    let sent = client.send(message).await.expect("sent over STARTTLS");
    let said = sent.message().collect::<Vec<_>>().join(" ");
    let tracking = said
        .split_whitespace()
        .find(|w| w.starts_with("HK-"))
        .unwrap_or_else(|| panic!("no tracking number in {said}"))
        .to_string();
    let (st, report) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["report"]["subject"], "暗号化された報告");
    assert_eq!(report["report"]["source"], "email");
}

/// aiosmtpd from `tests/mail-relay/.venv` (made by scripts/test-deps), killed on drop.
struct Relay {
    child: Child,
    out: std::path::PathBuf,
}

impl Relay {
    fn start(port: u16, cert: &str, key: &str, mode: &str, out: &Path) -> Relay {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mail-relay");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/test-deps",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("relay.py"))
            .args([&port.to_string(), cert, key, "hikeshi", "relay-pass 秘密"])
            .arg(out)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the relay");
        let mut ready = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready)
            .expect("relay output");
        assert_eq!(ready.trim(), "ready", "the relay did not start");
        Relay {
            child,
            out: out.to_path_buf(),
        }
    }

    /// What the relay recorded of its first message, once it has one.
    async fn first(&self) -> Value {
        let path = self.out.join("1.json");
        wait_for(
            "a message at the relay",
            Duration::from_secs(30),
            || async { path.exists() },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        serde_json::from_str(&std::fs::read_to_string(&path).expect("record")).expect("json")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A report from the API whose reporter gets an acknowledgement through the relay.
async fn report_for_acknowledgement(s: &TestServer, token: &str) {
    let (st, r) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            token,
            Some(json!({
                "subject": "フィッシングの報告",
                "body": "リンクを開いてしまいました。",
                "reporter_contact": "reporter@example.jp",
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
}

#[tokio::test]
async fn outgoing_mail_logs_in_to_the_relay_over_starttls_and_over_tls() {
    let dir = temp_dir("relay-tls");
    let (cert, key) = certificate(&dir);
    let password_file = dir.join("relay-password");
    std::fs::write(&password_file, "relay-pass 秘密\n").expect("password");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))
        .expect("chmod");

    for mode in ["starttls", "tls"] {
        let port = free_port();
        let relay = Relay::start(port, &cert, &key, mode, &dir.join(format!("got-{mode}")));
        let config = dir.join(format!("{mode}.toml"));
        std::fs::write(
            &config,
            format!(
                "[mail]\nrelay = \"127.0.0.1:{port}\"\nfrom = \"csirt@example.jp\"\nrelay_tls = \"{mode}\"\nrelay_ca_file = \"{cert}\"\nrelay_user = \"hikeshi\"\nrelay_password_file = \"{}\"\n",
                password_file.display()
            ),
        )
        .expect("config");
        let s = TestServer::start(
            Db::Sqlite,
            &format!("relay-{mode}"),
            &["--config", &config.display().to_string()],
        )
        .await;
        s.add_user("lead", "manager");
        let token = s.token("lead");
        report_for_acknowledgement(&s, &token).await;
        let got = relay.first().await;
        assert_eq!(got["tls"], true, "{mode}: {got}");
        assert_eq!(got["login"], "hikeshi", "{mode}: {got}");
        assert_eq!(
            got["rcpt_tos"],
            json!(["reporter@example.jp"]),
            "{mode}: {got}"
        );
        let eml = std::fs::read(relay.out.join("1.eml")).expect("eml");
        let parsed = mail_parser::MessageParser::default()
            .parse(&eml)
            .expect("mime");
        assert!(
            parsed.subject().unwrap_or("").contains("HK-"),
            "{mode}: the acknowledgement names the tracking number: {:?}",
            parsed.subject()
        );
        let (_, queue) = s.json(Method::GET, "/api/v1/mail", &token, None).await;
        assert!(
            queue
                .as_array()
                .is_some_and(|q| q.iter().any(|m| m["status"] == "sent")),
            "{queue}"
        );
    }
}

#[test]
fn a_relay_password_file_others_can_read_stops_the_start() {
    let dir = temp_dir("relay-password-mode");
    std::fs::create_dir_all(&dir).expect("dir");
    let password_file = dir.join("relay-password");
    std::fs::write(&password_file, "secret\n").expect("password");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let err = crate::common::serve_refuses(&format!(
        "[mail]\nrelay = \"127.0.0.1:25\"\nrelay_tls = \"starttls\"\nrelay_user = \"hikeshi\"\nrelay_password_file = \"{}\"\n",
        password_file.display()
    ));
    assert!(
        err.contains("relay-password") && err.contains("chmod 600"),
        "{err}"
    );
}

#[tokio::test]
async fn syslog_over_tls_fires_rules_and_refuses_plain_senders() {
    let dir = temp_dir("syslog-tls");
    let (cert, key) = certificate(&dir);
    let rules = dir.join("rules");
    write_rules(&rules);
    let port = free_port();
    let s = TestServer::start(
        Db::Sqlite,
        "syslog-tls",
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--rules",
            &rules.display().to_string(),
            "--syslog-tls",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .await;
    s.add_user("soc", "viewer");
    let token = s.token("soc");

    // A sender that does not speak TLS gets nothing in.
    let mut plain = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    plain
        .write_all(b"<38>Dec  2 01:00:00 web-plain sshd[7]: Corrupted MAC on input\n")
        .await
        .expect("write");
    drop(plain);

    // RFC 5425 framing: octet counting, two messages in one record, then a newline-framed one.
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut tls = connector(&cert)
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("TLS handshake with the syslog listener");
    let one = "<38>1 2026-12-02T01:00:00Z web-tls-1 sshd 7 - - Corrupted MAC on input";
    let two = "<38>1 2026-12-02T01:00:01Z web-tls-2 sshd 7 - - Corrupted MAC on input";
    let framed = format!("{} {one}{} {two}", one.len(), two.len());
    tls.write_all(framed.as_bytes()).await.expect("write");
    tls.write_all(b"<38>Dec  2 01:00:02 web-tls-3 sshd[7]: Corrupted MAC on input\n")
        .await
        .expect("write");
    tls.shutdown().await.expect("close");

    wait_for("three hits over TLS", Duration::from_secs(30), || async {
        hits_of(&s, &token, SSH_RULE_ID).await == 3
    })
    .await;
    for host in ["web-tls-1", "web-tls-2", "web-tls-3"] {
        let (_, a) = s
            .json(
                Method::GET,
                &format!("/api/v1/alerts?host={host}"),
                &token,
                None,
            )
            .await;
        assert_eq!(a.as_array().map(Vec::len), Some(1), "{host}: {a}");
    }
    let (_, a) = s
        .json(Method::GET, "/api/v1/alerts?host=web-plain", &token, None)
        .await;
    assert_eq!(
        a.as_array().map(Vec::len),
        Some(0),
        "plain text is not syslog over TLS: {a}"
    );
}
