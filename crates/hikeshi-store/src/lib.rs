//! Persistence for hikeshi. One schema and one set of queries serve SQLite and PostgreSQL:
//! columns use only portable types (TEXT, BIGINT) and queries use `$n` placeholders, which
//! both engines accept, through sqlx's `Any` driver. No SQL lives outside this crate.

mod alerts;
mod assets;
mod audit;
mod backup;
mod case_stats;
mod cases;
mod contacts;
mod db;
mod evidence;
mod findings;
mod jobs;
mod mail;
mod migrate;
mod observables;
mod params;
mod programme;
mod psirt;
mod reports;
mod response;
mod retention;
mod rollups;
mod sboms;
pub mod scratch;
mod second_factor;
mod seed;
mod suppressions;
mod tasks;
mod tx;
mod users;
mod vuls_deliveries;

pub use alerts::{Alert, NewHit, Recorded, KEEP_EVENTS};
pub use assets::{Asset, NewAsset};
pub use audit::{AuditEntry, AuditQuery};
pub use case_stats::{CaseDimension, CaseLine, CaseTiming};
pub use cases::{
    Case, CaseFilter, CaseList, CasePatch, Category, Comment, ImportedCase, NewCase,
    NewTimelineEntry, TimelineEntry, COUNT_CAP,
};
pub use contacts::{CaseNotification, Contact, EscalationRule, NewContact};
pub use db::{restrict_to_owner, sqlite_path, Backend, Store};
pub use evidence::{CustodyEntry, Evidence, NewEvidence};
pub use findings::{
    Finding, FindingFilter, ImportOutcome, KevEntry, NewFinding, PatchState, ScanImport,
    ScanPackage,
};
pub use jobs::{Job, JOB_STATES, MAIL_SEND};
pub use mail::{OutboundMail, ReportMessage};
pub use migrate::latest_schema_version;
pub use observables::{NewObservable, Observable, ObservableLink};
pub use programme::{
    Assessment, Control, Entry, IssuedReport, KpiOverride, NewControl, NewEntry, Rating,
};
pub use psirt::{
    Advisory, AdvisoryRevision, Product, ProductVersion, ProductVuln, VersionState,
    VisibleRevision, CSAF_PUBLISH_JOB,
};
pub use reports::{
    Decision, NewAttachment, NewReport, Report, ReportAttachment, ReportDuplicate, ReportObservable,
};
pub use response::{ActionQuery, ConnectorHealth, ContentBaseline, ResponseAction};
pub use retention::{RetentionCutoffs, RetentionOutcome};
pub use rollups::{settled_hour, DepartmentOf, RuleCount, SourceActivity, HOUR_MS};
pub use sboms::{NewComponent, ProductSbom, ShippedComponent};
pub use suppressions::{NewSuppression, Suppression};
pub use tasks::{AssignedTask, NewTask, Task, TaskPatch};
pub use tx::Tx;
pub use users::{ApiToken, NewUser, Session, SignInAttempt, User};
pub use vuls_deliveries::{VulsDelivery, VULS_DELIVERY_JOB};

/// Who made a change, as written into the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
}

impl Actor {
    pub fn user(name: &str) -> Self {
        Actor {
            username: name.to_string(),
        }
    }
    /// Changes made from the command line on the server itself.
    pub fn cli() -> Self {
        Actor {
            username: "cli".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database refused the write because of a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, the one time format of the schema.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Sortable unique identifiers: ULIDs, lower-case, and monotonic within the process so that
/// rows created in the same millisecond (a template's tasks) keep their order.
pub fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut guard = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    let id = generator.generate().unwrap_or_else(|_| ulid::Ulid::new());
    id.to_string().to_ascii_lowercase()
}
