//! `App`: what every use case is given — the store, the configuration, the team's calendar,
//! the evidence folder, the report form's guard and, on nodes that run it, the live pipeline.
//! Cloning is cheap; the web crate keeps one inside its request state.

use crate::calendar::{Calendar, Clock};
use crate::config::AppConfig;
use crate::evidence_files::EvidenceFiles;
use crate::form_guard::FormGuard;
use hikeshi_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub config: Arc<AppConfig>,
    pub calendar: Calendar,
    pub evidence: EvidenceFiles,
    pub form_guard: Arc<FormGuard>,
    /// The live-monitoring pipeline, when `serve --rules` gave rules.
    pub live: Option<Arc<crate::live::Live>>,
    /// Downloads from configured URLs (KEV, EPSS), when the node has a client for them.
    pub fetch: Option<Arc<dyn crate::fetch::Fetch>>,
    /// Delays after failed logins.
    pub login_throttle: Arc<crate::users::LoginThrottle>,
    /// Logins waiting for their second factor.
    pub second_factors: Arc<crate::second_factor::PendingSecondFactors>,
    /// Login through the OpenID provider, when `[auth.oidc]` is set.
    pub oidc: Option<Arc<crate::oidc::OidcLogin>>,
    /// Automated response: the never-block set, the connectors, the reconciler's doorbell.
    pub response: Arc<crate::response::Response>,
    /// The team's OpenPGP key for CSAF documents, when `[psirt] openpgp_key_file` is set.
    pub signer: Option<Arc<crate::psirt::signing::Signer>>,
}

impl App {
    /// The configured team offset must be valid: `AppConfig` is checked when it is read.
    pub fn new(store: Store, config: AppConfig) -> App {
        App::with_clock(store, config, Clock::system())
    }

    /// As [`App::new`], with a clock of the caller's (tests of date rules).
    pub fn with_clock(store: Store, config: AppConfig, clock: Clock) -> App {
        let offset = config.reporting.offset_ms().unwrap_or(9 * 3_600_000);
        let evidence = EvidenceFiles::new(config.evidence_dir());
        let f = config.report_form;
        let response = Arc::new(crate::response::Response::new(&config.response));
        let form_guard = Arc::new(FormGuard::new(f.pow_bits, f.min_seconds * 1000, f.per_hour));
        App {
            store,
            config: Arc::new(config),
            calendar: Calendar::new(offset, clock),
            evidence,
            form_guard,
            live: None,
            fetch: None,
            login_throttle: Arc::default(),
            oidc: None,
            second_factors: Arc::default(),
            response,
            signer: None,
        }
    }

    /// Adds the live-monitoring pipeline.
    pub fn with_live(mut self, live: Arc<crate::live::Live>) -> App {
        self.live = Some(live);
        self
    }

    /// Adds an HTTP client for downloads.
    pub fn with_fetch(mut self, fetch: Arc<dyn crate::fetch::Fetch>) -> App {
        self.fetch = Some(fetch);
        self
    }

    /// Adds login through an OpenID provider.
    pub fn with_oidc(mut self, oidc: Arc<crate::oidc::OidcLogin>) -> App {
        self.oidc = Some(oidc);
        self
    }

    /// Adds the team's OpenPGP key: CSAF documents are signed from now on.
    pub fn with_signer(mut self, signer: Arc<crate::psirt::signing::Signer>) -> App {
        self.signer = Some(signer);
        self
    }

    /// The pipeline, or why this node has none.
    pub fn live(&self) -> crate::AppResult<&Arc<crate::live::Live>> {
        self.live.as_ref().ok_or_else(|| {
            crate::AppError::unavailable(
                "no_rules",
                "no rules are loaded: start the server with --rules DIR",
            )
        })
    }
}
