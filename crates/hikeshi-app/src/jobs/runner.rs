//! The runner: one task claims and runs queued jobs, one task per periodic work. All of them
//! watch one shutdown signal and end at their next await point; [`Runner::stop`] waits for them
//! and aborts what has not ended in time.

use super::{Attempt, Job, Periodic};
use crate::App;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the queue is looked at when it was empty.
const POLL: Duration = Duration::from_millis(500);
/// Jobs claimed at once by one runner.
const CLAIM: i64 = 20;

/// A handle to the shutdown signal, for loops outside the runner (listeners) too.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when shutdown begins.
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleeps for `d`, or less when shutdown begins; says whether to go on.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_stopping(),
            _ = self.wait() => false,
        }
    }
}

/// The shutdown signal before the runner exists: sources started earlier (watched folders)
/// take a [`Shutdown`] from it, and the runner then owns it.
pub struct Stopper(watch::Sender<bool>);

impl Stopper {
    pub fn new() -> Stopper {
        Stopper(watch::channel(false).0)
    }

    pub fn shutdown(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Default for Stopper {
    fn default() -> Self {
        Stopper::new()
    }
}

pub struct Runner {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Runner {
    /// Starts the queue worker (if any job kinds are given) and every periodic task; they stop
    /// with `stopping`.
    pub fn start(
        app: App,
        jobs: Vec<Arc<dyn Job>>,
        periodic: Vec<Periodic>,
        stopping: Stopper,
    ) -> Runner {
        let stop = stopping.0;
        let signal = stop.subscribe();
        let mut tasks = Vec::new();
        if !jobs.is_empty() {
            let kinds: HashMap<&'static str, Arc<dyn Job>> =
                jobs.into_iter().map(|j| (j.kind(), j)).collect();
            let app = app.clone();
            let shutdown = Shutdown(signal.clone());
            tasks.push(("jobs", tokio::spawn(work_queue(app, kinds, shutdown))));
        }
        for p in periodic {
            let app = app.clone();
            let mut shutdown = Shutdown(signal.clone());
            let name = p.name;
            tasks.push((
                name,
                tokio::spawn(async move {
                    if p.delay_first && !shutdown.sleep(p.every).await {
                        return;
                    }
                    loop {
                        tokio::select! {
                            _ = (p.work)(app.clone()) => {},
                            _ = shutdown.wait() => return,
                        }
                        if !shutdown.sleep(p.every).await {
                            return;
                        }
                    }
                }),
            ));
        }
        Runner { stop, tasks }
    }

    /// The signal the runner's loops watch, for other loops to share.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown(self.stop.subscribe())
    }

    /// Signals every loop and waits up to `within` for them; the rest are aborted. Returns the
    /// names of the loops that had to be aborted.
    pub async fn stop(self, within: Duration) -> Vec<&'static str> {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + within;
        let mut aborted = Vec::new();
        for (name, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                aborted.push(name);
            }
        }
        if !aborted.is_empty() {
            tracing::warn!(
                ?aborted,
                "background work did not stop in time and was aborted"
            );
        }
        aborted
    }
}

async fn work_queue(app: App, kinds: HashMap<&'static str, Arc<dyn Job>>, mut shutdown: Shutdown) {
    let names: Vec<&str> = kinds.keys().copied().collect();
    let settings = app.config.jobs;
    let lease_ms = settings.lease_secs.max(1) as i64 * 1000;
    while !shutdown.is_stopping() {
        let claimed = match app.store.claim_jobs(&names, lease_ms, CLAIM).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the job queue");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        for job in claimed {
            let Some(kind) = kinds.get(job.kind.as_str()) else {
                continue;
            };
            let last = job.attempts >= settings.max_attempts;
            let retry_at =
                hikeshi_store::now_ms() + settings.backoff(job.attempts).as_millis() as i64;
            let attempt = Attempt {
                job: &job,
                last,
                retry_at,
            };
            let outcome = tokio::select! {
                r = tokio::time::timeout(Duration::from_millis(lease_ms as u64), kind.run(&app, attempt)) => {
                    r.unwrap_or_else(|_| Err("the attempt took longer than its lease".into()))
                }
                // The job's lease runs out and another runner (or the next start) takes it.
                _ = shutdown.wait() => return,
            };
            let written = match &outcome {
                Ok(()) => app.store.finish_job(&job.id).await,
                Err(e) => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, dead = last, error = %e, "job failed");
                    app.store
                        .fail_job(&job.id, e, (!last).then_some(retry_at))
                        .await
                }
            };
            if let Err(e) = written {
                // The lease runs out and the job is tried again: better twice than never.
                tracing::error!(job = %job.id, error = %e, "cannot record the job's outcome");
            }
        }
        if idle && !shutdown.sleep(POLL).await {
            return;
        }
    }
}
