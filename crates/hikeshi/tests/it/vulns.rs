//! Assets and vulnerabilities: every Vuls result in the corpus imports; findings open, update,
//! get fixed and reopen across imports; KEV and EPSS raise an explained priority; bad reports
//! are refused whole with the file and field named.

use crate::common::{vuls, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CORPUS: &str = "../../../shared/corpus/vuls-results";

fn corpus_files() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the Vuls corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

async fn import(s: &TestServer, token: &str, name: &str, body: String) -> (StatusCode, Value) {
    let r = s
        .req(
            Method::POST,
            &format!("/api/v1/imports/vulns?name={name}"),
            Some(token),
        )
        .body(body)
        .send()
        .await
        .expect("import");
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

const CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MED: &str = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N";

async fn findings_lifecycle(db: Db, name: &str) {
    let s = TestServer::start(db, name, &[]).await;
    s.add_user("hana", "handler");
    s.add_user("boss", "manager");
    let token = s.token("hana");
    let manager = s.token("boss");

    // Every real Vuls result in the corpus goes in through the CLI.
    let mut args = vec!["import", "vuls"];
    let files = corpus_files();
    assert!(files.len() >= 9, "{files:?}");
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = s.cli(&args, "");
    assert!(ok, "{out}\n{err}");
    let (_, assets) = s.json(Method::GET, "/api/v1/assets", &token, None).await;
    let names: Vec<&str> = assets
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str())
        .collect();
    for expected in [
        "alpine_319",
        "amazon_2023",
        "debian_12",
        "rhel_90",
        "ubuntu_2204",
        "windows_10_22h2",
        "cpe_nvd",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(
        names.len(),
        files.len(),
        "one asset per server, even where lab VMs share 10.0.2.15"
    );
    let (_, ubuntu) = s
        .json(Method::GET, "/api/v1/assets/ubuntu_2204", &token, None)
        .await;
    assert_eq!(ubuntu["packages"].as_array().map(Vec::len), Some(671));
    assert_eq!(ubuntu["asset"]["os"], "ubuntu 22.04");
    assert_eq!(ubuntu["asset"]["ips"], json!(["192.168.0.175"]));

    // A scan with CVEs, through the API.
    let web01 = || {
        vuls(
            "web01",
            "192.0.2.10",
            &[
                ("CVE-2024-3400", CRIT, "pan-os"),
                ("CVE-2023-0001", MED, "openssl"),
                ("CVE-2022-1111", MED, "zlib"),
            ],
        )
    };
    let (st, r) = import(&s, &token, "web01.json", web01()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["hosts"][0]["opened"].as_i64(),
            r["hosts"][0]["asset_created"].as_bool()
        ),
        (Some(3), Some(true))
    );
    import(
        &s,
        &token,
        "db01.json",
        vuls("db01", "192.0.2.11", &[("CVE-2024-3400", CRIT, "pan-os")]),
    )
    .await;
    let (_, which) = s
        .json(
            Method::GET,
            "/api/v1/findings?cve=cve-2024-3400",
            &token,
            None,
        )
        .await;
    let hosts: Vec<&str> = which
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["asset_name"].as_str())
        .collect();
    assert_eq!(hosts.len(), 2, "which assets have CVE-2024-3400: {which}");
    assert_eq!(
        which[0]["cvss3_score"], 9.8,
        "the score is computed from the vector"
    );

    // KEV and exposure raise the priority, and the reasons say so.
    let kev = json!({"title": "CISA KEV", "vulnerabilities": [{"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12", "knownRansomwareCampaignUse": "Unknown"}]});
    let (st, _) = s
        .json(Method::POST, "/api/v1/intel/kev", &token, Some(kev.clone()))
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "handlers do not load intelligence"
    );
    let (st, loaded) = s
        .json(Method::POST, "/api/v1/intel/kev", &manager, Some(kev))
        .await;
    assert_eq!((st, loaded["entries"].as_i64()), (StatusCode::OK, Some(1)));
    let epss = "#model_version:v2025.03.14,score_date:2026-11-27T00:00:00+0000\ncve,epss,percentile\nCVE-2024-3400,0.94,0.999\nCVE-2023-0001,0.01,0.5\n";
    let r = s
        .req(Method::POST, "/api/v1/intel/epss", Some(&manager))
        .body(epss)
        .send()
        .await
        .expect("epss");
    assert_eq!(r.status(), StatusCode::OK);
    let mut web = s
        .json(Method::GET, "/api/v1/assets/web01", &token, None)
        .await
        .1["asset"]
        .clone();
    web["internet_facing"] = json!(true);
    web["value_c"] = json!(5);
    let id = web["id"].as_str().unwrap_or_default().to_string();
    let body: serde_json::Map<String, Value> = web
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !["id", "created_at", "updated_at"].contains(&k.as_str()))
        .collect();
    let (st, e) = s
        .json(
            Method::PUT,
            &format!("/api/v1/assets/{id}"),
            &token,
            Some(Value::Object(body)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (_, queue) = s
        .json(
            Method::GET,
            "/api/v1/findings?kev=true&internet_facing=true",
            &token,
            None,
        )
        .await;
    assert_eq!(queue.as_array().map(Vec::len), Some(1), "{queue}");
    assert_eq!(queue[0]["asset_name"], "web01");
    assert_eq!(queue[0]["priority"], 100);
    let why = queue[0]["explanation"].as_str().unwrap_or_default();
    for part in [
        "internet-facing (+20)",
        "KEV CVE-2024-3400 (+25)",
        "CVSS v3 9.8 (+29)",
        "EPSS 0.94 (+14)",
        "asset value 5 (production) (+20)",
    ] {
        assert!(why.contains(part), "{part} in {why}");
    }
    let (_, all) = s.json(Method::GET, "/api/v1/findings", &token, None).await;
    let order: Vec<(String, i64)> = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["asset_name"].as_str().unwrap_or("").to_string(),
                f["priority"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0].1 >= w[1].1),
        "highest priority first: {order:?}"
    );
    assert_eq!(order[0].0, "web01");

    // A re-import without one CVE marks it fixed; its return reopens it.
    let (_, r) = import(
        &s,
        &token,
        "web01.json",
        vuls(
            "web01",
            "192.0.2.10",
            &[
                ("CVE-2024-3400", CRIT, "pan-os"),
                ("CVE-2023-0001", MED, "openssl"),
            ],
        ),
    )
    .await;
    assert_eq!(
        (
            r["hosts"][0]["updated"].as_i64(),
            r["hosts"][0]["fixed"].as_i64(),
            r["hosts"][0]["asset_created"].as_bool()
        ),
        (Some(2), Some(1), Some(false)),
        "{r}"
    );
    let (_, fixed) = s
        .json(Method::GET, "/api/v1/findings?status=fixed", &token, None)
        .await;
    assert_eq!(fixed[0]["cve_id"], "CVE-2022-1111");
    assert!(fixed[0]["fixed_at"].as_i64().is_some());
    let (_, r) = import(&s, &token, "web01.json", web01()).await;
    assert_eq!(r["hosts"][0]["reopened"].as_i64(), Some(1), "{r}");

    // Bad reports are refused whole, with the file and the field.
    let before = s
        .json(Method::GET, "/api/v1/assets", &token, None)
        .await
        .1
        .as_array()
        .map(Vec::len);
    let v3 = vuls("web99", "192.0.2.99", &[]).replace("\"jsonVersion\":4", "\"jsonVersion\":3");
    let (st, e) = import(&s, &token, "old.json", v3).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "jsonVersion");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("old.json: jsonVersion"),
        "{e}"
    );
    let bad = vuls(
        "web98",
        "192.0.2.98",
        &[
            ("CVE-2024-0001", MED, "a"),
            (
                "CVE-2024-0002",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:X/A:H",
                "b",
            ),
        ],
    );
    let (st, e) = import(&s, &token, "broken.json", bad).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let msg = e["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("broken.json")
            && msg.contains("scannedCves.CVE-2024-0002.cveContents.nvd[0].cvss3Vector")
            && msg.contains("CVSS I"),
        "{msg}"
    );
    let (st, e) = import(&s, &token, "ip.json", vuls("web97", "not-an-ip", &[])).await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ipv4Addrs[0]"))
    );
    let after = s
        .json(Method::GET, "/api/v1/assets", &token, None)
        .await
        .1
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "nothing of a refused report was written");

    // Trivy and CSV reports.
    let trivy = json!({"SchemaVersion": 2, "ArtifactName": "registry.example.jp/shop:1.4", "ArtifactType": "container_image",
        "Results": [{"Target": "shop", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-2024-3094", "PkgName": "xz-utils", "InstalledVersion": "5.6.0", "FixedVersion": "5.6.1", "Status": "fixed",
             "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "V3Score": 10.0}}},
            {"VulnerabilityID": "CVE-2025-0001", "PkgName": "libfoo", "FixedVersion": "1.1",
             "CVSS": {"ghsa": {"V40Vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}},
            {"VulnerabilityID": "GHSA-xxxx-yyyy-zzzz", "PkgName": "left-pad"}]}]});
    let (st, r) = import(&s, &token, "trivy.json", trivy.to_string()).await;
    assert_eq!(
        (st, r["hosts"][0]["opened"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{r}"
    );
    let (_, v4) = s
        .json(
            Method::GET,
            "/api/v1/findings?cve=CVE-2025-0001",
            &token,
            None,
        )
        .await;
    assert_eq!(
        v4[0]["cvss4_score"], 9.3,
        "CVSS v4.0 computed from the vector: {v4}"
    );
    assert!(
        v4[0]["explanation"]
            .as_str()
            .unwrap_or("")
            .contains("CVSS v4 9.3 (+28)"),
        "{v4}"
    );
    let bad4 = trivy
        .to_string()
        .replace("VC:H/VI:H/VA:H/SC:N", "VC:H/VI:H/VA:Q/SC:N");
    let (st, e) = import(&s, &token, "trivy4.json", bad4).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Results[0].Vulnerabilities[1].CVSS.ghsa.V40Vector: CVSS VA"),
        "{e}"
    );
    let (_, xz) = s
        .json(
            Method::GET,
            "/api/v1/findings?cve=CVE-2024-3094",
            &token,
            None,
        )
        .await;
    assert_eq!(
        (xz[0]["cvss3_score"].as_f64(), xz[0]["fixed_in"].as_str()),
        (Some(10.0), Some("5.6.1"))
    );
    let csv = "asset,cve,package,fixed_in\nfileserver,CVE-2021-44228,log4j,2.17.1\nfileserver,CVE-2021-45046,log4j,2.17.1\nprinter-3f,CVE-2021-44228,,\n";
    let (st, r) = import(&s, &token, "list.csv", csv.to_string()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["hosts"].as_array().map(Vec::len), Some(2));
    let (st, e) = import(
        &s,
        &token,
        "list.csv",
        "asset,cve\nfileserver,log4shell\n".into(),
    )
    .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("line 2, cve"))
    );
}

