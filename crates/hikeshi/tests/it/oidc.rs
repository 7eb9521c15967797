//! Login through a real OpenID provider: the certified `oidc-provider` package from npm,
//! started by the test on loopback with password accounts and groups. The browser's part is
//! played by a cookie-keeping HTTP client that follows redirects, as a browser does. Groups map
//! to roles, a user in no mapped group gets nothing, an answer works once and only in the
//! browser that started the login, a provider user cannot take over a local account, and the
//! role follows the groups at the next login.

use crate::common::{free_port, temp_dir, TestServer, PASSWORD};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const CLIENT_SECRET: &str = "client-secret-for-the-test-provider";

/// The provider process, killed on drop.
struct Provider {
    child: Child,
    issuer: String,
    config: PathBuf,
}

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

impl Provider {
    fn start(dir: &Path, callback: &str, accounts: Value) -> Provider {
        assert!(
            provider_dir().join("node_modules/oidc-provider").exists(),
            "the test provider is not installed: scripts/test-deps runs npm ci in tests/oidc-provider"
        );
        let config = dir.join("provider.json");
        let provider = Provider::write(&config, callback, accounts);
        let mut child = Command::new("node")
            .arg(provider_dir().join("provider.mjs"))
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("provider.log")).expect("provider log"))
            .spawn()
            .expect("node runs the test provider");
        let mut line = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        stdout
            .read_line(&mut line)
            .expect("the provider says where it listens");
        // The provider prints notices later: its stdout must stay open, or it dies of EPIPE.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("provider said: {line}"))
            .trim()
            .to_string();
        Provider {
            child,
            issuer,
            config: provider,
        }
    }

    fn write(path: &Path, callback: &str, accounts: Value) -> PathBuf {
        let config = json!({
            "client": {
                "client_id": "hikeshi",
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [callback],
            },
            "accounts": accounts,
        });
        std::fs::write(path, config.to_string()).expect("provider config");
        path.to_path_buf()
    }

    /// Changes the accounts; the provider reads them again at the next login.
    fn set_accounts(&self, callback: &str, accounts: Value) {
        Provider::write(&self.config, callback, accounts);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn accounts(sato_groups: &[&str]) -> Value {
    json!({
        "sato": { "password": "sato-at-provider", "name": "Sato Hanako", "groups": sato_groups },
        "tanaka": { "password": "tanaka-at-provider", "groups": ["sales"] },
        "root": { "password": "root-at-provider", "groups": ["csirt-admins"] },
    })
}

/// A browser: keeps cookies, follows redirects, and stops before hikeshi's callback when asked
/// so that the test can hold the provider's answer.
fn browser(stop_at_callback: bool) -> Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if stop_at_callback && attempt.url().path() == "/login/oidc/callback" {
            attempt.stop()
        } else if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    Client::builder()
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .redirect(policy)
        .build()
        .expect("browser")
}

/// Starts a login at hikeshi and signs in at the provider's page; returns the last response.
async fn sign_in(
    s: &TestServer,
    browser: &Client,
    login: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser
        .get(format!("{}/login/oidc?next=/alerts", s.base))
        .send()
        .await
        .expect("start the login");
    assert_eq!(page.status(), StatusCode::OK, "the provider's login page");
    let form_url = page.url().clone();
    let html = page.text().await.expect("page");
    assert!(html.contains("idp-login"), "{html}");
    browser
        .post(form_url)
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .expect("sign in at the provider")
}

/// hikeshi on `port`, with the client secret in a file only its owner reads.
async fn start(dir: &Path, port: u16, provider: &Provider, secret: &str) -> TestServer {
    use std::os::unix::fs::PermissionsExt;
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).expect("secret");
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"http://127.0.0.1:{port}\"\n[auth.oidc]\nissuer = \"{}\"\nclient_id = \"hikeshi\"\nclient_secret_file = \"{}\"\nlabel = \"Test IdP\"\n[auth.oidc.roles]\ncsirt = \"handler\"\ncsirt-admins = \"admin\"\n",
            provider.issuer,
            secret_file.display()
        ),
    )
    .expect("config");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data");
    TestServer::start_at(
        port,
        data,
        None,
        &["--config", &config.display().to_string()],
    )
    .await
}

