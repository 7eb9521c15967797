//! `manifest.json`: what a backup holds and the hash of each file in it.

use super::{io, BackupError};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_FORMAT: &str = "hikeshi-backup/1";
/// A manifest lists one line per evidence file: even a million files stay far below this.
const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup folder, with `/` separators.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub hikeshi_version: String,
    pub created_at: String,
    pub engine: Engine,
    pub schema_version: i64,
    pub database: FileEntry,
    pub evidence: Vec<FileEntry>,
}

impl Manifest {
    pub fn read(folder: &Path) -> Result<Manifest, BackupError> {
        let path = folder.join(MANIFEST);
        let bad = |detail: String| BackupError::Manifest {
            path: path.clone(),
            detail,
        };
        let meta = std::fs::metadata(&path).map_err(|e| {
            bad(format!(
                "{e} (a folder without a manifest is not a finished backup)"
            ))
        })?;
        if meta.len() > MAX_MANIFEST_BYTES {
            return Err(bad(format!(
                "{} bytes is more than a manifest can be",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let manifest: Manifest = serde_path_to_error::deserialize(de)
            .map_err(|e| bad(format!("at {}: {}", e.path(), e.inner())))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(bad(format!(
                "format `{}` is not `{MANIFEST_FORMAT}`",
                manifest.format
            )));
        }
        for entry in std::iter::once(&manifest.database).chain(&manifest.evidence) {
            if !is_safe_relative(&entry.path) {
                return Err(bad(format!(
                    "`{}` is not a path inside the backup",
                    entry.path
                )));
            }
        }
        Ok(manifest)
    }

    /// Written through a temporary name and renamed: the manifest appears whole or not at all.
    pub fn write(&self, folder: &Path) -> Result<(), BackupError> {
        let temp = folder.join(".manifest.json.partial");
        let text = serde_json::to_vec_pretty(self).map_err(|e| BackupError::Manifest {
            path: temp.clone(),
            detail: e.to_string(),
        })?;
        super::files::write_synced(&temp, &text)?;
        let path = folder.join(MANIFEST);
        std::fs::rename(&temp, &path).map_err(io(&path))?;
        super::files::sync_dir(folder)
    }
}

/// A manifest is outside input at restore time: its paths may not climb out of the folder.
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::is_safe_relative;

    #[test]
    fn paths_out_of_the_backup_are_refused() {
        assert!(is_safe_relative("evidence/ab/abcdef"));
        assert!(is_safe_relative("hikeshi.db"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "evidence/../../x",
            "a//b",
            "a\\b",
            "./a",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
