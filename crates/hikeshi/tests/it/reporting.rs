//! Management reporting through the API and the CLI: incident statistics against a 13-month
//! ledger whose counts and durations are worked out by hand below, the CISO dashboard with
//! its levels and audited overrides, the monthly report parsed back from its PDF and rendered
//! to pixels, the countermeasure map, the ATT&CK layer and the maturity self-check.

use crate::common::{vuls, Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Command;

const CATEGORIES: [&str; 3] = ["phishing_site", "scan", "targeted_attack"];
const SOURCES: [&str; 4] = ["form", "email", "soc", "detection"];

/// Month k (0 = 2025-01 … 12 = 2026-01) has k + 1 cases. Case j of a month is created on day
/// j + 1 at 10:00 JST; category cycles by j % 3, source by j % 4, severity is high for even j.
/// It is acknowledged after (j + 1) hours, contained after (j + 1) × 2 hours when j is even
/// (never when odd), resolved after (j + 1) days, with an SLA of 2 days. One more case is
/// created at 2026-02-01 00:30 JST, which is still January in UTC.
fn ledger() -> String {
    let mut out = String::from("ref,title,category,severity,status,phase,source,created_at,acknowledged_at,contained_at,resolved_at,sla_due_at,business_impact\n");
    let at = |year: i32, month: u32, day: u32, hour: i64| {
        let base = chrono::NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("date");
        (base + chrono::Duration::hours(hour))
            .format("%Y-%m-%dT%H:%M:%S+09:00")
            .to_string()
    };
    for k in 0..13u32 {
        let (year, month) = if k < 12 { (2025, k + 1) } else { (2026, 1) };
        for j in 0..=k as i64 {
            let day = j as u32 + 1;
            let contained = if j % 2 == 0 {
                at(year, month, day, (j + 1) * 2)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "L-{k}-{j},件名 {k}-{j},{},{},closed,post_incident,{},{},{},{},{},{},\"受注停止, {j} 時間\"\n",
                CATEGORIES[j as usize % 3],
                if j % 2 == 0 { "high" } else { "low" },
                SOURCES[j as usize % 4],
                at(year, month, day, 0),
                at(year, month, day, j + 1),
                contained,
                at(year, month, day, (j + 1) * 24),
                at(year, month, day, 48),
            ));
        }
    }
    out.push_str(
        "L-boundary,月境界,scan,low,new,detection_analysis,form,2026-02-01T00:30:00+09:00,,,,,\n",
    );
    out
}

fn row<'a>(stats: &'a Value, dimension: &str, code: &str) -> (i64, i64) {
    let b = stats["breakdowns"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["dimension"] == dimension))
        .unwrap_or_else(|| panic!("no {dimension} breakdown: {stats}"));
    let r: Option<&'a Value> = b["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["code"] == code));
    r.map_or((0, 0), |r| {
        (
            r["current"].as_i64().unwrap_or(-1),
            r["previous"].as_i64().unwrap_or(-1),
        )
    })
}

fn response(stats: &Value, measure: &str) -> (i64, i64, i64) {
    let r = stats["response"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["measure"] == measure))
        .unwrap_or_else(|| panic!("no {measure}: {stats}"));
    (
        r["cases"].as_i64().unwrap_or(-1),
        r["median_minutes"].as_i64().unwrap_or(-1),
        r["p90_minutes"].as_i64().unwrap_or(-1),
    )
}

