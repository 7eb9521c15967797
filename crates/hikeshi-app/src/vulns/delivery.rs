//! What `vuls report -to-http` sends: one scan result per POST. The body is written to disk
//! under its SHA-256 and recorded (with the job that imports it) before the sender gets its
//! answer, so nothing a scanner delivered is lost to a crash; the import runs from the stored
//! body. The same body again is the same delivery: it is answered, not imported twice.

use crate::jobs::{Attempt, Job};
use crate::{App, AppError, AppResult, Who};
use futures_util::future::BoxFuture;
use hikeshi_store::{VulsDelivery, VULS_DELIVERY_JOB};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;

/// A delivery's body is refused above this unless `[vulns] http_max_bytes` says otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The answer to the scanner.
#[derive(Debug, Serialize)]
pub struct Receipt {
    /// The body's SHA-256: `GET /api/v1/imports/vuls-http/{id}` tells how its import went.
    pub id: String,
    pub server_name: String,
    /// This body had been delivered before; nothing new was stored.
    pub duplicate: bool,
    pub state: String,
}

/// Scanner machines send with an ingest token; people who may import may too.
pub fn may_deliver(who: &Who) -> AppResult<()> {
    if who.scope == hikeshi_model::TokenScope::Ingest {
        return Ok(());
    }
    super::assets::may_import(who)
}

fn folder(app: &App) -> PathBuf {
    app.config.data_dir.join("vuls-deliveries")
}

/// Stores a delivered scan result and queues its import.
pub async fn receive(app: &App, who: &Who, body: &[u8]) -> AppResult<Receipt> {
    may_deliver(who)?;
    // Only what can be imported is kept: a JSON object with the server's name.
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        AppError::invalid(
            "body",
            format!(
                "not a Vuls scan result (JSON): line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let server_name = doc
        .get("serverName")
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            AppError::invalid(
                "serverName",
                "serverName: missing; one Vuls scan result per POST",
            )
        })?
        .chars()
        .take(255)
        .collect::<String>();
    let sha256 = hex::encode(Sha256::digest(body));
    if let Some(known) = app.store.vuls_delivery(&sha256).await? {
        return Ok(Receipt {
            id: sha256,
            server_name: known.server_name,
            duplicate: true,
            state: known.state,
        });
    }
    let dir = folder(app);
    let path = dir.join(format!("{sha256}.json"));
    let bytes = body.to_vec();
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let temp = dir.join(format!(".{}.incoming", hikeshi_store::new_id()));
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?;
    written.map_err(|e| AppError::internal(format!("the delivery could not be stored: {e}")))?;
    let now = app.calendar.now_ms();
    let row = VulsDelivery {
        sha256: sha256.clone(),
        received_at: now,
        bytes: body.len() as i64,
        server_name: server_name.clone(),
        received_by: who.name.clone(),
        state: "stored".into(),
        outcome: String::new(),
        updated_at: now,
    };
    let fresh = app.store.record_vuls_delivery(&row, &who.actor()).await?;
    Ok(Receipt {
        id: sha256,
        server_name,
        duplicate: !fresh,
        state: "stored".into(),
    })
}

pub async fn status(app: &App, who: &Who, id: &str) -> AppResult<VulsDelivery> {
    who.require(true, "read deliveries")?;
    app.store
        .vuls_delivery(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("delivery {id}")))
}

/// The queued import of one stored delivery.
pub struct DeliveryImport;

impl Job for DeliveryImport {
    fn kind(&self) -> &'static str {
        VULS_DELIVERY_JOB
    }

    fn run<'a>(&'a self, app: &'a App, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let payload: serde_json::Value =
                serde_json::from_str(&attempt.job.payload).map_err(|e| e.to_string())?;
            let sha256 = payload["sha256"].as_str().unwrap_or_default().to_string();
            let Some(row) = app
                .store
                .vuls_delivery(&sha256)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Err(format!("delivery {sha256} is not recorded"));
            };
            if row.state != "stored" {
                return Ok(());
            }
            let path = folder(app).join(format!("{sha256}.json"));
            let body = tokio::fs::read(&path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let name = format!("vuls-http {}", row.server_name);
            let who = Who::system("vuls-http");
            let now = app.calendar.now_ms();
            match super::assets::import_report(app, &who, &name, &body, Some("vuls")).await {
                Ok(done) => {
                    let outcome = serde_json::to_string(&done).unwrap_or_default();
                    app.store
                        .finish_vuls_delivery(&sha256, "imported", &outcome, now)
                        .await
                        .map_err(|e| e.to_string())
                }
                // The body itself is wrong: another attempt would be refused the same way.
                Err(e) if e.kind == crate::ErrorKind::Invalid => app
                    .store
                    .finish_vuls_delivery(&sha256, "refused", &e.message, now)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.message),
            }
        })
    }
}
