//! `hikeshi bench api`: API latency with a large case history, on SQLite or PostgreSQL.
//! A benchmark, not a test: it prints figures and asserts nothing.

use crate::config::{open_store, Database};
use anyhow::Context;
use hikeshi_app::users::{hash_password, new_api_token, token_digest};
use hikeshi_store::{Actor, NewUser};
use std::time::{Duration, Instant};

pub struct ApiBench {
    pub cases: u64,
    pub requests: usize,
    pub concurrency: usize,
    /// PostgreSQL server to create a scratch database on; SQLite in a temporary folder if unset.
    pub postgres_admin_url: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

pub async fn run(b: ApiBench) -> anyhow::Result<()> {
    let temp = std::env::temp_dir().join(format!("hikeshi-bench-{}", hikeshi_store::new_id()));
    let db = match &b.postgres_admin_url {
        Some(admin) => Database::Url(
            hikeshi_store::scratch::create_scratch_postgres(admin, "hikeshi_bench").await?,
        ),
        None => Database::SqliteIn(temp.clone()),
    };
    let store = open_store(&db).await?;
    let year: i32 = 2026;
    let seeding = Instant::now();
    store
        .seed_benchmark_cases(year, b.cases)
        .await
        .context("seeding cases")?;
    eprintln!(
        "seeded {} cases in {:.1} s",
        b.cases,
        seeding.elapsed().as_secs_f64()
    );

    let hash = hash_password("benchmark-password").map_err(|e| anyhow::anyhow!(e))?;
    let user = store
        .create_user(
            &NewUser {
                username: "bench".into(),
                display_name: "bench".into(),
                role: "handler".into(),
                password_hash: hash,
            },
            &Actor::cli(),
        )
        .await?;
    let token = new_api_token();
    store
        .create_api_token(
            &user,
            "bench",
            &token_digest(&token),
            hikeshi_model::TokenScope::Full,
            &Actor::cli(),
        )
        .await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = hikeshi_app::AppConfig {
        data_dir: temp.clone(),
        ..Default::default()
    };
    let web = hikeshi_server::WebConfig {
        listen: format!("127.0.0.1:{port}").parse()?,
        ..Default::default()
    };
    let app = hikeshi_app::App::new(store.clone(), config);
    let runner = hikeshi_app::jobs::Runner::start(
        app.clone(),
        Vec::new(),
        Vec::new(),
        hikeshi_app::jobs::Stopper::new(),
    );
    let state = hikeshi_server::AppState::new(app, web);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hikeshi_server::serve(state, runner, async {
        let _ = stop_rx.await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!(
        "backend: {:?}, cases in database: {}, requests per scenario: {}, concurrency: {}",
        store.backend(),
        b.cases,
        b.requests,
        b.concurrency
    );
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>9}",
        "scenario", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    let scenarios: Vec<(&str, Option<&str>)> = vec![
        ("create case", None),
        ("list newest 50", Some("/api/v1/cases")),
        (
            "filter status+severity",
            Some("/api/v1/cases?status=new&severity=high"),
        ),
        ("filter tag", Some("/api/v1/cases?tag=tag7")),
        (
            "filter category, page 20",
            Some("/api/v1/cases?category=scan&page=20"),
        ),
        (
            "text search (Japanese)",
            Some("/api/v1/cases?q=%E6%A8%99%E7%9A%84%E5%9E%8B"),
        ),
    ];
    for (name, path) in scenarios {
        let started = Instant::now();
        let per_worker = b.requests / b.concurrency.max(1);
        let mut handles = Vec::new();
        for w in 0..b.concurrency.max(1) {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let path = path.map(str::to_string);
            handles.push(tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_worker);
                for i in 0..per_worker {
                    let t = Instant::now();
                    let resp = match &path {
                        None => {
                            client
                                .post(format!("{base}/api/v1/cases"))
                                .bearer_auth(&token)
                                .json(&serde_json::json!({"title": format!("bench {w}-{i} 標的型"), "severity": "high", "tags": ["bench"]}))
                                .send()
                                .await
                        }
                        Some(p) => client.get(format!("{base}{p}")).bearer_auth(&token).send().await,
                    };
                    let ok = match resp {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if !ok {
                        return Err(anyhow::anyhow!("request failed"));
                    }
                    times.push(t.elapsed());
                }
                Ok(times)
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await??);
        }
        let wall = started.elapsed().as_secs_f64();
        all.sort();
        println!(
            "{:<34} {:>10.0} {:>9.2} {:>9.2} {:>9.2}",
            name,
            all.len() as f64 / wall,
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            all.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
        );
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&temp);
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// API latency for create-case and list/filter with a large case history.
    Api {
        /// Cases to seed before measuring.
        #[arg(long, default_value_t = 100_000)]
        cases: u64,
        /// Requests per scenario.
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Run against a scratch database on this PostgreSQL server instead of SQLite,
        /// e.g. postgres://postgres@127.0.0.1:5432/postgres
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Detection speed: the rules over the given logs with one thread and with all cores.
    Detect {
        /// Files or folders of logs (EVTX, JSON lines, CloudTrail).
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Sigma rule folders; repeat for more.
        #[arg(long = "rules", required = true)]
        rules: Vec<std::path::PathBuf>,
    },
    /// Automated response: proposed → active latency and reconcile passes over many blocks
    /// (writes to nftables: run as `unshare -rn hikeshi bench response`).
    Response {
        /// Actions timed one by one from proposal to verified block.
        #[arg(long, default_value_t = 1_000)]
        actions: usize,
        /// Blocks in force for the reconcile passes.
        #[arg(long, default_value_t = 10_000)]
        in_force: usize,
    },
}

/// `hikeshi bench …`.
pub async fn run_verb(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Detect { paths, rules } => crate::hunt::bench(paths, rules),
        BenchCommand::Response { actions, in_force } => {
            crate::bench_response::run(actions, in_force.max(actions)).await
        }
        BenchCommand::Api {
            cases,
            requests,
            concurrency,
            postgres,
        } => {
            run(ApiBench {
                cases,
                requests,
                concurrency,
                postgres_admin_url: postgres,
            })
            .await
        }
    }
}
