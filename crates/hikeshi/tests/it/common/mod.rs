//! Test harness: runs the real `hikeshi` binary against SQLite or a fresh PostgreSQL database
//! and talks to it over HTTP like any client would.
#![allow(dead_code)]

pub mod live;

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "correct-horse-battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub base: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub port: u16,
    child: Option<Child>,
    pub client: Client,
    extra_args: Vec<String>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hikeshi")
}

/// A loopback port nobody listens on, never the same twice in one test process: a test that
/// needs two ports (HTTP and SMTP) must not be handed the first one again before it is bound.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on loopback");
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Runs `hikeshi ARGS --data-dir DIR [--database-url URL]`; `stdin` is piped in.
pub fn cli_at(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).arg("--data-dir").arg(data_dir);
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    cmd.env_remove("HIKESHI_DATABASE_URL")
        .env_remove("HIKESHI_CONFIG");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hikeshi");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("hikeshi output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `serve` with this config file text and expects it to refuse; returns its stderr.
pub fn serve_refuses(config_text: &str) -> String {
    let dir = temp_dir("refused-config");
    let config = dir.join("hikeshi.toml");
    std::fs::write(&config, config_text).expect("config");
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config.display().to_string();
    let (ok, _, err) = cli_at(
        &dir.join("data"),
        None,
        &["serve", "--config", &config, "--listen", &listen],
        "",
    );
    assert!(!ok, "serve started with {config_text}");
    err
}

/// A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file).
pub fn certificate(dir: &std::path::Path) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    std::fs::create_dir_all(dir).expect("certificate dir");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("cert file");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("key file");
    (cert.display().to_string(), key.display().to_string())
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hikeshi-test-{name}-{}", hikeshi_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl TestServer {
    pub async fn start(db: Db, name: &str, extra_args: &[&str]) -> TestServer {
        let data_dir = temp_dir(name);
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(
                hikeshi_store::scratch::create_scratch_postgres(
                    &hikeshi_store::scratch::test_postgres_admin_url(),
                    &format!("hikeshi_{name}"),
                )
                .await
                .expect(
                    "PostgreSQL must be running for the PostgreSQL tests (HIKESHI_TEST_POSTGRES)",
                ),
            ),
        };
        TestServer::start_on(data_dir, database_url, extra_args).await
    }

    /// A server on a data folder (and database) that already exist, such as a restored backup.
    pub async fn start_on(
        data_dir: PathBuf,
        database_url: Option<String>,
        extra_args: &[&str],
    ) -> TestServer {
        TestServer::start_at(free_port(), data_dir, database_url, extra_args).await
    }

    /// A server on a port chosen before (another service must know its address first).
    pub async fn start_at(
        port: u16,
        data_dir: PathBuf,
        database_url: Option<String>,
        extra_args: &[&str],
    ) -> TestServer {
        // With --tls-cert the server speaks HTTPS, and the client trusts that certificate only.
        let tls_cert = extra_args
            .iter()
            .position(|a| *a == "--tls-cert")
            .and_then(|i| extra_args.get(i + 1));
        let mut client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0);
        if let Some(cert) = tls_cert {
            let pem = std::fs::read(cert).expect("test certificate");
            client = client
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"));
        }
        let scheme = if tls_cert.is_some() { "https" } else { "http" };
        let mut server = TestServer {
            base: format!("{scheme}://127.0.0.1:{port}"),
            data_dir,
            database_url,
            port,
            child: None,
            // No pooled connections: the server closes a connection after refusing an oversized
            // body unread, and a pooled client could pick that connection for the next request.
            client: client.build().expect("client"),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        server.spawn().await;
        server
    }

    /// Runs a CLI verb against the same database; `stdin` is piped in.
    pub fn cli(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        cli_at(&self.data_dir, self.database_url.as_deref(), args, stdin)
    }

    pub async fn spawn(&mut self) {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env_remove("HIKESHI_CONFIG")
            .env("HIKESHI_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        self.child = Some(cmd.spawn().expect("start hikeshi serve"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
            {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "hikeshi serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends a signal and waits for the process to end.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running server");
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        child.wait().expect("server exit")
    }

    /// The `user list` line of `user`, if the account exists.
    pub fn user_line(&self, user: &str) -> Option<String> {
        let (ok, out, err) = self.cli(&["user", "list"], "");
        assert!(ok, "{err}");
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(user))
            .map(|l| l.to_string())
    }

    pub fn add_user(&self, name: &str, role: &str) {
        let (ok, _, err) = self.cli(
            &["user", "add", name, "--role", role],
            &format!("{PASSWORD}\n"),
        );
        assert!(ok, "user add {name}: {err}");
    }

    pub fn token(&self, user: &str) -> String {
        let (ok, out, err) = self.cli(&["token", "create", "--user", user], "");
        assert!(ok, "token create: {err}");
        out.trim().to_string()
    }

    /// A token that may only send events, as a log shipper would hold.
    pub fn ingest_token(&self, user: &str) -> String {
        let (ok, out, err) = self.cli(
            &["token", "create", "--user", user, "--scope", "ingest"],
            "",
        );
        assert!(ok, "token create: {err}");
        out.trim().to_string()
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(method, path, Some(token));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Posts the login form as a browser on the same site would; the answer's status.
pub async fn form_login_status(server: &TestServer, user: &str, password: &str) -> StatusCode {
    server
        .client
        .post(format!("{}/login", server.base))
        .header("origin", &server.base)
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .expect("login")
        .status()
}

/// Logs in through the form and returns (cookie header value, CSRF token from the page).
pub async fn browser_login(
    server: &TestServer,
    user: &str,
    password: &str,
) -> Option<(String, String)> {
    let resp = server
        .client
        .post(format!("{}/login", server.base))
        .form(&[
            ("username", user),
            ("password", password),
            ("next", "/cases"),
        ])
        .send()
        .await
        .ok()?;
    if resp.status() != StatusCode::SEE_OTHER {
        return None;
    }
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hikeshi_session="))?
        .split(';')
        .next()?
        .to_string();
    let page = server
        .client
        .get(format!("{}/cases", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    Some((cookie, csrf))
}

/// A Vuls v4 result as the report phase writes it, with the given CVEs (id, vector, package).
pub fn vuls(server: &str, ip: &str, cves: &[(&str, &str, &str)]) -> String {
    let mut scanned = serde_json::Map::new();
    for (cve, vector, pkg) in cves {
        scanned.insert(
            cve.to_string(),
            json!({
                "cveID": cve,
                "confidences": [{"score": 100, "detectionMethod": "OvalMatch"}],
                "affectedPackages": [{"name": pkg, "fixedIn": "9.9.9", "notFixedYet": false}],
                "cveContents": {"nvd": [{"type": "nvd", "cveID": cve, "title": "", "summary": "test", "cvss2Score": 0, "cvss2Vector": "", "cvss3Score": 0, "cvss3Vector": vector}]}
            }),
        );
    }
    json!({
        "jsonVersion": 4, "serverName": server, "family": "ubuntu", "release": "22.04",
        "ipv4Addrs": [ip], "platform": {"name": "aws", "instanceID": format!("i-{server}")},
        "scannedCves": scanned,
        "packages": {"openssl": {"name": "openssl", "version": "3.0.2", "release": "0ubuntu1", "arch": "amd64"}}
    })
    .to_string()
}
