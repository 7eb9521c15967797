//! `hikeshi serve`: its flags and the start-up order — database, app, live pipeline, background
//! runner, then the web server.

use crate::config;
use clap::Args;
use std::net::SocketAddr;

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
    /// Serve HTTPS: the certificate chain as PEM (server certificate first). Needs --tls-key.
    #[arg(long, env = "HIKESHI_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key as PEM. Needs --tls-cert.
    #[arg(long, env = "HIKESHI_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub live: crate::live_cmd::LiveArgs,
}

/// `hikeshi serve`: the web UI, the API, the intake listeners, live monitoring when rules are
/// given, and the background runner, until SIGINT or SIGTERM.
pub async fn run(
    args: ServeArgs,
    file: &config::FileConfig,
    data_dir: std::path::PathBuf,
    db: &config::Database,
) -> anyhow::Result<()> {
    let web = config::web_config(
        file,
        args.listen,
        args.max_upload_bytes,
        args.insecure_cookies,
    );
    let mut cfg = config::app_config(file, data_dir);
    cfg.tls = config::tls_files(file, args.tls_cert, args.tls_key)?;
    cfg.relay_password = config::relay_password(&cfg.mail)?;
    if let Some(ldap) = &cfg.ldap {
        ldap.check().map_err(|e| anyhow::anyhow!(e))?;
    }
    let oidc = config::oidc_login(file, &cfg.public_url)?;
    cfg.smtp_listen = args.smtp_listen.or(cfg.smtp_listen);
    let plan = &crate::live_cmd::LivePlan::new(&args.live, file);
    config::webhook_secrets(&mut cfg.response)?;
    cfg.response.own_addresses = own_addresses(&web.listen, &cfg, plan, db).await;
    cfg.response.check().map_err(|e| anyhow::anyhow!(e))?;
    let patch = cfg.vulns.auto_case.as_ref();
    if let Some(connector) = patch.and_then(|a| a.patch_connector.as_deref()) {
        if !cfg.response.has_told_connector(connector) {
            anyhow::bail!(
                "[vulns.auto_case] patch_connector `{connector}` is not a configured [[response.webhooks]] or [[response.exec]] / patch_connector が見つかりません"
            );
        }
    }
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
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", web.listen);
    let stopping = hikeshi_app::jobs::Stopper::new();
    let fetch = std::sync::Arc::new(crate::http_fetch::HttpFetch::new()?);
    let mut app = hikeshi_app::App::new(store.clone(), cfg).with_fetch(fetch);
    if let Some(oidc) = oidc {
        app = app.with_oidc(oidc);
    }
    if let Some(signer) = open_signer(&app.config).await? {
        app = app.with_signer(std::sync::Arc::new(signer));
        let resigned = hikeshi_app::psirt::signing::resign_all(&app).await?;
        if resigned > 0 {
            tracing::info!(
                resigned,
                "CSAF revisions signed with the team's current key"
            );
        }
    }
    // What the firewall holds is made right before any new action can be proposed.
    if let Err(e) = hikeshi_app::response::reconcile::reconcile_all(&app).await {
        tracing::error!(error = %e, "response reconcile at start-up failed; retrying in the loop");
    }
    let reconciler = hikeshi_app::response::reconcile::spawn(app.clone(), stopping.shutdown());
    if plan.wanted() {
        let live = crate::live_cmd::start(plan, app.clone(), stopping.shutdown()).await?;
        app = app.with_live(live);
    }
    let (jobs, periodic) = hikeshi_app::jobs::registry::for_server(&app);
    let runner = hikeshi_app::jobs::Runner::start(app.clone(), jobs, periodic, stopping);
    eprintln!("hikeshi is running at {url}/ (Ctrl-C to stop)");
    let state = hikeshi_server::AppState::new(app, web);
    hikeshi_server::serve(state, runner, crate::cli::shutdown_signal()).await?;
    if let Some(task) = reconciler {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), task).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// This server's addresses and its peers', which no response action may block: the listen
/// addresses, the database, NATS, the mail relay and the response webhooks (names resolved
/// now).
async fn own_addresses(
    web_listen: &std::net::SocketAddr,
    cfg: &hikeshi_app::AppConfig,
    plan: &crate::live_cmd::LivePlan,
    db: &config::Database,
) -> Vec<(std::net::IpAddr, String)> {
    let mut out = vec![(web_listen.ip(), "web listen address".to_string())];
    let listeners = [
        (cfg.smtp_listen, "SMTP intake listen address"),
        (plan.syslog_udp, "syslog UDP listen address"),
        (plan.syslog_tcp, "syslog TCP listen address"),
        (plan.syslog_tls, "syslog TLS listen address"),
    ];
    for (addr, what) in listeners {
        if let Some(a) = addr {
            out.push((a.ip(), what.to_string()));
        }
    }
    let mut peers: Vec<(String, &str)> = Vec::new();
    if let config::Database::Url(u) = db {
        peers.push((u.clone(), "database"));
    }
    if let Some(n) = &plan.nats {
        peers.push((n.url.clone(), "NATS"));
    }
    if let Some(relay) = &cfg.mail.relay {
        peers.push((format!("smtp://{relay}"), "mail relay"));
    }
    for hook in &cfg.response.webhooks {
        peers.push((hook.url.clone(), "response webhook"));
    }
    for (text, what) in peers {
        let Some((host, port)) = url::Url::parse(&text).ok().and_then(|u| {
            Some((
                u.host_str()?.trim_matches(['[', ']']).to_string(),
                u.port().unwrap_or(1),
            ))
        }) else {
            continue;
        };
        let lookup = tokio::net::lookup_host((host.clone(), port));
        if let Ok(Ok(addrs)) = tokio::time::timeout(std::time::Duration::from_secs(3), lookup).await
        {
            for a in addrs {
                out.push((a.ip(), format!("{what} ({host})")));
            }
        }
    }
    out
}

/// The team's CSAF signing key, checked (only its owner may read it) and imported.
async fn open_signer(
    cfg: &hikeshi_app::config::AppConfig,
) -> anyhow::Result<Option<hikeshi_app::psirt::signing::Signer>> {
    if let Some(key) = &cfg.psirt.openpgp_key_file {
        config::private_file(key, "[psirt] openpgp_key_file")?;
    }
    hikeshi_app::psirt::signing::Signer::open(&cfg.psirt, &cfg.data_dir)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
