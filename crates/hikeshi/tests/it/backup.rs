//! Backup and restore through the CLI: a backup made while the server runs restores into a
//! fresh folder (and database) with every case, alert and evidence file as it was; a damaged
//! backup restores nothing.

use crate::common::{cli_at, temp_dir, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

const RULE: &str = "title: Mimikatz Command Line\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\nlogsource: {category: process_creation, product: windows}\ndetection:\n  selection:\n    CommandLine|contains: 'sekurlsa::'\n  condition: selection\n";

fn hikeshi(args: &[&str], data_dir: &Path, url: Option<&str>) -> (bool, String, String) {
    cli_at(data_dir, url, args, "")
}

async fn fresh_database(db: Db, name: &str) -> Option<String> {
    match db {
        Db::Sqlite => None,
        Db::Postgres => Some(
            hikeshi_store::scratch::create_scratch_postgres(
                &hikeshi_store::scratch::test_postgres_admin_url(),
                name,
            )
            .await
            .expect("PostgreSQL for the restore target"),
        ),
    }
}

/// Fills a server with cases, evidence and alerts; returns the admin token.
async fn fill(s: &TestServer) -> String {
    s.add_user("root", "admin");
    s.add_user("shipper", "viewer");
    let admin = s.token("root");
    for (i, title) in ["標的型メール", "Web改ざん", "USB紛失"].iter().enumerate() {
        let (st, c) = s
            .json(
                Method::POST,
                "/api/v1/cases",
                &admin,
                Some(json!({"title": title, "tags": ["t"]})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        let number = c["number"].as_str().unwrap_or_default().to_string();
        if i < 2 {
            let bytes: Vec<u8> = (0..30_000u32)
                .map(|n| ((n * (i as u32 + 3)) % 251) as u8)
                .collect();
            let form = reqwest::multipart::Form::new()
                .text("description", "dump")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(bytes).file_name("d.bin"),
                );
            let r = s
                .req(
                    Method::POST,
                    &format!("/api/v1/cases/{number}/evidence"),
                    Some(&admin),
                )
                .multipart(form)
                .send()
                .await
                .expect("upload");
            assert_eq!(r.status(), StatusCode::CREATED);
        }
    }
    let ingest = s.ingest_token("shipper");
    let mut body = String::new();
    for host in ["pc1", "pc2"] {
        body.push_str(&format!("{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"{host}\",\"CommandLine\":\"mimikatz sekurlsa::logonpasswords\"}}\n"));
    }
    let r = s
        .req(Method::POST, "/api/v1/events", Some(&ingest))
        .body(body)
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), StatusCode::OK);
    admin
}

/// Every case in full (with its evidence records) and every alert. Downloads come apart:
/// each adds a custody entry, so they would change what they are compared with.
async fn everything(s: &TestServer, token: &str) -> Value {
    let (_, list) = s.json(Method::GET, "/api/v1/cases", token, None).await;
    let mut cases = Vec::new();
    for c in list["items"].as_array().cloned().unwrap_or_default() {
        let number = c["number"].as_str().unwrap_or_default();
        let (_, full) = s
            .json(Method::GET, &format!("/api/v1/cases/{number}"), token, None)
            .await;
        cases.push(full);
    }
    let (_, alerts) = s.json(Method::GET, "/api/v1/alerts", token, None).await;
    json!({"cases": cases, "alerts": alerts})
}

/// Downloads every evidence file and checks its bytes against the recorded SHA-256.
async fn download_all(s: &TestServer, token: &str, state: &Value) -> usize {
    let mut checked = 0;
    for case in state["cases"].as_array().cloned().unwrap_or_default() {
        for e in case["evidence"].as_array().cloned().unwrap_or_default() {
            let id = e["id"].as_str().unwrap_or_default();
            let r = s
                .req(Method::GET, &format!("/api/v1/evidence/{id}"), Some(token))
                .send()
                .await
                .expect("download");
            assert_eq!(r.status(), StatusCode::OK);
            let bytes = r.bytes().await.expect("bytes");
            assert_eq!(json!(hex::encode(Sha256::digest(&bytes))), e["sha256"]);
            checked += 1;
        }
    }
    checked
}

