//! The known-good copy of a web root: every file's bytes under its SHA-256 in
//! `<store>/objects/`, and a manifest (path → hash, size, mode, owner, mtime) in
//! `<store>/manifest.json`. The manifest's own hash is recorded in the database when a
//! baseline is promoted, so that an edited manifest is found out; every object is hashed
//! again before it is restored from, so that a damaged copy is never written back.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One file as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime_ns: i128,
}

/// Path (relative to the root, `/`-separated) → entry.
pub type Manifest = BTreeMap<String, Entry>;

pub fn manifest_path(store: &Path) -> PathBuf {
    store.join("manifest.json")
}

pub fn object_path(store: &Path, sha256: &str) -> PathBuf {
    store.join("objects").join(sha256)
}

/// Hashes a file as it is read, without following a symlink at its place.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = open_no_follow(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

pub fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

pub fn entry_of(path: &Path) -> std::io::Result<Entry> {
    let meta = std::fs::symlink_metadata(path)?;
    let (sha256, size) = hash_file(path)?;
    Ok(Entry {
        sha256,
        size,
        mode: meta.permissions().mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
    })
}

/// Every regular file under `root`, not following symlinks (they are not content).
pub fn walk(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    Ok(entries(root)?
        .into_iter()
        .filter(|(_, _, kind)| kind.is_file())
        .map(|(rel, path, _)| (rel, path))
        .collect())
}

/// Everything under `root` but directories (which are walked), with its type, sorted.
pub fn entries(root: &Path) -> std::io::Result<Vec<(String, PathBuf, std::fs::FileType)>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for item in std::fs::read_dir(&dir)? {
            let item = item?;
            let path = item.path();
            let kind = item.file_type()?;
            if kind.is_dir() {
                dirs.push(path);
            } else {
                out.push((relative(root, &path), path, kind));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Copies the root into the store and writes the manifest; returns it with its hash. An
/// object already in the store is kept only if its bytes still match its name.
pub fn take(root: &Path, store: &Path) -> Result<(Manifest, String), String> {
    let objects = store.join("objects");
    std::fs::create_dir_all(&objects).map_err(|e| format!("{}: {e}", objects.display()))?;
    if store.starts_with(root) {
        return Err(format!(
            "the baseline store {} must be outside the root {}",
            store.display(),
            root.display()
        ));
    }
    let mut manifest = Manifest::new();
    for (rel, path) in walk(root).map_err(|e| format!("{}: {e}", root.display()))? {
        let entry = entry_of(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let object = object_path(store, &entry.sha256);
        let sound = hash_file(&object).is_ok_and(|(h, _)| h == entry.sha256);
        if !sound {
            let temp = objects.join(format!(".incoming-{}", entry.sha256));
            copy_no_follow(&path, &temp).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::rename(&temp, &object).map_err(|e| format!("{}: {e}", object.display()))?;
        }
        manifest.insert(rel, entry);
    }
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let path = manifest_path(store);
    let temp = store.join(".manifest.json.new");
    std::fs::write(&temp, &text).map_err(|e| format!("{}: {e}", temp.display()))?;
    std::fs::rename(&temp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((manifest, hex::encode(Sha256::digest(&text))))
}

fn copy_no_follow(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = open_no_follow(from)?;
    let mut target = std::fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)?;
    target.sync_all()
}

/// The manifest on disk, if its hash is the one recorded.
pub fn load(store: &Path, recorded_sha256: &str) -> Result<Manifest, String> {
    let path = manifest_path(store);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = hex::encode(Sha256::digest(&text));
    if actual != recorded_sha256 {
        return Err(format!(
            "{} does not match the promoted baseline (SHA-256 {actual}, recorded {recorded_sha256})",
            path.display()
        ));
    }
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The object's bytes, if they still hash to `sha256`.
pub fn sound_object(store: &Path, sha256: &str) -> Result<Vec<u8>, String> {
    let path = object_path(store, sha256);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual == sha256 {
        Ok(bytes)
    } else {
        Err(format!(
            "baseline object {} is damaged (its bytes hash to {actual})",
            path.display()
        ))
    }
}