#[tokio::test]
async fn findings_lifecycle_on_sqlite() {
    findings_lifecycle(Db::Sqlite, "vulns").await;
}

#[tokio::test]
async fn findings_lifecycle_on_postgres() {
    findings_lifecycle(Db::Postgres, "vulns").await;
}

#[tokio::test]
async fn cli_refuses_oversized_reports_and_duplicate_servers() {
    let s = TestServer::start(Db::Sqlite, "vulns-cli", &[]).await;
    let dir = crate::common::temp_dir("vulns-cli-files");
    // A 500 MB report (sparse: nothing is written to disk) is refused before it is read.
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(500 * 1024 * 1024))
        .expect("sparse file");
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    std::fs::write(
        &a,
        vuls("dup01", "192.0.2.20", &[("CVE-2024-0001", MED, "x")]),
    )
    .expect("a");
    std::fs::write(&b, vuls("dup01", "192.0.2.20", &[])).expect("b");
    let (ok, out, err) = s.cli(
        &[
            "import",
            "vuls",
            &huge.display().to_string(),
            &a.display().to_string(),
            &b.display().to_string(),
        ],
        "",
    );
    assert!(!ok, "some files were refused: {out}");
    assert!(err.contains("huge.json") && err.contains("limit"), "{err}");
    assert!(
        err.contains("b.json") && err.contains("dup01") && err.contains("a.json"),
        "{err}"
    );
    assert!(
        out.contains("dup01 (new asset)") && out.contains("1 findings new"),
        "a.json still went in: {out}"
    );
}

