//! PSIRT end to end: products and versions, a product vulnerability with its case, the state of
//! every version, CSAF advisories (VEX and security advisory) from draft through 1.0.0, 1.1.0
//! (interim) to 1.2.0 (final), four-eyes approval against the hash, and the public provider
//! folder under an embargo — judged by BSI's csaf-validator-lib (strict schema, every
//! mandatory and optional test) in one node process.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CVSS3: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N";
const CVSS4: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N";
const CWE_79: &str =
    "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')";

fn validator() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/psirt");
    assert!(
        dir.join("node_modules/@secvisogram/csaf-validator-lib")
            .is_dir(),
        "csaf-validator-lib is missing: run scripts/test-deps"
    );
    dir.join("check_csaf.mjs")
}

/// Every document through the validator in one process: each must pass everything.
fn assert_valid_csaf(docs: &[(String, String)]) {
    let dir = temp_dir("csaf-docs");
    let mut files = Vec::new();
    for (name, body) in docs {
        let f = dir.join(format!("{name}.json"));
        std::fs::write(&f, body).expect("write document");
        files.push(f);
    }
    let out = std::process::Command::new("node")
        .arg(validator())
        .args(&files)
        .output()
        .expect("run node check_csaf.mjs");
    assert!(
        out.status.success(),
        "check_csaf.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let results: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per document"))
        .collect();
    assert_eq!(results.len(), docs.len(), "{text}");
    for r in &results {
        assert_eq!(r["valid"], true, "CSAF validator: {r}");
    }
}

async fn get_text(s: &TestServer, path: &str) -> (StatusCode, String) {
    let r = s.req(Method::GET, path, None).send().await.expect("get");
    let st = r.status();
    (st, r.text().await.unwrap_or_default())
}

async fn ok(s: &TestServer, m: Method, path: &str, token: &str, body: Value) -> Value {
    let (st, v) = s.json(m, path, token, Some(body)).await;
    assert!(st.is_success(), "{path}: {st} {v}");
    v
}

fn rfc3339_in(ms_from_now: i64) -> (String, i64) {
    let at = chrono::Utc::now().timestamp_millis() + ms_from_now;
    let t = chrono::DateTime::from_timestamp_millis(at).expect("time");
    (t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), at)
}

async fn sleep_until(ms: i64) {
    let now = chrono::Utc::now().timestamp_millis();
    if ms > now {
        tokio::time::sleep(Duration::from_millis((ms - now) as u64)).await;
    }
}

fn config(name: &str) -> String {
    let path = temp_dir(name).join("hikeshi.toml");
    std::fs::write(&path, "public_url = \"https://psirt.example.jp\"\n").expect("config");
    path.display().to_string()
}

fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("run gpg (scripts/test-deps installs gnupg)");
    out
}

