//! `hikeshi backup DEST` and `hikeshi restore SRC`.

use crate::config::{open_store, Database};
use hikeshi_app::backup::{self, DataPlace};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// A new (or empty) folder for the backup; made while the server runs.
    pub dest: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// A folder made by `hikeshi backup`.
    pub src: PathBuf,
    /// Only check every file against the manifest; write nothing.
    #[arg(long)]
    pub check: bool,
}

fn place(db: &Database, data_dir: &Path) -> DataPlace {
    DataPlace {
        data_dir: data_dir.to_path_buf(),
        postgres_url: match db {
            Database::Url(url) => Some(url.clone()),
            Database::SqliteIn(_) => None,
        },
    }
}

pub async fn backup(args: BackupArgs, db: &Database, data_dir: &Path) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let summary = backup::make(&store, &place(db, data_dir), &args.dest).await?;
    store.close().await;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if !summary.damaged.is_empty() {
        eprintln!(
            "hikeshi: {} evidence file(s) no longer match their hash and were left out / ハッシュが一致しない証拠ファイルを除外しました: {}",
            summary.damaged.len(),
            summary.damaged.join(", ")
        );
        std::process::exit(3);
    }
    eprintln!(
        "backup written to {} / バックアップを作成しました",
        args.dest.display()
    );
    Ok(())
}

pub async fn restore(args: RestoreArgs, db: &Database, data_dir: &Path) -> anyhow::Result<()> {
    if args.check {
        let manifest = backup::verify(&args.src).await?;
        eprintln!(
            "the backup is whole: the database and {} evidence file(s) match the manifest / バックアップは完全です",
            manifest.evidence.len()
        );
        return Ok(());
    }
    // No open_store here: it would migrate, and so create tables in the target first.
    let summary = backup::restore(&args.src, &place(db, data_dir)).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    eprintln!("restored / 復元しました");
    Ok(())
}
