//! Management reporting through the API and the CLI: incident statistics against a 13-month
//! ledger whose counts and durations are worked out by hand below, the CISO dashboard with
//! its levels and audited overrides, the monthly report parsed back from its PDF and rendered
//! to pixels, the countermeasure map, the ATT&CK layer and the maturity self-check.

mod common;

use common::{Db, TestServer};
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
