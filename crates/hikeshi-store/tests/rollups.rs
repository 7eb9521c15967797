//! The hourly alert roll-up against counting the alerts themselves: alerts spread over 40 days
//! (written straight into the table, since the application only ever stamps alerts "now"),
//! some of them blocked,
//! rolled up, counted for windows that cross the watermark, and rolled again without counting
//! anything twice.

use hikeshi_store::scratch::{create_scratch_postgres, test_postgres_admin_url};
use hikeshi_store::{Store, HOUR_MS};
use sqlx::AnyPool;
use std::collections::BTreeMap;

const ALERTS: i64 = 2_000;

fn department_of(host: &str) -> String {
    if host.starts_with("ws-") {
        "営業部".into()
    } else {
        String::new()
    }
}

async fn fill(url: &str) -> anyhow::Result<i64> {
    let pool = AnyPool::connect(url).await?;
    let now = hikeshi_store::now_ms();
    for i in 0..ALERTS {
        // Every 29 minutes back from now: 40 days, and the last few in unsettled hours.
        let at = now - i * 29 * 60_000;
        sqlx::query(
            "INSERT INTO alerts (id, dedup_key, rule_id, rule_title, level, tags, source, host, user_name, status, count, events, first_seen, last_seen, created_at, blocked)
             VALUES ($1, $1, $2, $2, $3, '[]', 'test', $4, 'u', 'new', $5, '[]', $6, $6, $6, $7)",
        )
        .bind(format!("a{i}"))
        .bind(format!("rule-{}", i % 3))
        .bind(if i % 4 == 0 { "high" } else { "low" })
        .bind(if i % 2 == 0 { format!("ws-{}", i % 10) } else { format!("srv-{}", i % 5) })
        .bind(1 + i % 3)
        .bind(at)
        .bind(i64::from(i % 5 == 0))
        .execute(&pool)
        .await?;
    }
    pool.close().await;
    Ok(now)
}

/// What the alerts table itself says for [from, to): (rule, level) → (alerts, hits).
fn expected(now: i64, from: i64, to: i64) -> BTreeMap<(String, String), (i64, i64, i64)> {
    let mut out = BTreeMap::new();
    for i in 0..ALERTS {
        let at = now - i * 29 * 60_000;
        if at >= from && at < to {
            let e = out
                .entry((
                    format!("rule-{}", i % 3),
                    if i % 4 == 0 { "high" } else { "low" }.to_string(),
                ))
                .or_insert((0, 0, 0));
            e.0 += 1;
            e.1 += 1 + i % 3;
            e.2 += i64::from(i % 5 == 0);
        }
    }
    out
}

async fn roll_up_matches_counting(store: Store, url: &str) -> anyhow::Result<()> {
    store.migrate().await?;
    let now = fill(url).await?;
    let rolled = store.roll_up_alerts(&department_of).await?;
    assert_eq!(rolled, hikeshi_store::settled_hour());
    assert!(
        rolled < now && rolled > now - 2 * HOUR_MS,
        "watermark {rolled} near {now}"
    );
    let day = 24 * HOUR_MS;
    let hour = |t: i64| t.div_euclid(HOUR_MS) * HOUR_MS;
    // Windows wholly rolled, crossing the watermark, and reaching into the future.
    for (from, to) in [
        (hour(now - 30 * day), hour(now - 10 * day)),
        (hour(now - 3 * day), hour(now) + HOUR_MS),
        (hour(now - 50 * day), hour(now) + day),
    ] {
        let got: BTreeMap<(String, String), (i64, i64, i64)> = store
            .alert_counts_by_rule(from, to)
            .await?
            .into_iter()
            .map(|r| ((r.rule_id, r.level), (r.alerts, r.hits, r.blocked)))
            .collect();
        assert_eq!(got, expected(now, from, to), "window {from}..{to}");
        let departments = store
            .alert_counts_by_department(from, to, &department_of)
            .await?;
        let total: i64 = expected(now, from, to).values().map(|v| v.0).sum();
        assert_eq!(departments.iter().map(|d| d.1).sum::<i64>(), total);
        let sales = departments
            .iter()
            .find(|d| d.0 == "営業部")
            .map_or(0, |d| d.1);
        let even = (0..ALERTS).filter(|i| i % 2 == 0).filter(|i| {
            let at = now - i * 29 * 60_000;
            at >= from && at < to
        });
        assert_eq!(sales, even.count() as i64);
    }
    // A second roll-up adds nothing.
    assert_eq!(store.roll_up_alerts(&department_of).await?, rolled);
    let all = store.alert_counts_by_rule(0, hour(now) + day).await?;
    assert_eq!(all.iter().map(|r| r.alerts).sum::<i64>(), ALERTS);
    Ok(())
}

#[tokio::test]
async fn rollup_on_sqlite() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hikeshi-rollup-test-{}", hikeshi_store::new_id()));
    let store = Store::open_sqlite(&dir).await?;
    let url = format!("sqlite://{}", dir.join("hikeshi.db").display());
    roll_up_matches_counting(store, &url).await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn rollup_on_postgres() -> anyhow::Result<()> {
    let url = create_scratch_postgres(&test_postgres_admin_url(), "hikeshi_rollup_test").await?;
    roll_up_matches_counting(Store::connect(&url).await?, &url).await
}
