//! The webhook connector against a receiver on loopback that answers what each test scripts:
//! retries of server errors under one key, a refusal that is final, one call for one intent,
//! undo at the end and on revoke, and every signature checked with `openssl` rather than with
//! hikeshi's own code.

use crate::common::{temp_dir, Db, TestServer};
use crate::response::{
    action_view, policy, send, ssh_line, states_in_history, wait_state, write_rules,
};
use reqwest::Method;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const FAILED_PASSWORD: &str = "6f1c6d2e-3b1a-4c53-9a55-0a7e1f3d2b10";
const SECRET: &str = "a shared secret for the receiver";

/// One call as the receiver saw it.
#[derive(Debug, Clone)]
struct Call {
    headers: HashMap<String, String>,
    body: String,
}

impl Call {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A receiver that answers the scripted statuses in turn (then 200) and keeps every call.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Receiver {
    async fn start(script: &[(u16, &'static str)]) -> (Receiver, String) {
        let r = Receiver::default();
        r.script
            .lock()
            .expect("script")
            .extend(script.iter().copied());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver");
        let url = format!(
            "http://{}/hooks/block",
            listener.local_addr().expect("addr")
        );
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.answer(stream).await });
            }
        });
        (r, url)
    }

    async fn answer(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut headers = HashMap::new();
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        self.calls.lock().expect("calls").push(Call {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let (status, text) = self
            .script
            .lock()
            .expect("script")
            .pop_front()
            .unwrap_or((200, "ok"));
        let answer = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = write.write_all(answer.as_bytes()).await;
    }

    fn calls_for(&self, target: &str) -> Vec<Call> {
        self.calls
            .lock()
            .expect("calls")
            .iter()
            .filter(|c| c.json()["target"] == target)
            .cloned()
            .collect()
    }
}

/// The signature as `openssl dgst -hmac` computes it over `<timestamp>.<body>`.
fn openssl_signature(timestamp: &str, body: &str) -> String {
    let dir = temp_dir("webhook-signed");
    let path = dir.join("signed");
    std::fs::write(&path, format!("{timestamp}.{body}")).expect("signed text");
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", SECRET, "-r"])
        .arg(&path)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl dgst failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

fn assert_signed(call: &Call) {
    let timestamp = call.header("x-hikeshi-timestamp");
    assert!(!timestamp.is_empty(), "a timestamp header: {call:?}");
    assert_eq!(
        call.header("x-hikeshi-signature"),
        format!("sha256={}", openssl_signature(timestamp, &call.body)),
        "the signature checks with openssl"
    );
    assert_eq!(call.header("content-type"), "application/json");
}

/// A server whose only connector is a webhook to `url`, with these policies.
async fn start(name: &str, url: &str, policies: &str) -> (TestServer, String, String) {
    let dir = temp_dir("webhook-config");
    let secret = dir.join("webhook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).expect("secret");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "[response]\nreconcile_every_ms = 200\nlease_ms = 2000\n\n[[response.webhooks]]\nname = \"edr\"\nurl = \"{url}\"\nsecret_file = \"{}\"\ntimeout_ms = 2000\n\n{policies}",
            secret.display()
        ),
    )
    .expect("config");
    let rules = write_rules();
    let config = config.display().to_string();
    let s = TestServer::start(Db::Sqlite, name, &["--rules", &rules, "--config", &config]).await;
    s.add_user("ops", "handler");
    let token = s.token("ops");
    let shipper = s.ingest_token("ops");
    (s, token, shipper)
}

/// Waits until the receiver saw `n` calls for `target`.
async fn wait_calls(r: &Receiver, target: &str, n: usize, limit: Duration) -> Vec<Call> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let calls = r.calls_for(target);
        if calls.len() >= n {
            return calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{target}: {} calls within {limit:?}, expected {n}",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_webhook_is_retried_under_one_key_told_once_and_undone_at_the_end() {
    let (receiver, url) =
        Receiver::start(&[(500, "busy"), (500, "still busy"), (202, "queued")]).await;
    // Long enough for two back-offs (2 s and 4 s, with jitter) before it ends.
    let policies = policy(
        "edr-block",
        FAILED_PASSWORD,
        12,
        "connector = \"webhook:edr\"",
    );
    let (s, token, shipper) = start("webhook-retry", &url, &policies).await;

    // 500, 500, 202: three attempts of one call, the same key each time, then active.
    send(&s, &shipper, ssh_line("Failed password", "192.0.2.7", 1)).await;
    let active = wait_state(&s, &token, "192.0.2.7", "active", Duration::from_secs(15)).await;
    let calls = receiver.calls_for("192.0.2.7/32");
    assert_eq!(calls.len(), 3, "exactly three attempts: {calls:?}");
    let id = active["id"].as_str().expect("id").to_string();
    for call in &calls {
        assert_signed(call);
        assert_eq!(call.json()["op"], "add");
        assert_eq!(call.json()["action_id"], id.as_str());
        assert_eq!(call.header("idempotency-key"), format!("hikeshi-{id}-add"));
        assert_eq!(call.body, calls[0].body, "a retry sends the same bytes");
    }
    assert_eq!(active["attempts"], 3);
    assert!(
        active["connector_answer"]
            .as_str()
            .unwrap_or("")
            .starts_with("HTTP 202"),
        "{active}"
    );

    // The TTL ends: the receiver is told to undo it, once, under its own key.
    wait_state(&s, &token, "192.0.2.7", "reverted", Duration::from_secs(12)).await;
    let calls = receiver.calls_for("192.0.2.7/32");
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[3].json()["op"], "delete");
    assert_eq!(
        calls[3].header("idempotency-key"),
        format!("hikeshi-{id}-delete")
    );
    assert_signed(&calls[3]);
    assert_eq!(
        states_in_history(&action_view(&s, &token, &id).await),
        vec![
            "proposed",
            "approved",
            "applying",
            "failed",
            "applying",
            "failed",
            "applying",
            "active",
            "reverting",
            "reverted"
        ]
    );

    // The same alert three times and five more for one address: one action, one call.
    let mut body = String::new();
    for _ in 0..3 {
        body.push_str(&ssh_line("Failed password", "192.0.2.8", 9));
    }
    send(&s, &shipper, body).await;
    for n in 0..5 {
        send(
            &s,
            &shipper,
            ssh_line("Failed password", "192.0.2.8", 10 + n),
        )
        .await;
    }
    let one = wait_state(&s, &token, "192.0.2.8", "active", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let calls = receiver.calls_for("192.0.2.8/32");
    assert_eq!(calls.len(), 1, "one call for one intent: {calls:?}");
    let one_id = one["id"].as_str().expect("id");
    assert_eq!(
        calls[0].header("idempotency-key"),
        format!("hikeshi-{one_id}-add")
    );
    let all = crate::response::actions_for(&s, &token, "192.0.2.8").await;
    assert_eq!(all.len(), 1, "one action: {all:?}");

    // Revoked while active: the receiver is told to undo it, once.
    let (st, v) = s
        .json(
            Method::POST,
            &format!("/api/v1/response/actions/{one_id}/revoke"),
            &token,
            None,
        )
        .await;
    assert!(st.is_success(), "{v}");
    let calls = wait_calls(&receiver, "192.0.2.8/32", 2, Duration::from_secs(3)).await;
    assert_eq!(calls[1].json()["op"], "delete");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.calls_for("192.0.2.8/32").len(), 2, "told once");
    let history = states_in_history(&action_view(&s, &token, one_id).await);
    assert_eq!(
        history.last().map(String::as_str),
        Some("undone"),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_refusal_is_final_and_its_answer_is_audited() {
    let (receiver, url) =
        Receiver::start(&[(422, "target 192.0.2.9/32 is not in any managed group")]).await;
    let policies = policy(
        "edr-block",
        FAILED_PASSWORD,
        60,
        "connector = \"webhook:edr\"",
    );
    let (s, token, shipper) = start("webhook-refused", &url, &policies).await;
    send(&s, &shipper, ssh_line("Failed password", "192.0.2.9", 1)).await;
    let failed = wait_state(&s, &token, "192.0.2.9", "failed", Duration::from_secs(5)).await;
    assert!(failed["next_attempt_at"].is_null(), "no retry: {failed}");
    // Well past the first back-off: still one call.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.calls_for("192.0.2.9/32").len(), 1);
    let id = failed["id"].as_str().expect("id");
    let v = action_view(&s, &token, id).await;
    let audited = v["history"]
        .as_array()
        .and_then(|h| h.iter().find(|e| e["action"] == "response.failed"))
        .cloned()
        .unwrap_or_default();
    assert!(
        audited["after_json"]
            .as_str()
            .unwrap_or("")
            .contains("HTTP 422: target 192.0.2.9/32 is not in any managed group"),
        "the receiver's answer is in the audit: {audited}"
    );
    // Nothing was applied, so the revoke tells nobody.
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/response/actions/{id}/revoke"),
            &token,
            None,
        )
        .await;
    assert!(st.is_success());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let calls = receiver.calls_for("192.0.2.9/32");
    assert!(calls.iter().all(|c| c.json()["op"] == "add"), "{calls:?}");
}