async fn round_trip(db: Db) {
    let rules = temp_dir("backup-rules");
    std::fs::write(rules.join("mimikatz.yml"), RULE).expect("rule");
    let rules_arg = rules.display().to_string();
    let s = TestServer::start(db, "backup", &["--rules", &rules_arg]).await;
    let admin = fill(&s).await;
    let before = everything(&s, &admin).await;
    assert_eq!(before["cases"].as_array().map(Vec::len), Some(3));
    let evidence: usize = before["cases"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| c["evidence"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(evidence, 2, "{before}");
    assert!(
        before["alerts"].as_array().is_some_and(|a| a.len() == 2),
        "{before}"
    );

    // Made while the server runs; what comes after the backup is not in it.
    let dest = temp_dir("backup-dest").join("b1");
    let (ok, out, err) = s.cli(&["backup", &dest.display().to_string()], "");
    assert!(ok, "backup: {err}");
    let summary: Value = serde_json::from_str(&out).expect("summary");
    assert_eq!(summary["evidence_files"], 2, "{summary}");
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &admin,
            Some(json!({"title": "after the backup"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    // The same folder is not written twice.
    let (ok, _, err) = s.cli(&["backup", &dest.display().to_string()], "");
    assert!(!ok && err.contains("not empty"), "{err}");

    let target = temp_dir("backup-target").join("data");
    let target_url = fresh_database(db, "hikeshi_restored").await;
    let (ok, _, err) = hikeshi(
        &["restore", &dest.display().to_string()],
        &target,
        target_url.as_deref(),
    );
    assert!(ok, "restore: {err}");

    // A second restore into the now full target is refused.
    let (ok, _, err) = hikeshi(
        &["restore", &dest.display().to_string()],
        &target,
        target_url.as_deref(),
    );
    assert!(!ok && err.contains("not empty"), "{err}");

    let restored = TestServer::start_on(target, target_url, &["--rules", &rules_arg]).await;
    let after = everything(&restored, &admin).await;
    assert_eq!(after, before, "the restored server shows the same data");
    assert_eq!(download_all(&restored, &admin, &after).await, 2);
}

#[tokio::test]
async fn a_backup_made_while_serving_restores_everything_on_sqlite() {
    round_trip(Db::Sqlite).await;
}

#[tokio::test]
async fn a_backup_made_while_serving_restores_everything_on_postgres() {
    round_trip(Db::Postgres).await;
}

#[tokio::test]
async fn a_damaged_backup_restores_nothing() {
    let rules = temp_dir("backup-damaged-rules");
    std::fs::write(rules.join("mimikatz.yml"), RULE).expect("rule");
    let s = TestServer::start(
        Db::Sqlite,
        "backup_damaged",
        &["--rules", &rules.display().to_string()],
    )
    .await;
    fill(&s).await;
    let dest = temp_dir("backup-damaged").join("b");
    let (ok, _, err) = s.cli(&["backup", &dest.display().to_string()], "");
    assert!(ok, "backup: {err}");
    let (ok, _, err) = hikeshi(
        &["restore", "--check", &dest.display().to_string()],
        &temp_dir("unused"),
        None,
    );
    assert!(ok, "a whole backup checks out: {err}");

    // One flipped byte in one evidence file.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    let damaged = manifest["evidence"][1]["path"]
        .as_str()
        .expect("an evidence path")
        .to_string();
    let mut bytes = std::fs::read(dest.join(&damaged)).expect("evidence copy");
    bytes[100] ^= 0x01;
    std::fs::write(dest.join(&damaged), &bytes).expect("damage");

    let (ok, _, err) = hikeshi(
        &["restore", "--check", &dest.display().to_string()],
        &temp_dir("unused"),
        None,
    );
    assert!(
        !ok && err.contains(&damaged),
        "the check names the damaged file: {err}"
    );
    let target = temp_dir("backup-damaged-target").join("data");
    let (ok, _, err) = hikeshi(&["restore", &dest.display().to_string()], &target, None);
    assert!(!ok && err.contains(&damaged), "{err}");
    assert!(
        !target.exists(),
        "nothing was written: {:?}",
        std::fs::read_dir(&target).map(|d| d.count())
    );

    // A manifest pointing outside the backup is refused before anything is read.
    let mut evil = manifest.clone();
    evil["database"]["path"] = json!("../../etc/passwd");
    std::fs::write(
        dest.join("manifest.json"),
        serde_json::to_vec(&evil).expect("json"),
    )
    .expect("write");
    let (ok, _, err) = hikeshi(&["restore", &dest.display().to_string()], &target, None);
    assert!(!ok && err.contains("not a path inside the backup"), "{err}");
    assert!(!target.exists());
}
