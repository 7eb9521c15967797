//! `hikeshi response …`: automated response from the command line. `backtest` replays stored
//! alerts through a policy of the configuration file and prints what it would have done;
//! nothing is written and no firewall is touched. `baseline` promotes a web root as it is now
//! to its known-good copy (audited).

use crate::config::{self, Database, FileConfig};
use hikeshi_app::response::backtest::{self, Line, Outcome};
use hikeshi_app::{App, Who};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum ResponseCommand {
    /// What a policy would have done over the alerts of a past period (deterministic).
    Backtest {
        /// The policy's name in [[response.policies]].
        #[arg(long)]
        policy: String,
        /// How far back: `30d`, `12h`, `90m`.
        #[arg(long, default_value = "30d")]
        since: String,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Take a web root as it is now as its known-good copy (after a deploy), audited.
    Baseline {
        /// The name in [[response.content]].
        #[arg(long)]
        content: String,
    },
}

async fn baseline(
    name: &str,
    db: &Database,
    file: &FileConfig,
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    let store = config::open_store(db).await?;
    let app = App::new(store.clone(), config::app_config(file, data_dir));
    let site = app
        .config
        .response
        .content
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!("no [[response.content]] is named `{name}` / その名前の [[response.content]] はありません")
        })?;
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let files = hikeshi_app::response::content::promote(&app, &site, &format!("cli:{by}"))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "baseline of {name} promoted: {files} files from {} / {name} のベースラインを更新しました({files} ファイル)",
        site.root.display()
    );
    store.close().await;
    Ok(())
}

pub async fn run(
    cmd: ResponseCommand,
    db: &Database,
    file: &FileConfig,
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    let (policy, since, json) = match cmd {
        ResponseCommand::Backtest {
            policy,
            since,
            json,
        } => (policy, since, json),
        ResponseCommand::Baseline { content } => {
            return baseline(&content, db, file, data_dir).await;
        }
    };
    let back_ms = parse_period(&since)?;
    let store = config::open_store(db).await?;
    let app = App::new(store.clone(), config::app_config(file, data_dir));
    let from = app.calendar.now_ms() - back_ms;
    let lines = backtest::backtest(&app, &Who::cli(), &policy, from)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    for line in &lines {
        if json {
            println!("{}", serde_json::to_string(line)?);
        } else {
            println!("{}", text(line));
        }
    }
    let count = |f: fn(&Outcome) -> bool| lines.iter().filter(|l| f(&l.outcome)).count();
    eprintln!(
        "{} alerts matched policy {policy} since {since}: {} blocks, {} held for approval, {} simulated, {} joined an open block, {} refused by a guardrail",
        lines.len(),
        count(|o| matches!(o, Outcome::Block { .. })),
        count(|o| matches!(o, Outcome::Held { .. })),
        count(|o| matches!(o, Outcome::Simulated { .. })),
        count(|o| matches!(o, Outcome::Joined { .. })),
        count(|o| matches!(o, Outcome::Refused { .. })),
    );
    store.close().await;
    Ok(())
}

fn text(line: &Line) -> String {
    let at = chrono::DateTime::from_timestamp_millis(line.at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let what = match &line.outcome {
        Outcome::Block { ttl_ms, offence } => {
            format!("block {} s (offence {offence})", ttl_ms / 1000)
        }
        Outcome::Held { reason, ttl_ms } => {
            format!("held for approval ({reason}), {} s", ttl_ms / 1000)
        }
        Outcome::Simulated { ttl_ms } => format!("dry run, {} s", ttl_ms / 1000),
        Outcome::Joined { until } => format!(
            "joins the open block until {}",
            chrono::DateTime::from_timestamp_millis(*until)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        ),
        Outcome::Refused { reason, entry } => format!("refused: {reason} {entry}"),
    };
    format!(
        "{at}  {:<20} {what}  rule {} alert {}",
        line.target, line.rule_id, line.alert_id
    )
}

/// `30d`, `12h`, `90m`, `45s` → milliseconds.
fn parse_period(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| {
        anyhow::anyhow!("--since `{text}`: expected a number and d, h, m or s, e.g. 30d")
    })?;
    let unit_ms = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1000,
        _ => anyhow::bail!("--since `{text}`: the unit must be d, h, m or s"),
    };
    anyhow::ensure!(
        (0..=3650 * 86_400_000 / unit_ms).contains(&n),
        "--since `{text}` is out of range"
    );
    Ok(n * unit_ms)
}
