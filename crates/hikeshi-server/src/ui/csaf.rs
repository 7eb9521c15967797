//! The public CSAF provider folder, `/.well-known/csaf/`: provider-metadata.json, the
//! TLP:WHITE folder (year folders with documents, hash and signature files, index.txt,
//! changes.csv, the ROLIE feed), the team's public OpenPGP key and the directory listings
//! CSAF's requirement 14 asks for. No sign-in: all of it is public, and
//! all of it comes from the same list of what is out, so an embargo holds everywhere.

use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hikeshi_app::psirt::provider::{self, FolderFile};

pub fn routes() -> Router<AppState> {
    let folder = format!("/.well-known/csaf/{}", provider::folder_name());
    Router::new()
        .route("/.well-known/csaf/provider-metadata.json", get(metadata))
        .route("/.well-known/csaf/", get(root_listing))
        .route(&format!("{folder}/"), get(folder_listing))
        .route(&format!("{folder}/index.txt"), get(index_txt))
        .route(&format!("{folder}/changes.csv"), get(changes_csv))
        .route(&format!("{folder}/{}", provider::feed_name()), get(feed))
        .route("/.well-known/csaf/openpgp/", get(key_listing))
        .route("/.well-known/csaf/openpgp/{file}", get(public_key))
        .route(&format!("{folder}/{{year}}/"), get(year_listing))
        .route(&format!("{folder}/{{year}}/{{file}}"), get(file))
}

async fn metadata(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(provider::metadata(&state).await?))
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A plain listing page: each entry a link, as a web server's directory index would be.
fn listing(title: &str, entries: &[String]) -> Response {
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><ul>\n",
        t = escape(title)
    );
    for e in entries {
        let e = escape(e);
        html.push_str(&format!("<li><a href=\"{e}\">{e}</a></li>\n"));
    }
    html.push_str("</ul></body></html>\n");
    text("text/html; charset=utf-8", html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn root_listing(State(state): State<AppState>) -> Response {
    let mut entries = vec![
        "provider-metadata.json".to_string(),
        format!("{}/", provider::folder_name()),
    ];
    if state.signer.is_some() {
        entries.push("openpgp/".into());
    }
    listing("/.well-known/csaf/", &entries)
}

async fn key_listing(State(state): State<AppState>) -> Response {
    match &state.signer {
        Some(signer) => listing(
            "/.well-known/csaf/openpgp/",
            &[format!("{}.asc", signer.fingerprint)],
        ),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn public_key(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match &state.signer {
        Some(signer) if file == format!("{}.asc", signer.fingerprint) => {
            text("application/pgp-keys", signer.public_key.clone())
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn feed(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let out = provider::published(&state).await?;
    Ok(Json(provider::feed(&state, &out).await))
}

async fn folder_listing(State(state): State<AppState>) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    let mut entries: Vec<String> = provider::years(&out)
        .into_iter()
        .map(|y| format!("{y}/"))
        .collect();
    entries.push("changes.csv".into());
    entries.push(provider::feed_name());
    entries.push("index.txt".into());
    Ok(listing(
        &format!("/.well-known/csaf/{}/", provider::folder_name()),
        &entries,
    ))
}

async fn index_txt(State(state): State<AppState>) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    Ok(text("text/plain; charset=utf-8", provider::index_txt(&out)))
}

async fn changes_csv(State(state): State<AppState>) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    Ok(text("text/csv; charset=utf-8", provider::changes_csv(&out)))
}

async fn year_listing(
    State(state): State<AppState>,
    Path(year): Path<String>,
) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    let Ok(y) = year.parse::<i64>() else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let files = provider::files_of(&out, y);
    if files.is_empty() {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    Ok(listing(
        &format!("/.well-known/csaf/{}/{y}/", provider::folder_name()),
        &files,
    ))
}

async fn file(
    State(state): State<AppState>,
    Path((year, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let out = provider::published(&state).await?;
    Ok(match provider::file(&out, &year, &name) {
        Some(FolderFile::Document(body)) => text("application/json", body),
        Some(FolderFile::Hash(line)) => text("text/plain; charset=utf-8", line),
        Some(FolderFile::Signature(sig)) => text("application/pgp-signature", sig),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}