async fn statistics_from_ledger(db: Db, name: &str) {
    let s = TestServer::start(db, name, &[]).await;
    s.add_user("boss", "manager");
    s.add_user("hana", "handler");
    let boss = s.token("boss");
    let hana = s.token("hana");
    let file = s.data_dir.join("ledger.csv");
    std::fs::write(&file, ledger()).expect("ledger file");
    let path = file.display().to_string();

    let (ok, out, err) = s.cli(&["import", "cases", &path, "--dry-run"], "");
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("92 cases would be created, 0 skipped"),
        "{out}"
    );

    // A handler may not rewrite history; a bad file names every bad cell and writes nothing.
    let post = |token: &str, body: String| {
        s.req(Method::POST, "/api/v1/cases/import", Some(token))
            .body(body)
            .send()
    };
    let r = post(&hana, ledger()).await.expect("import");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let bad = "title,category,severity,created_at,resolved_at\nok,scan,low,2026-01-05T10:00:00+09:00,\nbad,nosuch,low,yesterday,\nearly,scan,urgent,2026-01-05T10:00:00+09:00,2026-01-04T10:00:00+09:00\n";
    let r = post(&boss, bad.to_string()).await.expect("import");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.expect("json");
    let errors: Vec<(i64, String)> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap_or(0),
                e["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for expected in [
        (3, "category"),
        (3, "created_at"),
        (4, "severity"),
        (4, "resolved_at"),
    ] {
        assert!(
            errors.contains(&(expected.0, expected.1.to_string())),
            "{expected:?} in {errors:?}"
        );
    }
    assert!(v["created"].as_array().is_some_and(|c| c.is_empty()), "{v}");

    let r = post(&boss, ledger()).await.expect("import");
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["created"].as_array().map(Vec::len), Some(92), "{v}");
    // Numbers follow the year of the case's own date.
    assert_eq!(v["created"][0], "2025-0001");
    // 2025 has 1 + 2 + … + 12 = 78 cases.
    assert_eq!(v["created"][77], "2025-0078");
    assert_eq!(v["created"][78], "2026-0001");

    let (ok, out, err) = s.cli(&["import", "cases", &path], "");
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("0 cases created, 92 skipped"),
        "re-import skips: {out}"
    );

    // January 2026: 13 cases, j = 0..12.
    let (st, m) = s
        .json(
            Method::GET,
            "/api/v1/stats?period=month&at=2026-01",
            &hana,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["period"]["label"], "2026-01");
    assert_eq!(
        (m["total"].as_i64(), m["previous_total"].as_i64()),
        (Some(13), Some(12))
    );
    // j % 3 = 0: 0,3,6,9,12; 1: 1,4,7,10; 2: 2,5,8,11. December (j = 0..11): 4 each.
    assert_eq!(row(&m, "category", "phishing_site"), (5, 4));
    assert_eq!(row(&m, "category", "scan"), (4, 4));
    assert_eq!(row(&m, "category", "targeted_attack"), (4, 4));
    assert_eq!(row(&m, "severity", "high"), (7, 6));
    assert_eq!(row(&m, "severity", "low"), (6, 6));
    assert_eq!(row(&m, "source", "form"), (4, 3));
    assert_eq!(row(&m, "source", "email"), (3, 3));
    assert_eq!(row(&m, "source", "soc"), (3, 3));
    assert_eq!(row(&m, "source", "detection"), (3, 3));
    // Acknowledge: 60..780 minutes; nearest rank 7 of 13 is 420, rank 12 is 720.
    assert_eq!(response(&m, "acknowledge"), (13, 420, 720));
    // Contain (even j only): 120, 360, …, 1560; rank 4 of 7 is 840, rank 7 is 1560.
    assert_eq!(response(&m, "contain"), (7, 840, 1560));
    // Resolve: 1..13 days; rank 7 is 7 days, rank 12 is 12 days.
    assert_eq!(response(&m, "resolve"), (13, 7 * 1440, 12 * 1440));
    // SLA 2 days: resolved after 3 or more days breaches (j >= 2).
    assert_eq!(
        m["sla"],
        json!({"with_sla": 13, "breached": 11, "open_breached": 0})
    );
    let monthly: Vec<i64> = m["monthly"]
        .as_array()
        .expect("monthly")
        .iter()
        .map(|p| p[1].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(monthly, (1..=13).collect::<Vec<i64>>());
    assert_eq!(m["monthly"][0][0], "2025-01");
    let quarterly: Vec<(String, i64)> = m["quarterly"]
        .as_array()
        .expect("quarterly")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("").to_string(),
                p[1].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        quarterly,
        [
            ("2025-Q1", 6),
            ("2025-Q2", 15),
            ("2025-Q3", 24),
            ("2025-Q4", 33),
            ("2026-Q1", 13)
        ]
        .map(|(q, n)| (q.to_string(), n))
    );

    let (_, q) = s
        .json(
            Method::GET,
            "/api/v1/stats?period=quarter&at=2025-11",
            &hana,
            None,
        )
        .await;
    assert_eq!(q["period"]["label"], "2025-Q4");
    assert_eq!(
        (q["total"].as_i64(), q["previous_total"].as_i64()),
        (Some(33), Some(24))
    );
    // The case at 00:30 JST on 1 February belongs to February, not January.
    let (_, feb) = s
        .json(Method::GET, "/api/v1/stats?at=2026-02", &hana, None)
        .await;
    assert_eq!(
        (feb["total"].as_i64(), feb["previous_total"].as_i64()),
        (Some(1), Some(13))
    );

    let csv = s
        .req(
            Method::GET,
            "/api/v1/stats.csv?period=month&at=2026-01",
            Some(&hana),
        )
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text")
        .replace("\r\n", "\n");
    assert!(
        csv.starts_with("dimension,code,period,count,previous_period,previous_count\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\ncategory,phishing_site,2026-01,5,2025-12,4\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nacknowledge_minutes,cases=13,median,420,p90,720\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nsla,with_sla=13,breached,11,open_breached,0"),
        "{csv}"
    );

    let (st, e) = s
        .json(Method::GET, "/api/v1/stats?period=week", &hana, None)
        .await;
    assert_eq!(
        (st, &e["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("period")),
        "{e}"
    );
    let (st, e) = s
        .json(Method::GET, "/api/v1/stats?at=2026-13", &hana, None)
        .await;
    assert_eq!(
        (st, &e["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("at")),
        "{e}"
    );
}

#[tokio::test]
async fn statistics_from_a_13_month_ledger_sqlite() {
    statistics_from_ledger(Db::Sqlite, "stats").await;
}

#[tokio::test]
async fn statistics_from_a_13_month_ledger_postgres() {
    statistics_from_ledger(Db::Postgres, "stats").await;
}

const LATERAL_RULE: &str = "0b1c2d3e-0000-4000-8000-0000000000a1";

/// A high rule tagged lateral movement (suspicious) and a medium discovery rule (not).
fn write_rules(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("rules dir");
    std::fs::write(
        dir.join("psexec.yml"),
        format!("title: PsExec Service Start\nid: {LATERAL_RULE}\nlevel: high\ntags: [attack.lateral_movement, attack.t1021.002]\nlogsource: {{category: process_creation, product: windows}}\ndetection:\n  sel:\n    CommandLine|contains: 'psexec'\n  condition: sel\n"),
    )
    .expect("rule");
    std::fs::write(
        dir.join("netuser.yml"),
        "title: Account Discovery\nid: 0b1c2d3e-0000-4000-8000-0000000000a2\nlevel: medium\ntags: [attack.discovery, attack.t1087]\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    CommandLine|contains: 'net user'\n  condition: sel\n",
    )
    .expect("rule");
}

fn event(host: &str, user: &str, command: &str) -> String {
    json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host, "User": user, "CommandLine": command}).to_string()
}

fn card<'a>(d: &'a Value, kpi: &str) -> &'a Value {
    d["cards"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["kpi"] == kpi))
        .unwrap_or_else(|| panic!("no {kpi} card: {d}"))
}

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test-deps): {e}"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Renders the first page to PNG with pdftoppm, decodes it, and returns the share of dark
/// pixels: a blank page has none, a page of solid colour nearly all.
fn ink_on_first_page(pdf: &std::path::Path) -> f64 {
    let prefix = pdf.with_extension("page1");
    run(
        "pdftoppm",
        &[
            "-png",
            "-singlefile",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            &pdf.display().to_string(),
            &prefix.display().to_string(),
        ],
    );
    let file = std::path::PathBuf::from(format!("{}.png", prefix.display()));
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    assert!(
        info.width > 200 && info.height > 300,
        "page of {}×{}",
        info.width,
        info.height
    );
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let dark = pixels
        .chunks(channels)
        .filter(|p| {
            p.iter().take(3).map(|&v| u32::from(v)).sum::<u32>() < 128 * p.len().min(3) as u32
        })
        .count();
    dark as f64 / (pixels.len() / channels) as f64
}

