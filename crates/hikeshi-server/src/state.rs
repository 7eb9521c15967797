//! What every request handler shares.

use crate::config::ServerConfig;
use crate::evidence_files::EvidenceFiles;
use hikeshi_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub evidence: EvidenceFiles,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let evidence = EvidenceFiles::new(config.evidence_dir());
        AppState {
            store,
            config: Arc::new(config),
            evidence,
        }
    }
}