#[tokio::test]
async fn provider_users_sign_in_with_the_role_their_groups_give() {
    let dir = temp_dir("oidc");
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/login/oidc/callback");
    let provider = Provider::start(&dir, &callback, accounts(&["csirt"]));
    let s = start(&dir, port, &provider, CLIENT_SECRET).await;
    s.add_user("root", "admin");

    // The login page offers the provider.
    let login_page = s
        .client
        .get(format!("{}/login", s.base))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    assert!(login_page.contains("Test IdP"), "{login_page}");

    // sato is in `csirt`: a handler, and the page asked for first comes next.
    let sato = browser(false);
    let signed_in = sign_in(&s, &sato, "sato", "sato-at-provider").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(signed_in.url().path(), "/login/oidc/callback");
    let html = signed_in.text().await.expect("page");
    assert!(html.contains("url=/alerts"), "{html}");
    let alerts = sato
        .get(format!("{}/alerts", s.base))
        .send()
        .await
        .expect("alerts");
    assert_eq!(
        alerts.url().path(),
        "/alerts",
        "signed in, not sent to /login"
    );
    assert_eq!(alerts.status(), StatusCode::OK);
    let account = s.user_line("sato").expect("a local account for sato");
    assert!(account.contains("handler"), "{account}");

    // tanaka is only in `sales`: no role, no account.
    let tanaka = browser(false);
    let refused = sign_in(&s, &tanaka, "tanaka", "tanaka-at-provider").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.user_line("tanaka"), None);

    // The provider's `root` cannot take over the local break-glass admin.
    let intruder = browser(false);
    let refused = sign_in(&s, &intruder, "root", "root-at-provider").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let local = s
        .client
        .post(format!("{}/login", s.base))
        .header("origin", &s.base)
        .form(&[("username", "root"), ("password", PASSWORD)])
        .send()
        .await
        .expect("local login");
    assert_eq!(
        local.status(),
        StatusCode::SEE_OTHER,
        "break-glass still works"
    );

    // The role follows the groups at the next login.
    provider.set_accounts(&callback, accounts(&["csirt", "csirt-admins"]));
    let again = browser(false);
    assert_eq!(
        sign_in(&s, &again, "sato", "sato-at-provider")
            .await
            .status(),
        StatusCode::OK
    );
    assert!(s.user_line("sato").unwrap_or_default().contains("admin"));
}

#[tokio::test]
async fn an_answer_counts_once_and_only_in_the_browser_that_asked() {
    let dir = temp_dir("oidc-replay");
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/login/oidc/callback");
    let provider = Provider::start(&dir, &callback, accounts(&["csirt"]));
    let s = start(&dir, port, &provider, CLIENT_SECRET).await;

    let sato = browser(true);
    let held = sign_in(&s, &sato, "sato", "sato-at-provider").await;
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    let answer = held
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("the provider sends the browser back")
        .to_string();
    assert!(answer.starts_with(&callback), "{answer}");

    // Another browser (an attacker who got the link) gets nothing, and the flow stays.
    let other = browser(false).get(&answer).send().await.expect("other");
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.user_line("sato"), None);

    // A forged state from the right browser ends the flow…
    let forged = answer.replace("state=", "state=x");
    let refused = sato.get(&forged).send().await.expect("forged");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    // …so the real answer no longer works either: one try per login.
    let late = sato.get(&answer).send().await.expect("late");
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.user_line("sato"), None);

    // A fresh login works, once. The provider remembers sato's session and answers at once.
    let held = sato
        .get(format!("{}/login/oidc", s.base))
        .send()
        .await
        .expect("fresh login");
    assert_eq!(held.status(), StatusCode::SEE_OTHER);
    let answer = held
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("answer")
        .to_string();
    assert_eq!(
        sato.get(&answer).send().await.expect("ok").status(),
        StatusCode::OK
    );
    assert!(s.user_line("sato").is_some());
    assert_eq!(
        sato.get(&answer).send().await.expect("replay").status(),
        StatusCode::BAD_REQUEST,
        "a replayed answer is refused"
    );

    // One address cannot fill the table of started logins: after 20, it is told to wait.
    let flood = browser(true);
    let mut answers = Vec::new();
    for _ in 0..25 {
        let r = flood
            .get(format!("{}/login/oidc", s.base))
            .send()
            .await
            .expect("start");
        answers.push(r.status());
    }
    assert!(
        answers.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );

    // A wrong client secret: the provider refuses the code exchange.
    drop(s);
    let s = start(&dir, port, &provider, "not-the-secret").await;
    let b = browser(false);
    let refused = sign_in(&s, &b, "sato", "sato-at-provider").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn a_provider_reached_in_the_clear_is_refused_at_start() {
    let err = crate::common::serve_refuses(
        "[auth.oidc]\nissuer = \"http://login.example.jp\"\nclient_id = \"hikeshi\"\n[auth.oidc.roles]\n",
    );
    assert!(err.contains("https://"), "{err}");
}
