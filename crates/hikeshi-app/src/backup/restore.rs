//! `hikeshi restore SRC`: every file of the backup is checked against the manifest first; only
//! a whole, undamaged backup is written, and only into an empty target. Then the ordinary
//! migrations bring an older backup up to this version's schema.

use super::files::{
    blocking, copy_hashed, create_private_dir, hash_file, is_sha256_name, sync_dir,
};
use super::manifest::{Engine, Manifest};
use super::{io, pg_tools, BackupError, DataPlace};
use hikeshi_store::Store;
use std::path::{Path, PathBuf};

/// Problems listed one per line; past this many, the rest are counted.
const MAX_LISTED: usize = 50;

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreSummary {
    pub engine: Engine,
    pub schema_version: i64,
    pub evidence_files: usize,
    pub migrations_applied: usize,
}

/// Checks every file of a backup against its manifest, writing nothing.
pub async fn verify(folder: &Path) -> Result<Manifest, BackupError> {
    let folder = folder.to_path_buf();
    blocking(move || {
        let manifest = Manifest::read(&folder)?;
        let mut problems = Vec::new();
        for entry in std::iter::once(&manifest.database).chain(&manifest.evidence) {
            match hash_file(&folder.join(&entry.path)) {
                Err(BackupError::Io { source, .. }) => {
                    problems.push(format!("{}: {source}", entry.path))
                }
                Err(e) => return Err(e),
                Ok((_, size)) if size != entry.size => problems.push(format!(
                    "{}: {size} bytes where the manifest says {}",
                    entry.path, entry.size
                )),
                Ok((sha256, _)) if sha256 != entry.sha256 => problems.push(format!(
                    "{}: SHA-256 {sha256} where the manifest says {}",
                    entry.path, entry.sha256
                )),
                Ok(_) => {}
            }
        }
        for entry in &manifest.evidence {
            if !is_evidence_path(&entry.path, &entry.sha256) {
                problems.push(format!(
                    "{}: an evidence file must be evidence/<first two>/<its SHA-256>",
                    entry.path
                ));
            }
        }
        if problems.is_empty() {
            return Ok(manifest);
        }
        let more = problems.len().saturating_sub(MAX_LISTED);
        problems.truncate(MAX_LISTED);
        if more > 0 {
            problems.push(format!("… and {more} more"));
        }
        Err(BackupError::Damaged(problems))
    })
    .await
}

pub async fn restore(folder: &Path, target: &DataPlace) -> Result<RestoreSummary, BackupError> {
    let manifest = verify(folder).await?;
    let engine = target.engine();
    if manifest.engine != engine {
        return Err(BackupError::EngineMismatch {
            backup: manifest.engine,
            target: engine,
        });
    }
    let supported = hikeshi_store::latest_schema_version();
    if manifest.schema_version > supported {
        return Err(BackupError::TooNew {
            backup: manifest.schema_version,
            supported,
        });
    }
    match &target.postgres_url {
        Some(url) => {
            let store = Store::connect(url).await?;
            let taken = store.has_schema().await?;
            store.close().await;
            if taken {
                return Err(BackupError::TargetNotEmpty(
                    "the PostgreSQL database already holds hikeshi's tables".into(),
                ));
            }
        }
        None => {
            let path = hikeshi_store::sqlite_path(&target.data_dir);
            if path.exists() {
                return Err(BackupError::TargetNotEmpty(path.display().to_string()));
            }
        }
    }
    if has_evidence(&target.evidence_dir())? {
        return Err(BackupError::TargetNotEmpty(
            target.evidence_dir().display().to_string(),
        ));
    }

    create_private_dir(&target.data_dir)?;
    let (src, evidence_dir, entries) = (
        folder.to_path_buf(),
        target.evidence_dir(),
        manifest.evidence.clone(),
    );
    blocking(move || place_evidence(&src, &evidence_dir, &entries)).await?;
    let db_file = folder.join(&manifest.database.path);
    let store = match &target.postgres_url {
        Some(url) => {
            let url2 = url.clone();
            blocking(move || pg_tools::restore(&url2, &db_file)).await?;
            Store::connect(url).await?
        }
        None => {
            let path = hikeshi_store::sqlite_path(&target.data_dir);
            let sha256 = manifest.database.sha256.clone();
            blocking(move || place_file(&db_file, &path, &sha256)).await?;
            Store::open_sqlite(&target.data_dir).await?
        }
    };
    let migrations_applied = store.migrate().await?;
    store.close().await;
    Ok(RestoreSummary {
        engine,
        schema_version: manifest.schema_version,
        evidence_files: manifest.evidence.len(),
        migrations_applied,
    })
}

fn is_evidence_path(path: &str, sha256: &str) -> bool {
    is_sha256_name(sha256)
        && sha256
            .get(..2)
            .is_some_and(|prefix| path == format!("evidence/{prefix}/{sha256}"))
}

fn has_evidence(dir: &Path) -> Result<bool, BackupError> {
    let prefixes = match std::fs::read_dir(dir) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(dir)(e)),
    };
    for prefix in prefixes.filter_map(|e| e.ok()) {
        let path = prefix.path();
        let content_folder = path.is_dir() && path.file_name().is_some_and(|n| n != "tmp");
        if content_folder
            && std::fs::read_dir(&path)
                .map_err(io(&path))?
                .next()
                .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn place_evidence(
    src: &Path,
    evidence_dir: &Path,
    entries: &[super::FileEntry],
) -> Result<(), BackupError> {
    let evidence = crate::evidence_files::EvidenceFiles::new(evidence_dir.to_path_buf());
    for entry in entries {
        let target = evidence.path_for(&entry.sha256);
        if let Some(folder) = target.parent() {
            create_private_dir(folder)?;
        }
        place_file(&src.join(&entry.path), &target, &entry.sha256)?;
    }
    Ok(())
}

/// Copies through a temporary name, checks the hash again (the backup may sit on a failing
/// disk), and renames into place.
fn place_file(from: &Path, to: &Path, sha256: &str) -> Result<(), BackupError> {
    let parent: PathBuf = to.parent().map(Path::to_path_buf).unwrap_or_default();
    let temp = parent.join(format!(
        ".{}.partial",
        to.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let _ = std::fs::remove_file(&temp);
    let (copied, _) = copy_hashed(from, &temp)?;
    if copied != sha256 {
        let _ = std::fs::remove_file(&temp);
        return Err(BackupError::Damaged(vec![format!(
            "{}: changed while it was being restored",
            from.display()
        )]));
    }
    std::fs::rename(&temp, to).map_err(io(to))?;
    sync_dir(&parent)
}
