//! File steps shared by backup and restore: copy while hashing, write synced, hash a file.

use super::{io, BackupError};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Copies `from` to `to` (created new, 0600), returning the SHA-256 and size of what was read.
pub fn copy_hashed(from: &Path, to: &Path) -> Result<(String, u64), BackupError> {
    let mut output = create_private(to)?;
    let hashed = read_hashed(from, |chunk| output.write_all(chunk).map_err(io(to)))?;
    output.sync_all().map_err(io(to))?;
    Ok(hashed)
}

pub fn hash_file(path: &Path) -> Result<(String, u64), BackupError> {
    read_hashed(path, |_| Ok(()))
}

/// Reads a file through SHA-256, handing each chunk to `sink` on the way.
fn read_hashed(
    path: &Path,
    mut sink: impl FnMut(&[u8]) -> Result<(), BackupError>,
) -> Result<(String, u64), BackupError> {
    let mut input = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        sink(&buf[..n])?;
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut f = create_private(path)?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// A new file only its owner can read: backups hold the same secrets as the data folder.
fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path))
}

/// A folder only its owner can enter, with its parents.
pub fn create_private_dir(path: &Path) -> Result<(), BackupError> {
    std::fs::create_dir_all(path).map_err(io(path))?;
    hikeshi_store::restrict_to_owner(path);
    Ok(())
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// A SHA-256 in lowercase hex: the only names the evidence folder holds.
pub fn is_sha256_name(name: &str) -> bool {
    is_lower_hex(name, 64)
}

/// `len` lowercase hex digits (evidence names, and their two-digit folders).
pub fn is_lower_hex(name: &str, len: usize) -> bool {
    name.len() == len
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs file work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Tool {
            tool: "a file task",
            detail: e.to_string(),
        })?
}
