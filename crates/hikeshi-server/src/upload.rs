//! Uploads and downloads of files, shared by the API and the pages: multipart bodies streamed
//! to the content-addressed evidence folder (hashed on the way, never held in memory), and
//! evidence served with its download written into the chain of custody.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hikeshi_app::cases::{self};
use hikeshi_app::evidence_files::{EvidenceError, Held};
use hikeshi_app::AppError;

/// Streams a multipart upload (`file`, optional `description`) to disk, hashing as it goes.
pub async fn receive_evidence(
    state: &AppState,
    who: &CurrentUser,
    number: &str,
    mut multipart: Multipart,
    csrf_from_form: bool,
) -> ApiResult<hikeshi_store::Evidence> {
    let case = cases::case_for_evidence(state, who, number).await?;
    let limit = state.web.max_upload_bytes;
    let mut description = String::new();
    let mut stored: Option<cases::ReceivedFile> = None;
    let mut csrf_ok = !csrf_from_form;
    let multipart_err = |e| multipart_error(e, limit);
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_err)? {
        match field.name().unwrap_or("") {
            "csrf" => {
                let token = field.text().await.map_err(multipart_err)?;
                who.check_csrf(Some(&token))?;
                csrf_ok = true;
            }
            "description" => {
                description = field.text().await.map_err(multipart_err)?;
            }
            "file" if csrf_ok && stored.is_none() => {
                stored = Some(store_field(state, &mut field, limit).await?);
            }
            _ => {}
        }
    }
    if !csrf_ok {
        who.check_csrf(None)?;
    }
    let file = stored.ok_or_else(|| ApiError::invalid("file", "the upload has no `file` part"))?;
    Ok(cases::record_evidence(state, who, &case, file, &description).await?)
}

/// Streams one multipart file field into content-addressed storage, up to `limit` bytes.
pub async fn store_field(
    state: &AppState,
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
) -> ApiResult<cases::ReceivedFile> {
    let (held, filename, content_type) = hold_field(state, field, limit).await?;
    let (sha256, size, _) = state
        .evidence
        .keep(held)
        .await
        .map_err(ApiError::internal)?;
    Ok(cases::ReceivedFile {
        sha256,
        size,
        filename,
        content_type,
    })
}

/// Streams one multipart file field to the temporary folder, up to `limit` bytes, and holds it
/// there: it joins the evidence only when kept, and is removed when dropped.
pub async fn hold_field(
    state: &AppState,
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
) -> ApiResult<(Held, String, String)> {
    let filename = field.file_name().unwrap_or("upload.bin").to_string();
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut incoming = state
        .evidence
        .begin(limit)
        .await
        .map_err(ApiError::internal)?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if let Err(e) = incoming.write(&chunk).await {
                    return Err(match e {
                        EvidenceError::TooLarge(l) => AppError::too_large(l).into(),
                        other => ApiError::internal(other),
                    });
                }
            }
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e, limit)),
        }
    }
    let held = state
        .evidence
        .hold(incoming)
        .await
        .map_err(ApiError::internal)?;
    Ok((held, filename, content_type))
}

/// A multipart problem as an API error: too large, or malformed with the parser's words.
pub fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::too_large(limit).into()
    } else {
        ApiError::invalid(
            "body",
            format!("malformed multipart body: {}", e.body_text()),
        )
    }
}

/// Serves evidence bytes after writing the download into the chain of custody.
pub async fn evidence_response(
    state: &AppState,
    who: &CurrentUser,
    id: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (ev, file) = cases::take_evidence(state, who, id, agent).await?;
    let stream = tokio_util_stream(file);
    let disposition = format!(
        "attachment; filename=\"evidence-{}\"; filename*=UTF-8''{}",
        &ev.sha256[..12.min(ev.sha256.len())],
        urlencoding::encode(&ev.filename)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::HeaderName::from_static("x-content-sha256"),
                ev.sha256.clone(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Reads a file in chunks as a body stream.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
