//! `hikeshi csaf check URL`: checks any CSAF 2.0 provider from the outside, as an aggregator
//! or a customer's scanner would before trusting its feed — the provider metadata, every
//! document listed by index.txt, changes.csv and the ROLIE feeds (the three must agree), file
//! names and year folders by the standard's rules, each document's self reference, its hash
//! files and, with published keys, `gpg --verify` of its signature. The Go reference checker
//! does the same for the Go world; this one needs only the binary and gpg.

use hikeshi_app::fetch::Fetch;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Largest metadata, listing or feed, and largest document.
const MAX_LISTING_BYTES: usize = 16 << 20;
const MAX_DOCUMENT_BYTES: usize = 32 << 20;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The provider-metadata.json URL (`https://example.com/.well-known/csaf/provider-metadata.json`).
    pub url: String,
    /// Do not count plain HTTP as a problem (a staging provider on loopback; CSAF requires TLS).
    #[arg(long)]
    pub allow_http: bool,
    /// Also trust the certificates in this PEM file (a provider behind a private CA).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum CsafCommand {
    /// Check a CSAF provider (metadata, listings, feeds, hashes, signatures); exit 1 on problems.
    Check(CheckArgs),
}

pub async fn run(cmd: CsafCommand) -> anyhow::Result<()> {
    let CsafCommand::Check(args) = cmd;
    let fetch = match &args.ca_file {
        Some(ca) => crate::http_fetch::HttpFetch::with_ca_file(ca)?,
        None => crate::http_fetch::HttpFetch::new()?,
    };
    let report = check(&fetch, &args.url, args.allow_http).await;
    for p in &report.problems {
        println!("problem: {p}");
    }
    println!(
        "{} documents checked, {} signatures verified, {} problems / 文書 {} 件、署名 {} 件を検証、問題 {} 件",
        report.documents,
        report.signatures,
        report.problems.len(),
        report.documents,
        report.signatures,
        report.problems.len()
    );
    if report.problems.is_empty() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

#[derive(Default)]
pub struct Report {
    pub documents: usize,
    pub signatures: usize,
    pub problems: Vec<String>,
}

impl Report {
    fn problem(&mut self, at: &str, en: impl std::fmt::Display, ja: &str) {
        self.problems.push(format!("{at}: {en} / {ja}"));
    }
}

async fn get_text(fetch: &dyn Fetch, url: &str, max: usize) -> Result<String, String> {
    let bytes = fetch.get(url, max).await.map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())
}