async fn dashboard_and_monthly_report(db: Db, name: &str) {
    let rules = crate::common::temp_dir("reporting-rules");
    write_rules(&rules);
    let rules_arg = rules.display().to_string();
    let s = TestServer::start(db, name, &["--rules", &rules_arg]).await;
    s.add_user("boss", "manager");
    s.add_user("hana", "handler");
    let boss = s.token("boss");
    let hana = s.token("hana");

    let inventory = "name,kind,hostnames,department,value_c\nws-1,pc,WS-1,営業部,3\nws-2,pc,WS-2,営業部,3\ndb,server,SRV-DB,経理部,5\n";
    let r = s
        .req(Method::POST, "/api/v1/assets/import", Some(&hana))
        .body(inventory)
        .send()
        .await
        .expect("assets");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    // Three hosts run PsExec (high, lateral movement); two users on WS-1 list accounts (medium).
    let events = [
        event("WS-1", "CORP\\a", "psexec \\\\db cmd"),
        event("WS-2", "CORP\\a", "psexec \\\\db cmd"),
        // The EDR on the database server stopped this one.
        event("SRV-DB", "CORP\\a", "psexec \\\\ws-1 cmd").replace('}', ",\"action\":\"Blocked\"}"),
        event("WS-1", "CORP\\a", "net user /domain"),
        event("WS-1", "CORP\\b", "net user /domain"),
    ]
    .join("\n");
    let r = s
        .req(Method::POST, "/api/v1/events", Some(&hana))
        .body(events)
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .req(
            Method::POST,
            "/api/v1/imports/vulns?name=db.json",
            Some(&hana),
        )
        .body(vuls(
            "SRV-DB",
            "10.0.0.5",
            &[(
                "CVE-2024-0001",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "openssl",
            )],
        ))
        .send()
        .await
        .expect("vuls");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    // An incident under way and not contained yet.
    let (st, case) = s.json(Method::POST, "/api/v1/cases", &hana, Some(json!({"title": "PsExec の横展開", "severity": "high", "category": "targeted_attack", "business_impact": "経理システムを半日停止"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    let number = case["number"].as_str().expect("number").to_string();
    let (st, _) = s
        .json(
            Method::PATCH,
            &format!("/api/v1/cases/{number}"),
            &hana,
            Some(json!({"status": "triage"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for (kind, title) in [
        ("external_event", "同業他社でランサムウェア被害"),
        ("leaver", "営業部 退職者 2 名のアカウント"),
        ("intel", "JPCERT/CC 注意喚起"),
    ] {
        let (st, v) = s
            .json(
                Method::POST,
                "/api/v1/entries",
                &hana,
                Some(json!({"kind": kind, "title": title})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    // Decisions and plans are the CISO's.
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/entries",
            &hana,
            Some(json!({"kind": "decision", "title": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.json(Method::POST, "/api/v1/entries", &boss, Some(json!({"kind": "decision", "title": "EDR 導入予算の承認", "detail": "年額 500 万円"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/entries",
            &boss,
            Some(json!({"kind": "plan", "title": "標的型メール訓練"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    let (st, d) = s.json(Method::GET, "/api/v1/dashboard", &hana, None).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let month = d["month"].as_str().expect("month").to_string();
    // Attack: 3 high alerts + 1 external event = 4, between caution (1) and action (20).
    assert_eq!(
        (
            card(&d, "attack")["headline"].as_i64(),
            card(&d, "attack")["level"].as_i64()
        ),
        (Some(4), Some(2)),
        "{d}"
    );
    // Protect: the CVSS 9.8 finding.
    assert_eq!(
        (
            card(&d, "protect")["headline"].as_i64(),
            card(&d, "protect")["level"].as_i64()
        ),
        (Some(1), Some(2))
    );
    // Suspicious: 3 lateral-movement alerts + 1 incident not contained.
    assert_eq!(
        (
            card(&d, "suspicious")["headline"].as_i64(),
            card(&d, "suspicious")["level"].as_i64()
        ),
        (Some(4), Some(2))
    );
    // Indirect: the open leaver entry + the intelligence entry.
    assert_eq!(
        (
            card(&d, "indirect")["headline"].as_i64(),
            card(&d, "indirect")["level"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(card(&d, "attack")["previous_headline"], 0);
    let technical = |kpi: &str, key: &str| {
        card(&d, kpi)["technical"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["key"] == key))
            .map(|m| m["value"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        (
            technical("attack", "kpi.m.blocked"),
            technical("attack", "kpi.m.not_blocked")
        ),
        (json!("1"), json!("4"))
    );
    assert_eq!(
        d["departments"],
        json!([["営業部", 4], ["経理部", 1]]),
        "{d}"
    );
    assert_eq!(d["alerts_by_level"], json!([["high", 3], ["medium", 2]]));

    // Overrides: the CISO's, with a reason, audited.
    let o = json!({"month": month, "kpi": "attack", "level": 3, "reason": "取引先経由の攻撃が報道された", "remark": "取引先を狙う攻撃が続いています"});
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/dashboard/overrides",
            &hana,
            Some(o.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let mut no_reason = o.clone();
    no_reason["reason"] = json!(" ");
    let (st, e) = s
        .json(
            Method::POST,
            "/api/v1/dashboard/overrides",
            &boss,
            Some(no_reason),
        )
        .await;
    assert_eq!(
        (st, &e["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("reason")),
        "{e}"
    );
    let mut too_high = o.clone();
    too_high["level"] = json!(4);
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/dashboard/overrides",
            &boss,
            Some(too_high),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .json(Method::POST, "/api/v1/dashboard/overrides", &boss, Some(o))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, d) = s
        .json(
            Method::GET,
            &format!("/api/v1/dashboard?month={month}"),
            &hana,
            None,
        )
        .await;
    assert_eq!(
        (
            card(&d, "attack")["level"].as_i64(),
            card(&d, "attack")["computed_level"].as_i64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(card(&d, "attack")["override_in_force"]["author"], "boss");
    s.add_user("root", "admin");
    let root = s.token("root");
    let (_, audit) = s
        .json(Method::GET, "/api/v1/audit?object_type=kpi", &root, None)
        .await;
    assert!(
        audit.to_string().contains("取引先経由の攻撃が報道された"),
        "{audit}"
    );

    // The monthly report: JSON, HTML and PDF in both languages.
    let (st, j) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/monthly?month={month}&lang=en&format=json"),
            &hana,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{j}");
    assert_eq!(j["kpis"][0]["level_text"], "Action needed");
    assert_eq!(j["decisions"][0]["label"], "EDR 導入予算の承認");
    assert_eq!(j["incidents"][0]["impact"], "経理システムを半日停止");
    let html = s
        .req(
            Method::GET,
            &format!("/api/v1/reports/monthly?month={month}&lang=ja"),
            Some(&hana),
        )
        .send()
        .await
        .expect("html")
        .text()
        .await
        .expect("text");
    assert!(
        html.contains(&format!("月次セキュリティ報告 {month}")),
        "{html}"
    );
    assert!(html.contains("取引先を狙う攻撃が続いています"));
    let pdf_of = |lang: &'static str| {
        let url = format!("/api/v1/reports/monthly?month={month}&lang={lang}&format=pdf");
        let req = s.req(Method::GET, &url, Some(&hana));
        async move {
            let r = req.send().await.expect("pdf");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()["content-type"], "application/pdf");
            r.bytes().await.expect("bytes").to_vec()
        }
    };
    let ja = pdf_of("ja").await;
    assert!(ja.starts_with(b"%PDF-"));
    assert_eq!(ja, pdf_of("ja").await, "the same data gives the same PDF");
    let file = s.data_dir.join("report-ja.pdf");
    std::fs::write(&file, &ja).expect("write pdf");
    let text = String::from_utf8_lossy(&run(
        "pdftotext",
        &["-layout", &file.display().to_string(), "-"],
    ))
    .into_owned();
    assert!(
        text.contains(&format!("月次セキュリティ報告 {month}")),
        "{text}"
    );
    for expected in [
        "要対応",
        "注意",
        "攻撃の状況",
        "EDR 導入予算の承認",
        "経理システムを半日停止",
        "標的型メール訓練",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let ink = ink_on_first_page(&file);
    assert!(ink > 0.01 && ink < 0.5, "first page ink {ink}");
    let en = pdf_of("en").await;
    let file = s.data_dir.join("report-en.pdf");
    std::fs::write(&file, &en).expect("write pdf");
    let text = String::from_utf8_lossy(&run("pdftotext", &[&file.display().to_string(), "-"]))
        .into_owned();
    for expected in [
        format!("Monthly security report {month}"),
        "Action needed".into(),
        "Caution".into(),
        "Attack condition".into(),
    ] {
        assert!(text.contains(&expected), "{expected} in {text}");
    }
    // Issuing freezes the PDF under its hash: the same bytes as rendered on demand now, and
    // still the same after the data changes.
    let issue = json!({"month": month, "lang": "ja"});
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/reports/monthly/issue",
            &hana,
            Some(issue.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, issued) = s
        .json(
            Method::POST,
            "/api/v1/reports/monthly/issue",
            &boss,
            Some(issue),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{issued}");
    use sha2::Digest;
    assert_eq!(issued["sha256"], hex::encode(sha2::Sha256::digest(&ja)));
    let id = issued["id"].as_str().expect("id").to_string();
    let (st, _) = s
        .json(
            Method::POST,
            "/api/v1/cases",
            &hana,
            Some(json!({"title": "後から登録した事案", "category": "scan"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(pdf_of("ja").await, ja, "the report follows the data");
    let frozen = s
        .req(
            Method::GET,
            &format!("/api/v1/reports/monthly/issued/{id}"),
            Some(&hana),
        )
        .send()
        .await
        .expect("issued");
    assert_eq!(frozen.status(), StatusCode::OK);
    assert_eq!(
        frozen.bytes().await.expect("bytes").to_vec(),
        ja,
        "the issued report does not"
    );
    let (_, list) = s
        .json(Method::GET, "/api/v1/reports/monthly/issued", &hana, None)
        .await;
    assert_eq!(list[0]["id"], json!(id));
    let (_, audit) = s
        .json(
            Method::GET,
            "/api/v1/audit?object_type=monthly_report",
            &root,
            None,
        )
        .await;
    assert!(audit.to_string().contains(&id), "{audit}");
    for (query, field) in [
        ("format=docx", "format"),
        ("lang=fr", "lang"),
        ("month=2026-13", "month"),
    ] {
        let (st, e) = s
            .json(
                Method::GET,
                &format!("/api/v1/reports/monthly?{query}"),
                &hana,
                None,
            )
            .await;
        assert_eq!(
            (st, &e["error"]["field"]),
            (StatusCode::BAD_REQUEST, &json!(field)),
            "{query}: {e}"
        );
    }

    // Countermeasure map: registered controls, and Detect computed from what runs.
    let (st, e) = s.json(Method::POST, "/api/v1/controls", &hana, Some(json!({"name": "FW", "layer": "moat", "function": "protect", "effectiveness": "effective"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(e.to_string().contains("layer"), "{e}");
    for (n, layer, function, eff) in [
        ("境界FW", "network", "protect", "effective"),
        ("メール訓練", "awareness", "protect", "planned"),
        ("古いIDS", "network", "detect", "ineffective"),
    ] {
        let (st, v) = s.json(Method::POST, "/api/v1/controls", &hana, Some(json!({"name": n, "layer": layer, "function": function, "effectiveness": eff, "owner": "情報システム部"}))).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (_, map) = s.json(Method::GET, "/api/v1/coverage", &hana, None).await;
    let cell = |layer: &str, function: &str| {
        map["cells"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["layer"] == layer && c["function"] == function)
            })
            .map(|c| c["coverage"].clone())
            .unwrap_or_default()
    };
    assert_eq!(cell("network", "protect"), "covered");
    assert_eq!(cell("awareness", "protect"), "planned");
    assert_eq!(cell("network", "detect"), "none");
    // Two Windows process rules are enabled, both fired, and the HTTP source sends events.
    assert_eq!(cell("endpoint", "detect"), "covered", "{map}");
    assert_eq!(
        map["detect"]["endpoint"],
        json!({"rules_enabled": 2, "rules_fired_30d": 2})
    );
    assert!(
        map["active_sources"].as_array().is_some_and(|a| a
            .iter()
            .any(|s| s["source"].as_str().is_some_and(|n| n.starts_with("http")))),
        "{map}"
    );
    let gaps = map["gaps"].to_string();
    assert!(
        gaps.contains(r#"{"function":"detect","layer":"network","reason":"ineffective"}"#)
            || gaps.contains(r#""layer":"network","function":"detect","reason":"ineffective""#),
        "{gaps}"
    );
    let (_, layer) = s
        .json(Method::GET, "/api/v1/coverage/attack-layer", &hana, None)
        .await;
    assert_eq!(layer["domain"], "enterprise-attack");
    assert_eq!(layer["versions"]["layer"], "4.5");
    let techniques: Vec<(String, i64)> = layer["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap_or("").to_string(),
                t["score"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        techniques,
        [("T1021.002".to_string(), 1), ("T1087".to_string(), 1)]
    );

    // Maturity: checked ratings, areas, gaps largest first, history.
    let (st, e) = s.json(Method::POST, "/api/v1/maturity/assessments", &hana, Some(json!({"title": "2026 上期", "ratings": [{"service": "exercises", "as_is": 5, "to_be": 3, "sourcing": "in_house"}]}))).await;
    assert_eq!(
        (st, &e["error"]["field"]),
        (StatusCode::BAD_REQUEST, &json!("ratings[0].as_is")),
        "{e}"
    );
    let (st, a) = s.json(Method::POST, "/api/v1/maturity/assessments", &hana, Some(json!({"title": "2026 上期", "ratings": [
        {"service": "monitoring_detection", "as_is": 1, "to_be": 3, "sourcing": "outsourced"},
        {"service": "event_analysis", "as_is": 2, "to_be": 3, "sourcing": "in_house"},
        {"service": "exercises", "as_is": 0, "to_be": 3, "sourcing": "none", "notes": "未実施"}
    ]}))).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let gaps: Vec<&str> = a["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .filter_map(|g| g["service"].as_str())
        .collect();
    assert_eq!(
        gaps,
        ["exercises", "monitoring_detection", "event_analysis"]
    );
    assert_eq!(
        (
            a["areas"][0]["as_is"].as_f64(),
            a["areas"][0]["to_be"].as_f64()
        ),
        (Some(1.5), Some(3.0))
    );
    let (st, _) = s.json(Method::POST, "/api/v1/maturity/assessments", &hana, Some(json!({"title": "2026 下期", "ratings": [{"service": "exercises", "as_is": 2, "to_be": 3, "sourcing": "in_house"}]}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, m) = s.json(Method::GET, "/api/v1/maturity", &hana, None).await;
    assert_eq!(m["services"].as_array().map(Vec::len), Some(21));
    assert_eq!(m["assessments"].as_array().map(Vec::len), Some(2));
    assert_eq!(m["assessments"][1]["areas"][4]["as_is"].as_f64(), Some(2.0));
    let _ = std::fs::remove_dir_all(rules);
}

#[tokio::test]
async fn dashboard_overrides_and_monthly_pdf_sqlite() {
    dashboard_and_monthly_report(Db::Sqlite, "dashboard").await;
}

#[tokio::test]
async fn dashboard_overrides_and_monthly_pdf_postgres() {
    dashboard_and_monthly_report(Db::Postgres, "dashboard").await;
}

#[tokio::test]
async fn openapi_describes_reporting_routes() {
    let s = TestServer::start(Db::Sqlite, "reporting-openapi", &[]).await;
    let doc: Value = s
        .req(Method::GET, "/api/v1/openapi.json", None)
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for path in [
        "/api/v1/dashboard",
        "/api/v1/dashboard/overrides",
        "/api/v1/entries",
        "/api/v1/entries/{id}",
        "/api/v1/stats",
        "/api/v1/stats.csv",
        "/api/v1/controls",
        "/api/v1/controls/{id}",
        "/api/v1/coverage",
        "/api/v1/coverage/attack-layer",
        "/api/v1/maturity",
        "/api/v1/maturity/assessments",
        "/api/v1/maturity/assessments/{id}",
        "/api/v1/reports/monthly",
        "/api/v1/cases/import",
        "/api/v1/reports/monthly/issue",
        "/api/v1/reports/monthly/issued",
        "/api/v1/reports/monthly/issued/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
    assert!(
        doc["components"]["schemas"]["CreateCase"]["properties"]["business_impact"].is_object()
    );
}
