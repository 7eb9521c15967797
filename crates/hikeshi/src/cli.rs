//! The verbs and their flags.

use crate::config::{self, FileConfig};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hikeshi",
    version,
    about = "hikeshi (火消し): security operations platform for CSIRT and SOC teams"
)]
pub struct Cli {
    /// TOML configuration file; its settings yield to environment variables and flags.
    #[arg(long, global = true, env = "HIKESHI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and evidence files [default: ./hikeshi-data]
    #[arg(long, global = true, env = "HIKESHI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite, e.g. postgres://user@127.0.0.1:5432/hikeshi
    #[arg(
        long,
        global = true,
        env = "HIKESHI_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web UI and REST API.
    Serve(ServeArgs),
    /// Run live-monitoring sources and detection without the web server (several workers
    /// share one NATS JetStream consumer and one PostgreSQL database).
    Worker {
        #[command(flatten)]
        live: crate::live_cmd::LiveArgs,
        /// Serve `/metrics` and `/healthz` on this address.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
    },
    /// Send generated events (or a file's lines) to a running hikeshi, for benchmarks and
    /// reliability tests; prints a JSON summary.
    Loadgen {
        /// How many events.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Number of the first event (events are numbered; event N is always the same bytes).
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// One event in this many is a known rule hit.
        #[arg(long, default_value_t = 100)]
        hit_every: u64,
        /// Events per HTTP request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// hikeshi's base URL, to POST NDJSON to /api/v1/events.
        #[arg(long)]
        http: Option<String>,
        /// API token for --http.
        #[arg(long, env = "HIKESHI_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[arg(long)]
        syslog_tcp: Option<SocketAddr>,
        #[arg(long)]
        syslog_udp: Option<SocketAddr>,
        /// NATS URL: publish to JetStream.
        #[arg(long)]
        nats: Option<String>,
        #[arg(long, default_value = "hikeshi.events.load")]
        subject: String,
        /// Send this file's lines instead of generated events.
        #[arg(long)]
        file: Option<PathBuf>,
        /// After sending, wait until this /metrics URL shows the events processed; report the rate and latency.
        #[arg(long)]
        metrics: Option<String>,
        /// Parallel HTTP requests.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Print the events (Windows JSON, or syslog with --syslog-format) instead of sending them.
        #[arg(long)]
        print: bool,
        /// With --print: syslog lines instead of Windows JSON.
        #[arg(long)]
        syslog_format: bool,
    },
    /// Import vulnerability reports and intelligence.
    #[command(subcommand)]
    Import(crate::import::ImportCommand),
    /// Apply database migrations and exit (serve also does this at start).
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the version.
    Version,
    /// Run Sigma rules over log files (EVTX, JSON lines, CloudTrail, syslog) and print the detections.
    Hunt {
        /// Files or folders to read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Folder (or file) of Sigma rules; repeat for more.
        #[arg(long = "rules", required_unless_present = "iocs")]
        rules: Vec<PathBuf>,
        /// Extra log-source mapping file (Windows channels and categories, or a `sources:` list of
        /// other sources); repeat for more.
        #[arg(long = "mapping")]
        mappings: Vec<PathBuf>,
        /// Indicator list (one value per line, or CSV with `value` and `type` columns); repeat for more.
        #[arg(long = "iocs")]
        iocs: Vec<PathBuf>,
        /// Lowest rule level to show: informational, low, medium, high, critical.
        #[arg(long, default_value = "informational")]
        min_level: String,
        /// Output: table, csv or jsonl.
        #[arg(long, default_value = "table", value_parser = ["table", "csv", "jsonl"])]
        format: String,
        /// Worker threads [default: all cores]
        #[arg(long)]
        threads: Option<usize>,
        /// Only events at or after this time (RFC 3339, or `YYYY-MM-DD[ HH:MM:SS]` in UTC).
        #[arg(long)]
        from: Option<String>,
        /// Only events at or before this time (same forms as --from).
        #[arg(long)]
        to: Option<String>,
    },
    /// Check Sigma rule folders: how many rules parse and compile, and why the others do not.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Benchmarks (figures, not tests).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Parse and compile every rule under the folders and report failures grouped by reason.
    Check { dirs: Vec<PathBuf> },
}