async fn get_json(fetch: &dyn Fetch, url: &str, max: usize) -> Result<Value, String> {
    let text = get_text(fetch, url, max).await?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

pub async fn check(fetch: &dyn Fetch, metadata_url: &str, allow_http: bool) -> Report {
    let mut report = Report::default();
    let meta = match get_json(fetch, metadata_url, MAX_LISTING_BYTES).await {
        Ok(m) => m,
        Err(e) => {
            report.problem(metadata_url, e, "provider-metadata.json を読めません");
            return report;
        }
    };
    check_metadata(&meta, metadata_url, allow_http, &mut report);
    let trusted = meta["role"] == "csaf_trusted_provider";
    let keyring = Keyring::from_metadata(fetch, &meta, &mut report).await;
    let mut documents = BTreeSet::new();
    // With a directory, a feed may list only what index.txt lists.
    let has_directory = meta["distributions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|d| d["directory_url"].is_string());
    for dist in meta["distributions"].as_array().into_iter().flatten() {
        if let Some(dir) = dist["directory_url"].as_str() {
            let dir = format!("{}/", dir.trim_end_matches('/'));
            documents.extend(check_directory(fetch, &dir, &mut report).await);
        }
        for feed in dist["rolie"]["feeds"].as_array().into_iter().flatten() {
            let Some(url) = feed["url"].as_str() else {
                report.problem(
                    metadata_url,
                    "a ROLIE feed without url",
                    "フィードに url がありません",
                );
                continue;
            };
            let listed = check_feed(fetch, url, &mut report).await;
            if has_directory {
                for missing in listed.difference(&documents) {
                    report.problem(
                        url,
                        format!("lists {missing}, which index.txt does not"),
                        "index.txt にない文書がフィードにあります",
                    );
                }
            }
            documents.extend(listed);
        }
    }
    if documents.is_empty() {
        report.problem(
            metadata_url,
            "no documents are listed",
            "文書が一つも公開されていません",
        );
    }
    for url in &documents {
        check_document(fetch, url, keyring.as_ref(), trusted, &mut report).await;
    }
    if let Some(k) = keyring {
        k.close();
    }
    report
}

fn check_metadata(meta: &Value, url: &str, allow_http: bool, report: &mut Report) {
    for key in [
        "canonical_url",
        "last_updated",
        "list_on_CSAF_aggregators",
        "metadata_version",
        "mirror_on_CSAF_aggregators",
        "publisher",
        "role",
    ] {
        if meta.get(key).is_none() {
            report.problem(url, format!("`{key}` is missing"), "必須の項目がありません");
        }
    }
    if meta["metadata_version"] != "2.0" {
        report.problem(
            url,
            "metadata_version is not 2.0",
            "metadata_version が 2.0 ではありません",
        );
    }
    let role = meta["role"].as_str().unwrap_or("");
    if !["csaf_publisher", "csaf_provider", "csaf_trusted_provider"].contains(&role) {
        report.problem(
            url,
            format!("role `{role}` is not a CSAF role"),
            "role が CSAF の役割ではありません",
        );
    }
    if meta["canonical_url"].as_str() != Some(url) {
        report.problem(
            url,
            format!(
                "canonical_url is {}, not the URL it is served from",
                meta["canonical_url"]
            ),
            "canonical_url が取得した URL と異なります",
        );
    }
    for key in ["category", "name", "namespace"] {
        if !meta["publisher"][key].is_string() {
            report.problem(
                url,
                format!("publisher.{key} is missing"),
                "publisher の項目がありません",
            );
        }
    }
    if !allow_http && !url.starts_with("https://") {
        report.problem(
            url,
            "not served over HTTPS (requirement 3)",
            "HTTPS で配信されていません",
        );
    }
    if meta["distributions"]
        .as_array()
        .is_none_or(|d| d.is_empty())
    {
        report.problem(url, "no distributions", "distributions がありません");
    }
}

/// index.txt and changes.csv of one directory: the documents they list, as URLs.
async fn check_directory(fetch: &dyn Fetch, dir: &str, report: &mut Report) -> BTreeSet<String> {
    let index_url = format!("{dir}index.txt");
    let changes_url = format!("{dir}changes.csv");
    let index: BTreeSet<String> = match get_text(fetch, &index_url, MAX_LISTING_BYTES).await {
        Ok(t) => t
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect(),
        Err(e) => {
            report.problem(&index_url, e, "index.txt を読めません");
            BTreeSet::new()
        }
    };
    match get_text(fetch, &changes_url, MAX_LISTING_BYTES).await {
        Ok(t) => {
            let mut listed = BTreeSet::new();
            let mut previous: Option<String> = None;
            for (n, line) in t.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let at = format!("{changes_url} line {}", n + 1);
                let Some((path, date)) = quoted_pair(line) else {
                    report.problem(
                        &at,
                        "not two quoted fields",
                        "二つの引用符付き項目ではありません",
                    );
                    continue;
                };
                let Ok(when) = chrono::DateTime::parse_from_rfc3339(&date) else {
                    report.problem(&at, format!("`{date}` is not a date"), "日時ではありません");
                    continue;
                };
                let when = when.to_utc().to_rfc3339();
                if previous.as_ref().is_some_and(|p| when > *p) {
                    report.problem(&at, "not newest first", "新しい順ではありません");
                }
                previous = Some(when);
                listed.insert(path);
            }
            for p in index.symmetric_difference(&listed) {
                report.problem(
                    dir,
                    format!("{p} is in only one of index.txt and changes.csv"),
                    "index.txt と changes.csv が一致しません",
                );
            }
        }
        Err(e) => report.problem(&changes_url, e, "changes.csv を読めません"),
    }
    index.into_iter().map(|p| format!("{dir}{p}")).collect()
}

/// `"a","b"` → (a, b).
fn quoted_pair(line: &str) -> Option<(String, String)> {
    let (a, b) = line
        .trim()
        .strip_prefix('"')?
        .strip_suffix('"')?
        .split_once("\",\"")?;
    (!a.contains('"') && !b.contains('"')).then(|| (a.to_string(), b.to_string()))
}

async fn check_feed(fetch: &dyn Fetch, url: &str, report: &mut Report) -> BTreeSet<String> {
    let feed = match get_json(fetch, url, MAX_LISTING_BYTES).await {
        Ok(f) => f,
        Err(e) => {
            report.problem(url, e, "ROLIE フィードを読めません");
            return BTreeSet::new();
        }
    };
    let mut listed = BTreeSet::new();
    let Some(entries) = feed["feed"]["entry"].as_array() else {
        report.problem(url, "feed.entry is missing", "feed.entry がありません");
        return listed;
    };
    for e in entries {
        match e["content"]["src"].as_str() {
            Some(src) => {
                listed.insert(src.to_string());
            }
            None => report.problem(
                url,
                format!("entry {} has no content.src", e["id"]),
                "content.src がありません",
            ),
        }
    }
    listed
}

async fn check_document(
    fetch: &dyn Fetch,
    url: &str,
    keyring: Option<&Keyring>,
    trusted: bool,
    report: &mut Report,
) {
    let text = match get_text(fetch, url, MAX_DOCUMENT_BYTES).await {
        Ok(t) => t,
        Err(e) => {
            report.problem(url, e, "文書を読めません");
            return;
        }
    };
    report.documents += 1;
    let doc: Value = match serde_json::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            report.problem(url, format!("not JSON: {e}"), "JSON ではありません");
            return;
        }
    };
    let tracking = &doc["document"]["tracking"];
    let name = url.rsplit('/').next().unwrap_or("");
    let id = tracking["id"].as_str().unwrap_or("");
    let expected = hikeshi_exchange::csaf::file_name(id);
    if name != expected {
        report.problem(
            url,
            format!("tracking ID `{id}` gives the file name {expected}"),
            "ファイル名が規則に合いません",
        );
    }
    let year = url.rsplit('/').nth(1).unwrap_or("");
    let initial = tracking["initial_release_date"].as_str().unwrap_or("");
    if initial.get(..4) != Some(year) {
        report.problem(
            url,
            format!("in folder {year}, first released {initial}"),
            "年のフォルダーが初版の年と異なります",
        );
    }
    let self_ref = doc["document"]["references"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["category"] == "self")
        .and_then(|r| r["url"].as_str());
    if self_ref != Some(url) {
        report.problem(
            url,
            format!("its self reference is {self_ref:?}"),
            "self 参照が配信場所と異なります",
        );
    }
    check_hash(fetch, url, name, &text, "sha256", report).await;
    check_hash(fetch, url, name, &text, "sha512", report).await;
    let sig_url = format!("{url}.asc");
    match (fetch.get(&sig_url, MAX_LISTING_BYTES).await, keyring) {
        (Ok(sig), Some(k)) => match k.verify(text.as_bytes(), &sig) {
            Ok(()) => report.signatures += 1,
            Err(e) => report.problem(
                &sig_url,
                format!("gpg --verify: {e}"),
                "署名を検証できません",
            ),
        },
        (Ok(_), None) => report.problem(
            &sig_url,
            "signed, but the metadata publishes no key",
            "公開鍵が公開されていません",
        ),
        (Err(e), _) if trusted => report.problem(
            &sig_url,
            format!("a trusted provider's document without signature: {e}"),
            "署名がありません",
        ),
        (Err(_), _) => {}
    }
}

