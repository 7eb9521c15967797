//! Live monitoring from the command line: the flags and config section shared by `serve` and
//! `worker`, loading the engine (rule folders and indicator lists, again on reload), and
//! starting the sources.

use crate::config::{self, FileConfig};
use clap::Args;
use hikeshi_app::jobs::{Runner, Shutdown, Stopper};
use hikeshi_app::live::{
    nats::NatsSettings, GroupingRule, Live, LiveEngine, LiveSettings, Reloader,
};
use hikeshi_app::App;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `hikeshi worker`'s flags.
#[derive(Args, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub live: crate::live_cmd::LiveArgs,
    /// Serve `/metrics` and `/healthz` on this address.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
}

/// `[live]` in the config file; flags win.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveFileConfig {
    pub iocs: Option<Vec<PathBuf>>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub watch: Option<Vec<PathBuf>>,
    pub nats: Option<NatsFileConfig>,
    /// Grouping rules, e.g. `[[live.grouping]] by = "host"  window_hours = 24  min_level = "high"`.
    pub grouping: Option<Vec<GroupingRule>>,
    pub queue_batches: Option<usize>,
    pub workers: Option<usize>,
    pub dedup_window_minutes: Option<i64>,
    /// Syslog TCP senders at once, from one address, and how long one may send nothing.
    pub syslog_max_connections: Option<usize>,
    pub syslog_connections_per_address: Option<usize>,
    pub syslog_idle_secs: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsFileConfig {
    pub url: String,
    pub stream: Option<String>,
    pub subject: Option<String>,
    pub durable: Option<String>,
    pub ack_wait_secs: Option<u64>,
}

#[derive(Args, Clone, Default)]
pub struct LiveArgs {
    /// Sigma rule folder (or file) for live events; repeat for more. Reloaded on SIGHUP and
    /// `POST /api/v1/rules/reload`.
    #[arg(long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Indicator list for live events (as for `hunt --iocs`); repeat for more.
    #[arg(long = "iocs")]
    pub iocs: Vec<PathBuf>,
    /// Receive syslog over UDP on this address, e.g. 0.0.0.0:514.
    #[arg(long, env = "HIKESHI_SYSLOG_UDP")]
    pub syslog_udp: Option<SocketAddr>,
    /// Receive syslog over TCP (newline or octet-counting framing) on this address.
    #[arg(long, env = "HIKESHI_SYSLOG_TCP")]
    pub syslog_tcp: Option<SocketAddr>,
    /// Receive syslog over TLS (RFC 5425) on this address, e.g. 0.0.0.0:6514, with the
    /// server's certificate (tls_cert and tls_key).
    #[arg(long, env = "HIKESHI_SYSLOG_TLS")]
    pub syslog_tls: Option<SocketAddr>,
    /// Read new and growing files in this folder (JSON lines, syslog, CloudTrail, EVTX);
    /// repeat for more.
    #[arg(long = "watch")]
    pub watch: Vec<PathBuf>,
    /// Consume events from NATS JetStream at this URL, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "HIKESHI_NATS")]
    pub nats: Option<String>,
    /// JetStream stream (created if missing) [default: HIKESHI_EVENTS]
    #[arg(long)]
    pub nats_stream: Option<String>,
    /// Subject the stream holds [default: hikeshi.events.>]
    #[arg(long)]
    pub nats_subject: Option<String>,
    /// Durable consumer shared by all workers [default: hikeshi-workers]
    #[arg(long)]
    pub nats_durable: Option<String>,
    /// Seconds before an unacknowledged message goes to another worker [default: 30]
    #[arg(long)]
    pub nats_ack_wait: Option<u64>,
}

/// Everything needed to start live monitoring, merged from flags and the config file.
pub struct LivePlan {
    pub rules: Vec<PathBuf>,
    pub iocs: Vec<PathBuf>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub watch: Vec<PathBuf>,
    pub nats: Option<NatsSettings>,
    pub settings: LiveSettings,
}

