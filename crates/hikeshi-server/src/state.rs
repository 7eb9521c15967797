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
    /// The rules for live events, when `serve --rules` gave some.
    pub engine: Option<Arc<crate::live::LiveEngine>>,
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
            engine: None,
        }
    }

    /// Adds the rules live events run through.
    pub fn with_engine(mut self, engine: Arc<crate::live::LiveEngine>) -> Self {
        self.engine = Some(engine);
        self
    }
}
