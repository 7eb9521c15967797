//! Backup and restore. A backup is a folder: the database (a SQLite snapshot or a PostgreSQL
//! custom-format dump), every evidence file, and `manifest.json` with the SHA-256 and size of
//! each, written last, so a folder without a manifest is an unfinished backup. A restore checks
//! every hash before it writes anything, and goes only into an empty target.

mod files;
mod make;
mod manifest;
mod pg_tools;
mod restore;

pub use make::{make, BackupSummary};
pub use manifest::{Engine, FileEntry, Manifest, MANIFEST, MANIFEST_FORMAT};
pub use restore::{restore, verify, RestoreSummary};

use std::path::PathBuf;

/// Where the live data is (the source of a backup, the target of a restore).
#[derive(Clone, Debug)]
pub struct DataPlace {
    /// The data folder; its `evidence/` holds the evidence files and, with SQLite, `hikeshi.db`.
    pub data_dir: PathBuf,
    /// `postgres://…` when the database is PostgreSQL.
    pub postgres_url: Option<String>,
}

impl DataPlace {
    pub fn evidence_dir(&self) -> PathBuf {
        self.data_dir.join("evidence")
    }
    pub fn engine(&self) -> Engine {
        if self.postgres_url.is_some() {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists and is not empty: a backup goes into a new folder / バックアップ先が空ではありません。新しいフォルダーを指定してください")]
    DestinationNotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] hikeshi_store::StoreError),
    #[error("{tool} failed / 失敗しました: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("the manifest / マニフェスト {path}: {detail}")]
    Manifest { path: PathBuf, detail: String },
    #[error("the backup is damaged, nothing was restored / バックアップが破損しているため、何も復元していません:\n{}", .0.join("\n"))]
    Damaged(Vec<String>),
    #[error("the backup holds a {backup} database but the target is {target}: restore into the same engine / 同じデータベースの種類にのみ復元できます")]
    EngineMismatch { backup: Engine, target: Engine },
    #[error("the backup's schema version {backup} is newer than this hikeshi's {supported}: restore with a newer hikeshi / より新しい hikeshi で復元してください")]
    TooNew { backup: i64, supported: i64 },
    #[error("the target is not empty ({0}): a restore goes only into a fresh data folder and an empty database / 復元先が空ではありません。新しいデータフォルダーと空のデータベースにのみ復元できます")]
    TargetNotEmpty(String),
}

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.into();
    move |source| BackupError::Io { path, source }
}
