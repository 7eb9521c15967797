//! Bulk data for benchmarks: many cases written in large transactions, bypassing the
//! per-change audit that normal writes do. Never called by the server.

use crate::{new_id, now_ms, Result, Store};
use hikeshi_model::{CaseStatus, Severity, BUILTIN_CATEGORIES};

const WORDS: &[&str] = &[
    "標的型メール",
    "ランサムウェア",
    "不正アクセス",
    "phishing",
    "scan",
    "DDoS",
    "改ざん",
    "情報漏えい",
    "malware",
    "VPN",
];

impl Store {
    /// Inserts `count` synthetic cases numbered after the year's counter, 1,000 per transaction.
    pub async fn seed_benchmark_cases(&self, year: i32, count: u64) -> Result<()> {
        let start: Option<(i64,)> =
            sqlx::query_as("SELECT last_value FROM case_counters WHERE year = $1")
                .bind(i64::from(year))
                .fetch_optional(&self.reader)
                .await?;
        let mut seq = start.map(|s| s.0).unwrap_or(0);
        let base_time = now_ms() - (count as i64) * 1000;
        let mut done = 0u64;
        while done < count {
            let mut tx = self.writer.begin().await?;
            let batch = (count - done).min(1000);
            for _ in 0..batch {
                seq += 1;
                done += 1;
                let k = done as usize;
                let title = format!("{} の疑い #{done}", WORDS[k % WORDS.len()]);
                let number = hikeshi_model::CaseNumber {
                    year,
                    sequence: seq,
                }
                .to_string();
                let id = new_id();
                let created = base_time + done as i64 * 1000;
                let description = format!(
                    "synthetic case {done} for benchmarks; host-{} user-{}",
                    k % 997,
                    k % 113
                );
                let search =
                    format!("{number}\n{title}\n{description}\ntag{}\n", k % 20).to_lowercase();
                sqlx::query(
                    "INSERT INTO cases (id, number, title, description, category, severity, tlp, pap, status, phase,
                        affected_assets, search_text, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'amber', 'amber', $7, 'detection_analysis', '', $8, 'bench', $9, $9)",
                )
                .bind(&id)
                .bind(&number)
                .bind(&title)
                .bind(&description)
                .bind(BUILTIN_CATEGORIES[k % BUILTIN_CATEGORIES.len()])
                .bind(Severity::ALL[(k / 7) % Severity::ALL.len()].code())
                .bind(CaseStatus::ALL[(k / 3) % CaseStatus::ALL.len()].code())
                .bind(&search)
                .bind(created)
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO case_tags (case_id, tag, created_at) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(format!("tag{}", k % 20))
                    .bind(created)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO case_counters (year, last_value) VALUES ($1, $2)
                 ON CONFLICT (year) DO UPDATE SET last_value = $2",
            )
            .bind(i64::from(year))
            .bind(seq)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        // Fresh statistics so the planner uses the indexes as it would on a lived-in database.
        sqlx::query("ANALYZE").execute(&self.writer).await?;
        Ok(())
    }
}
