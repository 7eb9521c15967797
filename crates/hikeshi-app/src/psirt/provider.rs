//! The CSAF provider folder under `/.well-known/csaf/` (CSAF 2.0 section 7.1, directory-based
//! distribution, and a ROLIE feed): provider-metadata.json, the TLP:WHITE folder with its year
//! folders, index.txt, changes.csv, the ROLIE feed and the `.sha256`/`.sha512`/`.asc` files,
//! and the team's public OpenPGP key. Everything here comes from
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

/// The ROLIE feed's file name inside the TLP folder.
pub fn feed_name() -> String {
    format!("csaf-feed-tlp-{}.json", folder_name())
}

/// The public TLP folder's full URL, ending in `/`.
fn folder_url(app: &App) -> String {
    let base = app.config.public_url.trim_end_matches('/');
    format!("{base}/.well-known/csaf/{}/", folder_name())
}

/// When the newest of these documents came out (now, when none is out yet).
fn last_release(app: &App, out: &[VisibleRevision]) -> i64 {
    out.iter()
        .map(|r| r.release_at)
        .max()
        .unwrap_or_else(|| app.calendar.now_ms())
}

/// A document's address below the server: `/.well-known/csaf/white/<year>/<file>`.
pub fn document_path(r: &VisibleRevision) -> String {
    format!("/.well-known/csaf/{}/{}", folder_name(), path_of(r))
}

pub fn path_of(r: &VisibleRevision) -> String {
    format!("{}/{}", r.year, r.file_name)
}

pub async fn metadata(app: &App) -> AppResult<Value> {
    let out = published(app).await?;
    let base = app.config.public_url.trim_end_matches('/');
    let team = crate::team::load(app).await;
    let name = super::publisher_name(app).await;
    let mut publisher = json!({"category": "vendor", "name": name, "namespace": base});
    let contact = team.get("contact_email").trim();
    if !contact.is_empty() {
        publisher["contact_details"] = json!(contact);
    }
    let updated = last_release(app, out.as_slice());
    let folder = folder_url(app);
    let mut meta = json!({
        "canonical_url": format!("{base}/.well-known/csaf/provider-metadata.json"),
        "distributions": [{
            "directory_url": folder,
            "rolie": {"feeds": [{
                "summary": format!("{name}: CSAF advisories (TLP:{PUBLIC_TLP})"),
                "tlp_label": PUBLIC_TLP,
                "url": format!("{folder}{}", feed_name()),
            }]},
        }],
        "last_updated": date(utc(updated)),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": publisher,
        "role": "csaf_provider",
    });
    if let Some(signer) = &app.signer {
        meta["public_openpgp_keys"] = json!([{
            "fingerprint": signer.fingerprint,
            "url": format!("{base}{}", key_path(&signer.fingerprint)),
        }]);
        // Trusted: hashes, signatures and the key for every document that is out (a document
        // is signed again at start-up when the key changes, so none is left without).
        if out.iter().all(|r| !r.signature.is_empty()) {
            meta["role"] = json!("csaf_trusted_provider");
        }
    }
    Ok(meta)
}

/// Where the public key is served: `/.well-known/csaf/openpgp/<FINGERPRINT>.asc`.
pub fn key_path(fingerprint: &str) -> String {
    format!("/.well-known/csaf/openpgp/{fingerprint}.asc")
}

/// The ROLIE feed (RFC 8322, as CSAF 2.0 section 7.1.16 profiles it): one entry per document
/// that is out, linking it, its hashes and its signature.
pub async fn feed(app: &App, out: &[VisibleRevision]) -> Value {
    let base = app.config.public_url.trim_end_matches('/');
    let folder = folder_url(app);
    let name = super::publisher_name(app).await;
    let updated = last_release(app, out);
    let entries: Vec<Value> = out
        .iter()
        .map(|r| {
            let url = format!("{base}{}", document_path(r));
            let mut links = vec![
                json!({"rel": "self", "href": url}),
                json!({"rel": "hash", "href": format!("{url}.sha256")}),
                json!({"rel": "hash", "href": format!("{url}.sha512")}),
            ];
            if !r.signature.is_empty() {
                links.push(json!({"rel": "signature", "href": format!("{url}.asc")}));
            }
            json!({
                "id": r.tracking_id,
                "title": r.title,
                "link": links,
                "published": date(utc(r.initial_release_at)),
                "updated": date(utc(r.release_at)),
                "content": {"type": "application/json", "src": url},
                "format": {
                    "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json",
                    "version": "2.0",
                },
            })
        })
        .collect();
    json!({"feed": {
        "id": format!("{}-csaf-feed-tlp-{}", slug(&name), folder_name()),
        "title": format!("{name} CSAF feed (TLP:{PUBLIC_TLP})"),
        "link": [{"rel": "self", "href": format!("{folder}{}", feed_name())}],
        "category": [{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}],
        "updated": date(utc(updated)),
        "entry": entries,
    }})
}

/// Lower-case letters, digits and dashes: a feed ID from the team's name.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "psirt".into()
    } else {
        s
    }
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

/// One file of a year folder: the document, its `.sha256` / `.sha512` line, or its signature.
pub enum FolderFile {
    Document(String),
    Hash(String),
    Signature(String),
}

pub fn file(out: &[VisibleRevision], year: &str, name: &str) -> Option<FolderFile> {
    let (doc_name, kind) = if let Some(n) = name.strip_suffix(".sha256") {
        (n, 256)
    } else if let Some(n) = name.strip_suffix(".sha512") {
        (n, 512)
    } else if let Some(n) = name.strip_suffix(".asc") {
        (n, 1)
    } else {
        (name, 0)
    };
    let r = out
        .iter()
        .find(|r| r.year.to_string() == year && r.file_name == doc_name)?;
    Some(match kind {
        256 => FolderFile::Hash(format!("{}  {}\n", r.sha256, r.file_name)),
        512 => FolderFile::Hash(format!("{}  {}\n", r.sha512, r.file_name)),
        1 if r.signature.is_empty() => return None,
        1 => FolderFile::Signature(r.signature.clone()),
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
            let mut files = vec![
                r.file_name.clone(),
                format!("{}.sha256", r.file_name),
                format!("{}.sha512", r.file_name),
            ];
            if !r.signature.is_empty() {
                files.push(format!("{}.asc", r.file_name));
            }
            files
        })
        .collect();
    names.sort();
    names
}
