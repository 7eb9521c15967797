//! Large request bodies (event batches, scanner reports, CSV imports, intelligence files) are
//! read only after the caller is known to be allowed, and only while one of a few slots is
//! free: a viewer's 199 MiB costs nothing, and eight floods at once cannot take the memory.

use crate::error::ApiResult;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use hikeshi_app::AppError;
use tokio::sync::OwnedSemaphorePermit;

/// How long a caller turned away for lack of a slot should wait.
const RETRY_AFTER_SECS: u64 = 5;

/// A body read whole, holding its slot until dropped (the work on it included).
pub struct LargeBody {
    pub bytes: Bytes,
    _slot: OwnedSemaphorePermit,
}

/// Takes a slot (or answers 503 with Retry-After) and reads the body up to `limit` bytes.
/// Call it after the permission check.
pub async fn read_large(state: &AppState, body: Body, limit: usize) -> ApiResult<LargeBody> {
    let slot = state.large.clone().try_acquire_owned().map_err(|_| {
        AppError::busy(
            format!("too many large requests at once; send it again in {RETRY_AFTER_SECS} s"),
            RETRY_AFTER_SECS,
        )
    })?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .any(|e| e.to_string().contains("length limit"));
        if too_large {
            AppError::too_large(limit as u64)
        } else {
            AppError::invalid("body", format!("the body could not be read: {e}"))
        }
    })?;
    Ok(LargeBody { bytes, _slot: slot })
}
