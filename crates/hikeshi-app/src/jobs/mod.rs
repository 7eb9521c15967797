//! Background work. Two shapes, both owned by the [`Runner`], which stops them on shutdown:
//! - **queued jobs** ([`Job`]): rows of the durable `jobs` table, enqueued in the transaction of
//!   the use case that causes them (a mail to a reporter), claimed with a lease, retried with
//!   back-off, and `dead` after their last attempt — shown on the jobs page and in the API,
//!   where an administrator can retry them;
//! - **periodic work** ([`Periodic`]): a task every so often (KEV/EPSS refresh, risk history,
//!   alert roll-ups, the Maildir, purging finished jobs).
//!
//! Every kind and every periodic task is registered in one place, [`registry::for_server`].

mod mail;
pub mod registry;
mod runner;

pub use mail::MailSender;
pub use runner::{Runner, Shutdown, Stopper};

use crate::App;
use futures_util::future::BoxFuture;
use hikeshi_store::Job as JobRow;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// `[jobs]`: how queued jobs are retried.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Attempts before a job is `dead`.
    pub max_attempts: i64,
    /// Wait before the second attempt; it doubles for each later one.
    pub retry_base_secs: u64,
    /// The longest wait between attempts.
    pub retry_max_secs: u64,
    /// How long a runner may hold a job before another may take it over.
    pub lease_secs: u64,
    /// Finished jobs are forgotten after this many days (dead ones stay).
    pub keep_done_days: i64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            max_attempts: 8,
            retry_base_secs: 60,
            retry_max_secs: 3600,
            lease_secs: 300,
            keep_done_days: 7,
        }
    }
}

impl JobSettings {
    /// Wait after failed attempt number `attempt` (1 for the first).
    pub fn backoff(&self, attempt: i64) -> Duration {
        let base = self.retry_base_secs.max(1);
        let doubled = base.saturating_mul(1u64 << (attempt - 1).clamp(0, 20));
        Duration::from_secs(doubled.min(self.retry_max_secs.max(base)))
    }
}

/// What a job's attempt knows about itself.
pub struct Attempt<'a> {
    pub job: &'a JobRow,
    /// No attempt follows this one if it fails.
    pub last: bool,
    /// When the next attempt comes if this one fails (ms).
    pub retry_at: i64,
}

/// A kind of queued job. `run` returns `Err` with a message for people to read; the runner
/// then schedules the next attempt or declares the job dead.
pub trait Job: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, app: &'a App, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// Work done every `every`, first right at start unless `delay_first`.
pub struct Periodic {
    pub name: &'static str,
    pub every: Duration,
    pub delay_first: bool,
    pub work: Arc<dyn Fn(App) -> BoxFuture<'static, ()> + Send + Sync>,
}

impl Periodic {
    pub fn new<F>(name: &'static str, every: Duration, work: F) -> Periodic
    where
        F: Fn(App) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    {
        Periodic {
            name,
            every,
            delay_first: false,
            work: Arc::new(work),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let s = JobSettings::default();
        assert_eq!(s.backoff(1), Duration::from_secs(60));
        assert_eq!(s.backoff(2), Duration::from_secs(120));
        assert_eq!(s.backoff(6), Duration::from_secs(1920));
        assert_eq!(s.backoff(7), Duration::from_secs(3600));
        assert_eq!(s.backoff(40), Duration::from_secs(3600));
    }
}

/// Filters of the jobs list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// `queued`, `running`, `done` or `dead`.
    pub state: Option<String>,
    pub limit: Option<i64>,
}

/// The queue, newest first (admins: payloads name people and addresses).
pub async fn list(app: &App, who: &crate::Who, q: &JobQuery) -> crate::AppResult<Vec<JobRow>> {
    who.require_admin("see background jobs")?;
    if let Some(s) = q.state.as_deref() {
        if !hikeshi_store::JOB_STATES.contains(&s) {
            return Err(crate::AppError::invalid(
                "state",
                format!(
                    "state: unknown value `{s}`; expected one of: {}",
                    hikeshi_store::JOB_STATES.join(", ")
                ),
            ));
        }
    }
    Ok(app
        .store
        .list_jobs(q.state.as_deref(), q.limit.unwrap_or(200).clamp(1, 1000))
        .await?)
}

pub async fn job(app: &App, who: &crate::Who, id: &str) -> crate::AppResult<JobRow> {
    who.require_admin("see background jobs")?;
    Ok(app.store.job(id).await?)
}

/// Jobs per state, for the page's summary.
pub async fn counts(app: &App, who: &crate::Who) -> crate::AppResult<Vec<(String, i64)>> {
    who.require_admin("see background jobs")?;
    Ok(app.store.job_counts().await?)
}

/// Queues a dead job again with fresh attempts (audited).
pub async fn retry(app: &App, who: &crate::Who, id: &str) -> crate::AppResult<JobRow> {
    who.require_admin("retry background jobs")?;
    Ok(app.store.retry_job(id, &who.actor()).await?)
}
