//! The verbs and their flags.

use crate::config::{self, FileConfig};
use clap::{Parser, Subcommand};
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
    Serve(crate::serve::ServeArgs),
    /// Run live-monitoring sources and detection without the web server (several workers
    /// share one NATS JetStream consumer and one PostgreSQL database).
    Worker(crate::live_cmd::WorkerArgs),
    /// Send generated events (or a file's lines) to a running hikeshi, for benchmarks and
    /// reliability tests; prints a JSON summary.
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Import vulnerability reports and intelligence.
    #[command(subcommand)]
    Import(crate::import::ImportCommand),
    /// Apply database migrations and exit (serve also does this at start).
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(crate::users::UserCommand),
    /// Manage API bearer tokens.
    #[command(subcommand)]
    Token(crate::users::TokenCommand),
    /// Copy the database and the evidence files, with a manifest of their hashes, to a new
    /// folder (safe while the server runs).
    Backup(crate::backup_cmd::BackupArgs),
    /// Restore a backup into an empty data folder (and an empty database with PostgreSQL),
    /// after checking every file against the manifest.
    Restore(crate::backup_cmd::RestoreArgs),
    /// Print the version.
    Version,
    /// Run Sigma rules over log files (EVTX, JSON lines, CloudTrail, syslog) and print the detections.
    Hunt(crate::hunt::HuntVerb),
    /// Check Sigma rule folders: how many rules parse and compile, and why the others do not.
    #[command(subcommand)]
    Rules(crate::rules_load::RulesCommand),
    /// Benchmarks (figures, not tests).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Automated response: replay stored alerts through a policy.
    #[command(subcommand)]
    Response(crate::response_cmd::ResponseCommand),
    /// CSAF: check a provider from the outside.
    #[command(subcommand)]
    Csaf(crate::csaf_check::CsafCommand),
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
        Command::Loadgen(args) => crate::loadgen::run_verb(args).await,
        Command::Csaf(cmd) => crate::csaf_check::run(cmd).await,
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
            crate::serve::run(args, &file, data_dir, &db).await
        }
        Command::Worker(args) => {
            init_logging(file.log_format.as_deref());
            let plan = crate::live_cmd::LivePlan::new(&args.live, &file);
            let mut cfg = config::app_config(&file, data_dir);
            cfg.tls = config::tls_files(&file, None, None)?;
            crate::live_cmd::worker(plan, cfg, &db, args.metrics_listen, shutdown_signal()).await
        }
        Command::Backup(args) => crate::backup_cmd::backup(args, &db, &data_dir).await,
        Command::Restore(args) => crate::backup_cmd::restore(args, &db, &data_dir).await,
        Command::User(cmd) => crate::users::user_command(cmd, &db).await,
        Command::Token(cmd) => crate::users::token_command(cmd, &db).await,
        Command::Hunt(args) => crate::hunt::run_verb(args),
        Command::Rules(crate::rules_load::RulesCommand::Check { dirs }) => {
            if crate::rules_load::check(&dirs)? {
                Ok(())
            } else {
                std::process::exit(3);
            }
        }
        Command::Bench(cmd) => {
            init_logging(Some("text"));
            crate::bench::run_verb(cmd).await
        }
        Command::Response(cmd) => {
            init_logging(file.log_format.as_deref());
            crate::response_cmd::run(cmd, &db, &file, data_dir).await
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

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
