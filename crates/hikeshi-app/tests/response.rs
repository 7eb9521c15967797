//! Response rules in-process, on SQLite and on PostgreSQL, with a stopped clock: escalation of
//! repeat offenders and its decay, one open intent per target, approval bound to the plan,
//! rejection, dry runs, and the reconciler's lease between two servers.

use hikeshi_app::config::AppConfig;
use hikeshi_app::response::propose::{propose, Proposal};
use hikeshi_app::response::{approve, reject, revoke, Policy, Trigger};
use hikeshi_app::{App, Clock, ErrorKind, Lang, Who};
use hikeshi_model::Role;
use hikeshi_store::Store;

const NOW: i64 = 1_800_000_000_000;

async fn app_on(postgres: bool, name: &str) -> App {
    let dir = std::env::temp_dir().join(format!("hikeshi-app-{name}-{}", hikeshi_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = if postgres {
        let url = hikeshi_store::scratch::create_scratch_postgres(
            &hikeshi_store::scratch::test_postgres_admin_url(),
            &format!("hikeshi_app_{name}"),
        )
        .await
        .expect("PostgreSQL must be running for the PostgreSQL tests (HIKESHI_TEST_POSTGRES)");
        Store::connect(&url).await.expect("postgres")
    } else {
        Store::open_sqlite(&dir).await.expect("sqlite")
    };
    store.migrate().await.expect("migrate");
    let config = AppConfig {
        data_dir: dir,
        ..AppConfig::default()
    };
    App::with_clock(store, config, Clock::fixed(NOW))
}

fn policy(text: &str) -> Policy {
    toml::from_str(text).expect("policy")
}

fn trigger(ip: &str) -> Trigger<'_> {
    Trigger {
        alert_id: None,
        rule_id: "r1",
        level: "high",
        tags: "[]",
        src_ip: ip,
        dst_ip: "",
        host: "",
    }
}

async fn new_action(app: &App, p: &Policy, ip: &str) -> hikeshi_store::ResponseAction {
    let target: ipnet::IpNet = ip.parse().expect("net");
    match propose(app, p, &trigger(ip), target)
        .await
        .expect("proposed")
    {
        Proposal::New(a) => *a,
        other => panic!("expected a new action for {ip}, got {other:?}"),
    }
}

fn handler(name: &str) -> Who {
    Who::user(name, Role::Handler, Some(Lang::En))
}

async fn escalation_decisions_and_lease(postgres: bool, name: &str) {
    let app = app_on(postgres, name).await;
    let clock = app.calendar.clock().clone();
    let auto = policy(
        r#"name = "ssh"
target = "src_ip"
action = "block_ip"
mode = "auto"
ttl_secs = 2
escalation = { factor = 2.0, max_ttl_secs = 8, decay_secs = 60 }
"#,
    );
    let ops = handler("ops");

    // Repeat offences: 2 s, 4 s, 8 s, 8 s; each earlier block ended (revoked) first.
    let mut ttls = Vec::new();
    for step in 0..4 {
        clock.set(NOW + step * 1000);
        let a = new_action(&app, &auto, "198.51.100.7/32").await;
        assert_eq!(a.state, "approved");
        assert_eq!(a.offence, step + 1);
        ttls.push(a.ttl_ms);
        // A second hit while it is open joins it.
        let again = propose(
            &app,
            &auto,
            &trigger("198.51.100.7"),
            "198.51.100.7/32".parse::<ipnet::IpNet>().expect("net"),
        )
        .await
        .expect("joined");
        assert_eq!(again, Proposal::Joined(a.id.clone()));
        revoke(&app, &ops, &a.id).await.expect("revoked");
    }
    assert_eq!(ttls, vec![2000, 4000, 8000, 8000]);
    // After the decay window the count starts again.
    clock.set(NOW + 3000 + 61_000);
    let fresh = new_action(&app, &auto, "198.51.100.7/32").await;
    assert_eq!((fresh.offence, fresh.ttl_ms), (1, 2000));
    // Another address has its own count.
    assert_eq!(
        new_action(&app, &auto, "198.51.100.8/32").await.ttl_ms,
        2000
    );

    // Approval mode: nothing is approved by itself; the approval holds for the plan shown.
    let careful = policy(
        r#"name = "careful"
target = "src_ip"
action = "block_ip"
mode = "approve"
ttl_secs = 60
"#,
    );
    let waiting = new_action(&app, &careful, "192.0.2.1/32").await;
    assert_eq!(waiting.state, "pending_approval");
    assert_eq!(waiting.expires_at, None);
    let wrong = approve(&app, &ops, &waiting.id, "beef")
        .await
        .expect_err("wrong plan");
    assert_eq!(
        (wrong.kind, wrong.code),
        (ErrorKind::Conflict, "plan_changed")
    );
    let viewer = Who::user("vic", Role::Viewer, None);
    let denied = approve(&app, &viewer, &waiting.id, &waiting.plan_hash)
        .await
        .expect_err("viewer");
    assert_eq!(denied.kind, ErrorKind::Forbidden);
    let approved = approve(&app, &ops, &waiting.id, &waiting.plan_hash)
        .await
        .expect("approved");
    assert_eq!(approved.approved_by, "ops");
    assert_eq!(approved.expires_at, Some(clock.now_ms() + 60_000));
    let other = new_action(&app, &careful, "192.0.2.2/32").await;
    assert_eq!(
        reject(&app, &ops, &other.id).await.expect("rejected").state,
        "rejected"
    );
    let late = approve(&app, &ops, &other.id, &other.plan_hash)
        .await
        .expect_err("rejected stays");
    assert_eq!(late.code, "wrong_state");

    // A dry run only renders its plan.
    let dry = policy(
        r#"name = "dry"
target = "src_ip"
action = "block_ip"
mode = "dry_run"
ttl_secs = 60
"#,
    );
    let sim = new_action(&app, &dry, "192.0.2.3/32").await;
    assert_eq!(sim.state, "simulated");
    assert_eq!(sim.expires_at, None);
    assert!(sim.plan.contains("192.0.2.3"), "{}", sim.plan);

    // One reconciler per connector: the second server waits for the first one's lease.
    let s = &app.store;
    assert!(s
        .claim_response_lease("nftables", "a", NOW, NOW + 2000)
        .await
        .expect("claim"));
    assert!(s
        .claim_response_lease("nftables", "a", NOW + 500, NOW + 2500)
        .await
        .expect("renew"));
    assert!(!s
        .claim_response_lease("nftables", "b", NOW + 1000, NOW + 3000)
        .await
        .expect("held"));
    assert!(s
        .claim_response_lease("nftables", "b", NOW + 2600, NOW + 4600)
        .await
        .expect("taken over"));
    assert!(!s
        .claim_response_lease("nftables", "a", NOW + 2700, NOW + 4700)
        .await
        .expect("lost"));
}

#[tokio::test]
async fn escalation_decisions_and_lease_on_sqlite() {
    escalation_decisions_and_lease(false, "response").await;
}

#[tokio::test]
async fn escalation_decisions_and_lease_on_postgres() {
    escalation_decisions_and_lease(true, "response").await;
}
