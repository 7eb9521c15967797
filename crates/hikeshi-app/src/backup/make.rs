//! `hikeshi backup DEST`: the database first (one snapshot), then the evidence files. Evidence
//! files are never rewritten and only removed when nothing points to them, so every file the
//! snapshot references is still there when the copy reaches it.

use super::files::{
    blocking, copy_hashed, create_private_dir, hash_file, is_lower_hex, is_sha256_name, sync_dir,
};
use super::manifest::{Engine, FileEntry, Manifest, MANIFEST_FORMAT};
use super::{io, pg_tools, BackupError, DataPlace};
use hikeshi_store::Store;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupSummary {
    pub folder: PathBuf,
    pub engine: Engine,
    pub schema_version: i64,
    pub database_bytes: u64,
    pub evidence_files: usize,
    pub evidence_bytes: u64,
    /// Evidence files whose content no longer matches their name: left out, and named here.
    pub damaged: Vec<String>,
}

pub async fn make(
    store: &Store,
    place: &DataPlace,
    dest: &Path,
) -> Result<BackupSummary, BackupError> {
    prepare_destination(dest)?;
    let engine = place.engine();
    let schema_version = store.schema_version().await?;
    let db_name = match engine {
        Engine::Sqlite => "hikeshi.db",
        Engine::Postgres => "hikeshi.pgdump",
    };
    let db_path = dest.join(db_name);
    match &place.postgres_url {
        None => store.sqlite_snapshot_into(&db_path).await?,
        Some(url) => {
            let (url, path) = (url.clone(), db_path.clone());
            blocking(move || pg_tools::dump(&url, &path)).await?;
        }
    }
    restrict_file(&db_path);
    let (evidence_dir, dest_owned) = (place.evidence_dir(), dest.to_path_buf());
    let (evidence, damaged) = blocking(move || copy_evidence(&evidence_dir, &dest_owned)).await?;
    let db_path_owned = db_path.clone();
    let (sha256, size) = blocking(move || hash_file(&db_path_owned)).await?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        hikeshi_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        engine,
        schema_version,
        database: FileEntry {
            path: db_name.into(),
            sha256,
            size,
        },
        evidence,
    };
    manifest.write(dest)?;
    Ok(BackupSummary {
        folder: dest.to_path_buf(),
        engine,
        schema_version,
        database_bytes: size,
        evidence_files: manifest.evidence.len(),
        evidence_bytes: manifest.evidence.iter().map(|e| e.size).sum(),
        damaged,
    })
}

fn prepare_destination(dest: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::DestinationNotEmpty(dest.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dest)(e)),
    }
    create_private_dir(dest)
}

/// Copies `evidence/xx/<sha256>` files, checking each against its name on the way.
fn copy_evidence(
    evidence_dir: &Path,
    dest: &Path,
) -> Result<(Vec<FileEntry>, Vec<String>), BackupError> {
    let mut entries = Vec::new();
    let mut damaged = Vec::new();
    let prefixes = match std::fs::read_dir(evidence_dir) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((entries, damaged)),
        Err(e) => return Err(io(evidence_dir)(e)),
    };
    let mut prefix_dirs: Vec<PathBuf> = prefixes
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_prefix)
        })
        .collect();
    prefix_dirs.sort();
    for prefix_dir in prefix_dirs {
        let prefix = prefix_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut names: Vec<String> = std::fs::read_dir(&prefix_dir)
            .map_err(io(&prefix_dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_sha256_name(n) && n.starts_with(&prefix))
            .collect();
        names.sort();
        if names.is_empty() {
            continue;
        }
        let out_dir = dest.join("evidence").join(&prefix);
        create_private_dir(&out_dir)?;
        for name in names {
            let target = out_dir.join(&name);
            let (sha256, size) = copy_hashed(&prefix_dir.join(&name), &target)?;
            if sha256 != name {
                let _ = std::fs::remove_file(&target);
                damaged.push(format!("evidence/{prefix}/{name}"));
                continue;
            }
            entries.push(FileEntry {
                path: format!("evidence/{prefix}/{name}"),
                sha256,
                size,
            });
        }
        sync_dir(&out_dir)?;
    }
    Ok((entries, damaged))
}

fn is_prefix(name: &str) -> bool {
    is_lower_hex(name, 2)
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}