#[tokio::test]
async fn alerts_are_weighed_by_the_assets_they_hit() {
    let rules = crate::common::temp_dir("vulns-rules");
    std::fs::write(
        rules.join("panos.yml"),
        "title: PAN-OS GlobalProtect Exploitation\nid: 0b1c2d3e-0000-4000-8000-0000000000c1\nlevel: high\ntags: [attack.initial-access, cve.2024-3400]\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri-query|contains: 'SESSID=../../'\n  condition: sel\n",
    )
    .expect("rule");
    let s = TestServer::start(
        Db::Sqlite,
        "vulns-alerts",
        &["--rules", &rules.display().to_string()],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    import(
        &s,
        &token,
        "fw.json",
        vuls(
            "fw01.corp.example.jp",
            "192.0.2.1",
            &[("CVE-2024-3400", CRIT, "pan-os")],
        ),
    )
    .await;
    let (_, fw) = s
        .json(
            Method::GET,
            "/api/v1/assets/fw01.corp.example.jp",
            &token,
            None,
        )
        .await;
    let mut body = fw["asset"].as_object().cloned().unwrap_or_default();
    for k in ["id", "created_at", "updated_at"] {
        body.remove(k);
    }
    body.insert("internet_facing".into(), json!(true));
    body.insert("value_a".into(), json!(5));
    let id = fw["asset"]["id"].as_str().unwrap_or_default().to_string();
    let (st, e) = s
        .json(
            Method::PUT,
            &format!("/api/v1/assets/{id}"),
            &token,
            Some(Value::Object(body)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    // A branch network registered by range.
    let (st, e) = s
        .json(Method::POST, "/api/v1/assets", &token, Some(json!({"name": "branch-osaka", "kind": "network_device", "ips": ["198.51.100.0/24"], "environment": "production", "value_c": 2, "value_i": 2, "value_a": 4})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(json!({"name": "x", "kind": "toaster"})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("asset_kind")),
        "{e}"
    );
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(json!({"name": "y", "ips": ["10.0.0.300"]})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ips")),
        "{e}"
    );

    // The same rule fires on the firewall (short host name in the event) and on an unknown host.
    let events = [
        json!({"host": {"name": "FW01"}, "source": {"ip": "198.51.100.7"}, "http": {"request": {"method": "GET"}}, "url": {"original": "/ssl-vpn/hipreport.esp", "query": "SESSID=../../../var/appweb/sslvpndocs/global-protect/portal/images/poc.txt"}}),
        json!({"host": {"name": "lab-pc"}, "http": {"request": {"method": "GET"}}, "url": {"original": "/x", "query": "SESSID=../../tmp/x"}}),
    ];
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();
    let r = s
        .req(Method::POST, "/api/v1/events", Some(&token))
        .body(body)
        .send()
        .await
        .expect("events");
    let st = r.status();
    let out: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (st, out["hits"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{out}"
    );
    let (_, alerts) = s
        .json(Method::GET, "/api/v1/alerts?sort=priority", &token, None)
        .await;
    let first = &alerts[0];
    assert_eq!(first["host"], "FW01", "{alerts}");
    assert_eq!(
        first["assets"],
        json!(["branch-osaka", "fw01.corp.example.jp"])
    );
    let why = first["explanation"].as_str().unwrap_or("");
    for part in [
        "rule level high (+30)",
        "fw01.corp.example.jp: internet-facing (+20)",
        "CVE-2024-3400 open on fw01.corp.example.jp (+25)",
        "fw01.corp.example.jp: asset value 5 (production) (+20)",
    ] {
        assert!(why.contains(part), "{part} in {why}");
    }
    assert_eq!(first["priority"], 95);
    assert_eq!(alerts[1]["explanation"], "rule level high (+30)");
    assert_eq!(alerts[1]["assets"], json!([]));

    // Expected damage ranks the firewall first: value 5 × impact 4.9 × (1 + one alert).
    let (_, ranking) = s
        .json(Method::GET, "/api/v1/assets/risk", &token, None)
        .await;
    assert_eq!(
        ranking[0]["asset_name"], "fw01.corp.example.jp",
        "{ranking}"
    );
    assert_eq!(
        (
            ranking[0]["value"].as_i64(),
            ranking[0]["impact"].as_f64(),
            ranking[0]["frequency"].as_i64()
        ),
        (Some(5), Some(4.9), Some(2))
    );
    assert_eq!(ranking[0]["expected_damage"], 49.0);
    let (_, detail) = s
        .json(
            Method::GET,
            "/api/v1/assets/fw01.corp.example.jp",
            &token,
            None,
        )
        .await;
    assert_eq!(detail["alerts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn kev_on_an_internet_facing_asset_opens_one_case() {
    let dir = crate::common::temp_dir("vulns-auto");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        "[vulns]\nauto_case = { kev = true, internet_facing = true }\n[risk]\ninternet_facing = 30.0\nkev = 40.0\n",
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "vulns-auto",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("boss", "manager");
    let token = s.token("boss");
    let (st, e) = s
        .json(Method::POST, "/api/v1/assets", &token, Some(json!({"name": "web01", "hostnames": ["web01"], "internet_facing": true, "administrator": "kenji@example.jp", "department": "EC事業部"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let report = vuls(
        "web01",
        "192.0.2.10",
        &[
            ("CVE-2024-3400", CRIT, "pan-os"),
            ("CVE-2023-0001", MED, "openssl"),
        ],
    );
    let (_, r) = import(&s, &token, "web01.json", report.clone()).await;
    assert_eq!(
        r["hosts"][0]["asset_created"], false,
        "matched by host name: {r}"
    );
    assert_eq!(r["cases_opened"], json!([]), "not in KEV yet");
    let kev = json!({"vulnerabilities": [{"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12"}]});
    let (st, _) = s
        .json(Method::POST, "/api/v1/intel/kev", &token, Some(kev.clone()))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, cases) = s
        .json(Method::GET, "/api/v1/cases?q=CVE-2024-3400", &token, None)
        .await;
    assert_eq!(cases["total"], 1, "{cases}");
    let number = cases["items"][0]["number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, detail) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &token,
            None,
        )
        .await;
    assert_eq!(detail["case"]["title"], "[vuln] CVE-2024-3400 on web01");
    assert_eq!(detail["case"]["category"], "vulnerability");
    assert_eq!(detail["case"]["severity"], "critical");
    assert_eq!(
        detail["tasks"][0]["title"],
        "Update pan-os to 9.9.9 on web01"
    );
    // The weights come from `[risk]` in the config file.
    let (_, f) = s
        .json(
            Method::GET,
            "/api/v1/findings?cve=CVE-2024-3400",
            &token,
            None,
        )
        .await;
    let why = f[0]["explanation"].as_str().unwrap_or("");
    assert!(
        why.contains("internet-facing (+30)") && why.contains("KEV CVE-2024-3400 (+40)"),
        "{why}"
    );
    let (_, mail) = s.json(Method::GET, "/api/v1/mail", &token, None).await;
    let to_kenji = mail
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["to_addr"] == "kenji@example.jp")
        .count();
    assert_eq!(to_kenji, 1, "{mail}");
    // Idempotent: a re-import and a second KEV load open nothing more.
    let (_, r) = import(&s, &token, "web01.json", report).await;
    assert_eq!(r["cases_opened"], json!([]));
    s.json(Method::POST, "/api/v1/intel/kev", &token, Some(kev))
        .await;
    let (_, cases) = s
        .json(Method::GET, "/api/v1/cases?q=CVE-2024-3400", &token, None)
        .await;
    assert_eq!(cases["total"], 1);
}

#[tokio::test]
async fn asset_inventory_round_trips_through_csv_with_a_dry_run() {
    let s = TestServer::start(Db::Sqlite, "assets-csv", &[]).await;
    s.add_user("boss", "manager");
    let token = s.token("boss");
    let csv = "name,kind,hostnames,ips,administrator,department,environment,internet_facing,value_c,value_i,value_a,tags,data_held\n\
        web01,server,web01.corp.example.jp;web01,192.0.2.10,kenji,EC事業部,production,true,4,4,5,ec;public,顧客の注文情報\n\
        \"hr-saas\",saas_account,,,hanako,人事部,production,false,5,3,2,,\"社員の個人情報, 給与\"\n";
    let post = |path: &str, body: String| s.req(Method::POST, path, Some(&token)).body(body).send();
    let r = post("/api/v1/assets/import?dry_run=true", csv.to_string())
        .await
        .expect("dry run");
    assert_eq!(r.status(), StatusCode::OK);
    let plan: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (plan["dry_run"].as_bool(), plan["created"].clone()),
        (Some(true), json!(["web01", "hr-saas"]))
    );
    let (_, none) = s.json(Method::GET, "/api/v1/assets", &token, None).await;
    assert_eq!(none, json!([]), "a dry run writes nothing");
    let r = post("/api/v1/assets/import", csv.to_string())
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::OK);
    let (_, hr) = s
        .json(Method::GET, "/api/v1/assets/hr-saas", &token, None)
        .await;
    assert_eq!(hr["asset"]["data_held"], "社員の個人情報, 給与");
    assert_eq!(hr["asset"]["kind"], "saas_account");

    // Export, change one cell, import: one update, one unchanged.
    let exported = s
        .req(Method::GET, "/api/v1/assets.csv", Some(&token))
        .send()
        .await
        .expect("export")
        .text()
        .await
        .unwrap_or_default();
    assert!(exported.starts_with("name,kind,hostnames,ips,cloud_ids,macs,administrator,department,location,environment,internet_facing,value_c,value_i,value_a,tags,data_held,os"), "{exported}");
    let changed = exported.replace(",kenji,", ",tanaka,");
    let plan: Value = post("/api/v1/assets/import?dry_run=true", changed.clone())
        .await
        .expect("dry")
        .json()
        .await
        .unwrap_or(Value::Null);
    assert_eq!(
        (plan["updated"].clone(), plan["unchanged"].clone()),
        (json!(["web01"]), json!(["hr-saas"])),
        "{plan}"
    );

    // One bad cell refuses the file, naming line and column; nothing is written.
    let bad = format!("{changed}db01,server,,10.0.0.300,,,,,,production,maybe,9,1,1,,,\n");
    let r = post("/api/v1/assets/import", bad).await.expect("bad");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let plan: Value = r.json().await.unwrap_or(Value::Null);
    let problems: Vec<(i64, String)> = plan["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["line"].as_i64().unwrap_or(0),
                e["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (4, "internet_facing".to_string()),
            (4, "value_c".to_string())
        ],
        "{plan}"
    );
    let (_, web) = s
        .json(Method::GET, "/api/v1/assets/web01", &token, None)
        .await;
    assert_eq!(
        web["asset"]["administrator"], "kenji",
        "nothing of the refused file was applied"
    );
    // Deleting: managers may, handlers may not; it is gone afterwards.
    let id = web["asset"]["id"].as_str().unwrap_or_default().to_string();
    s.add_user("hana", "handler");
    let handler = s.token("hana");
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/v1/assets/{id}"),
            &handler,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .json(
            Method::DELETE,
            &format!("/api/v1/assets/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .json(Method::GET, "/api/v1/assets/web01", &token, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Serves fixed bodies by path over plain HTTP on loopback, as a stand-in for CISA and FIRST.
async fn feed_server(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            let mut buf = vec![0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.clone());
            let head = match &body {
                Some(b) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = conn.write_all(head.as_bytes()).await;
            if let Some(b) = body {
                let _ = conn.write_all(&b).await;
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn kev_and_epss_are_fetched_from_configured_urls() {
    use std::io::Write;
    let kev = json!({"vulnerabilities": [{"cveID": "CVE-2024-3400", "dateAdded": "2024-04-12"}]})
        .to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"#model_version:v2025.03.14\ncve,epss,percentile\nCVE-2024-3400,0.94,0.999\n")
        .expect("gzip");
    let epss = gz.finish().expect("gzip");
    let base = feed_server(vec![
        ("/kev.json", kev.into_bytes()),
        ("/epss.csv.gz", epss),
    ])
    .await;
    let dir = crate::common::temp_dir("vulns-feeds");
    let config = dir.join("hikeshi.toml");
    std::fs::write(&config, format!("[vulns]\nkev_url = \"{base}/kev.json\"\nepss_url = \"{base}/epss.csv.gz\"\nrefresh_hours = 0.0005\n")).expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "vulns-feeds",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    import(
        &s,
        &token,
        "web01.json",
        vuls("web01", "192.0.2.10", &[("CVE-2024-3400", CRIT, "pan-os")]),
    )
    .await;
    // The feed is read again every couple of seconds here; the finding picks it up.
    crate::common::live::wait_for(
        "KEV and EPSS from the feeds",
        std::time::Duration::from_secs(30),
        || async {
            let (_, f) = s
                .json(
                    Method::GET,
                    "/api/v1/findings?cve=CVE-2024-3400",
                    &token,
                    None,
                )
                .await;
            f[0]["kev"] == 1 && f[0]["epss"] == 0.94
        },
    )
    .await;
}

#[tokio::test]
async fn a_report_about_one_of_our_addresses_shows_the_asset() {
    let s = TestServer::start(Db::Sqlite, "vulns-report", &[]).await;
    s.add_user("hana", "handler");
    let token = s.token("hana");
    let (st, _) = s
        .json(Method::POST, "/api/v1/assets", &token, Some(json!({"name": "shop-web", "ips": ["203.0.113.0/28"], "hostnames": ["shop.example.jp"]})))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, r) = s
        .json(Method::POST, "/api/v1/reports", &token, Some(json!({"subject": "Scan from your server", "body": "Your host 203.0.113.5 (shop.example.jp) is scanning us."})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let tracking = r["tracking"].as_str().unwrap_or_default().to_string();
    let page = s
        .req(Method::GET, &format!("/reports/{tracking}"), Some(&token))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    let list = page.split("id=\"report-assets\"").nth(1).unwrap_or("");
    let spec: Value = s
        .req(Method::GET, "/api/v1/openapi.json", None)
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("json");
    for p in [
        "/api/v1/assets",
        "/api/v1/findings",
        "/api/v1/imports/vulns",
        "/api/v1/assets/import",
        "/api/v1/intel/kev",
    ] {
        assert!(spec["paths"].get(p).is_some(), "openapi lacks {p}");
    }
    assert!(
        list.contains("shop-web"),
        "the report page names the asset: {}",
        &page[..page.len().min(2000)]
    );
}
