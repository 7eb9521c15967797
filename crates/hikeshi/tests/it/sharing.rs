//! A case shared as STIX 2.1, judged by the OASIS tools: every bundle hikeshi makes passes
//! `stix2-validator --strict --enforce-refs` with no errors or warnings, `stix2.parse(…,
//! allow_custom=False)` reads it, every pattern passes `stix2patterns`, every cyber-observable
//! id is the one the stix2 library computes, and Japanese text survives byte for byte. The
//! egress gate decides per audience: nothing marked RED, no victim detail unless kept on purpose.

use crate::common::{temp_dir, Db, TestServer};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sharing/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-deps",
        python.display()
    );
    python
}

/// The OASIS tools' verdict on each bundle file.
fn judge(files: &[PathBuf]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sharing/check_stix.py");
    let out = Command::new(python())
        .arg(script)
        .args(files)
        .output()
        .expect("run check_stix.py");
    assert!(
        out.status.success(),
        "check_stix.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("check_stix.py prints JSON")
}

const TITLE: &str = "標的型メール: 請求書を装った添付ファイル (ＷＥＢ経由)";
const SUMMARY: &str = "経理部の PC 10.2.3.4 (pc-keiri-01.example.jp) が感染。担当 taro@example.jp。送信元 evil-invoice.example。";

/// (kind, value, tlp, ioc)
const OBSERVABLES: &[(&str, &str, &str, bool)] = &[
    ("ip", "203.0.113.7", "green", true),
    ("ip", "2001:db8::66", "clear", true),
    ("cidr", "198.51.100.0/24", "green", true),
    ("domain", "evil-invoice.example", "green", true),
    (
        "url",
        "https://evil-invoice.example/pay?id=O'Neil&x=1",
        "green",
        true,
    ),
    ("email", "billing@evil-invoice.example", "green", true),
    (
        "sha256",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "green",
        true,
    ),
    ("md5", "098f6bcd4621d373cade4e832627b4f6", "green", false),
    (
        "sha1",
        "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
        "green",
        true,
    ),
    ("filename", "請求書_2026年11月.exe", "green", true),
    (
        "registry_key",
        r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\InvoiceUpd",
        "green",
        true,
    ),
    // Held back from every partner: by marking, or because it describes us.
    ("domain", "red-canary-zz.example", "red", true),
    ("domain", "amber-only.example", "amber", true),
    ("ip", "10.2.3.4", "green", false),
    ("email", "taro@example.jp", "green", false),
    ("host", "pc-keiri-01", "green", false),
    ("user_account", "taro.yamada", "green", false),
];

async fn world(db: Db) -> (TestServer, String, String, String) {
    let s = TestServer::start(db, "sharing", &[]).await;
    s.add_user("root", "admin");
    s.add_user("hana", "handler");
    s.add_user("vic", "viewer");
    let (admin, handler, viewer) = (s.token("root"), s.token("hana"), s.token("vic"));
    let (st, _) = s
        .json(
            Method::PUT,
            "/api/v1/team",
            &admin,
            Some(json!({"team_name": "例示 CSIRT", "contact_email": "csirt@example.jp"})),
        )
        .await;
    assert!(st.is_success());
    let (st, case) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &handler,
            Some(json!({"title": TITLE, "description": SUMMARY, "tlp": "green"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    let number = case["number"].as_str().unwrap_or_default().to_string();
    for (kind, value, tlp, ioc) in OBSERVABLES {
        let (st, o) = s
            .json(
                Method::POST,
                &format!("/api/v1/cases/{number}/observables"),
                &handler,
                Some(json!({"kind": kind, "value": value, "tlp": tlp, "ioc": ioc})),
            )
            .await;
        assert!(st.is_success(), "{value}: {o}");
    }
    (s, handler, viewer, number)
}

async fn bundle(s: &TestServer, token: &str, number: &str, query: &str) -> (StatusCode, String) {
    let resp = s
        .req(
            Method::GET,
            &format!("/api/v1/cases/{number}/stix?{query}"),
            Some(token),
        )
        .send()
        .await
        .expect("request");
    let status = resp.status();
    if status.is_success() {
        assert_eq!(
            resp.headers()["content-type"],
            "application/stix+json;version=2.1"
        );
    }
    (status, resp.text().await.unwrap_or_default())
}

async fn shared_bundles_pass_the_oasis_tools(db: Db) {
    let (s, handler, viewer, number) = world(db).await;
    let dir = temp_dir("sharing-bundles");
    let shares = [
        ("community", "audience=community&include_summary=true"),
        ("client", "audience=client_partner"),
        (
            "own",
            "audience=organisation&include_summary=true&keep_victim_details=true",
        ),
    ];
    let mut files = Vec::new();
    let mut texts = Vec::new();
    for (name, query) in shares {
        let (st, text) = bundle(&s, &handler, &number, query).await;
        assert_eq!(st, StatusCode::OK, "{name}: {text}");
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, &text).expect("write bundle");
        files.push(file);
        texts.push(text);
    }

    let verdicts = judge(&files);
    for file in &files {
        let v = &verdicts[file.display().to_string()];
        assert_eq!(v["messages"], json!([]), "{}: {v}", file.display());
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["parse_error"], Value::Null, "{v}");
        assert_eq!(v["pattern_errors"], json!([]), "{v}");
        assert_eq!(v["id_mismatches"], json!([]), "{v}");
        assert_eq!(v["names_survive"], true, "{v}");
        assert_eq!(v["report_names"], json!([TITLE]), "{v}");
    }

    // What each audience got.
    let (community, client, own) = (&texts[0], &texts[1], &texts[2]);
    for text in [community, client, own] {
        assert!(!text.contains("red-canary-zz"), "RED left: {text}");
        assert!(!text.contains("e828b379-4e03-4974-9ac4-e53a884c97c1"));
        assert!(text.contains("請求書_2026年11月.exe"));
        assert!(text.contains("[ipv6-addr:value = '2001:db8::66']"));
        assert!(text.contains(r"[url:value = 'https://evil-invoice.example/pay?id=O\\'Neil&x=1']"));
    }
    for text in [community, client] {
        for detail in ["10.2.3.4", "example.jp", "pc-keiri-01", "taro"] {
            assert!(!text.contains(detail), "{detail} left: {text}");
        }
    }
    assert!(!community.contains("amber-only.example"));
    assert!(client.contains("amber-only.example"));
    assert!(
        community.contains("経理部の PC [redacted] ([redacted]) が感染"),
        "{community}"
    );
    assert!(
        !client.contains("経理部"),
        "the summary was not asked for: {client}"
    );
    assert!(own.contains("10.2.3.4") && own.contains("taro@example.jp"));

    // The preview says why, in the reader's language.
    let (st, preview) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}/share?audience=community"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{preview}");
    let mut reasons: Vec<(String, String)> = preview["withheld"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|i| {
                    (
                        i["value"].as_str().unwrap_or("").to_string(),
                        i["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    reasons.sort();
    let expect = |v: &str, r: &str| (v.to_string(), r.to_string());
    let mut expected = vec![
        expect("red-canary-zz.example", "tlp"),
        expect("amber-only.example", "tlp"),
        expect("10.2.3.4", "internal_address"),
        expect("taro@example.jp", "own_domain"),
        expect("pc-keiri-01", "internal_host"),
        expect("taro.yamada", "staff_account"),
    ];
    expected.sort();
    assert_eq!(reasons, expected, "{preview}");
    assert_eq!(preview["leaving"].as_array().map(Vec::len), Some(11));

    // Who may share, and what is refused as a whole.
    let (st, _) = bundle(&s, &viewer, &number, "audience=partner").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, text) = bundle(&s, &handler, &number, "audience=public").await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a GREEN case is not for the public"
    );
    assert!(text.contains("TLP:GREEN"), "{text}");
    let (st, text) = bundle(&s, &handler, &number, "audience=everyone").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("audience"), "{text}");

    // Every export is in the audit log with what left and what stayed.
    s.add_user("aud", "admin");
    let (st, audit) = s
        .json(
            Method::GET,
            &format!("/api/v1/audit?object_id={number}&limit=500"),
            &s.token("aud"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let shared: Vec<&Value> = audit
        .as_array()
        .map(|a| a.iter().filter(|e| e["action"] == "case.shared").collect())
        .unwrap_or_default();
    assert_eq!(shared.len(), 3, "{audit}");
    assert!(shared.iter().any(|e| e["after_json"]
        .as_str()
        .unwrap_or("")
        .contains("red-canary-zz.example (tlp)")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn shared_bundles_pass_the_oasis_tools_sqlite() {
    shared_bundles_pass_the_oasis_tools(Db::Sqlite).await;
}

#[tokio::test]
async fn shared_bundles_pass_the_oasis_tools_postgres() {
    shared_bundles_pass_the_oasis_tools(Db::Postgres).await;
}

/// The bundle `tests/sharing/make_bundle.py` makes with the stix2 library.
fn made_bundle() -> Vec<u8> {
    let dir = temp_dir("sharing-made");
    let file = dir.join("made.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sharing/make_bundle.py");
    let made = Command::new(python())
        .arg(script)
        .arg(&file)
        .output()
        .expect("run make_bundle.py");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let bytes = std::fs::read(&file).expect("bundle");
    let _ = std::fs::remove_dir_all(dir);
    bytes
}

/// A bundle the stix2 library made becomes a case: the report's Japanese title and text byte
/// for byte, each indicator's values with their TLP 1.0 markings as TLP, the bare observable,
/// and the objects hikeshi cannot hold named with the reason.
async fn a_bundle_from_the_stix2_library_becomes_a_case(db: Db) {
    let s = TestServer::start(db, "sharing_import", &[]).await;
    s.add_user("hana", "handler");
    s.add_user("vic", "viewer");
    let (handler, viewer) = (s.token("hana"), s.token("vic"));
    let bytes = made_bundle();

    let post = |token: &str, body: Vec<u8>| {
        s.req(Method::POST, "/api/v1/stix/import", Some(token))
            .header("content-type", "application/stix+json")
            .body(body)
            .send()
    };
    let refused = post(&viewer, bytes.clone()).await.expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let broken = post(
        &handler,
        b"{\"type\": \"bundle\",\n\"objects\": [}".to_vec(),
    )
    .await
    .expect("request");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(broken.text().await.unwrap_or_default().contains("line 2"));

    let resp = post(&handler, bytes).await.expect("request");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let imported: Value = resp.json().await.expect("json");
    assert_eq!(
        imported["tlp"], "amber",
        "the strictest marking: {imported}"
    );
    assert_eq!(imported["observables"], 5, "{imported}");
    let reasons = imported["skipped"].to_string();
    assert_eq!(
        imported["skipped"].as_array().map(Vec::len),
        Some(2),
        "{imported}"
    );
    assert!(reasons.contains("AND domain-name:value"), "{reasons}");
    assert!(reasons.contains("`process`"), "{reasons}");

    let number = imported["number"].as_str().unwrap_or_default();
    let (st, case) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        case["case"]["title"],
        "ランサムウェア攻撃の共有: 請求書メール"
    );
    assert_eq!(case["case"]["source"], "sharing");
    let description = case["case"]["description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("受信した組織は C2 をブロックしてください。"),
        "{description}"
    );
    let mut got: Vec<(String, String, String, bool)> = case["observables"]
        .as_array()
        .map(|os| {
            os.iter()
                .map(|o| {
                    (
                        o["kind"].as_str().unwrap_or("").to_string(),
                        o["value"].as_str().unwrap_or("").to_string(),
                        o["tlp"].as_str().unwrap_or("").to_string(),
                        o["is_ioc"] == 1 || o["is_ioc"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    got.sort();
    let row =
        |k: &str, v: &str, t: &str, ioc: bool| (k.to_string(), v.to_string(), t.to_string(), ioc);
    assert_eq!(
        got,
        vec![
            row("domain", "c2.bad-actor.example", "green", true),
            row("filename", "O'Neil 請求書.exe", "amber", true),
            row("ip", "192.0.2.77", "green", false),
            row("ip", "198.51.100.23", "green", true),
            row(
                "sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "amber",
                true
            ),
        ],
        "{case}"
    );
}

#[tokio::test]
async fn a_bundle_from_the_stix2_library_becomes_a_case_sqlite() {
    a_bundle_from_the_stix2_library_becomes_a_case(Db::Sqlite).await;
}

#[tokio::test]
async fn a_bundle_from_the_stix2_library_becomes_a_case_postgres() {
    a_bundle_from_the_stix2_library_becomes_a_case(Db::Postgres).await;
}

/// One hikeshi shares with another: what the first lets out for a client partner arrives on the
/// second as a case with the same title, observables and markings, and the second's own
/// export of it passes the OASIS tools again.
#[tokio::test]
async fn a_share_from_one_hikeshi_arrives_on_another() {
    let (a, handler_a, _, number) = world(Db::Sqlite).await;
    let (st, sent) = bundle(&a, &handler_a, &number, "audience=client_partner").await;
    assert_eq!(st, StatusCode::OK, "{sent}");
    let b = TestServer::start(Db::Sqlite, "sharing_peer", &[]).await;
    b.add_user("ken", "handler");
    let handler_b = b.token("ken");
    let resp = b
        .req(Method::POST, "/api/v1/stix/import", Some(&handler_b))
        .body(sent.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let imported: Value = resp.json().await.expect("json");
    assert_eq!(imported["skipped"], json!([]), "{imported}");
    let arrived = imported["number"].as_str().unwrap_or_default().to_string();

    let (_, left) = a
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}/share?audience=client_partner"),
            &handler_a,
            None,
        )
        .await;
    let (_, case_b) = b
        .json(
            Method::GET,
            &format!("/api/v1/cases/{arrived}"),
            &handler_b,
            None,
        )
        .await;
    assert_eq!(case_b["case"]["title"], TITLE);
    let pairs = |items: &Value, tlp_key: &str| {
        let mut v: Vec<(String, String)> = items
            .as_array()
            .map(|os| {
                os.iter()
                    .map(|o| {
                        (
                            o["value"].as_str().unwrap_or("").to_string(),
                            o[tlp_key].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    // The registry hive is written out on the way (STIX wants HKEY_CURRENT_USER, not HKCU).
    let expected: Vec<(String, String)> = pairs(&left["leaving"], "tlp")
        .into_iter()
        .map(|(v, t)| (v.replace(r"HKCU\", r"HKEY_CURRENT_USER\"), t))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(pairs(&case_b["observables"], "tlp"), expected);

    let (st, again) = bundle(&b, &handler_b, &arrived, "audience=organisation").await;
    assert_eq!(st, StatusCode::OK, "{again}");
    let dir = temp_dir("sharing-peer");
    let file = dir.join("again.json");
    std::fs::write(&file, &again).expect("write");
    let v = &judge(std::slice::from_ref(&file))[file.display().to_string()];
    assert_eq!(v["messages"], json!([]), "{v}");
    assert_eq!(v["report_names"], json!([TITLE]), "{v}");
    let _ = std::fs::remove_dir_all(dir);
}

/// What a partner shared fires on live events at once, without a reload: an event that
/// contacts the shared C2 address becomes an indicator alert.
#[tokio::test]
async fn shared_indicators_fire_on_live_events() {
    let rules = temp_dir("sharing-rules");
    crate::common::live::write_rules(&rules);
    let rules_arg = rules.display().to_string();
    let s = TestServer::start(Db::Sqlite, "sharing_live", &["--rules", &rules_arg]).await;
    s.add_user("hana", "handler");
    let handler = s.token("hana");
    let event = json!({"Computer": "PC-KEIRI-01", "DestinationIp": "198.51.100.23", "Image": "C:\\Users\\x\\invoice.exe"});
    let send = || async {
        s.req(Method::POST, "/api/v1/events", Some(&handler))
            .body(event.to_string())
            .send()
            .await
            .expect("events")
            .json::<Value>()
            .await
            .expect("json")
    };
    let before = send().await;
    assert_eq!(before["hits"], 0, "nothing is shared yet: {before}");
    let resp = s
        .req(Method::POST, "/api/v1/stix/import", Some(&handler))
        .body(made_bundle())
        .send()
        .await
        .expect("import");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let after = send().await;
    assert_eq!(after["hits"], 1, "{after}");
    let (_, alerts) = s
        .json(
            Method::GET,
            "/api/v1/alerts?rule=ioc:ip:198.51.100.23",
            &handler,
            None,
        )
        .await;
    assert_eq!(alerts.as_array().map(Vec::len), Some(1), "{alerts}");
    assert_eq!(alerts[0]["level"], "high");
    let _ = std::fs::remove_dir_all(rules);
}

/// The same case as a MISP event: PyMISP loads it and changes no value hikeshi wrote, adding
/// only its documented defaults; TLP travels as `tlp:` tags; the gate decided the same way.
#[tokio::test]
async fn a_case_as_a_misp_event_loads_in_pymisp() {
    let (s, handler, viewer, number) = world(Db::Sqlite).await;
    let get = |token: &str, query: &str| {
        s.req(
            Method::GET,
            &format!("/api/v1/cases/{number}/misp?{query}"),
            Some(token),
        )
        .send()
    };
    assert_eq!(
        get(&viewer, "audience=partner")
            .await
            .expect("request")
            .status(),
        StatusCode::FORBIDDEN
    );
    let resp = get(&handler, "audience=community&include_summary=true")
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap_or_default();
    for held in [
        "red-canary-zz",
        "amber-only",
        "10.2.3.4",
        "example.jp",
        "pc-keiri-01",
        "taro",
    ] {
        assert!(!text.contains(held), "{held} left: {text}");
    }
    let dir = temp_dir("sharing-misp");
    let file = dir.join("event.json");
    std::fs::write(&file, &text).expect("write");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sharing/check_misp.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&file)
        .output()
        .expect("run check_misp.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let v = &verdicts[file.display().to_string()];
    assert_eq!(v["changed"], json!([]), "{v}");
    // What PyMISP adds on its own: documented defaults of events and attributes.
    let defaults = [
        "disable_correlation",
        "extends_uuid",
        "proposal_email_lock",
        "locked",
        "publish_timestamp",
        "sharing_group_id",
        "first_seen",
        "last_seen",
    ];
    for key in v["added"].as_array().into_iter().flatten() {
        let key = key.as_str().unwrap_or("");
        assert!(
            defaults.iter().any(|d| key.ends_with(d)),
            "PyMISP added `{key}`: {v}"
        );
    }
    assert_eq!(v["info"], TITLE);
    assert_eq!(v["tags"], json!(["tlp:green"]));
    let attributes = v["attributes"].as_array().cloned().unwrap_or_default();
    assert_eq!(attributes.len(), 11, "{v}");
    assert!(
        attributes.contains(&json!([
            "ip-dst",
            "Network activity",
            "203.0.113.7",
            true,
            ["tlp:green"]
        ])),
        "{v}"
    );
    assert!(
        attributes.contains(&json!([
            "md5",
            "Payload delivery",
            "098f6bcd4621d373cade4e832627b4f6",
            false,
            ["tlp:green"]
        ])),
        "{v}"
    );
    assert!(
        attributes.contains(&json!([
            "filename",
            "Payload delivery",
            "請求書_2026年11月.exe",
            true,
            ["tlp:green"]
        ])),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
