//! What every request handler shares.

use crate::config::ServerConfig;
use crate::evidence_files::EvidenceFiles;
use crate::form_guard::FormGuard;
use hikeshi_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub evidence: EvidenceFiles,
    pub form_guard: Arc<FormGuard>,
    /// The live-monitoring pipeline, when `serve --rules` gave rules.
    pub live: Option<Arc<crate::live::Live>>,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let evidence = EvidenceFiles::new(config.evidence_dir());
        let f = config.report_form;
        let form_guard = Arc::new(FormGuard::new(f.pow_bits, f.min_seconds * 1000, f.per_hour));
        AppState {
            store,
            config: Arc::new(config),
            evidence,
            form_guard,
            live: None,
        }
    }

    /// Adds the live-monitoring pipeline.
    pub fn with_live(mut self, live: Arc<crate::live::Live>) -> Self {
        self.live = Some(live);
        self
    }
}
