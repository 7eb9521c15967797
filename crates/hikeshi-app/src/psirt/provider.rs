//! The CSAF provider folder under `/.well-known/csaf/` (CSAF 2.0 section 7.1, directory-based
//! distribution): provider-metadata.json, the TLP:WHITE folder with its year folders, index.txt,
//! changes.csv and the `.sha256`/`.sha512` files. Everything here comes from
//! [`hikeshi_store::Store::visible_revisions`], so an embargoed advisory is absent everywhere
//! at once.

use super::document::utc;
use super::PUBLIC_TLP;
use crate::error::AppResult;
use crate::App;
use hikeshi_exchange::csaf::date;
use hikeshi_store::VisibleRevision;
use serde_json::{json, Value};

/// The public folder's name: CSAF's TLP label in lower case.
pub fn folder_name() -> String {
    PUBLIC_TLP.to_ascii_lowercase()
}

/// What is out now, newest release first.
pub async fn published(app: &App) -> AppResult<Vec<VisibleRevision>> {
    Ok(app.store.visible_revisions(app.calendar.now_ms()).await?)
}

pub fn path_of(r: &VisibleRevision) -> String {
    format!("{}/{}", r.year, r.file_name)
}

pub async fn metadata(app: &App) -> AppResult<Value> {
    let out = published(app).await?;
    let base = app.config.public_url.trim_end_matches('/');
    let team = crate::team::load(app).await;
    let name = match team.get("team_name").trim() {
        "" => "PSIRT".to_string(),
        n => n.to_string(),
    };
    let mut publisher = json!({"category": "vendor", "name": name, "namespace": base});
    let contact = team.get("contact_email").trim();
    if !contact.is_empty() {
        publisher["contact_details"] = json!(contact);
    }
    let updated = out
        .iter()
        .map(|r| r.release_at)
        .max()
        .unwrap_or_else(|| app.calendar.now_ms());
    Ok(json!({
        "canonical_url": format!("{base}/.well-known/csaf/provider-metadata.json"),
        "distributions": [{"directory_url": format!("{base}/.well-known/csaf/{}/", folder_name())}],
        "last_updated": date(utc(updated)),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": publisher,
        "role": "csaf_provider",
    }))
}

/// index.txt: every document's path below the folder, one per line.
pub fn index_txt(out: &[VisibleRevision]) -> String {
    let mut paths: Vec<String> = out.iter().map(path_of).collect();
    paths.sort();
    paths.into_iter().map(|p| p + "\n").collect()
}

/// changes.csv: path and current release date, both quoted, newest first.
pub fn changes_csv(out: &[VisibleRevision]) -> String {
    let mut rows: Vec<&VisibleRevision> = out.iter().collect();
    rows.sort_by(|a, b| {
        b.release_at
            .cmp(&a.release_at)
            .then(a.file_name.cmp(&b.file_name))
    });
    rows.into_iter()
        .map(|r| format!("\"{}\",\"{}\"\n", path_of(r), date(utc(r.release_at))))
        .collect()
}

/// One file of a year folder: the document, or its `.sha256` / `.sha512` line.
pub enum FolderFile {
    Document(String),
    Hash(String),
}

pub fn file(out: &[VisibleRevision], year: &str, name: &str) -> Option<FolderFile> {
    let (doc_name, kind) = if let Some(n) = name.strip_suffix(".sha256") {
        (n, 256)
    } else if let Some(n) = name.strip_suffix(".sha512") {
        (n, 512)
    } else {
        (name, 0)
    };
    let r = out
        .iter()
        .find(|r| r.year.to_string() == year && r.file_name == doc_name)?;
    Some(match kind {
        256 => FolderFile::Hash(format!("{}  {}\n", r.sha256, r.file_name)),
        512 => FolderFile::Hash(format!("{}  {}\n", r.sha512, r.file_name)),
        _ => FolderFile::Document(r.document.clone()),
    })
}

/// The year folders, oldest first.
pub fn years(out: &[VisibleRevision]) -> Vec<i64> {
    let mut years: Vec<i64> = out.iter().map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    years
}

/// A year folder's file names (each document with its two hash files).
pub fn files_of(out: &[VisibleRevision], year: i64) -> Vec<String> {
    let mut names: Vec<String> = out
        .iter()
        .filter(|r| r.year == year)
        .flat_map(|r| {
            [
                r.file_name.clone(),
                format!("{}.sha256", r.file_name),
                format!("{}.sha512", r.file_name),
            ]
        })
        .collect();
    names.sort();
    names
}
