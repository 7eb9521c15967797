//! Web content restore: a web root is compared with its known-good copy at start-up and every
//! `scan_every_ms`; a changed or deleted file is written back byte for byte (mode, owner,
//! mtime), an unknown new file (a web shell) is moved to quarantine, and each change is an
//! alert whose event names the path and where the tampered bytes were kept. A file rewritten
//! again and again raises one critical alert (the loop guard). Legitimate changes go in by
//! promoting a new baseline (`hikeshi response baseline`), which is audited.
//!
//! - `baseline`: the content-addressed copy and its manifest;
//! - `restore`: writing back and moving away without leaving the root.

pub mod baseline;
pub mod restore;

use crate::App;
use baseline::Manifest;
use hikeshi_store::{Actor, ContentBaseline, NewHit};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Restores of one file within this window beyond `LOOP_LIMIT` raise the loop guard.
const LOOP_WINDOW_MS: i64 = 60_000;
const LOOP_LIMIT: usize = 3;

/// `[[response.content]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContentSettings {
    pub name: String,
    /// The web root to keep as it was.
    pub root: PathBuf,
    /// The known-good copy; outside the root.
    pub store: PathBuf,
    /// Where unknown files and the tampered bytes go; outside the root.
    pub quarantine: PathBuf,
    #[serde(default = "default_scan_every_ms")]
    pub scan_every_ms: u64,
}

fn default_scan_every_ms() -> u64 {
    10_000
}

impl ContentSettings {
    pub fn check(&self) -> Result<(), String> {
        super::push::check_name("content", &self.name)?;
        if !self.root.is_absolute() || !self.store.is_absolute() || !self.quarantine.is_absolute() {
            return Err(format!(
                "content `{}`: root, store and quarantine must be absolute paths",
                self.name
            ));
        }
        for (what, path) in [("store", &self.store), ("quarantine", &self.quarantine)] {
            if path.starts_with(&self.root) || self.root.starts_with(path) {
                return Err(format!(
                    "content `{}`: {what} {} must be outside the root {}",
                    self.name,
                    path.display(),
                    self.root.display()
                ));
            }
        }
        if self.scan_every_ms < 100 {
            return Err(format!(
                "content `{}`: scan_every_ms must be ≥ 100",
                self.name
            ));
        }
        Ok(())
    }
}

/// What one scan found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scan {
    pub restored: Vec<String>,
    pub quarantined: Vec<String>,
    /// Files that could not be restored, and why (a damaged baseline object, an I/O error).
    pub failed: Vec<(String, String)>,
}

/// Recent restores per site and path, for the loop guard.
#[derive(Default)]
pub struct LoopGuard {
    restores: Mutex<BTreeMap<(String, String), VecDeque<i64>>>,
    /// Damage already reported: it is found on every scan, but said once.
    reported: Mutex<std::collections::BTreeSet<(String, String)>>,
}

impl LoopGuard {
    /// `true` the first time this damage is seen.
    fn first_report(&self, site: &str, detail: &str) -> bool {
        self.reported
            .lock()
            .map(|mut seen| seen.insert((site.into(), detail.into())))
            .unwrap_or(true)
    }

    /// Records a restore; `true` the moment the file crosses the limit.
    fn note(&self, site: &str, rel: &str, now: i64) -> bool {
        let Ok(mut map) = self.restores.lock() else {
            return false;
        };
        let times = map.entry((site.into(), rel.into())).or_default();
        while times.front().is_some_and(|t| *t < now - LOOP_WINDOW_MS) {
            times.pop_front();
        }
        times.push_back(now);
        times.len() == LOOP_LIMIT + 1
    }
}

fn actor() -> Actor {
    Actor {
        username: "hikeshi-content".into(),
    }
}