impl LivePlan {
    pub fn new(args: &LiveArgs, file: &FileConfig) -> LivePlan {
        let live = file.live.clone().unwrap_or_default();
        let pick = |flag: &Vec<PathBuf>, cfg: Option<Vec<PathBuf>>| {
            if flag.is_empty() {
                cfg.unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        let nats_url = args
            .nats
            .clone()
            .or(live.nats.as_ref().map(|n| n.url.clone()));
        let nats = nats_url.map(|url| {
            let cfg = live.nats.clone().unwrap_or_default();
            let mut s = NatsSettings::new(&url);
            if let Some(v) = args.nats_stream.clone().or(cfg.stream) {
                s.stream = v;
            }
            if let Some(v) = args.nats_subject.clone().or(cfg.subject) {
                s.subject = v;
            }
            if let Some(v) = args.nats_durable.clone().or(cfg.durable) {
                s.durable = v;
            }
            if let Some(v) = args.nats_ack_wait.or(cfg.ack_wait_secs) {
                s.ack_wait = Duration::from_secs(v.max(1));
            }
            s
        });
        let mut settings = LiveSettings {
            grouping: live.grouping.clone().unwrap_or_default(),
            ..LiveSettings::default()
        };
        if let Some(q) = live.queue_batches {
            settings.queue_batches = q.clamp(1, 10_000);
        }
        if let Some(w) = live.workers {
            settings.workers = w.clamp(1, 256);
        }
        if let Some(n) = live.syslog_max_connections {
            settings.syslog_tcp.max_connections = n.clamp(1, 100_000);
        }
        if let Some(n) = live.syslog_connections_per_address {
            settings.syslog_tcp.per_address = n.clamp(1, 100_000);
        }
        if let Some(secs) = live.syslog_idle_secs {
            settings.syslog_tcp.idle = Duration::from_secs(secs.clamp(1, 7 * 24 * 3600));
        }
        if let Some(m) = live.dedup_window_minutes {
            settings.dedup_window_ms = m.clamp(0, 7 * 24 * 60) * 60_000;
        }
        LivePlan {
            rules: pick(&args.rules, file.rules.clone()),
            iocs: pick(&args.iocs, live.iocs.clone()),
            syslog_udp: args.syslog_udp.or(live.syslog_udp),
            syslog_tcp: args.syslog_tcp.or(live.syslog_tcp),
            syslog_tls: args.syslog_tls.or(live.syslog_tls),
            watch: pick(&args.watch, live.watch.clone()),
            nats,
            settings,
        }
    }

    pub fn wanted(&self) -> bool {
        !self.rules.is_empty() || !self.iocs.is_empty()
    }
}

/// Loads rule folders and indicator lists into an engine; rules that fail are logged and left
/// out, as with `hunt`.
pub fn load_engine(rules: &[PathBuf], iocs: &[PathBuf]) -> anyhow::Result<LiveEngine> {
    let loaded = crate::rules_load::load(rules);
    for (file, err) in &loaded.failures {
        tracing::warn!(file = %file.display(), error = %err, "rule not used");
    }
    let count = loaded.rules.len();
    let failed = loaded.failures.len();
    let detector =
        hikeshi_detect::Detector::new(loaded.rules, &hikeshi_detect::WindowsMapping::builtin());
    let mut engine = LiveEngine::new(detector);
    for f in iocs {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("indicator list {}: {e}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for e in engine.indicators.add_list(&text, &name) {
            tracing::warn!(file = %f.display(), line = e.line, error = %e.message, "indicator not used");
        }
    }
    engine.summary = format!(
        "{count} rules ({failed} not used), {} indicators",
        engine.indicators.len()
    );
    tracing::info!(summary = %engine.summary, "rules loaded for live events");
    Ok(engine)
}

/// Builds the pipeline and starts its workers and sources; watched folders stop with
/// `shutdown`.
pub async fn start(plan: &LivePlan, app: App, shutdown: Shutdown) -> anyhow::Result<Arc<Live>> {
    let (rules, iocs) = (plan.rules.clone(), plan.iocs.clone());
    let engine = {
        let (rules, iocs) = (rules.clone(), iocs.clone());
        tokio::task::spawn_blocking(move || load_engine(&rules, &iocs)).await??
    };
    let reloader: Reloader = Box::new(move || load_engine(&rules, &iocs));
    let tls = app.config.tls.clone();
    let live = Live::new(app, engine, Some(reloader), plan.settings.clone());
    live.start();
    if let Some(addr) = plan.syslog_udp {
        let local = hikeshi_app::live::syslog_net::start_udp(live.clone(), addr).await?;
        eprintln!("syslog UDP on {local}");
    }
    if let Some(addr) = plan.syslog_tcp {
        let local = hikeshi_app::live::syslog_net::start_tcp(live.clone(), addr).await?;
        eprintln!("syslog TCP on {local}");
    }
    if let Some(addr) = plan.syslog_tls {
        let Some(files) = &tls else {
            anyhow::bail!("--syslog-tls needs tls_cert and tls_key / --syslog-tls には tls_cert と tls_key が必要です");
        };
        let acceptor = hikeshi_app::tls::acceptor(files, &[])?;
        let local = hikeshi_app::live::syslog_net::start_tls(live.clone(), addr, acceptor).await?;
        eprintln!("syslog TLS on {local}");
    }
    for dir in &plan.watch {
        if !dir.is_dir() {
            anyhow::bail!("--watch {}: not a folder", dir.display());
        }
        hikeshi_app::live::folder::spawn_folder(
            live.clone(),
            dir.clone(),
            Duration::from_secs(1),
            shutdown.clone(),
        );
    }
    if let Some(n) = &plan.nats {
        hikeshi_app::live::nats::start_nats(live.clone(), n.clone()).await?;
    }
    spawn_reload_on_hangup(live.clone());
    Ok(live)
}

/// SIGHUP reloads the rule folders and indicator lists.
fn spawn_reload_on_hangup(live: Arc<Live>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            if let Err(e) = live.reload().await {
                tracing::warn!(error = %e, "rule reload failed; the old rules stay");
            }
        }
    });
}

