//! SPF, DKIM and DMARC of mail the SMTP intake receives, against a real DNS server on loopback
//! (dnslib's zone resolver) holding each sender domain's records, with DKIM signatures made by
//! dkimpy, the reference signer. Every message becomes a report; only authenticated senders
//! are acknowledged, and the report says what the checks found.

use crate::common::{free_port, temp_dir, Db, TestServer};
use crate::mail::accepted as send;
use reqwest::Method;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mail-relay")
}

fn python() -> PathBuf {
    let python = tools().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-deps",
        python.display()
    );
    python
}

/// A DNS server answering from a zone file, killed on drop.
struct Dns {
    child: Child,
    port: u16,
}

impl Dns {
    fn start(zone: &Path) -> Dns {
        let port = free_port();
        let child = Command::new(python())
            .args(["-m", "dnslib.zoneresolver", "--zone"])
            .arg(zone)
            .args(["--address", "127.0.0.1", "--port", &port.to_string()])
            .args(["--tcp", "--log", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the DNS server");
        // The TCP listener is made after the UDP one: once it answers, both do.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the DNS server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Dns { child, port }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An RSA key for DKIM: (private key file, the `p=` value of its DNS record).
fn dkim_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("dkim.pem");
    let key_s = key.display().to_string();
    openssl(&["genrsa", "-traditional", "-out", &key_s, "2048"]);
    let der = openssl(&["rsa", "-in", &key_s, "-pubout", "-outform", "DER"]);
    use base64::Engine as _;
    (key, base64::engine::general_purpose::STANDARD.encode(der))
}

/// The message signed by dkimpy for `domain` with selector `sel`.
fn dkim_sign(key: &Path, domain: &str, message: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python())
        .arg(tools().join("dkim_sign.py"))
        .arg(key)
        .args(["sel", domain])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dkimpy");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message)
        .expect("message");
    let out = child.wait_with_output().expect("signed");
    assert!(out.status.success(), "dkim_sign.py failed");
    out.stdout
}

fn message(from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Reporter <{from}>\r\nTo: csirt@example.jp\r\nSubject: {subject}\r\nDate: Wed, 02 Dec 2026 10:00:00 +0900\r\nMessage-ID: <{subject}@test>\r\n\r\nA suspicious mail arrived from 203.0.113.9.\r\n"
    )
    .into_bytes()
}

/// A TXT record's text as zone-file strings of at most 200 characters.
fn txt(text: &str) -> String {
    text.as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn only_authenticated_senders_are_acknowledged() {
    let dir = temp_dir("sender-checks");
    let (key, public) = dkim_key(&dir);
    let zone = dir.join("zone.txt");
    std::fs::write(
        &zone,
        format!(
            "good.example. 60 IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n\
             _dmarc.good.example. 60 IN TXT \"v=DMARC1; p=reject\"\n\
             spoofed.example. 60 IN TXT \"v=spf1 ip4:192.0.2.1 -all\"\n\
             _dmarc.spoofed.example. 60 IN TXT \"v=DMARC1; p=reject\"\n\
             signed.example. 60 IN TXT \"v=spf1 -all\"\n\
             _dmarc.signed.example. 60 IN TXT \"v=DMARC1; p=reject\"\n\
             sel._domainkey.signed.example. 60 IN TXT {}\n",
            txt(&format!("v=DKIM1; k=rsa; p={public}"))
        ),
    )
    .expect("zone");
    let dns = Dns::start(&zone);
    let smtp = free_port();
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "smtp_listen = \"127.0.0.1:{smtp}\"\n[mail]\ndns_server = \"127.0.0.1:{}\"\nintake_addresses = [\"csirt@example.jp\"]\n",
            dns.port
        ),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "sender-checks",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("lead", "manager");
    let token = s.token("lead");

    // SPF allows 127.0.0.1 for good.example, and DMARC aligns with it.
    let good = send(
        smtp,
        "alice@good.example",
        &message("alice@good.example", "good"),
    )
    .await;
    // spoofed.example sends only from 192.0.2.1: SPF and DMARC fail.
    let spoofed = send(
        smtp,
        "ceo@spoofed.example",
        &message("ceo@spoofed.example", "spoofed"),
    )
    .await;
    // signed.example's SPF allows nobody, but dkimpy's signature passes and aligns.
    let signed_raw = dkim_sign(
        &key,
        "signed.example",
        &message("bob@signed.example", "signed"),
    );
    let signed = send(smtp, "bob@signed.example", &signed_raw).await;
    // The same signature on a changed body fails: DKIM fails, DMARC with it.
    let tampered_raw = String::from_utf8(signed_raw.clone())
        .expect("text")
        .replace("203.0.113.9", "203.0.113.66")
        .into_bytes();
    let tampered = send(smtp, "bob@signed.example", &tampered_raw).await;

    let body_of = |v: &Value| v["report"]["body"].as_str().unwrap_or("").to_string();
    for (tracking, authenticated, expected) in [
        (&good, true, "spf=pass"),
        (&spoofed, false, "spf=fail"),
        (&signed, true, "dkim=pass"),
        // mail-auth words a body that no longer matches its hash `neutral`, not `pass`.
        (&tampered, false, "dkim=neutral"),
    ] {
        let (_, v) = s
            .json(
                Method::GET,
                &format!("/api/v1/reports/{tracking}"),
                &token,
                None,
            )
            .await;
        let body = body_of(&v);
        assert!(body.contains("A suspicious mail arrived"), "kept: {body}");
        assert!(body.contains(expected), "{tracking}: {body}");
        let said = if authenticated {
            "sender authenticated"
        } else {
            "sender not authenticated"
        };
        assert!(body.contains(said), "{tracking}: {body}");
        assert!(
            body.contains(if authenticated {
                "dmarc=pass"
            } else {
                "dmarc=fail"
            }),
            "{tracking}: {body}"
        );
    }

    // Acknowledgements were queued for the authenticated senders only.
    let (_, queue) = s.json(Method::GET, "/api/v1/mail", &token, None).await;
    let mut acknowledged: Vec<String> = queue
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["purpose"] == "acknowledgement")
                .filter_map(|m| m["to_addr"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    acknowledged.sort();
    assert_eq!(
        acknowledged,
        vec!["alice@good.example", "bob@signed.example"],
        "{queue}"
    );
}
