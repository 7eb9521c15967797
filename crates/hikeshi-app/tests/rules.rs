//! The app crate's rules tested in-process, on SQLite and on PostgreSQL: one team clock for
//! every way a case is opened, titles under the case rule, and triage decisions that cannot
//! half-happen.

use hikeshi_app::cases::{self, CreateCaseInput};
use hikeshi_app::config::AppConfig;
use hikeshi_app::intake::{self, ReportInput};
use hikeshi_app::live::{grouping, GroupingRule, Live, LiveEngine, LiveSettings};
use hikeshi_app::vulns::actions::AutoCase;
use hikeshi_app::{App, Clock, Lang, Who};
use hikeshi_model::{ReportSource, Role};
use hikeshi_store::{CaseFilter, NewHit, Store};

const JA: intake::CarryOver = intake::CarryOver {
    lang: Lang::Ja,
    include_reporter: false,
};

/// 2026-12-31T23:30:00Z: 18:30 on New Year's Eve in New York, 2027 already in Tokyo.
const NEW_YEARS_EVE: i64 = 1_798_759_800_000;

#[derive(Clone, Copy, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

async fn store_on(db: Db, name: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("hikeshi-app-{name}-{}", hikeshi_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = match db {
        Db::Sqlite => Store::open_sqlite(&dir).await.expect("sqlite"),
        Db::Postgres => {
            let url = hikeshi_store::scratch::create_scratch_postgres(
                &hikeshi_store::scratch::test_postgres_admin_url(),
                &format!("hikeshi_app_{name}"),
            )
            .await
            .expect("PostgreSQL must be running for the PostgreSQL tests (HIKESHI_TEST_POSTGRES)");
            Store::connect(&url).await.expect("postgres")
        }
    };
    store.migrate().await.expect("migrate");
    (store, dir)
}

/// An app whose team is at UTC−5, with its clock stopped at `now`.
async fn app_at(db: Db, name: &str, now: i64) -> App {
    let (store, dir) = store_on(db, name).await;
    let mut config = AppConfig {
        data_dir: dir,
        ..AppConfig::default()
    };
    config.reporting.utc_offset = "-05:00".into();
    App::with_clock(store, config, Clock::fixed(now))
}

fn handler() -> Who {
    Who::user("hana", Role::Handler, Some(Lang::Ja))
}

fn hit(rule_title: &str, host: &str, n: usize) -> NewHit {
    NewHit {
        hit_key: format!("test:{host}:{n}"),
        dedup_key: format!("rule-1|{host}|"),
        rule_id: "rule-1".into(),
        rule_title: rule_title.into(),
        level: "high".into(),
        tags: String::new(),
        source: "test".into(),
        host: host.into(),
        user_name: String::new(),
        src_ip: "198.51.100.7".into(),
        dst_ip: String::new(),
        event_json: "{}".into(),
        seen_at: hikeshi_store::now_ms(),
        suppression_id: None,
        blocked: false,
    }
}

/// A pipeline with no rules, for driving grouping with alerts written straight to the store.
fn live_for(app: &App) -> std::sync::Arc<Live> {
    let detector =
        hikeshi_detect::Detector::new(Vec::new(), &hikeshi_detect::WindowsMapping::builtin());
    let settings = LiveSettings {
        grouping: vec![GroupingRule {
            by: hikeshi_app::live::GroupBy::Host,
            window_hours: 24,
            min_level: "high".into(),
        }],
        ..LiveSettings::default()
    };
    Live::new(app.clone(), LiveEngine::new(detector), None, settings)
}

async fn grouped_case(app: &App, rule_title: &str) -> hikeshi_store::Case {
    let recorded = app
        .store
        .record_hits(&[hit(rule_title, "web01", 1)], 3_600_000)
        .await
        .expect("hits");
    let live = live_for(app);
    assert_eq!(
        grouping::group_new_alerts(&live, &recorded.created).await,
        1
    );
    let list = app
        .store
        .list_cases(&CaseFilter {
            tag: Some("alert".into()),
            limit: 10,
            ..CaseFilter::default()
        })
        .await
        .expect("cases");
    assert_eq!(list.items.len(), 1, "one case for the grouped alert");
    list.items.into_iter().next().expect("a case")
}

async fn every_way_a_case_opens_in_the_teams_year(db: Db) {
    let app = app_at(db, "newyear", NEW_YEARS_EVE).await;
    let who = handler();
    // The API and the UI.
    let by_api = cases::open(
        &app,
        &who,
        CreateCaseInput {
            title: "API".into(),
            ..CreateCaseInput::default()
        },
        Lang::En,
    )
    .await
    .expect("API case");
    // Intake: a report triaged into a case.
    let report = intake::submit_report(
        &app,
        ReportInput {
            subject: "不審なメール".into(),
            body: "https://login-example.jp/ を見つけました".into(),
            ..ReportInput::default()
        },
        ReportSource::Form,
        "192.0.2.1",
        Vec::new(),
        "public",
    )
    .await
    .expect("report");
    let by_intake = intake::create_case_from_report(&app, &who, &report.tracking, JA)
        .await
        .expect("intake case");
    // Grouping.
    let by_grouping = grouped_case(&app, "Suspicious logon").await;
    // The vulnerability rule.
    let csv = "asset,cve,package,fixed_in\nweb01,CVE-2024-3400,pan-os,11.1.2\n";
    for scan in hikeshi_app::vulns::csv_import::parse("findings.csv", csv.as_bytes()).expect("csv")
    {
        app.store
            .import_scan(&scan, &who.actor())
            .await
            .expect("import");
    }
    let kev = r#"{"vulnerabilities":[{"cveID":"CVE-2024-3400","dateAdded":"2024-04-12","knownRansomwareCampaignUse":"Unknown"}]}"#;
    let entries = hikeshi_app::vulns::intel::parse_kev("kev", kev.as_bytes()).expect("kev");
    app.store.load_kev(&entries).await.expect("load kev");
    let rule = AutoCase {
        kev: true,
        ..AutoCase::default()
    };
    let by_rule = hikeshi_app::vulns::actions::apply(&app, &rule)
        .await
        .expect("rule");
    assert_eq!(by_rule.len(), 1, "one case from the KEV finding");

    for (how, number) in [
        ("API", &by_api.number),
        ("intake", &by_intake.number),
        ("grouping", &by_grouping.number),
        ("vulnerability rule", &by_rule[0]),
    ] {
        assert!(
            number.starts_with("2026-"),
            "the case opened by {how} is numbered {number}, not in 2026 (the team's year at UTC−5)"
        );
    }
}

#[tokio::test]
async fn every_way_a_case_opens_in_the_teams_year_sqlite() {
    every_way_a_case_opens_in_the_teams_year(Db::Sqlite).await;
}

#[tokio::test]
async fn every_way_a_case_opens_in_the_teams_year_postgres() {
    every_way_a_case_opens_in_the_teams_year(Db::Postgres).await;
}

#[tokio::test]
async fn a_grouped_alert_keeps_a_long_rule_title_under_the_case_rule() {
    let app = app_at(Db::Sqlite, "longtitle", hikeshi_store::now_ms()).await;
    let rule_title = "長".repeat(290);
    let case = grouped_case(&app, &rule_title).await;
    assert!(
        case.title.contains(&rule_title),
        "the rule's 290 characters are kept: {}",
        case.title
    );
    assert!(case.title.chars().count() <= cases::MAX_TITLE);
    assert_eq!(case.created_by, "hikeshi-grouping");
}

async fn two_triagers_at_once_leave_one_case(db: Db) {
    let app = app_at(db, "race", hikeshi_store::now_ms()).await;
    // A report with indicators to copy: the copies of a losing decision must not survive.
    let report = intake::submit_report(
        &app,
        ReportInput {
            subject: "フィッシングサイトの報告".into(),
            body: "https://login-example.jp/ と 203.0.113.9 を見つけました".into(),
            ..ReportInput::default()
        },
        ReportSource::Form,
        "192.0.2.1",
        Vec::new(),
        "public",
    )
    .await
    .expect("report");
    let indicators = app
        .store
        .report_observables(&report.id)
        .await
        .expect("indicators")
        .len();
    assert!(indicators >= 2, "the report carries indicators");
    let (a, b) = (handler(), Who::user("taro", Role::Handler, None));
    let (first, second) = tokio::join!(
        intake::create_case_from_report(&app, &a, &report.tracking, JA),
        intake::create_case_from_report(&app, &b, &report.tracking, JA),
    );
    let won: Vec<_> = [&first, &second]
        .into_iter()
        .filter(|r| r.is_ok())
        .collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one decision holds: {first:?} / {second:?}"
    );
    let lost = if first.is_err() { &first } else { &second };
    let err = lost.as_ref().expect_err("the other decision fails");
    assert_eq!(err.kind, hikeshi_app::ErrorKind::Conflict, "{err:?}");

    let all = app
        .store
        .list_cases(&CaseFilter {
            limit: 100,
            ..CaseFilter::default()
        })
        .await
        .expect("cases");
    assert_eq!(all.items.len(), 1, "no orphan case: {:?}", all.items);
    let case = &all.items[0];
    let observables = app.store.observables(&case.id).await.expect("observables");
    assert_eq!(observables.len(), indicators, "each indicator copied once");
    let decided = app
        .store
        .report_by_tracking(&report.tracking)
        .await
        .expect("report");
    assert_eq!(decided.case_id.as_deref(), Some(case.id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_triagers_at_once_leave_one_case_sqlite() {
    two_triagers_at_once_leave_one_case(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_triagers_at_once_leave_one_case_postgres() {
    two_triagers_at_once_leave_one_case(Db::Postgres).await;
}

#[tokio::test]
async fn a_viewer_cannot_open_a_case_and_automation_cannot_command() {
    let app = app_at(Db::Sqlite, "roles", hikeshi_store::now_ms()).await;
    let viewer = Who::user("miru", Role::Viewer, None);
    let err = cases::open(
        &app,
        &viewer,
        CreateCaseInput {
            title: "x".into(),
            ..CreateCaseInput::default()
        },
        Lang::En,
    )
    .await
    .expect_err("viewers read only");
    assert_eq!(err.kind, hikeshi_app::ErrorKind::Forbidden);
    let system = Who::system("grouping");
    assert!(system.role.can_edit_cases() && !system.role.can_command());
}

#[tokio::test]
async fn a_title_over_the_rule_is_refused_by_name() {
    let app = app_at(Db::Sqlite, "title", hikeshi_store::now_ms()).await;
    let err = cases::open(
        &app,
        &handler(),
        CreateCaseInput {
            title: "x".repeat(cases::MAX_TITLE + 1),
            ..CreateCaseInput::default()
        },
        Lang::En,
    )
    .await
    .expect_err("too long");
    assert_eq!(err.field.as_deref(), Some("title"));
}

/// Walks a case to closed, as its handler and then a manager would.
async fn close_case(app: &App, number: &str) {
    let manager = Who::user("boss", Role::Manager, Some(Lang::En));
    for status in ["triage", "in_progress", "resolved", "closed"] {
        let input: cases::UpdateCaseInput = serde_json::from_value(serde_json::json!({
            "status": status,
            "resolution_summary": "contained and cleaned",
            "lessons_learned": "block macros from the internet",
        }))
        .expect("input");
        cases::update_case(app, &manager, number, input)
            .await
            .unwrap_or_else(|e| panic!("to {status}: {}", e.message));
    }
}

async fn retention_keeps_what_open_cases_need(db: Db) {
    let start = hikeshi_store::now_ms();
    let (store, dir) = store_on(db, "retention").await;
    let mut config = AppConfig {
        data_dir: dir,
        ..AppConfig::default()
    };
    config.retention.alert_days = Some(30);
    config.retention.closed_case_event_days = Some(7);
    let clock = Clock::fixed(start);
    let app = App::with_clock(store, config, clock.clone());
    let mut hits = Vec::new();
    for (n, host) in ["loose", "open", "closed"].iter().enumerate() {
        let mut h = hit("Mimikatz", host, n);
        h.dedup_key = format!("rule-1|{host}|");
        h.event_json = format!("{{\"host\":\"{host}\"}}");
        hits.push(h);
    }
    let recorded = app.store.record_hits(&hits, 3_600_000).await.expect("hits");
    let id_of = |host: &str| {
        recorded
            .created
            .iter()
            .find(|a| a.host == host)
            .map(|a| a.id.clone())
            .expect("an alert per host")
    };
    let (loose, open, closed) = (id_of("loose"), id_of("open"), id_of("closed"));
    let who = handler();
    for id in [&open, &closed] {
        let case = hikeshi_app::alerts::escalate_alerts(
            &app,
            &who,
            serde_json::from_value(serde_json::json!({ "alert_ids": [id] })).expect("input"),
        )
        .await
        .expect("escalate");
        if id == &closed {
            close_case(&app, &case.number).await;
        }
    }
    let system = Who::system("retention");

    // Nothing is old yet: nothing changes and nothing is audited.
    let outcome = hikeshi_app::retention::apply(&app, &system)
        .await
        .expect("apply");
    assert!(!outcome.changed(), "{outcome:?}");

    // Ten days on: the closed case's alert loses its kept events, nothing is deleted.
    clock.set(start + 10 * 86_400_000);
    let outcome = hikeshi_app::retention::apply(&app, &system)
        .await
        .expect("apply");
    assert_eq!(
        (outcome.alerts_events_cleared, outcome.alerts_deleted),
        (1, 0),
        "{outcome:?}"
    );
    let kept = app.store.alert_by_id(&closed).await.expect("alert");
    assert_eq!((kept.events.as_str(), kept.count), ("[]", 1));
    let other = app.store.alert_by_id(&loose).await.expect("alert");
    assert!(other.events.contains("loose"), "{}", other.events);

    // Forty days on: the loose alert and the closed case's alert go; the open case's stays.
    clock.set(start + 40 * 86_400_000);
    let outcome = hikeshi_app::retention::apply(&app, &system)
        .await
        .expect("apply");
    assert_eq!(outcome.alerts_deleted, 2, "{outcome:?}");
    assert!(app.store.alert_by_id(&loose).await.is_err());
    assert!(app.store.alert_by_id(&closed).await.is_err());
    let still = app
        .store
        .alert_by_id(&open)
        .await
        .expect("the open case's alert");
    assert!(still.events.contains("open"));

    // Each run that removed something is in the audit log, by whom and with its counts.
    let audit = app
        .store
        .audit_entries(&hikeshi_store::AuditQuery {
            object_type: Some("retention".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(audit.iter().all(|e| e.actor == "hikeshi-retention"));
    assert!(audit[0]
        .after_json
        .as_deref()
        .unwrap_or("")
        .contains("\"alerts_deleted\":2"));

    // Nobody but an admin (or the server itself) applies it.
    let err = hikeshi_app::retention::apply(&app, &handler())
        .await
        .expect_err("a handler may not");
    assert_eq!(err.kind, hikeshi_app::ErrorKind::Forbidden);
}

#[tokio::test]
async fn retention_keeps_what_open_cases_need_sqlite() {
    retention_keeps_what_open_cases_need(Db::Sqlite).await;
}

#[tokio::test]
async fn retention_keeps_what_open_cases_need_postgres() {
    retention_keeps_what_open_cases_need(Db::Postgres).await;
}

/// Shared indicators leave live detection by themselves once MISP's default decay model says
/// they have decayed (46.875 days after they arrived or were last sighted), and the ones from a
/// rejected case at once.
#[tokio::test]
async fn shared_indicators_decay_out_of_live_detection_sqlite() {
    shared_indicators_decay_out_of_live_detection(Db::Sqlite).await;
}

#[tokio::test]
async fn shared_indicators_decay_out_of_live_detection_postgres() {
    shared_indicators_decay_out_of_live_detection(Db::Postgres).await;
}

async fn shared_indicators_decay_out_of_live_detection(db: Db) {
    let (store, dir) = store_on(db, "decay").await;
    let config = AppConfig {
        data_dir: dir,
        ..AppConfig::default()
    };
    let now = hikeshi_store::now_ms();
    let app = App::with_clock(store.clone(), config.clone(), Clock::fixed(now));
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--6f6c2f3e-1a7b-4c55-9c0a-3b0d8d6a1e11",
        "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--1b9c4f6e-3d2a-4e8f-9a1b-2c3d4e5f6a7b",
            "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
            "name": "C2", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z",
            "pattern": "[ipv4-addr:value = '198.51.100.23'] OR [domain-name:value = 'c2.bad-actor.example']"
        }]
    });
    let imported =
        hikeshi_app::intel::import_stix(&app, &handler(), bundle.to_string().as_bytes(), Lang::Ja)
            .await
            .expect("import");
    assert_eq!(imported.observables, 2);
    let day = 86_400_000;
    let in_force_at = |at: i64| {
        let later = App::with_clock(store.clone(), config.clone(), Clock::fixed(at));
        async move {
            live_for(&later)
                .refresh_shared_indicators()
                .await
                .expect("refresh")
        }
    };
    assert_eq!(
        in_force_at(now + 46 * day).await,
        2,
        "not decayed after 46 days"
    );
    assert_eq!(
        in_force_at(now + 47 * day).await,
        0,
        "decayed after 46.875 days"
    );

    // A sighting on day 40 (a live hit on the address) starts its clock again.
    let mut sighting = hit("Indicator match: ip 198.51.100.23", "pc01", 1);
    sighting.rule_id = "ioc:ip:198.51.100.23".into();
    sighting.dedup_key = "ioc-sighting".into();
    sighting.seen_at = now + 40 * day;
    store
        .record_hits(&[sighting], 3_600_000)
        .await
        .expect("hit");
    assert_eq!(
        in_force_at(now + 47 * day).await,
        1,
        "the sighted address stays"
    );
    assert_eq!(in_force_at(now + 86 * day).await, 1);
    assert_eq!(
        in_force_at(now + 88 * day).await,
        0,
        "46.875 days after the sighting"
    );

    // Rejecting the case takes its indicators out at once.
    let who = Who::user("boss", Role::Manager, Some(Lang::Ja));
    let input: cases::UpdateCaseInput = serde_json::from_value(
        serde_json::json!({"status": "rejected", "resolution_summary": "誤報"}),
    )
    .expect("input");
    cases::update_case(&app, &who, &imported.number, input)
        .await
        .expect("reject");
    assert_eq!(in_force_at(now).await, 0);
}
