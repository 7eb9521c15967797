//! HTTPS on `serve` itself, with a certificate the test makes: pages and the API over TLS,
//! HSTS, Secure cookies, plain HTTP refused, silent connections not blocking others, and a
//! broken key stopping the start with the file's name.

use crate::common::{bin, certificate, free_port, temp_dir, Db, TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use std::io::Write;
use std::time::{Duration, Instant};

#[tokio::test]
async fn serve_speaks_https_with_a_certificate_and_key() {
    let dir = temp_dir("tls-cert");
    let (cert, key) = certificate(&dir);
    let s = TestServer::start(Db::Sqlite, "tls", &["--tls-cert", &cert, "--tls-key", &key]).await;
    assert!(s.base.starts_with("https://"));
    s.add_user("hana", "handler");
    let token = s.token("hana");

    let r = s
        .req(Method::GET, "/healthz", None)
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let (st, me) = s.json(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(st, StatusCode::OK, "{me}");

    // The login cookie is Secure, and the session works over TLS.
    let login = s
        .client
        .post(format!("{}/login", s.base))
        .header("origin", &s.base)
        .form(&[("username", "hana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");

    // Plain HTTP on the same port gets no page.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", s.port))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true),
        "plain HTTP must not be served"
    );

    // Connections that never start a handshake do not hold up anyone else.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("tcp"));
    }
    let started = Instant::now();
    let r = s
        .req(Method::GET, "/healthz", None)
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a request behind 20 silent connections took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn a_broken_key_stops_the_start_and_names_the_file() {
    let dir = temp_dir("tls-broken");
    let (cert, key) = certificate(&dir);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&key)
        .expect("key");
    f.write_all(b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
        .expect("write");
    let data = temp_dir("tls-broken-data");
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--tls-cert", &cert, "--tls-key", &key])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("HIKESHI_CONFIG")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key.pem"), "{err}");

    // One of the pair alone is refused by the command line.
    let out = std::process::Command::new(bin())
        .args(["serve", "--tls-cert", &cert])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("HIKESHI_CONFIG")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
