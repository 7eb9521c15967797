//! Scale-out: two `hikeshi worker` processes share one NATS JetStream durable consumer against
//! one PostgreSQL database. One is killed mid-stream and restarted; in the end the hits counted
//! equal the hits sent, none twice (hits are keyed by the message's stream sequence).

use crate::common::live::{hits_of, loadgen, wait_for, write_rules, WIN_RULE_ID};
use crate::common::{bin, free_port, temp_dir, Db, TestServer};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NATS: &str = "nats://127.0.0.1:4222";

struct Worker {
    child: Child,
    metrics: String,
}

fn start_worker(database_url: &str, rules: &str, stream: &str, data_dir: &str) -> Worker {
    let port = free_port();
    let child = Command::new(bin())
        .args([
            "worker",
            "--database-url",
            database_url,
            "--data-dir",
            data_dir,
            "--rules",
            rules,
            "--nats",
            NATS,
            "--nats-stream",
            stream,
            "--nats-subject",
            &format!("{stream}.>"),
            "--nats-durable",
            "workers",
            "--nats-ack-wait",
            "3",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("HIKESHI_LOG", "warn")
        .env_remove("HIKESHI_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start worker");
    Worker {
        child,
        metrics: format!("http://127.0.0.1:{port}/metrics"),
    }
}

async fn parsed(w: &Worker) -> u64 {
    let Ok(r) = reqwest::get(&w.metrics).await else {
        return 0;
    };
    r.text()
        .await
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("hikeshi_events_parsed_total{source=\"nats\"}"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

async fn up(w: &Worker) {
    wait_for("a worker's metrics", Duration::from_secs(30), || async {
        reqwest::get(&w.metrics).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn two_workers_share_a_stream_and_survive_a_kill() {
    let rules = temp_dir("live-nats-rules");
    write_rules(&rules);
    let rules = rules.display().to_string();
    // The server only answers the API; the workers do the detection.
    let s = TestServer::start(Db::Postgres, "live_nats", &[]).await;
    s.add_user("soc", "viewer");
    let token = s.token("soc");
    let db = s.database_url.clone().expect("PostgreSQL");
    let data = s.data_dir.display().to_string();
    let stream = format!("HKTEST{}", hikeshi_store::new_id().to_uppercase());

    let mut a = start_worker(&db, &rules, &stream, &data);
    let b = start_worker(&db, &rules, &stream, &data);
    up(&a).await;
    up(&b).await;
    let sent = loadgen(&[
        "--nats",
        NATS,
        "--subject",
        &format!("{stream}.windows"),
        "--events",
        "30000",
    ]);
    assert_eq!(sent["acknowledged"], 30_000, "{sent}");
    let hits = sent["hits"].as_i64().unwrap_or(0);
    assert_eq!(hits, 300);

    wait_for(
        "worker A to take a share",
        Duration::from_secs(60),
        || async { parsed(&a).await >= 2000 },
    )
    .await;
    let _ = Command::new("kill")
        .args(["-KILL", &a.child.id().to_string()])
        .status();
    let _ = a.child.wait();
    a = start_worker(&db, &rules, &stream, &data);
    up(&a).await;

    wait_for("every hit counted", Duration::from_secs(120), || async {
        hits_of(&s, &token, WIN_RULE_ID).await >= hits
    })
    .await;
    // Past the redelivery time nothing more arrives: each hit was counted once.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(hits_of(&s, &token, WIN_RULE_ID).await, hits);
    assert!(parsed(&b).await > 0, "both workers took a share");

    drop(a);
    drop(b);
    let client = async_nats::connect(NATS).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let _ = js.delete_stream(&stream).await;
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
