//! Evidence bytes on disk, content-addressed by SHA-256: `evidence/ab/abcdef…`. A file is
//! written to a temporary name while it is hashed, synced, then renamed into place, so a stored
//! file is always complete and its name is its hash. Stored files are never rewritten.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Clone)]
pub struct EvidenceFiles {
    root: PathBuf,
}

/// A file being received: bytes go to disk as they arrive, hashed on the way. Dropped before
/// it is committed or held (a refused upload, a client gone mid-way), its bytes are removed.
pub struct Incoming {
    temp_path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// A complete, hashed file still in the temporary folder: it joins the evidence only when
/// [`EvidenceFiles::keep`] is called (the report it came with was stored). Dropped, it is
/// removed, so a refused form leaves nothing behind.
pub struct Held {
    temp_path: PathBuf,
    pub sha256: String,
    pub size: u64,
    kept: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Temporary files older than this are left from a process killed mid-upload.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);
/// A content file nothing points to is removed only after this: its record may be on its way.
const ORPHAN_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("evidence storage: {0}")]
    Io(#[from] std::io::Error),
}

impl EvidenceFiles {
    pub fn new(root: PathBuf) -> Self {
        EvidenceFiles { root }
    }

    pub fn path_for(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("xx");
        self.root.join(prefix).join(sha256)
    }

    pub async fn begin(&self, limit: u64) -> Result<Incoming, EvidenceError> {
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        // With PostgreSQL the evidence folder may live outside the data folder.
        hikeshi_store::restrict_to_owner(&self.root);
        let temp_path = tmp_dir.join(ulid::Ulid::new().to_string());
        let file = tokio::fs::File::create(&temp_path).await?;
        Ok(Incoming {
            temp_path,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// Finishes a file: returns its SHA-256 and size. Identical content is stored once.
    pub async fn commit(&self, incoming: Incoming) -> Result<(String, u64), EvidenceError> {
        let held = self.hold(incoming).await?;
        let (sha, size, _) = self.keep(held).await?;
        Ok((sha, size))
    }

    /// Finishes receiving (synced, hashed) but keeps the file out of the evidence for now.
    pub async fn hold(&self, mut incoming: Incoming) -> Result<Held, EvidenceError> {
        let Some(mut file) = incoming.file.take() else {
            return Err(EvidenceError::Io(std::io::Error::other(
                "upload already finished",
            )));
        };
        let result = async {
            file.flush().await?;
            file.sync_all().await
        }
        .await;
        drop(file);
        let held = Held {
            temp_path: incoming.temp_path.clone(),
            sha256: hex::encode(std::mem::take(&mut incoming.hasher).finalize()),
            size: incoming.size,
            kept: false,
        };
        result?;
        Ok(held)
    }

    /// Moves a held file to its content address; returns its hash, size and whether this call
    /// created it (identical content is stored once, so it may have been there already).
    pub async fn keep(&self, mut held: Held) -> Result<(String, u64, bool), EvidenceError> {
        let dest = self.path_for(&held.sha256);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let created = !tokio::fs::try_exists(&dest).await.unwrap_or(false);
        if created {
            tokio::fs::rename(&held.temp_path, &dest).await?;
            held.kept = true;
            sync_dir(dest.parent()).await;
        }
        Ok((held.sha256.clone(), held.size, created))
    }

    /// Removes a content file this process just created for a record that then failed.
    pub async fn forget(&self, sha256: &str) {
        let _ = tokio::fs::remove_file(self.path_for(sha256)).await;
    }

    /// Removes what no record points to: temporary files older than an hour (a process killed
    /// mid-upload) and content files older than a day whose hash `referenced` does not hold.
    /// Returns how many files went.
    pub async fn sweep(&self, referenced: &std::collections::HashSet<String>) -> usize {
        let mut removed = 0;
        let now = std::time::SystemTime::now();
        let older_than = |meta: &std::fs::Metadata, age| {
            meta.modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|d| d > age)
        };
        let Ok(mut dirs) = tokio::fs::read_dir(&self.root).await else {
            return 0;
        };
        while let Ok(Some(dir)) = dirs.next_entry().await {
            let name = dir.file_name().to_string_lossy().into_owned();
            let is_tmp = name == "tmp";
            // Content lives in two-hex-digit folders; anything else here is not ours to remove.
            let is_content = name.len() == 2 && name.chars().all(|c| c.is_ascii_hexdigit());
            if !(is_tmp || is_content) {
                continue;
            }
            let Ok(mut files) = tokio::fs::read_dir(dir.path()).await else {
                continue;
            };
            while let Ok(Some(f)) = files.next_entry().await {
                let Ok(meta) = f.metadata().await else {
                    continue;
                };
                let file_name = f.file_name().to_string_lossy().into_owned();
                let stale = if is_tmp {
                    older_than(&meta, STALE_TEMP)
                } else {
                    older_than(&meta, ORPHAN_GRACE) && !referenced.contains(&file_name)
                };
                if meta.is_file() && stale && tokio::fs::remove_file(f.path()).await.is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    pub async fn open(&self, sha256: &str) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path_for(sha256)).await
    }
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), EvidenceError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(EvidenceError::TooLarge(self.limit));
        }
        self.hasher.update(chunk);
        match self.file.as_mut() {
            Some(f) => f.write_all(chunk).await?,
            None => return Err(EvidenceError::Io(std::io::Error::other("upload finished"))),
        }
        Ok(())
    }

    /// Gives up the upload; its bytes are removed (as when it is dropped).
    pub async fn abandon(self) {
        drop(self);
    }
}

/// Makes a rename durable; failure only weakens durability, so it is not an error.
async fn sync_dir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        if let Ok(d) = tokio::fs::File::open(dir).await {
            let _ = d.sync_all().await;
        }
    }
}
