//! `hikeshi import`: vulnerability reports (Vuls, Trivy, CSV) and intelligence (KEV, EPSS) from
//! files, for cron jobs and first loads. Each file is parsed whole before anything is written;
//! a bad file is reported with its field and the others still go in.

use crate::config;
use clap::Subcommand;
use hikeshi_app::vulns::{self, ImportFailure};
use hikeshi_app::{App, Who};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Vuls scan results (JSON format version 4), one file per server.
    Vuls { files: Vec<PathBuf> },
    /// Trivy JSON reports (schema 2).
    Trivy { files: Vec<PathBuf> },
    /// CSV with a header holding `asset` and `cve` (optional: package, fixed_in, cvss3_vector).
    Csv { files: Vec<PathBuf> },
    /// The asset inventory from CSV (header: see the README); `--dry-run` shows what would change.
    Assets {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// An earlier incident ledger (CSV, header: see the README) as cases with their own times;
    /// rows whose `ref` was imported before are skipped.
    Cases {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// The CISA Known Exploited Vulnerabilities catalogue (JSON); replaces the KEV flags.
    Kev { file: PathBuf },
    /// EPSS scores (CSV: cve,epss,percentile).
    Epss { file: PathBuf },
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .len();
    if size > vulns::MAX_REPORT_BYTES {
        anyhow::bail!(
            "{}: {size} bytes is over the {}-byte limit for one report",
            path.display(),
            vulns::MAX_REPORT_BYTES
        );
    }
    std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn read_text(path: &PathBuf) -> anyhow::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text: {e}", path.display()))
}

/// One line per refused cell, named by file, line and column.
fn print_cell_errors(path: &std::path::Path, errors: &[vulns::asset_csv::CellError]) {
    for e in errors {
        eprintln!(
            "{}: line {}, {}: {}",
            path.display(),
            e.line,
            e.column,
            e.message
        );
    }
}

/// Returns whether every file went in.
pub async fn run(
    cmd: ImportCommand,
    db: &config::Database,
    file_config: &config::FileConfig,
    data_dir: std::path::PathBuf,
) -> anyhow::Result<bool> {
    let store = config::open_store(db).await?;
    let app = App::new(store.clone(), config::app_config(file_config, data_dir));
    let who = Who::cli();
    let auto = |app: &App| {
        let app = app.clone();
        async move {
            for number in vulns::assets::auto_cases(&app).await? {
                println!("case {number} opened by the automatic rule");
            }
            vulns::triage::record_risk_snapshot(&app).await?;
            Ok::<_, anyhow::Error>(())
        }
    };
    let actor = who.actor();
    let (format, files) = match cmd {
        ImportCommand::Vuls { files } => ("vuls", files),
        ImportCommand::Trivy { files } => ("trivy", files),
        ImportCommand::Csv { files } => ("csv", files),
        ImportCommand::Assets { file, dry_run } => {
            let text = read_text(&file)?;
            let plan = vulns::asset_csv::import(&store, &text, dry_run, &actor).await?;
            print_cell_errors(&file, &plan.errors);
            let verb = if dry_run { "would be " } else { "" };
            println!(
                "{} {verb}created, {} {verb}updated, {} unchanged{}",
                plan.created.len(),
                plan.updated.len(),
                plan.unchanged.len(),
                if plan.errors.is_empty() {
                    ""
                } else {
                    " (nothing written: fix the lines above)"
                }
            );
            for name in &plan.created {
                println!("  + {name}");
            }
            for name in &plan.updated {
                println!("  ~ {name}");
            }
            return Ok(plan.errors.is_empty());
        }
        ImportCommand::Cases { file, dry_run } => {
            let text = read_text(&file)?;
            let plan = hikeshi_app::reporting::ledger::import(&app, &text, dry_run, &who)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))?;
            print_cell_errors(&file, &plan.errors);
            let verb = if dry_run { "would be " } else { "" };
            println!(
                "{} cases {verb}created, {} skipped (imported before){}",
                plan.created.len(),
                plan.skipped.len(),
                if plan.errors.is_empty() {
                    ""
                } else {
                    " (nothing written: fix the lines above)"
                }
            );
            return Ok(plan.errors.is_empty());
        }
        ImportCommand::Kev { file } => {
            let entries = vulns::intel::parse_kev(&file.display().to_string(), &read(&file)?)?;
            println!("KEV: {} CVEs", store.load_kev(&entries).await?);
            auto(&app).await?;
            return Ok(true);
        }
        ImportCommand::Epss { file } => {
            let scores = vulns::intel::parse_epss(&file.display().to_string(), &read(&file)?)?;
            println!("EPSS: {} scores", store.load_epss(&scores).await?);
            auto(&app).await?;
            return Ok(true);
        }
    };
    if files.is_empty() {
        anyhow::bail!("give one or more report files");
    }
    let mut all_ok = true;
    // The same server twice in one run is almost always a copy-paste mistake: the second
    // file would silently undo the first.
    let mut servers: HashMap<String, String> = HashMap::new();
    for path in &files {
        let name = path.display().to_string();
        let bytes = match read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("not imported: {e}");
                all_ok = false;
                continue;
            }
        };
        let scans = match format {
            "vuls" => vulns::vuls::parse(&name, &bytes).map(|s| vec![s]),
            "trivy" => vulns::trivy::parse(&name, &bytes).map(|s| vec![s]),
            _ => vulns::csv_import::parse(&name, &bytes),
        };
        let scans = match scans {
            Ok(s) => s,
            Err(e) => {
                eprintln!("not imported: {e}");
                all_ok = false;
                continue;
            }
        };
        if let Some(first) = scans.iter().find_map(|s| servers.get(&s.asset.name)) {
            eprintln!(
                "not imported: {name}: server `{}` is also in {first}; import one of them",
                scans[0].asset.name
            );
            all_ok = false;
            continue;
        }
        for s in &scans {
            servers.insert(s.asset.name.clone(), name.clone());
        }
        for scan in &scans {
            match store.import_scan(scan, &actor).await {
                Ok(o) => println!(
                    "{name}: {}{}: {} packages, {} findings new, {} updated, {} reopened, {} fixed",
                    o.asset_name,
                    if o.asset_created { " (new asset)" } else { "" },
                    o.packages,
                    o.opened,
                    o.updated,
                    o.reopened,
                    o.fixed
                ),
                Err(e) => {
                    eprintln!("not imported: {}", ImportFailure::Store(e));
                    all_ok = false;
                }
            }
        }
    }
    auto(&app).await?;
    store.close().await;
    Ok(all_ok)
}