async fn check_hash(
    fetch: &dyn Fetch,
    url: &str,
    name: &str,
    text: &str,
    kind: &str,
    report: &mut Report,
) {
    use sha2::Digest;
    let hash_url = format!("{url}.{kind}");
    let actual = match kind {
        "sha256" => hex::encode(sha2::Sha256::digest(text.as_bytes())),
        _ => hex::encode(sha2::Sha512::digest(text.as_bytes())),
    };
    match get_text(fetch, &hash_url, 4096).await {
        Ok(line) => {
            let mut parts = line.split_whitespace();
            let given = parts.next().unwrap_or("");
            let file = parts.next().unwrap_or("").trim_start_matches('*');
            if !given.eq_ignore_ascii_case(&actual) {
                report.problem(
                    &hash_url,
                    format!("{given} is not the document's {kind} ({actual})"),
                    "ハッシュが一致しません",
                );
            }
            if !file.is_empty() && file != name {
                report.problem(
                    &hash_url,
                    format!("names {file}, not {name}"),
                    "ファイル名が異なります",
                );
            }
        }
        Err(e) => report.problem(&hash_url, e, "ハッシュファイルを読めません"),
    }
}

/// A throw-away gpg keyring holding only the keys the metadata publishes (fingerprints
/// checked), so a signature verifies only against those.
struct Keyring {
    home: PathBuf,
}

