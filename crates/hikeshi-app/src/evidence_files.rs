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

/// A file being received: bytes go to disk as they arrive, hashed on the way.
pub struct Incoming {
    temp_path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

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
        let temp_path = tmp_dir.join(ulid::Ulid::new().to_string());
        let file = tokio::fs::File::create(&temp_path).await?;
        Ok(Incoming {
            temp_path,
            file,
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// Finishes a file: returns its SHA-256 and size. Identical content is stored once.
    pub async fn commit(&self, mut incoming: Incoming) -> Result<(String, u64), EvidenceError> {
        incoming.file.flush().await?;
        incoming.file.sync_all().await?;
        drop(incoming.file);
        let sha = hex::encode(incoming.hasher.finalize());
        let dest = self.path_for(&sha);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
            let _ = tokio::fs::remove_file(&incoming.temp_path).await;
        } else {
            tokio::fs::rename(&incoming.temp_path, &dest).await?;
            sync_dir(dest.parent()).await;
        }
        Ok((sha, incoming.size))
    }

    pub async fn open(&self, sha256: &str) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path_for(sha256)).await
    }
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), EvidenceError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            let _ = tokio::fs::remove_file(&self.temp_path).await;
            return Err(EvidenceError::TooLarge(self.limit));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    pub async fn abandon(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp_path).await;
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