/// `hikeshi worker`: the sources and the pipeline without the web server, plus a small
/// listener for `/metrics` and `/healthz` when asked.
pub async fn worker(
    plan: LivePlan,
    cfg: hikeshi_app::AppConfig,
    db: &config::Database,
    metrics_listen: Option<SocketAddr>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if !plan.wanted() {
        anyhow::bail!("a worker needs --rules DIR or --iocs FILE (or `rules` in the config file)");
    }
    if plan.nats.is_none()
        && plan.syslog_tcp.is_none()
        && plan.syslog_udp.is_none()
        && plan.syslog_tls.is_none()
        && plan.watch.is_empty()
    {
        anyhow::bail!("a worker needs a source: --nats URL, --syslog-tcp, --syslog-tls, --syslog-udp or --watch");
    }
    let store = config::open_store(db).await?;
    let stopping = Stopper::new();
    let app = App::new(store.clone(), cfg);
    let live = start(&plan, app.clone(), stopping.shutdown()).await?;
    let app = app.with_live(live.clone());
    let runner = Runner::start(
        app.clone(),
        Vec::new(),
        hikeshi_app::jobs::registry::for_pipeline(&app),
        stopping,
    );
    if let Some(addr) = metrics_listen {
        let local = hikeshi_server::metrics_listener(live.clone(), addr).await?;
        eprintln!("worker metrics at http://{local}/metrics");
    }
    eprintln!("hikeshi worker running (Ctrl-C to stop)");
    shutdown.await;
    runner.stop(Duration::from_secs(3)).await;
    store.close().await;
    Ok(())
}
