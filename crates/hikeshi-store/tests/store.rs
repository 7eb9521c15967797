//! The store's contract, run against both engines.

use hikeshi_store::scratch::{create_scratch_postgres, test_postgres_admin_url};
use hikeshi_store::{Actor, CaseFilter, CasePatch, NewCase, NewObservable, NewUser, Store};

fn new_case(title: &str) -> NewCase {
    NewCase {
        year: 2026,
        title: title.into(),
        description: "desc".into(),
        category: "targeted_attack".into(),
        severity: "high".into(),
        tlp: "amber".into(),
        pap: "amber".into(),
        phase: "detection_analysis".into(),
        assignee: None,
        tags: vec!["b".into(), "a".into(), "a".into()],
        affected_assets: String::new(),
        sla_due_at: None,
        tasks: vec!["first".into(), "second".into()],
        source: "manual".into(),
        business_impact: String::new(),
    }
}

async fn contract(store: Store) -> anyhow::Result<()> {
    assert_eq!(
        store.migrate().await?,
        18,
        "every migration runs on a new database"
    );
    assert_eq!(store.migrate().await?, 0, "migrations run once");
    let actor = Actor::user("alice");
    store
        .create_user(
            &NewUser {
                username: "alice".into(),
                display_name: "Alice".into(),
                role: "admin".into(),
                password_hash: "x".into(),
            },
            &actor,
        )
        .await?;
    let dup = store
        .create_user(
            &NewUser {
                username: "alice".into(),
                display_name: "A".into(),
                role: "viewer".into(),
                password_hash: "y".into(),
            },
            &actor,
        )
        .await;
    assert!(
        matches!(dup, Err(hikeshi_store::StoreError::Conflict(_))),
        "{dup:?}"
    );

    let c1 = store
        .create_case(&new_case("標的型メール攻撃の疑い"), &actor)
        .await?;
    let c2 = store
        .create_case(&new_case("Port scan 100%_done"), &actor)
        .await?;
    assert_eq!(c1.number, "2026-0001");
    assert_eq!(c2.number, "2026-0002");
    assert_eq!(c1.tags, vec!["a", "b"]);
    assert_eq!(store.tasks(&c1.id).await?.len(), 2);

    let found = store
        .list_cases(&CaseFilter {
            text: Some("標的型".into()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].number, "2026-0001");
    // LIKE wildcards in user text match literally.
    let literal = store
        .list_cases(&CaseFilter {
            text: Some("100%_".into()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    assert_eq!(literal.total, 1);
    let none = store
        .list_cases(&CaseFilter {
            text: Some("%".into()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    assert_eq!(none.total, 1, "only the title with a literal % matches");
    let tagged = store
        .list_cases(&CaseFilter {
            tag: Some("a".into()),
            severity: Some("high".into()),
            limit: 1,
            ..Default::default()
        })
        .await?;
    assert_eq!((tagged.total, tagged.items.len()), (2, 1));

    let updated = store
        .update_case(
            &c1.number,
            &CasePatch {
                status: Some("triage".into()),
                tags: Some(vec!["x".into()]),
                ..Default::default()
            },
            &actor,
        )
        .await?;
    assert_eq!(updated.status, "triage");
    assert_eq!(store.case_by_number(&c1.number).await?.tags, vec!["x"]);

    let obs = NewObservable {
        kind: "ip".into(),
        value: "192.0.2.1".into(),
        description: String::new(),
        tlp: "amber".into(),
        is_ioc: true,
    };
    assert!(store.add_observable(&c1.id, &obs, &actor).await?.1);
    assert!(
        !store.add_observable(&c1.id, &obs, &actor).await?.1,
        "deduplicated per case"
    );
    store.add_observable(&c2.id, &obs, &actor).await?;
    let links = store.observable_links(&c1.id).await?;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].case_number, "2026-0002");

    let merged = store.merge_cases(&c2.number, &c1.number, &actor).await?;
    assert_eq!(merged.number, c1.number);
    assert_eq!(store.tasks(&c1.id).await?.len(), 4);
    assert_eq!(store.observables(&c1.id).await?.len(), 1);
    let src = store.case_by_number(&c2.number).await?;
    assert_eq!(src.merged_into.as_deref(), Some("2026-0001"));
    assert_eq!(src.status, "closed");

    let audit = store
        .audit_entries(&hikeshi_store::AuditQuery {
            object_type: Some("case".into()),
            limit: 100,
            ..Default::default()
        })
        .await?;
    assert!(audit.iter().any(|a| a.action == "case.merge"));
    assert!(audit
        .iter()
        .any(|a| a.action == "case.update"
            && a.before_json.as_deref().unwrap_or("").contains("\"new\"")));
    Ok(())
}

#[tokio::test]
async fn store_contract_on_sqlite() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hikeshi-store-test-{}", hikeshi_store::new_id()));
    let store = Store::open_sqlite(&dir).await?;
    assert_eq!(store.sqlite_journal_mode().await?.as_deref(), Some("wal"));
    contract(store).await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn store_contract_on_postgres() -> anyhow::Result<()> {
    let url = create_scratch_postgres(&test_postgres_admin_url(), "hikeshi_store_test").await?;
    contract(Store::connect(&url).await?).await
}