impl Keyring {
    async fn from_metadata(
        fetch: &dyn Fetch,
        meta: &Value,
        report: &mut Report,
    ) -> Option<Keyring> {
        let keys = meta["public_openpgp_keys"].as_array()?;
        let home = std::env::temp_dir().join(format!(
            "hikeshi-csaf-check-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        {
            use std::os::unix::fs::DirBuilderExt;
            if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(&home) {
                report.problem(&home.display().to_string(), e, "作業フォルダーを作れません");
                return None;
            }
        }
        let ring = Keyring { home };
        for key in keys {
            let url = key["url"].as_str().unwrap_or("");
            let fpr = key["fingerprint"]
                .as_str()
                .unwrap_or("")
                .to_ascii_uppercase();
            let armour = match fetch.get(url, MAX_LISTING_BYTES).await {
                Ok(a) => a,
                Err(e) => {
                    report.problem(url, e, "公開鍵を読めません");
                    continue;
                }
            };
            let file = ring.home.join("key.asc");
            if std::fs::write(&file, &armour).is_err() {
                continue;
            }
            match ring.gpg(&[
                "--import-options",
                "show-only",
                "--with-colons",
                "--import",
                &file.display().to_string(),
            ]) {
                Ok(listing)
                    if listing.lines().any(|l| {
                        l.starts_with("fpr:") && l.to_ascii_uppercase().contains(&fpr)
                    }) && !fpr.is_empty() =>
                {
                    if let Err(e) = ring.gpg(&["--import", &file.display().to_string()]) {
                        report.problem(url, e, "公開鍵を取り込めません");
                    }
                }
                Ok(_) => report.problem(url, format!("is not the key {fpr}"), "指紋が一致しません"),
                Err(e) => report.problem(url, e, "公開鍵ではありません"),
            }
        }
        Some(ring)
    }

    fn verify(&self, document: &[u8], signature: &[u8]) -> Result<(), String> {
        let doc = self.home.join("document");
        let sig = self.home.join("document.asc");
        std::fs::write(&doc, document).map_err(|e| e.to_string())?;
        std::fs::write(&sig, signature).map_err(|e| e.to_string())?;
        self.gpg(&[
            "--verify",
            &sig.display().to_string(),
            &doc.display().to_string(),
        ])
        .map(|_| ())
    }

    fn gpg(&self, args: &[&str]) -> Result<String, String> {
        let out = std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args)
            .output()
            .map_err(|e| format!("gpg: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(err
                .lines()
                .last()
                .unwrap_or("gpg failed")
                .trim()
                .to_string())
        }
    }

    fn close(self) {
        let _ = std::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .status();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[cfg(test)]
mod tests {
    use super::quoted_pair;

    #[test]
    fn changes_csv_lines_need_both_fields_quoted() {
        assert_eq!(
            quoted_pair("\"2026/a.json\",\"2026-12-24T00:00:00Z\""),
            Some(("2026/a.json".into(), "2026-12-24T00:00:00Z".into()))
        );
        assert_eq!(quoted_pair("2026/a.json,2026-12-24T00:00:00Z"), None);
        assert_eq!(quoted_pair("\"2026/a.json\",2026-12-24T00:00:00Z"), None);
    }
}
