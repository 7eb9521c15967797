//! The publication job: queued at approval for the release time, it records that a scheduled
//! revision is out (state `published`, an audit entry). The public folder does not wait for it
//! — it shows what is approved and due — so a late or restarted runner never shows an
//! advisory late, and nothing can show one early.

use crate::jobs::{Attempt, Job};
use crate::App;
use futures_util::future::BoxFuture;
use hikeshi_store::CSAF_PUBLISH_JOB;

pub struct Publish;

impl Job for Publish {
    fn kind(&self) -> &'static str {
        CSAF_PUBLISH_JOB
    }

    fn run<'a>(&'a self, app: &'a App, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let payload: serde_json::Value =
                serde_json::from_str(&attempt.job.payload).map_err(|e| e.to_string())?;
            let id = payload["advisory_id"].as_str().unwrap_or_default();
            let seq = payload["seq"].as_i64().unwrap_or_default();
            let now = app.calendar.now_ms();
            let published = app
                .store
                .mark_published(id, seq, now)
                .await
                .map_err(|e| e.to_string())?;
            if published {
                tracing::info!(advisory = id, seq, "advisory revision published");
            }
            // Not published: moved (a new approval queues a new job) or already out.
            Ok(())
        })
    }
}
