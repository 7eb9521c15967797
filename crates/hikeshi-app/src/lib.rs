//! The application core of hikeshi: every use case with its rules and permission checks, the
//! team's calendar, configuration, and the background jobs. It knows nothing of HTTP: the web
//! crate (`hikeshi-server`) translates requests into calls of these functions and their results
//! into pages and JSON, and the CLI, intake listeners and automation call the same functions.
//!
//! Each feature is a folder (or a file) with one public function per use case:
//! `verb(app: &App, who: &Who, input) -> AppResult<T>`. A use case is one transaction; the work
//! it causes elsewhere (mail, later connector actions) is a job queued in that transaction.

pub mod alerts;
mod app;
pub mod audit_diff;
pub mod backup;
pub mod calendar;
pub mod cases;
pub mod config;
pub mod csv;
pub mod error;
pub mod escalation;
pub mod evidence_files;
pub mod fetch;
pub mod form_guard;
pub mod i18n;
pub mod intake;
pub mod intel;
pub mod jobs;
pub mod ldap;
pub mod live;
pub mod oidc;
pub mod outbound_reports;
pub mod psirt;
pub mod reporting;
pub mod response;
pub mod retention;
pub mod second_factor;
pub mod team;
pub mod timefmt;
pub mod tls;
pub mod users;
pub mod validate;
pub mod vulns;
mod who;

pub use app::App;
pub use calendar::{Calendar, Clock};
pub use config::AppConfig;
pub use error::{AppError, AppResult, ErrorKind};
pub use i18n::Lang;
pub use who::Who;