/// A config whose `[psirt]` key is a fresh Ed25519 key made with gpg, exported to a 0600 file.
fn config_with_key(name: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir(name);
    let home = dir.join("g");
    std::fs::create_dir_all(&home).expect("gnupg home");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let made = gpg(
        &home,
        &[
            "--quick-gen-key",
            "Example PSIRT <psirt@example.jp>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    assert!(
        made.status.success(),
        "gpg --quick-gen-key: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let secret = gpg(&home, &["--armor", "--export-secret-keys"]);
    assert!(secret.status.success() && !secret.stdout.is_empty());
    let key = dir.join("psirt-key.asc");
    std::fs::write(&key, &secret.stdout).expect("key file");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let _ = std::process::Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .status();
    let path = dir.join("hikeshi.toml");
    std::fs::write(
        &path,
        format!(
            "public_url = \"https://psirt.example.jp\"\n[psirt]\nopenpgp_key_file = \"{}\"\n",
            key.display()
        ),
    )
    .expect("config");
    path.display().to_string()
}

/// `gpg --verify` of each document against the key the provider publishes, in a keyring that
/// holds nothing else.
fn assert_signed(key: &str, signed: &[(String, String)]) {
    let dir = temp_dir("csaf-verify");
    let home = dir.join("g");
    std::fs::create_dir_all(&home).expect("gnupg home");
    std::fs::write(dir.join("key.asc"), key).expect("key");
    let imported = gpg(
        &home,
        &["--import", &dir.join("key.asc").display().to_string()],
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    for (i, (doc, sig)) in signed.iter().enumerate() {
        let d = dir.join(format!("{i}.json"));
        let g = dir.join(format!("{i}.json.asc"));
        std::fs::write(&d, doc).expect("doc");
        std::fs::write(&g, sig).expect("sig");
        let v = gpg(
            &home,
            &[
                "--verify",
                &g.display().to_string(),
                &d.display().to_string(),
            ],
        );
        assert!(
            v.status.success(),
            "gpg --verify: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        // And a changed document does not verify.
        std::fs::write(&d, format!("{doc} ")).expect("doc");
        let v = gpg(
            &home,
            &[
                "--verify",
                &g.display().to_string(),
                &d.display().to_string(),
            ],
        );
        assert!(!v.status.success(), "a changed document must not verify");
    }
    let _ = std::process::Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .status();
}

struct Catalogue {
    v1: String,
    v200: String,
    v210: String,
    cam: String,
}

async fn catalogue(s: &TestServer, t: &str) -> Catalogue {
    let router = ok(
        s,
        Method::POST,
        "/api/v1/psirt/products",
        t,
        json!({"vendor": "Example Corp", "name": "Router X", "owner": "開発部"}),
    )
    .await;
    let camera = ok(
        s,
        Method::POST,
        "/api/v1/psirt/products",
        t,
        json!({"vendor": "Example Corp", "name": "Camera Y"}),
    )
    .await;
    let version = |p: &Value, v: &str| {
        let path = format!(
            "/api/v1/psirt/products/{}/versions",
            p["id"].as_str().unwrap_or("")
        );
        let body = json!({"version": v, "purl": format!("pkg:generic/example/router-x@{v}")});
        (path, body)
    };
    let mut ids = Vec::new();
    for v in ["1.0.0", "2.0.0", "2.1.0"] {
        let (path, body) = version(&router, v);
        ids.push(
            ok(s, Method::POST, &path, t, body).await["id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    let cam_path = format!(
        "/api/v1/psirt/products/{}/versions",
        camera["id"].as_str().unwrap_or("")
    );
    let cam = ok(s, Method::POST, &cam_path, t, json!({"version": "3.0"})).await;
    Catalogue {
        v1: ids[0].clone(),
        v200: ids[1].clone(),
        v210: ids[2].clone(),
        cam: cam["id"].as_str().unwrap_or("").to_string(),
    }
}

async fn product_vuln(s: &TestServer, t: &str, c: &Catalogue) -> String {
    let v = ok(
        s,
        Method::POST,
        "/api/v1/psirt/vulnerabilities",
        t,
        json!({
        "title": "Stored XSS in the Router X admin page",
        "description": "The device name is shown on the admin page without escaping.",
        "description_ja": "管理画面に機器名がエスケープされずに表示されます。",
        "cve": "CVE-2026-12345", "cwe_id": "CWE-79", "cwe_name": CWE_79,
        "cvss3_vector": CVSS3, "cvss4_vector": CVSS4,
        "finder": "Taro Yamada <taro@example.net>", "credit": "Taro Yamada (Example Lab)",
        "coordinator": "jpcert", "coordinator_ref": "JVNVU#12345678"}),
    )
    .await;
    assert!(
        v["case_number"].as_str().is_some_and(|n| !n.is_empty()),
        "{v}"
    );
    let id = v["id"].as_str().unwrap_or("").to_string();
    product_vuln_states(s, t, &id, c).await;
    id
}

#[tokio::test]
async fn advisories_from_draft_to_final_pass_the_csaf_validator_and_vex_rules_hold() {
    let cfg = config_with_key("psirt-config");
    let s = TestServer::start(Db::Sqlite, "psirt_flow", &["--config", &cfg]).await;
    s.add_user("root", "admin");
    s.add_user("alice", "handler");
    s.add_user("bob", "handler");
    let (root, alice, bob) = (s.token("root"), s.token("alice"), s.token("bob"));
    ok(
        &s,
        Method::PUT,
        "/api/v1/team",
        &root,
        json!({"team_name": "Example PSIRT", "contact_email": "psirt@example.jp",
            "cve_org_id": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", "cve_short_name": "example"}),
    )
    .await;
    let c = catalogue(&s, &alice).await;
    let vuln = product_vuln(&s, &alice, &c).await;

    // The VEX rules: a version not affected without a reason, or affected without a
    // remediation, stops publication and is named.
    let vex = ok(&s, Method::POST, &format!("/api/v1/psirt/vulnerabilities/{vuln}/advisories"), &alice,
        json!({"tracking_id": "EXAMPLE-VEX-2026#01", "profile": "csaf_vex", "summary": "Router X 2.0.0 is affected; update to 2.1.0."})).await;
    assert_eq!(vex["file_name"], "example-vex-2026_01.json");
    let vex_id = vex["id"].as_str().unwrap_or("").to_string();
    let states = format!("/api/v1/psirt/vulnerabilities/{vuln}/versions");
    let (release, _) = rfc3339_in(600_000);
    for (bad, names) in [
        (
            json!({"version_id": c.v1, "status": "known_not_affected"}),
            "Router X 1.0.0",
        ),
        (
            json!({"version_id": c.v200, "status": "known_affected"}),
            "Router X 2.0.0",
        ),
    ] {
        ok(&s, Method::PUT, &states, &alice, json!({"versions": [bad]})).await;
        let (st, e) = s.json(Method::POST, &format!("/api/v1/psirt/advisories/{vex_id}/revisions"), &alice,
            Some(json!({"status": "interim", "summary": "Initial release", "release_at": release}))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap_or("").contains(names),
            "{e}"
        );
    }
    product_vuln_states(&s, &alice, &vuln, &c).await;

    let mut docs = Vec::new();
    let draft = get_doc(
        &s,
        &alice,
        &format!("/api/v1/psirt/advisories/{vex_id}/draft"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&draft).expect("json")["document"]["tracking"]["status"],
        "draft"
    );
    docs.push(("vex-draft".to_string(), draft));

    // 1.0.0 interim, 1.1.0 interim, 1.2.0 final, each approved by the other handler.
    let revisions = format!("/api/v1/psirt/advisories/{vex_id}/revisions");
    let mut last_at = 0;
    for (n, (status, summary)) in [
        ("interim", "Initial release"),
        ("interim", "Fixed version 2.1.0 released"),
        ("final", "Final"),
    ]
    .into_iter()
    .enumerate()
    {
        let (release, at) = rfc3339_in(1_500);
        let r = ok(
            &s,
            Method::POST,
            &revisions,
            &alice,
            json!({"status": status, "summary": summary, "release_at": release}),
        )
        .await;
        let seq = r["seq"].as_i64().unwrap_or(0);
        assert_eq!(seq, n as i64 + 1);
        assert_eq!(r["number"], format!("1.{n}.0"));
        let approve = format!("{revisions}/{seq}/approve");
        let (st, _) = s
            .json(
                Method::POST,
                &approve,
                &alice,
                Some(json!({"sha256": r["sha256"]})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "the proposer may not approve");
        let (st, _) = s
            .json(Method::POST, &approve, &bob, Some(json!({"sha256": "00"})))
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "another hash than the document's");
        let a = ok(
            &s,
            Method::POST,
            &approve,
            &bob,
            json!({"sha256": r["sha256"]}),
        )
        .await;
        assert_eq!(a["state"], "scheduled");
        let doc = get_doc(&s, &alice, &format!("{revisions}/{seq}/document")).await;
        assert_eq!(
            hex::encode(Sha256::digest(doc.as_bytes())),
            r["sha256"].as_str().unwrap_or("")
        );
        let parsed: Value = serde_json::from_str(&doc).expect("json");
        assert_eq!(parsed["document"]["tracking"]["status"], status);
        assert_eq!(
            parsed["document"]["tracking"]["revision_history"]
                .as_array()
                .map(Vec::len),
            Some(n + 1)
        );
        docs.push((format!("vex-{seq}"), doc));
        sleep_until(at + 100).await;
        last_at = at;
    }
    let (st, e) = s
        .json(
            Method::POST,
            &revisions,
            &alice,
            Some(
                json!({"status": "interim", "summary": "back", "release_at": rfc3339_in(1_000).0}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "final stays final: {e}");

    // The same vulnerability as a security advisory.
    let sa = ok(&s, Method::POST, &format!("/api/v1/psirt/vulnerabilities/{vuln}/advisories"), &alice,
        json!({"tracking_id": "EXAMPLE-SA-2026-001", "profile": "csaf_security_advisory", "summary": "Stored XSS in Router X."})).await;
    let sa_id = sa["id"].as_str().unwrap_or("").to_string();
    docs.push((
        "sa-draft".into(),
        get_doc(
            &s,
            &alice,
            &format!("/api/v1/psirt/advisories/{sa_id}/draft"),
        )
        .await,
    ));
    let (release, sa_at) = rfc3339_in(1_000);
    let r = ok(
        &s,
        Method::POST,
        &format!("/api/v1/psirt/advisories/{sa_id}/revisions"),
        &alice,
        json!({"status": "final", "summary": "Initial release", "release_at": release}),
    )
    .await;
    ok(
        &s,
        Method::POST,
        &format!("/api/v1/psirt/advisories/{sa_id}/revisions/1/approve"),
        &bob,
        json!({"sha256": r["sha256"]}),
    )
    .await;
    docs.push((
        "sa-1".into(),
        get_doc(
            &s,
            &alice,
            &format!("/api/v1/psirt/advisories/{sa_id}/revisions/1/document"),
        )
        .await,
    ));
    sleep_until(sa_at.max(last_at) + 100).await;

    // What the validator says of every document.
    assert_valid_csaf(&docs);
    let vex_final: Value = serde_json::from_str(&docs[3].1).expect("json");
    let v = &vex_final["vulnerabilities"][0];
    assert_eq!(v["cve"], "CVE-2026-12345");
    assert_eq!(v["ids"][0]["text"], "JVNVU#12345678");
    assert_eq!(
        v["acknowledgments"][0]["names"][0],
        "Taro Yamada (Example Lab)"
    );
    assert!(
        v["scores"][0].get("cvss_v4").is_none()
            && v["scores"][0]["cvss_v3"]["vectorString"] == CVSS3
    );
    assert!(
        v["notes"].as_array().is_some_and(|n| n
            .iter()
            .any(|n| n["text"].as_str().unwrap_or("").contains(CVSS4))),
        "{v}"
    );
    assert_eq!(
        vex_final["document"]["distribution"]["tlp"]["label"],
        "WHITE"
    );

    // The provider folder lists exactly the two published advisories, newest revision each.
    let (st, index) = get_text(&s, "/.well-known/csaf/white/index.txt").await;
    assert_eq!(st, StatusCode::OK);
    let year = chrono::Utc::now().format("%Y").to_string();
    let mut expected = vec![
        format!("{year}/example-sa-2026-001.json"),
        format!("{year}/example-vex-2026_01.json"),
    ];
    expected.sort();
    assert_eq!(index.lines().collect::<Vec<_>>(), expected);
    let (_, changes) = get_text(&s, "/.well-known/csaf/white/changes.csv").await;
    let lines: Vec<&str> = changes.lines().collect();
    assert_eq!(lines.len(), 2, "{changes}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('"') && l.contains("\",\"") && l.ends_with("Z\"")),
        "{changes}"
    );
    let mut signed = Vec::new();
    for path in &expected {
        let (st, body) = get_text(&s, &format!("/.well-known/csaf/white/{path}")).await;
        assert_eq!(st, StatusCode::OK);
        let (st, sig) = get_text(&s, &format!("/.well-known/csaf/white/{path}.asc")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");
        signed.push((body.clone(), sig));
        let name = path.rsplit('/').next().unwrap_or("");
        let (_, h256) = get_text(&s, &format!("/.well-known/csaf/white/{path}.sha256")).await;
        assert_eq!(
            h256,
            format!("{}  {name}\n", hex::encode(Sha256::digest(body.as_bytes())))
        );
        let (_, h512) = get_text(&s, &format!("/.well-known/csaf/white/{path}.sha512")).await;
        assert_eq!(
            h512,
            format!("{}  {name}\n", hex::encode(Sha512::digest(body.as_bytes())))
        );
    }
    let (_, listing) = get_text(&s, &format!("/.well-known/csaf/white/{year}/")).await;
    assert!(
        listing.contains("example-vex-2026_01.json.sha512"),
        "{listing}"
    );
    let (st, meta) = s
        .json(
            Method::GET,
            "/.well-known/csaf/provider-metadata.json",
            &root,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        meta["canonical_url"],
        "https://psirt.example.jp/.well-known/csaf/provider-metadata.json"
    );
    assert_eq!(
        meta["distributions"][0]["directory_url"],
        "https://psirt.example.jp/.well-known/csaf/white/"
    );
    assert_eq!(meta["publisher"]["name"], "Example PSIRT");
    // Signed with the team's key, published beside the metadata: a trusted provider.
    assert_eq!(meta["role"], "csaf_trusted_provider", "{meta}");
    let key_url = meta["public_openpgp_keys"][0]["url"].as_str().unwrap_or("");
    let fingerprint = meta["public_openpgp_keys"][0]["fingerprint"]
        .as_str()
        .unwrap_or("");
    assert_eq!(fingerprint.len(), 40, "{meta}");
    assert!(
        key_url.ends_with(&format!("/openpgp/{fingerprint}.asc")),
        "{meta}"
    );
    let (st, key) = get_text(&s, key_url.trim_start_matches("https://psirt.example.jp")).await;
    assert_eq!(st, StatusCode::OK);
    assert_signed(&key, &signed);
    // The ROLIE feed lists exactly what index.txt lists, each entry with its hashes and signature.
    let feed_url = meta["distributions"][0]["rolie"]["feeds"][0]["url"]
        .as_str()
        .unwrap_or("");
    assert_eq!(
        meta["distributions"][0]["rolie"]["feeds"][0]["tlp_label"],
        "WHITE"
    );
    let (st, feed) = s
        .json(
            Method::GET,
            feed_url.trim_start_matches("https://psirt.example.jp"),
            &root,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{feed_url}");
    let folder = "https://psirt.example.jp/.well-known/csaf/white/";
    let mut listed: Vec<String> = feed["feed"]["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| {
                    let src = e["content"]["src"].as_str().unwrap_or("");
                    let rels: Vec<&str> = e["link"].as_array().map_or(vec![], |l| {
                        l.iter().filter_map(|l| l["rel"].as_str()).collect()
                    });
                    assert_eq!(rels, ["self", "hash", "hash", "signature"], "{e}");
                    src.trim_start_matches(folder).to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    listed.sort();
    assert_eq!(listed, expected, "{feed}");
    exports_agree_and_validate(&s, &alice, &vuln, &c, &vex_final).await;
    public_pages_show_what_is_out(&s, &year).await;
    let (_, txt) = get_text(&s, "/.well-known/security.txt").await;
    assert!(
        txt.lines()
            .any(|l| l == "CSAF: https://psirt.example.jp/.well-known/csaf/provider-metadata.json"),
        "{txt}"
    );
}

fn python_check(kind: &str, docs: &[(String, String)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/psirt");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the PSIRT Python tools are missing: run scripts/test-deps"
    );
    let tmp = temp_dir(&format!("psirt-{kind}"));
    let files: Vec<PathBuf> = docs
        .iter()
        .map(|(name, body)| {
            let f = tmp.join(format!("{name}.json"));
            std::fs::write(&f, body).expect("write export");
            f
        })
        .collect();
    let out = std::process::Command::new(python)
        .arg(dir.join("check_exports.py"))
        .arg(kind)
        .args(&files)
        .output()
        .expect("run check_exports.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), docs.len(), "{text}");
    for line in text.lines() {
        let r: Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(r["valid"], true, "{kind}: {r}");
    }
}

/// OpenVEX, CycloneDX VEX and the CSAF VEX document say the same of every version; the
/// CycloneDX document and the CVE record pass the reference validators.
async fn exports_agree_and_validate(
    s: &TestServer,
    t: &str,
    vuln: &str,
    c: &Catalogue,
    csaf: &Value,
) {
    let export = |f: &str| format!("/api/v1/psirt/vulnerabilities/{vuln}/export?format={f}");
    let openvex = get_doc(s, t, &export("openvex")).await;
    let cdx = get_doc(s, t, &export("cyclonedx_vex")).await;
    let cve = get_doc(s, t, &export("cve")).await;
    python_check("cyclonedx", &[("vex".into(), cdx.clone())]);
    python_check("cve", &[("cve".into(), cve.clone())]);
    let (openvex, cdx, cve): (Value, Value, Value) = (
        serde_json::from_str(&openvex).expect("openvex"),
        serde_json::from_str(&cdx).expect("cyclonedx"),
        serde_json::from_str(&cve).expect("cve"),
    );
    assert_vex_forms_agree(c, csaf, &cdx, &openvex);
    let not_affected = openvex["statements"]
        .as_array()
        .and_then(|a| a.iter().find(|st| st["status"] == "not_affected"));
    assert_eq!(
        not_affected.map(|st| st["justification"].clone()),
        Some(json!("vulnerable_code_not_present"))
    );
    // The CVE record: both languages, the range up to the fix, CWE, CVSS 3.1 and 4.0, credit.
    let langs: Vec<&str> = cve["descriptions"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["lang"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(langs, ["en", "ja"]);
    let router = cve["affected"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["product"] == "Router X"))
        .expect("Router X");
    assert!(
        router["versions"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["version"] == "2.0.0"
                && v["lessThan"] == "2.1.0"
                && v["status"] == "affected")),
        "{router}"
    );
    assert_eq!(cve["problemTypes"][0]["descriptions"][0]["cweId"], "CWE-79");
    assert_eq!(cve["metrics"][0]["cvssV3_1"]["vectorString"], CVSS3);
    assert_eq!(cve["metrics"][1]["cvssV4_0"]["vectorString"], CVSS4);
    assert_eq!(cve["credits"][0]["value"], "Taro Yamada (Example Lab)");
}

/// Each version has the same state in the CSAF document, the CycloneDX VEX and OpenVEX (one
/// statement per state: the four versions' states differ).
fn assert_vex_forms_agree(c: &Catalogue, csaf: &Value, cdx: &Value, openvex: &Value) {
    let status = &csaf["vulnerabilities"][0]["product_status"];
    // Per version: CSAF status, OpenVEX status and how its statement names the product,
    // CycloneDX analysis state.
    let expect = [
        (
            &c.v1,
            "known_not_affected",
            ("not_affected", "@1.0.0"),
            "not_affected",
        ),
        (
            &c.v200,
            "known_affected",
            ("affected", "@2.0.0"),
            "exploitable",
        ),
        (&c.v210, "fixed", ("fixed", "@2.1.0"), "resolved"),
        (
            &c.cam,
            "under_investigation",
            ("under_investigation", ""),
            "in_triage",
        ),
    ];
    for (version, csaf_status, (openvex_status, purl_end), cdx_state) in expect {
        let pid = format!("HIKESHI-{version}");
        assert!(
            status[csaf_status]
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p == &json!(pid))),
            "{status}"
        );
        let c = cdx["vulnerabilities"]
            .as_array()
            .and_then(|a| a.iter().find(|v| v["affects"][0]["ref"] == json!(pid)));
        assert_eq!(
            c.map(|v| v["analysis"]["state"].clone()),
            Some(json!(cdx_state)),
            "{cdx}"
        );
        let named: Vec<&str> = openvex["statements"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|st| st["status"] == openvex_status)
                    .filter_map(|st| st["products"][0]["@id"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(named.len(), 1, "{openvex}");
        assert!(
            named[0].ends_with(purl_end) && (purl_end.is_empty() != named[0].starts_with("pkg:")),
            "{openvex}"
        );
    }
}

async fn product_vuln_states(s: &TestServer, t: &str, vuln: &str, c: &Catalogue) {
    ok(s, Method::PUT, &format!("/api/v1/psirt/vulnerabilities/{vuln}/versions"), t, json!({"versions": [
        {"version_id": c.v1, "status": "known_not_affected", "justification": "vulnerable_code_not_present"},
        {"version_id": c.v200, "status": "known_affected", "remediation": "vendor_fix",
         "remediation_details": "Update to version 2.1.0.", "remediation_url": "https://psirt.example.jp/downloads/router-x-2.1.0"},
        {"version_id": c.v210, "status": "fixed"},
        {"version_id": c.cam, "status": "under_investigation"}
    ]})).await;
}

async fn get_doc(s: &TestServer, t: &str, path: &str) -> String {
    let r = s.req(Method::GET, path, Some(t)).send().await.expect("get");
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// A security advisory whose first revision (final) alice proposes for `release_at` and bob
/// approves; returns its ID and the revision the server answered.
async fn approved_advisory(
    s: &TestServer,
    (alice, bob): (&str, &str),
    vuln: &str,
    (tracking_id, summary): (&str, &str),
    release_at: &str,
) -> (String, Value) {
    let adv = ok(s, Method::POST, &format!("/api/v1/psirt/vulnerabilities/{vuln}/advisories"), alice,
        json!({"tracking_id": tracking_id, "profile": "csaf_security_advisory", "summary": summary})).await;
    let id = adv["id"].as_str().unwrap_or("").to_string();
    let revisions = format!("/api/v1/psirt/advisories/{id}/revisions");
    let r = ok(
        s,
        Method::POST,
        &revisions,
        alice,
        json!({"status": "final", "summary": "Initial release", "release_at": release_at}),
    )
    .await;
    ok(
        s,
        Method::POST,
        &format!("{revisions}/1/approve"),
        bob,
        json!({"sha256": r["sha256"]}),
    )
    .await;
    (id, r)
}

/// The embargo: due at T, the advisory is nowhere at T−1 s (document 404, index, changes,
/// listing) and everywhere at T+1 s, also when the server was down across T; moving T is
/// audited and asks for a new approval.
async fn embargo_holds(db: Db, name: &str) {
    let cfg = config(name);
    let mut s = TestServer::start(db, name, &["--config", &cfg]).await;
    s.add_user("root", "admin");
    s.add_user("alice", "handler");
    s.add_user("bob", "handler");
    let (root, alice, bob) = (s.token("root"), s.token("alice"), s.token("bob"));
    let c = catalogue(&s, &alice).await;
    let vuln = product_vuln(&s, &alice, &c).await;
    let (far, _) = rfc3339_in(3_600_000);
    let (id, r) = approved_advisory(
        &s,
        (&alice, &bob),
        &vuln,
        ("EMBARGO-2026-7", "Embargoed."),
        &far,
    )
    .await;
    let revisions = format!("/api/v1/psirt/advisories/{id}/revisions");
    // The coordinator agrees on an earlier date: moved, audited, approved again.
    let (soon, t) = rfc3339_in(5_000);
    let moved = ok(
        &s,
        Method::PUT,
        &format!("{revisions}/1/release"),
        &alice,
        json!({"release_at": soon}),
    )
    .await;
    assert_eq!(moved["state"], "pending");
    assert_ne!(moved["sha256"], r["sha256"]);
    ok(
        &s,
        Method::POST,
        &format!("{revisions}/1/approve"),
        &bob,
        json!({"sha256": moved["sha256"]}),
    )
    .await;
    let (st, audit) = s
        .json(
            Method::GET,
            &format!("/api/v1/audit?object_type=advisory&object_id={id}%231"),
            &root,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{audit}");
    assert!(
        audit.as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["action"] == "psirt.release_moved" && e["actor"] == "alice")),
        "{audit}"
    );

    let year = chrono::Utc::now().format("%Y").to_string();
    let doc = format!("/.well-known/csaf/white/{year}/embargo-2026-7.json");
    sleep_until(t - 1_000).await;
    assert_absent(&s, &doc, &year).await;
    // Down across T: what is due is out when the server is back.
    s.signal_and_wait("TERM");
    sleep_until(t + 1_000).await;
    s.spawn().await;
    let (st, body) = get_text(&s, &doc).await;
    assert_eq!(st, StatusCode::OK, "due at T, out after T");
    assert!(body.contains("EMBARGO-2026-7"));
    let (_, index) = get_text(&s, "/.well-known/csaf/white/index.txt").await;
    assert_eq!(index, format!("{year}/embargo-2026-7.json\n"));
    let (_, feed) = get_text(&s, "/.well-known/csaf/white/csaf-feed-tlp-white.json").await;
    assert!(feed.contains("EMBARGO-2026-7"), "{feed}");
    let (st, page) = get_text(&s, &format!("/advisories/{year}/embargo-2026-7")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("EMBARGO-2026-7"));
    // Without a signing key: no signature files, and the role stays csaf_provider.
    let (st, _) = get_text(&s, &format!("{doc}.asc")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, meta) = get_text(&s, "/.well-known/csaf/provider-metadata.json").await;
    let meta: Value = serde_json::from_str(&meta).unwrap_or_default();
    assert_eq!(meta["role"], "csaf_provider", "{meta}");
    assert!(meta.get("public_openpgp_keys").is_none(), "{meta}");
    let (_, changes) = get_text(&s, "/.well-known/csaf/white/changes.csv").await;
    assert!(
        changes.starts_with(&format!("\"{year}/embargo-2026-7.json\",\"")),
        "{changes}"
    );
    // And the job records it published.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, a) = s
            .json(
                Method::GET,
                &format!("/api/v1/psirt/advisories/{id}"),
                &alice,
                None,
            )
            .await;
        if a["revisions"][0]["state"] == "published" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the publication job ran: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn assert_absent(s: &TestServer, doc: &str, year: &str) {
    let (st, _) = get_text(s, doc).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "embargoed: {doc}");
    let (st, _) = get_text(s, &format!("{doc}.sha256")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, index) = get_text(s, "/.well-known/csaf/white/index.txt").await;
    assert_eq!(index, "", "index.txt lists nothing before T");
    let (_, changes) = get_text(s, "/.well-known/csaf/white/changes.csv").await;
    assert_eq!(changes, "");
    let (_, folder) = get_text(s, "/.well-known/csaf/white/").await;
    assert!(!folder.contains(&format!("{year}/")), "{folder}");
    let (_, feed) = get_text(s, "/.well-known/csaf/white/csaf-feed-tlp-white.json").await;
    let feed: Value = serde_json::from_str(&feed).unwrap_or_default();
    assert_eq!(
        feed["feed"]["entry"],
        json!([]),
        "the feed lists nothing before T"
    );
    let (st, _) = get_text(s, &format!("/.well-known/csaf/white/{year}/")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, page) = get_text(s, "/advisories").await;
    assert!(
        !page.contains("EMBARGO-2026-7"),
        "the public page lists nothing before T"
    );
    let (st, _) = get_text(s, &format!("/advisories/{year}/embargo-2026-7")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_embargoed_advisory_appears_at_its_time_on_sqlite() {
    embargo_holds(Db::Sqlite, "psirt_embargo_sqlite").await;
}

#[tokio::test]
async fn an_embargoed_advisory_appears_at_its_time_on_postgres() {
    embargo_holds(Db::Postgres, "psirt_embargo_pg").await;
}

/// `hikeshi csaf check` against a live provider over HTTPS: everything agrees and every
/// signature verifies; then a document changed in the database behind the server's back is
/// caught by its hash files and its signature.
#[tokio::test]
async fn csaf_check_passes_the_provider_and_catches_a_changed_document() {
    let name = "csaf_check";
    let port = crate::common::free_port();
    let dir = temp_dir(name);
    let (cert, tls_key) = crate::common::certificate(&dir.join("tls"));
    let cfg = config_with_key(name);
    let base = format!("https://127.0.0.1:{port}");
    let text = std::fs::read_to_string(&cfg)
        .expect("config")
        .replace("https://psirt.example.jp", &base);
    std::fs::write(&cfg, text).expect("config");
    let database_url = hikeshi_store::scratch::create_scratch_postgres(
        &hikeshi_store::scratch::test_postgres_admin_url(),
        "hikeshi_csaf_check",
    )
    .await
    .expect("PostgreSQL must be running (HIKESHI_TEST_POSTGRES)");
    let args = ["--config", &cfg, "--tls-cert", &cert, "--tls-key", &tls_key];
    let s = TestServer::start_at(port, dir.join("data"), Some(database_url.clone()), &args).await;
    s.add_user("alice", "handler");
    s.add_user("bob", "handler");
    let (alice, bob) = (s.token("alice"), s.token("bob"));
    let c = catalogue(&s, &alice).await;
    let vuln = product_vuln(&s, &alice, &c).await;
    let (soon, t) = rfc3339_in(2_000);
    approved_advisory(
        &s,
        (&alice, &bob),
        &vuln,
        ("CHECK-2026-1", "Checked."),
        &soon,
    )
    .await;
    sleep_until(t + 500).await;

    let url = format!("{base}/.well-known/csaf/provider-metadata.json");
    let (passed, out, err) = s.cli(&["csaf", "check", "--ca-file", &cert, &url], "");
    assert!(passed, "csaf check: {out}\n{err}");
    assert!(
        out.contains("1 documents checked, 1 signatures verified, 0 problems"),
        "{out}"
    );

    // Behind the server's back: the stored document changes, its hashes and signature do not.
    let changed = std::process::Command::new("psql")
        .arg(&database_url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg("UPDATE advisory_revisions SET document = replace(document, 'Checked.', 'Changed.')")
        .output()
        .expect("psql");
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let (passed, out, _) = s.cli(&["csaf", "check", "--ca-file", &cert, &url], "");
    assert!(!passed, "a changed document must fail the check: {out}");
    let doc = format!("{base}/.well-known/csaf/white/");
    for problem in [
        ".json.sha256: ",
        ".json.sha512: ",
        ".json.asc: gpg --verify",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("problem: {doc}")) && l.contains(problem)),
            "{problem} in {out}"
        );
    }
    // Without the private CA the provider is not trusted at all.
    let (passed, out, _) = s.cli(&["csaf", "check", &url], "");
    assert!(!passed && out.contains("problem: "), "{out}");
}

/// A key that needs a passphrase cannot sign at the release time: the server refuses it at
/// start-up, naming the setting.
#[test]
fn a_signing_key_with_a_passphrase_is_refused_at_start_up() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("psirt-passphrase");
    let home = dir.join("g");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let run = |args: &[&str]| {
        std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "secret",
            ])
            .args(args)
            .output()
            .expect("gpg")
    };
    assert!(run(&[
        "--quick-gen-key",
        "Locked <l@example.jp>",
        "ed25519",
        "sign",
        "never"
    ])
    .status
    .success());
    let exported = run(&["--armor", "--export-secret-keys"]);
    let key = dir.join("locked.asc");
    std::fs::write(&key, &exported.stdout).expect("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let _ = std::process::Command::new("gpgconf")
        .arg("--homedir")
        .arg(&home)
        .args(["--kill", "gpg-agent"])
        .status();
    let err = crate::common::serve_refuses(&format!(
        "[psirt]\nopenpgp_key_file = \"{}\"\n",
        key.display()
    ));
    assert!(
        err.contains("openpgp_key_file") && err.contains("passphrase"),
        "{err}"
    );
    // And one that others can read is refused before gpg sees it.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = crate::common::serve_refuses(&format!(
        "[psirt]\nopenpgp_key_file = \"{}\"\n",
        key.display()
    ));
    assert!(err.contains("chmod 600"), "{err}");
}

/// The public pages, in both languages, say what the published JSON says.
async fn public_pages_show_what_is_out(s: &TestServer, year: &str) {
    for (lang, affected, fixed, update, credits, signature) in [
        (
            "ja",
            "影響あり",
            "修正済み",
            "アップデート",
            "謝辞",
            "OpenPGP 署名",
        ),
        (
            "en",
            "Affected",
            "Fixed",
            "Update",
            "Credits",
            "OpenPGP signature",
        ),
    ] {
        let (st, list) = get_text(s, &format!("/advisories?lang={lang}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            list.contains("EXAMPLE-VEX-2026#01") && list.contains("EXAMPLE-SA-2026-001"),
            "{list}"
        );
        let link = format!("/advisories/{year}/example-vex-2026_01?lang={lang}");
        assert!(list.contains(&link), "{list}");
        let (st, page) = get_text(s, &link).await;
        assert_eq!(st, StatusCode::OK);
        for needle in [
            affected,
            fixed,
            update,
            credits,
            signature,
            "Taro Yamada (Example Lab)",
            "Router X 2.0.0",
            "CVE-2026-12345",
            "CWE-79",
            "1.2.0",
            "1.1.0",
            "1.0.0",
            CVSS3,
            CVSS4,
            &format!("/.well-known/csaf/white/{year}/example-vex-2026_01.json\""),
            &format!("/.well-known/csaf/white/{year}/example-vex-2026_01.json.sha256"),
            &format!("/.well-known/csaf/white/{year}/example-vex-2026_01.json.asc"),
        ] {
            assert!(
                page.contains(needle),
                "{lang}: `{needle}` missing in {page}"
            );
        }
        assert!(page.contains(&format!("<html lang=\"{lang}\"")), "{page}");
    }
    let (st, _) = get_text(s, &format!("/advisories/{year}/no-such-advisory")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// A CycloneDX 1.6 SBOM: the product version and the libraries it ships.
fn cyclonedx_sbom(product_version: &str, libraries: &[(&str, &str)]) -> String {
    let components: Vec<Value> = libraries
        .iter()
        .map(|(name, version)| {
            json!({"type": "library", "bom-ref": format!("{name}@{version}"), "name": name,
                "version": version, "purl": format!("pkg:generic/{name}@{version}")})
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "serialNumber": format!("urn:uuid:{}", uuid_like(product_version)),
        "metadata": {"component": {"type": "firmware", "bom-ref": "router-x", "name": "Router X",
            "version": product_version}},
        "components": components})
    .to_string()
}

/// A fixed UUID per product version (the SBOM's serial number).
fn uuid_like(seed: &str) -> String {
    let h = hex::encode(Sha256::digest(seed.as_bytes()));
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

async fn put_sbom(
    s: &TestServer,
    t: &str,
    c_product: &str,
    version: &str,
    sbom: &str,
) -> (StatusCode, Value) {
    let r = s
        .req(
            Method::PUT,
            &format!("/api/v1/psirt/products/{c_product}/versions/{version}/sbom"),
            Some(t),
        )
        .header("content-type", "application/json")
        .body(sbom.to_string())
        .send()
        .await
        .expect("put sbom");
    let st = r.status();
    (st, r.json().await.unwrap_or_default())
}

/// From one SBOM per version (CycloneDX 1.6, and SPDX 2.3 for one) and one finding against a
/// library: 2.0.0 known affected with the fix pointing to 2.1.0, 2.1.0 fixed, 1.0.0 not
/// affected (it does not ship the library), the camera without SBOM under investigation — and
/// the CSAF VEX draft, OpenVEX and CycloneDX VEX say the same, judged by their validators.
#[tokio::test]
async fn sboms_and_one_finding_give_every_versions_state_on_sqlite() {
    sboms_give_states(Db::Sqlite, "psirt_sbom").await;
}

#[tokio::test]
async fn sboms_and_one_finding_give_every_versions_state_on_postgres() {
    sboms_give_states(Db::Postgres, "psirt_sbom").await;
}

async fn sboms_give_states(db: Db, name: &str) {
    let s = TestServer::start(db, name, &["--config", &config(name)]).await;
    s.add_user("alice", "handler");
    s.add_user("viewer", "viewer");
    let alice = s.token("alice");
    let c = catalogue(&s, &alice).await;
    let vuln = product_vuln(&s, &alice, &c).await;
    let (_, products) = s
        .json(Method::GET, "/api/v1/psirt/products", &alice, None)
        .await;
    let router = products
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "Router X"))
        .and_then(|p| p["id"].as_str())
        .unwrap_or("")
        .to_string();

    let sbom200 = cyclonedx_sbom("2.0.0", &[("openssl", "3.0.7"), ("zlib", "1.2.13")]);
    let sbom210 = cyclonedx_sbom("2.1.0", &[("openssl", "3.0.8"), ("zlib", "1.2.13")]);
    python_check(
        "cyclonedx",
        &[
            ("sbom200".into(), sbom200.clone()),
            ("sbom210".into(), sbom210.clone()),
        ],
    );
    let spdx100 = json!({"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": "router-x-1.0.0", "documentNamespace": "https://psirt.example.jp/spdx/router-x-1.0.0",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: example"]},
        "documentDescribes": ["SPDXRef-router"],
        "packages": [
            {"SPDXID": "SPDXRef-router", "name": "Router X", "versionInfo": "1.0.0", "downloadLocation": "NOASSERTION"},
            {"SPDXID": "SPDXRef-zlib", "name": "zlib", "versionInfo": "1.2.11", "downloadLocation": "NOASSERTION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:generic/zlib@1.2.11"}]}]})
    .to_string();
    for (version, sbom, format, n) in [
        (&c.v200, &sbom200, "cyclonedx", 2),
        (&c.v210, &sbom210, "cyclonedx", 2),
        (&c.v1, &spdx100, "spdx", 1),
    ] {
        let (st, v) = put_sbom(&s, &alice, &router, version, sbom).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["format"].as_str(), v["components"].as_i64()),
            (Some(format), Some(n)),
            "{v}"
        );
    }
    // A broken SBOM is refused by field, and the one stored before stays.
    let (st, v) = put_sbom(
        &s,
        &alice,
        &router,
        &c.v200,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"version":"1"}]}"#,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("components[0].name"), "{v}");
    let (st, _) = put_sbom(&s, &s.token("viewer"), &router, &c.v200, &sbom200).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, shipped) = s
        .json(
            Method::GET,
            "/api/v1/psirt/components?purl=pkg:generic/openssl@1.0.2",
            &alice,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut found: Vec<(String, String)> = shipped
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["product_version"].as_str().unwrap_or("").to_string(),
                        x["version"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    assert_eq!(
        found,
        [
            ("2.0.0".to_string(), "3.0.7".to_string()),
            ("2.1.0".into(), "3.0.8".into())
        ]
    );

    let (st, a) = s
        .json(
            Method::POST,
            &format!("/api/v1/psirt/vulnerabilities/{vuln}/assess"),
            &alice,
            Some(json!({"purl": "pkg:generic/openssl", "fixed_version": "3.0.8", "apply": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let of = |id: &str| {
        a["versions"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["version_id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        (
            of(&c.v200)["status"].clone(),
            of(&c.v200)["remediation"].clone()
        ),
        (json!("known_affected"), json!("vendor_fix"))
    );
    assert_eq!(
        of(&c.v200)["remediation_details"],
        "Update to Router X 2.1.0."
    );
    assert_eq!(of(&c.v210)["status"], "fixed");
    assert_eq!(
        (
            of(&c.v1)["status"].clone(),
            of(&c.v1)["justification"].clone()
        ),
        (json!("known_not_affected"), json!("component_not_present"))
    );
    assert_eq!(
        (of(&c.cam)["status"].clone(), of(&c.cam)["reason"].clone()),
        (json!("under_investigation"), json!("no_sbom"))
    );
    assert_eq!(
        a["saved"]["versions"].as_array().map(Vec::len),
        Some(4),
        "{a}"
    );

    // The three VEX forms agree, and each passes its validator.
    let adv = ok(&s, Method::POST, &format!("/api/v1/psirt/vulnerabilities/{vuln}/advisories"), &alice,
        json!({"tracking_id": "SBOM-VEX-2026-1", "profile": "csaf_vex", "summary": "From the SBOMs."})).await;
    let draft = get_doc(
        &s,
        &alice,
        &format!(
            "/api/v1/psirt/advisories/{}/draft",
            adv["id"].as_str().unwrap_or("")
        ),
    )
    .await;
    assert_valid_csaf(&[("sbom-vex-draft".into(), draft.clone())]);
    let export = |f: &str| format!("/api/v1/psirt/vulnerabilities/{vuln}/export?format={f}");
    let cdx = get_doc(&s, &alice, &export("cyclonedx_vex")).await;
    python_check("cyclonedx", &[("vex".into(), cdx.clone())]);
    let openvex: Value =
        serde_json::from_str(&get_doc(&s, &alice, &export("openvex")).await).expect("openvex");
    let (draft, cdx): (Value, Value) = (
        serde_json::from_str(&draft).expect("csaf"),
        serde_json::from_str(&cdx).expect("cdx"),
    );
    assert_vex_forms_agree(&c, &draft, &cdx, &openvex);
    let flag = &draft["vulnerabilities"][0]["flags"][0];
    assert_eq!(
        (flag["label"].clone(), flag["product_ids"].clone()),
        (
            json!("component_not_present"),
            json!([format!("HIKESHI-{}", c.v1)])
        ),
        "{draft}"
    );
}

/// A researcher's report with the PSIRT choice becomes a product vulnerability: the report is
/// decided into its case, the finder and credit come from the report, and the reporter's
/// address stays out of the case text.
#[tokio::test]
async fn a_researcher_report_becomes_a_product_vulnerability() {
    let s = TestServer::start(Db::Sqlite, "psirt_report", &[]).await;
    s.add_user("alice", "handler");
    let alice = s.token("alice");
    let (st, filed) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            &alice,
            Some(json!({
            "subject": "XSS in the Router X admin page",
            "body": "The device name field is not escaped on /admin/status.",
            "reporter_name": "Taro Yamada", "reporter_contact": "taro@example.net",
            "kind": "product_vulnerability", "credit": "Taro Yamada (Example Lab)", "lang": "en"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{filed}");
    assert_eq!(filed["kind"], "product_vulnerability");
    assert_eq!(filed["suggested_category"], "vulnerability");
    let tracking = filed["tracking"].as_str().unwrap_or("").to_string();
    let (_, view) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(
        view["report"]["suggestion_reason_en"],
        "The reporter chose: a vulnerability in our products"
    );
    assert_eq!(view["report"]["credit"], "Taro Yamada (Example Lab)");
    let (st, bad) = s
        .json(
            Method::POST,
            "/api/v1/reports",
            &alice,
            Some(json!({
            "subject": "x", "body": "y", "kind": "psirt"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");

    let v = ok(
        &s,
        Method::POST,
        "/api/v1/psirt/vulnerabilities",
        &alice,
        json!({
        "title": "Stored XSS in the Router X admin page", "description": "From the report.",
        "coordinator": "direct", "report": tracking}),
    )
    .await;
    assert_eq!(v["finder"], "Taro Yamada, taro@example.net");
    assert_eq!(v["credit"], "Taro Yamada (Example Lab)");
    let number = v["case_number"].as_str().unwrap_or("").to_string();
    let (_, report) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{tracking}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(report["report"]["status"], "case", "{report}");
    let (_, case) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &alice,
            None,
        )
        .await;
    assert!(!case.to_string().contains("taro@example.net"), "{case}");
    // Decided once: a second product vulnerability from it is refused.
    let (st, again) = s
        .json(
            Method::POST,
            "/api/v1/psirt/vulnerabilities",
            &alice,
            Some(json!({
            "title": "Again", "description": "x", "coordinator": "direct", "report": tracking})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
}
