//! Crashes and shutdowns: what was acknowledged survives SIGKILL; SIGTERM lets in-flight
//! requests finish; concurrent writers on SQLite do not fail.

use crate::common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn acknowledged_writes_survive_sigkill(db: Db) {
    let mut s = TestServer::start(db, "crash", &[]).await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let server_errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..6 {
        let (client, base, token) = (s.client.clone(), s.base.clone(), token.clone());
        let (acked, server_errors) = (acked.clone(), server_errors.clone());
        workers.push(tokio::spawn(async move {
            // Bounded: at most 400 requests per worker, stopped by the kill well before.
            for i in 0..400 {
                let title = format!("load {w}-{i} 負荷");
                let resp = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&json!({"title": title, "tags": ["load"]}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(n) = body["number"].as_str() {
                            acked.lock().expect("lock").push((n.to_string(), title));
                        }
                    }
                    Ok(r) => server_errors
                        .lock()
                        .expect("lock")
                        .push(format!("{}", r.status())),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = s.signal_and_wait("KILL");
    assert!(!status.success(), "the server was killed");
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 20,
        "load ran before the kill: {} writes",
        acked.len()
    );
    assert!(
        server_errors.lock().expect("lock").is_empty(),
        "writes failed under load: {:?}",
        server_errors.lock().expect("lock")
    );

    s.spawn().await;
    for (number, title) in &acked {
        let (st, body) = s
            .json(
                Method::GET,
                &format!("/api/v1/cases/{number}"),
                &token,
                None,
            )
            .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "acknowledged case {number} lost after SIGKILL"
        );
        assert_eq!(body["case"]["title"], title.as_str());
    }
    let (_, list) = s
        .json(
            Method::GET,
            "/api/v1/cases?tag=load&per_page=1",
            &token,
            None,
        )
        .await;
    assert!(list["total"].as_u64().unwrap_or(0) >= acked.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_on_sqlite_loses_no_acknowledged_case() {
    acknowledged_writes_survive_sigkill(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_on_postgres_loses_no_acknowledged_case() {
    acknowledged_writes_survive_sigkill(Db::Postgres).await;
}

/// A slow upload is under way when SIGTERM arrives: it completes, then the server exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests() {
    let mut s = TestServer::start(Db::Sqlite, "term", &[]).await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let (st, case) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &token,
            Some(json!({"title": "slow upload"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let number = case["number"].as_str().unwrap_or_default().to_string();

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let boundary = "hikeshiboundary";
    let request = s
        .client
        .post(format!("{}/api/v1/cases/{number}/evidence", s.base))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send();
    let upload = tokio::spawn(request);
    tx.send(Ok(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\r\n").into_bytes()))
        .await
        .expect("send");
    tx.send(Ok(vec![7u8; 10_000])).await.expect("send");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pid = s.pid();
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tx.send(Ok(vec![7u8; 10_000])).await.expect("send");
    tx.send(Ok(format!("\r\n--{boundary}--\r\n").into_bytes()))
        .await
        .expect("send");
    drop(tx);

    let resp = upload
        .await
        .expect("join")
        .expect("the in-flight upload got an answer");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let ev: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(ev["size_bytes"], 20_000);
    let status = s.signal_and_wait("TERM");
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
