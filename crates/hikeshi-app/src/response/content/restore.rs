//! Writing a known-good file back, and moving an unknown one away, without ever writing
//! outside the root: every directory on the way is checked to be a real directory (a symlink
//! there is moved to quarantine and replaced by a directory), the bytes go to a new temporary
//! file in the target's directory (created exclusively, so it cannot be a symlink), get their
//! mode, owner and mtime, are synced, and are renamed over the target — a reader sees the old
//! file or the new one, never a mix, and a symlink at the target is replaced, not followed.

use super::baseline::Entry;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// `rel` under `root`, refusing anything that could climb out (`..`, absolute parts).
pub fn inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let rel_path = Path::new(rel);
    if rel_path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(format!("{rel}: not a plain path inside the root"));
    }
    Ok(root.join(rel_path))
}

/// Makes every directory between the root and `path` a real directory.
fn real_parents(root: &Path, path: &Path, quarantine: &Path, now_ms: i64) -> Result<(), String> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let rel = parent.strip_prefix(root).map_err(|_| "outside the root")?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => {
                // A symlink or a file where a directory belongs: out of the way first.
                move_to_quarantine(&at, root, quarantine, now_ms)?;
                std::fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?;
            }
            Err(_) => std::fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?,
        }
    }
    Ok(())
}

/// Writes `bytes` at `path` as `entry` says, atomically.
pub fn write_back(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    entry: &Entry,
    quarantine: &Path,
    now_ms: i64,
) -> Result<(), String> {
    real_parents(root, path, quarantine, now_ms)?;
    let dir = path.parent().ok_or("no directory")?;
    let temp = dir.join(format!(".hikeshi-restore-{}", hikeshi_store::new_id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.set_permissions(std::fs::Permissions::from_mode(entry.mode))?;
        // Only root may give a file away; otherwise it keeps hikeshi's owner.
        let _ = std::os::unix::fs::fchown(&file, Some(entry.uid), Some(entry.gid));
        let mtime =
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(entry.mtime_ns.max(0) as u64);
        file.set_modified(mtime)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(())
}

/// Moves a file, symlink or directory out of the root into the quarantine folder, under a
/// name that keeps where it was; returns where it went.
pub fn move_to_quarantine(
    path: &Path,
    root: &Path,
    quarantine: &Path,
    now_ms: i64,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(quarantine).map_err(|e| format!("{}: {e}", quarantine.display()))?;
    let flat = super::baseline::relative(root, path).replace('/', "__");
    let to = quarantine.join(format!("{now_ms}-{}-{flat}", hikeshi_store::new_id()));
    match std::fs::rename(path, &to) {
        Ok(()) => Ok(to),
        // Another filesystem: copy the bytes (a symlink as its target's name), then remove.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(path).map_err(|e| e.to_string())?;
                std::fs::write(&to, target.to_string_lossy().as_bytes())
                    .map_err(|e| e.to_string())?;
                std::fs::remove_file(path).map_err(|e| e.to_string())?;
            } else {
                let mut source =
                    super::baseline::open_no_follow(path).map_err(|e| e.to_string())?;
                let mut target = std::fs::File::create(&to).map_err(|e| e.to_string())?;
                std::io::copy(&mut source, &mut target).map_err(|e| e.to_string())?;
                std::fs::remove_file(path).map_err(|e| e.to_string())?;
            }
            Ok(to)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out() {
        let root = Path::new("/srv/www");
        assert_eq!(
            inside(root, "a/b.html"),
            Ok(PathBuf::from("/srv/www/a/b.html"))
        );
        assert!(inside(root, "../etc/passwd").is_err());
        assert!(inside(root, "/etc/passwd").is_err());
        assert!(inside(root, "a/../../x").is_err());
    }
}