#[derive(Subcommand)]
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
        paths: Vec<PathBuf>,
        /// Sigma rule folders; repeat for more.
        #[arg(long = "rules", required = true)]
        rules: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "HIKESHI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Largest evidence upload in bytes [default: 104857600 (100 MiB)]
    #[arg(long, env = "HIKESHI_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Send cookies without the Secure flag (only for plain-HTTP access from another host
    /// during evaluation; browsers accept Secure cookies from 127.0.0.1 and localhost).
    #[arg(long, env = "HIKESHI_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// Log format: text or json [default: text]
    #[arg(long, env = "HIKESHI_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Accept incident reports by e-mail with the built-in SMTP listener on this address
    /// (off unless given here or as `smtp_listen` in the config file).
    #[arg(long, env = "HIKESHI_SMTP_LISTEN")]
    pub smtp_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub live: crate::live_cmd::LiveArgs,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "manager", "handler", "viewer"])]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (read like `user add`).
    ResetPassword { name: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        #[arg(long)]
        user: String,
        /// What the token is for, e.g. "SOAR".
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
    /// List tokens (ids and names, never the secrets).
    List {
        #[arg(long)]
        user: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(cli.config.as_deref())?;
    config::apply_globals(&file);
    let data_dir = cli
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("./hikeshi-data"));
    let db = config::database(
        cli.database_url.clone().or(file.database_url.clone()),
        &data_dir,
    );
    match cli.command {
        Command::Version => {
            println!("hikeshi {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Loadgen {
            events,
            start,
            hit_every,
            batch,
            http,
            token,
            syslog_tcp,
            syslog_udp,
            nats,
            subject,
            file,
            metrics,
            concurrency,
            print,
            syslog_format,
        } => {
            // `--syslog-format` only chooses the generator; nothing is sent with `--print`.
            let syslog_udp =
                syslog_udp.or(syslog_format.then(|| SocketAddr::from(([127, 0, 0, 1], 0))));
            crate::loadgen::run(crate::loadgen::LoadArgs {
                events,
                start,
                hit_every,
                batch,
                http,
                token,
                syslog_tcp,
                syslog_udp,
                nats,
                subject,
                file,
                metrics,
                concurrency,
                print,
            })
            .await
        }
        Command::Import(cmd) => {
            init_logging(Some("text"));
            if crate::import::run(cmd, &db, &file, data_dir).await? {
                Ok(())
            } else {
                // Distinct from failure (1): some files went in, some did not.
                std::process::exit(3);
            }
        }
        Command::Migrate => {
            init_logging(file.log_format.as_deref());
            let store = config::open_store(&db).await?;
            println!("database is up to date ({:?})", store.backend());
            Ok(())
        }
        Command::Serve(args) => {
            init_logging(args.log_format.as_deref().or(file.log_format.as_deref()));
            let web = config::web_config(
                &file,
                args.listen,
                args.max_upload_bytes,
                args.insecure_cookies,
            );
            let mut cfg = config::app_config(&file, data_dir);
            cfg.smtp_listen = args.smtp_listen.or(cfg.smtp_listen);
            let plan = crate::live_cmd::LivePlan::new(&args.live, &file);
            serve(cfg, web, &db, &plan).await
        }
        Command::Worker {
            live,
            metrics_listen,
        } => {
            init_logging(file.log_format.as_deref());
            let plan = crate::live_cmd::LivePlan::new(&live, &file);
            let cfg = config::app_config(&file, data_dir);
            crate::live_cmd::worker(plan, cfg, &db, metrics_listen, shutdown_signal()).await
        }
        Command::User(cmd) => crate::users::user_command(cmd, &db).await,
        Command::Token(cmd) => crate::users::token_command(cmd, &db).await,
        Command::Hunt {
            paths,
            rules,
            mappings,
            iocs,
            min_level,
            format,
            threads,
            from,
            to,
        } => {
            let bound = |flag: &str, text: Option<String>| -> anyhow::Result<Option<i64>> {
                text.map(|t| {
                    crate::hunt::parse_time_bound(&t).ok_or_else(|| {
                        anyhow::anyhow!("--{flag}: `{t}` is not a time (use 2026-11-26T09:00:00Z or 2026-11-26)")
                    })
                })
                .transpose()
            };
            let window = (bound("from", from)?, bound("to", to)?);
            let min_level = hikeshi_detect::Level::parse(&min_level)
                .ok_or_else(|| anyhow::anyhow!("--min-level: unknown level `{min_level}`"))?;
            let threads = threads.unwrap_or_else(crate::hunt::all_cores);
            let skipped = crate::hunt::run(crate::hunt::HuntArgs {
                paths,
                rules,
                mappings,
                iocs,
                min_level,
                format,
                threads,
                window,
                print: true,
            })?
            .skipped;
            if skipped {
                // Distinct from failure (1): the hunt ran, but some input or rules were left out.
                std::process::exit(3);
            }
            Ok(())
        }
        Command::Rules(RulesCommand::Check { dirs }) => {
            if crate::rules_load::check(&dirs)? {
                Ok(())
            } else {
                std::process::exit(3);
            }
        }
        Command::Bench(BenchCommand::Detect { paths, rules }) => crate::hunt::bench(paths, rules),
        Command::Bench(BenchCommand::Api {
            cases,
            requests,
            concurrency,
            postgres,
        }) => {
            init_logging(Some("text"));
            crate::bench::run(crate::bench::ApiBench {
                cases,
                requests,
                concurrency,
                postgres_admin_url: postgres,
            })
            .await
        }
    }
}

fn init_logging(format: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HIKESHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == Some("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn serve(
    cfg: hikeshi_app::AppConfig,
    web: hikeshi_server::WebConfig,
    db: &config::Database,
    plan: &crate::live_cmd::LivePlan,
) -> anyhow::Result<()> {
    let store = config::open_store(db).await?;
    if let config::Database::SqliteIn(dir) = db {
        tracing::info!(data_dir = %dir.display(), "using SQLite");
    }
    if store.count_users().await? == 0 {
        eprintln!(
            "No users yet. Create the first administrator in another terminal:\n  \
             cargo run --release -- user add admin --role admin\n\
             ユーザーがまだいません。別の端末で最初の管理者を作成してください(上記コマンド)。"
        );
    }
    let url = format!("http://{}", web.listen);
    let stopping = hikeshi_app::jobs::Stopper::new();
    let fetch = std::sync::Arc::new(crate::http_fetch::HttpFetch::new()?);
    let mut app = hikeshi_app::App::new(store.clone(), cfg).with_fetch(fetch);
    if plan.wanted() {
        let live = crate::live_cmd::start(plan, app.clone(), stopping.shutdown()).await?;
        app = app.with_live(live);
    }
    let (jobs, periodic) = hikeshi_app::jobs::registry::for_server(&app);
    let runner = hikeshi_app::jobs::Runner::start(app.clone(), jobs, periodic, stopping);
    eprintln!("hikeshi is running at {url}/ (Ctrl-C to stop)");
    let state = hikeshi_server::AppState::new(app, web);
    hikeshi_server::serve(state, runner, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