/// Takes the current root as the new known-good copy and records it (audited).
pub async fn promote(app: &App, site: &ContentSettings, by: &str) -> Result<usize, String> {
    site.check()?;
    let (root, store) = (site.root.clone(), site.store.clone());
    let (manifest, sha) = tokio::task::spawn_blocking(move || baseline::take(&root, &store))
        .await
        .map_err(|e| e.to_string())??;
    let record = ContentBaseline {
        name: site.name.clone(),
        manifest_sha256: sha,
        files: manifest.len() as i64,
        promoted_by: by.into(),
        promoted_at: app.calendar.now_ms(),
    };
    app.store
        .promote_content_baseline(
            &record,
            &Actor {
                username: by.into(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(manifest.len())
}

/// One comparison of a root with its baseline, and the repairs.
pub async fn scan_once(app: &App, site: &ContentSettings) -> Result<Scan, String> {
    let now = app.calendar.now_ms();
    let Some(recorded) = app
        .store
        .content_baseline(&site.name)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err(format!(
            "content `{}` has no baseline yet: run hikeshi response baseline --content {}",
            site.name, site.name
        ));
    };
    let manifest = match baseline::load(&site.store, &recorded.manifest_sha256) {
        Ok(m) => m,
        Err(e) => {
            alert(
                app,
                site,
                "manifest",
                "baseline_damaged",
                &e,
                "critical",
                now,
            )
            .await;
            return Err(e);
        }
    };
    let s = site.clone();
    let scan = tokio::task::spawn_blocking(move || repair(&s, &manifest, now))
        .await
        .map_err(|e| e.to_string())?;
    let (scan, events) = scan?;
    for event in events {
        if event.change == "baseline_damaged"
            && !app
                .response
                .content_loops
                .first_report(&site.name, &event.detail)
        {
            continue;
        }
        let level = if event.change == "baseline_damaged" {
            "critical"
        } else {
            "high"
        };
        alert(
            app,
            site,
            &event.path,
            event.change,
            &event.detail,
            level,
            now,
        )
        .await;
        if event.change != "baseline_damaged"
            && app
                .response
                .content_loops
                .note(&site.name, &event.path, now)
        {
            let detail = format!(
                "{} was changed and restored more than {LOOP_LIMIT} times within {} s",
                event.path,
                LOOP_WINDOW_MS / 1000
            );
            alert(
                app,
                site,
                &event.path,
                "rewritten_again",
                &detail,
                "critical",
                now,
            )
            .await;
        }
        let audit = serde_json::json!({"site": site.name, "path": event.path, "change": event.change, "detail": event.detail});
        if let Err(e) = app
            .store
            .audit_event(
                &actor(),
                &format!("content.{}", event.change),
                "content_file",
                &format!("{}:{}", site.name, event.path),
                &audit,
            )
            .await
        {
            tracing::warn!(error = %e, "content change not audited");
        }
    }
    Ok(scan)
}

/// What happened to one path.
struct Event {
    path: String,
    change: &'static str,
    detail: String,
}

/// The filesystem part of a scan (blocking).
fn repair(
    site: &ContentSettings,
    manifest: &Manifest,
    now: i64,
) -> Result<(Scan, Vec<Event>), String> {
    let mut scan = Scan::default();
    let mut events = Vec::new();
    let root = &site.root;
    // Anything that is not a known file, or not one any more, goes to quarantine first.
    for (rel, path) in strangers(root, manifest).map_err(|e| format!("{}: {e}", root.display()))? {
        match restore::move_to_quarantine(&path, root, &site.quarantine, now) {
            Ok(to) => {
                scan.quarantined.push(rel.clone());
                events.push(Event {
                    path: rel,
                    change: "quarantined",
                    detail: format!("unknown entry moved to {}", to.display()),
                });
            }
            Err(e) => scan.failed.push((rel, e)),
        }
    }
    for (rel, want) in manifest {
        let path = match restore::inside(root, rel) {
            Ok(p) => p,
            Err(e) => {
                scan.failed.push((rel.clone(), e));
                continue;
            }
        };
        let now_there = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => baseline::entry_of(&path).ok(),
            _ => None,
        };
        let (change, evidence) = match &now_there {
            Some(e) if e.sha256 == want.sha256 && e.mode == want.mode => continue,
            Some(e) => ("restored", Some(e.clone())),
            None => ("restored_missing", None),
        };
        let bytes = match baseline::sound_object(&site.store, &want.sha256) {
            Ok(b) => b,
            Err(e) => {
                scan.failed.push((rel.clone(), e.clone()));
                events.push(Event {
                    path: rel.clone(),
                    change: "baseline_damaged",
                    detail: format!("{e}; {rel} was not restored from it"),
                });
                continue;
            }
        };
        // The tampered bytes are kept before they are replaced.
        let kept = match &evidence {
            Some(found) => keep_evidence(&path, &site.quarantine, rel, &found.sha256, now),
            None => String::new(),
        };
        match restore::write_back(root, &path, &bytes, want, &site.quarantine, now) {
            Ok(()) => {
                scan.restored.push(rel.clone());
                let detail = match &evidence {
                    Some(found) => format!(
                        "changed ({} bytes, SHA-256 {}); tampered bytes kept at {kept}; restored SHA-256 {}",
                        found.size, found.sha256, want.sha256
                    ),
                    None => format!("deleted or replaced; restored SHA-256 {}", want.sha256),
                };
                events.push(Event {
                    path: rel.clone(),
                    change,
                    detail,
                });
            }
            Err(e) => scan.failed.push((rel.clone(), e)),
        }
    }
    Ok((scan, events))
}

/// Entries under the root that are not a known file: new files, symlinks anywhere (also where
/// a known file or directory was), special files.
fn strangers(root: &Path, manifest: &Manifest) -> std::io::Result<Vec<(String, PathBuf)>> {
    // No name is spared: a restore's temporary file never outlives its scan, so one found
    // here is a leftover or a disguise, and goes like any other stranger.
    Ok(baseline::entries(root)?
        .into_iter()
        .filter(|(rel, _, kind)| !(kind.is_file() && manifest.contains_key(rel)))
        .map(|(rel, path, _)| (rel, path))
        .collect())
}

/// Copies the bytes about to be replaced into the quarantine folder; returns where.
fn keep_evidence(path: &Path, quarantine: &Path, rel: &str, sha256: &str, now: i64) -> String {
    let to = quarantine.join(format!(
        "{now}-{}-evidence-{}",
        &sha256[..12.min(sha256.len())],
        rel.replace('/', "__")
    ));
    let copied = std::fs::create_dir_all(quarantine).and_then(|_| {
        let mut source = baseline::open_no_follow(path)?;
        let mut target = std::fs::File::create(&to)?;
        std::io::copy(&mut source, &mut target).map(|_| ())
    });
    match copied {
        Ok(()) => to.display().to_string(),
        Err(e) => format!("(not kept: {e})"),
    }
}

/// One alert per change; the event carries the path and what was done.
async fn alert(
    app: &App,
    site: &ContentSettings,
    path: &str,
    change: &str,
    detail: &str,
    level: &str,
    now: i64,
) {
    let title = match change {
        "quarantined" => "Web content: unknown file quarantined",
        "baseline_damaged" => "Web content: the known-good copy is damaged",
        "rewritten_again" => "Web content: a file is rewritten again and again",
        _ => "Web content tampered with: restored from the known-good copy",
    };
    let hit = NewHit {
        hit_key: format!("content/{}/{path}/{change}/{now}", site.name),
        dedup_key: format!("content/{}/{change}", site.name),
        rule_id: format!("hikeshi:content-{}", change.replace('_', "-")),
        rule_title: title.into(),
        level: level.into(),
        tags: "[\"hikeshi.content\", \"attack.t1491.001\"]".into(),
        source: format!("hikeshi:content:{}", site.name),
        host: String::new(),
        user_name: String::new(),
        src_ip: String::new(),
        dst_ip: String::new(),
        event_json: serde_json::json!({
            "site": site.name, "root": site.root, "path": path, "change": change, "detail": detail,
        })
        .to_string(),
        seen_at: now,
        suppression_id: None,
        blocked: change != "baseline_damaged" && change != "rewritten_again",
    };
    if let Err(e) = app.store.record_hits(&[hit], LOOP_WINDOW_MS).await {
        tracing::warn!(error = %e, "content alert not recorded");
    }
}

/// The watch, as periodic work of the job runner: every site at start (changes made while
/// hikeshi was down), then every `scan_every_ms` (the shortest of the sites). A failure is
/// said once, not on every scan.
pub fn periodic(app: &App) -> Option<crate::jobs::Periodic> {
    let sites = app.config.response.content.clone();
    let every = sites.iter().map(|s| s.scan_every_ms).min()?;
    Some(crate::jobs::Periodic::new(
        "content-scan",
        Duration::from_millis(every),
        move |app| {
            let sites = sites.clone();
            Box::pin(async move {
                for site in &sites {
                    if let Err(e) = scan_once(&app, site).await {
                        if app.response.content_loops.first_report(&site.name, &e) {
                            tracing::warn!(site = %site.name, error = %e, "content scan failed");
                        }
                    }
                }
            })
        },
    ))
}
