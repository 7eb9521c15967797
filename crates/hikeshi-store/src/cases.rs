//! Cases and what hangs directly off them: tags, comments, the timeline, merging.

use crate::audit::{record, NONE};
use crate::params::Params;
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Case {
    pub id: String,
    pub number: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub tlp: String,
    pub pap: String,
    pub status: String,
    pub phase: String,
    pub assignee: Option<String>,
    #[sqlx(skip)]
    pub tags: Vec<String>,
    pub affected_assets: String,
    pub resolution_summary: Option<String>,
    pub lessons_learned: Option<String>,
    pub merged_into: Option<String>,
    pub sla_due_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    /// How the case came in (form, email, api, soc, detection, vulnerability, manual).
    pub source: String,
    /// Milestones for response metrics, each set once: triage began, containment was over,
    /// the case was resolved.
    pub acknowledged_at: Option<i64>,
    pub contained_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// What the incident did to the business, in the words of the monthly report.
    pub business_impact: String,
}

// Qualified: the tag filter joins a table that also has `created_at`.
const CASE_COLUMNS: &str = "cases.id, cases.number, cases.title, cases.description, cases.category, cases.severity, cases.tlp, cases.pap, cases.status, cases.phase, cases.assignee, cases.affected_assets, cases.resolution_summary, cases.lessons_learned, cases.merged_into, cases.sla_due_at, cases.created_by, cases.created_at, cases.updated_at, cases.closed_at, cases.source, cases.acknowledged_at, cases.contained_at, cases.resolved_at, cases.business_impact";

#[derive(Debug, Clone)]
pub struct NewCase {
    pub year: i32,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub tlp: String,
    pub pap: String,
    pub phase: String,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub affected_assets: String,
    pub sla_due_at: Option<i64>,
    /// Tasks to create with the case (from a template).
    pub tasks: Vec<String>,
    pub source: String,
    pub business_impact: String,
}

/// A case from an earlier ledger: `case` carries every field except the number, which is
/// given out in `year`'s sequence. `created_at` is the case's own.
#[derive(Debug, Clone)]
pub struct ImportedCase {
    pub year: i32,
    pub created_at: i64,
    pub case: Case,
}

/// A change to a case; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub tlp: Option<String>,
    pub pap: Option<String>,
    pub status: Option<String>,
    pub phase: Option<String>,
    pub assignee: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub affected_assets: Option<String>,
    pub resolution_summary: Option<String>,
    pub lessons_learned: Option<String>,
    pub sla_due_at: Option<Option<i64>>,
    pub closed_at: Option<Option<i64>>,
    pub business_impact: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub assignee: Option<String>,
    pub tag: Option<String>,
    /// Substring search over number, title, description and tags; works for Japanese text.
    pub text: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseList {
    /// Matching cases, counted up to [`COUNT_CAP`]; `total_capped` says the real number is larger.
    pub total: i64,
    pub total_capped: bool,
    pub items: Vec<Case>,
}

/// Counting stops here: an exact count of a broad filter over a long history costs a scan,
/// while nobody pages through more than this.
pub const COUNT_CAP: i64 = 1000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Category {
    pub code: String,
    pub label_ja: String,
    pub label_en: String,
    pub builtin: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Comment {
    pub id: String,
    pub case_id: String,
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TimelineEntry {
    pub id: String,
    pub case_id: String,
    pub occurred_at: i64,
    pub kind: String,
    pub text: String,
    pub author: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewTimelineEntry {
    pub occurred_at: i64,
    pub kind: String,
    pub text: String,
}

/// The form search compares: NFKC (half-width ﾌｨｯｼﾝｸﾞ and full-width ＷＥＢ become フィッシング
/// and WEB) and then lower case. Stored text and the query are folded the same way.
pub fn search_fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect::<String>().to_lowercase()
}

/// Text the substring search runs over, folded once at write time.
pub(crate) fn search_text(case: &Case) -> String {
    search_fold(&format!(
        "{}\n{}\n{}\n{}\n{}",
        case.number,
        case.title,
        case.description,
        case.tags.join(" "),
        case.affected_assets
    ))
}

/// Escapes LIKE wildcards so user text matches literally.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in search_fold(text).chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

async fn load_tags(conn: &mut AnyConnection, case_id: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT tag FROM case_tags WHERE case_id = $1 ORDER BY tag")
            .bind(case_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

async fn write_tags(
    conn: &mut AnyConnection,
    case_id: &str,
    created_at: i64,
    tags: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM case_tags WHERE case_id = $1")
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO case_tags (case_id, tag, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(case_id)
            .bind(tag)
            .bind(created_at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Folds every case's search text again with the current [`search_fold`], inside the
/// migration's transaction.
pub(crate) async fn refold_search_text(conn: &mut AnyConnection) -> Result<()> {
    let numbers: Vec<(String,)> = sqlx::query_as("SELECT number FROM cases")
        .fetch_all(&mut *conn)
        .await?;
    for (number,) in numbers {
        let case = case_in_tx(conn, &number).await?;
        sqlx::query("UPDATE cases SET search_text = $1 WHERE id = $2")
            .bind(search_text(&case))
            .bind(&case.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn case_in_tx(conn: &mut AnyConnection, number: &str) -> Result<Case> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE number = $1");
    let mut case: Case = sqlx::query_as(AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("case {number}")))?;
    case.tags = load_tags(conn, &case.id).await?;
    Ok(case)
}

/// Sets each response milestone the first time the case reaches it. Triage begins when the
/// case leaves `new`; containment is over when the phase moves past it or the case is resolved;
/// resolution is `resolved`, `closed` or `rejected`.
fn mark_milestones(case: &mut Case, now: i64) {
    let done = matches!(case.status.as_str(), "resolved" | "closed" | "rejected");
    if case.status != "new" && case.acknowledged_at.is_none() {
        case.acknowledged_at = Some(now);
    }
    let past_containment = matches!(
        case.phase.as_str(),
        "eradication" | "recovery" | "post_incident"
    );
    if (past_containment || done) && case.contained_at.is_none() {
        case.contained_at = Some(now);
    }
    if done && case.resolved_at.is_none() {
        case.resolved_at = Some(now);
    }
}

/// Writes a new case row with every column; creation and the ledger import share it.
async fn insert_case(conn: &mut AnyConnection, case: &Case) -> Result<()> {
    sqlx::query(
        "INSERT INTO cases (id, number, title, description, category, severity, tlp, pap, status, phase,
            assignee, affected_assets, sla_due_at, search_text, created_by, created_at, updated_at,
            source, business_impact, acknowledged_at, contained_at, resolved_at, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
            $20, $21, $22, $23)",
    )
    .bind(&case.id)
    .bind(&case.number)
    .bind(&case.title)
    .bind(&case.description)
    .bind(&case.category)
    .bind(&case.severity)
    .bind(&case.tlp)
    .bind(&case.pap)
    .bind(&case.status)
    .bind(&case.phase)
    .bind(&case.assignee)
    .bind(&case.affected_assets)
    .bind(case.sla_due_at)
    .bind(search_text(case))
    .bind(&case.created_by)
    .bind(case.created_at)
    .bind(case.updated_at)
    .bind(&case.source)
    .bind(&case.business_impact)
    .bind(case.acknowledged_at)
    .bind(case.contained_at)
    .bind(case.resolved_at)
    .bind(case.closed_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn touch_case(conn: &mut AnyConnection, case_id: &str) -> Result<()> {
    sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    pub async fn categories(&self) -> Result<Vec<Category>> {
        Ok(sqlx::query_as(
            "SELECT code, label_ja, label_en, builtin FROM categories ORDER BY builtin DESC, code",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn create_category(&self, cat: &Category, actor: &Actor) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let res = sqlx::query(
            "INSERT INTO categories (code, label_ja, label_en, builtin) VALUES ($1, $2, $3, 0)",
        )
        .bind(&cat.code)
        .bind(&cat.label_ja)
        .bind(&cat.label_en)
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            let e = StoreError::from(e);
            return Err(if e.is_unique_violation() {
                StoreError::Conflict(format!("category `{}` already exists", cat.code))
            } else {
                e
            });
        }
        record(
            &mut tx,
            actor,
            "category.create",
            "category",
            &cat.code,
            NONE,
            Some(cat),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_case(&self, new: &NewCase, actor: &Actor) -> Result<Case> {
        let mut tx = self.begin().await?;
        let out = tx.create_case(new, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Brings in a case from the team's earlier ledger with its own times, so that the
    /// statistics cover the months before hikeshi. Audited like any creation.
    pub async fn import_case(&self, imported: &ImportedCase, actor: &Actor) -> Result<Case> {
        let mut tx = self.begin().await?;
        let out = tx.import_case(imported, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn case_by_number(&self, number: &str) -> Result<Case> {
        let mut conn = self.reader.acquire().await?;
        case_in_tx(&mut conn, number).await
    }

    pub async fn case_by_id(&self, id: &str) -> Result<Case> {
        let number: Option<(String,)> = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        match number {
            Some((n,)) => self.case_by_number(&n).await,
            None => Err(StoreError::NotFound(format!("case id {id}"))),
        }
    }

    pub async fn list_cases(&self, f: &CaseFilter) -> Result<CaseList> {
        let mut count_params = Params::default();
        let filter = case_source(f, &mut count_params);
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {filter} LIMIT {}) AS capped",
            COUNT_CAP + 1
        );
        let (counted,): (i64,) =
            sqlx::query_as_with(AssertSqlSafe(count_sql), count_params.into_args())
                .fetch_one(&self.reader)
                .await?;
        let total_capped = counted > COUNT_CAP;
        let total = counted.min(COUNT_CAP);
        let mut p = Params::default();
        let filter = case_source(f, &mut p);
        let limit = p.int(f.limit.clamp(1, 500));
        let offset = p.int(f.offset.max(0));
        // With a tag filter the tag table's copy of created_at lets the (tag, created_at) index
        // give the order; the case id equals case_tags.case_id, so the order is the same.
        let order = if f.tag.is_some() {
            "case_tags.created_at DESC, case_tags.case_id DESC"
        } else {
            "created_at DESC, id DESC"
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let mut items: Vec<Case> = sqlx::query_as_with(AssertSqlSafe(sql), p.into_args())
            .fetch_all(&self.reader)
            .await?;
        if !items.is_empty() {
            self.attach_tags(&mut items).await?;
        }
        Ok(CaseList {
            total,
            total_capped,
            items,
        })
    }

    async fn attach_tags(&self, items: &mut [Case]) -> Result<()> {
        let mut p = Params::default();
        let ids: Vec<String> = items.iter().map(|c| p.text(c.id.clone())).collect();
        let sql = format!(
            "SELECT case_id, tag FROM case_tags WHERE case_id IN ({}) ORDER BY tag",
            ids.join(", ")
        );
        let rows: Vec<(String, String)> = sqlx::query_as_with(AssertSqlSafe(sql), p.into_args())
            .fetch_all(&self.reader)
            .await?;
        for (case_id, tag) in rows {
            if let Some(case) = items.iter_mut().find(|c| c.id == case_id) {
                case.tags.push(tag);
            }
        }
        Ok(())
    }

    /// Applies `patch` and records before/after. Lifecycle rules are the caller's job.
    pub async fn update_case(
        &self,
        number: &str,
        patch: &CasePatch,
        actor: &Actor,
    ) -> Result<Case> {
        let mut tx = self.writer.begin().await?;
        let before = case_in_tx(&mut tx, number).await?;
        let mut after = before.clone();
        macro_rules! apply {
            ($($field:ident),*) => { $(if let Some(v) = &patch.$field { after.$field = v.clone(); })* };
        }
        apply!(
            title,
            description,
            category,
            severity,
            tlp,
            pap,
            status,
            phase,
            assignee,
            affected_assets,
            sla_due_at,
            closed_at
        );
        if let Some(v) = &patch.resolution_summary {
            after.resolution_summary = Some(v.clone());
        }
        if let Some(v) = &patch.lessons_learned {
            after.lessons_learned = Some(v.clone());
        }
        if let Some(v) = &patch.business_impact {
            after.business_impact = v.clone();
        }
        if let Some(tags) = &patch.tags {
            let mut tags = tags.clone();
            tags.sort();
            tags.dedup();
            after.tags = tags;
        }
        let now = now_ms();
        after.updated_at = now;
        mark_milestones(&mut after, now);
        sqlx::query(
            "UPDATE cases SET title = $1, description = $2, category = $3, severity = $4, tlp = $5, pap = $6,
                status = $7, phase = $8, assignee = $9, affected_assets = $10, resolution_summary = $11,
                lessons_learned = $12, sla_due_at = $13, closed_at = $14, search_text = $15, updated_at = $16,
                business_impact = $17, acknowledged_at = $18, contained_at = $19, resolved_at = $20
             WHERE id = $21",
        )
        .bind(&after.title)
        .bind(&after.description)
        .bind(&after.category)
        .bind(&after.severity)
        .bind(&after.tlp)
        .bind(&after.pap)
        .bind(&after.status)
        .bind(&after.phase)
        .bind(&after.assignee)
        .bind(&after.affected_assets)
        .bind(&after.resolution_summary)
        .bind(&after.lessons_learned)
        .bind(after.sla_due_at)
        .bind(after.closed_at)
        .bind(search_text(&after))
        .bind(after.updated_at)
        .bind(&after.business_impact)
        .bind(after.acknowledged_at)
        .bind(after.contained_at)
        .bind(after.resolved_at)
        .bind(&after.id)
        .execute(&mut *tx)
        .await?;
        if patch.tags.is_some() {
            write_tags(&mut tx, &after.id, after.created_at, &after.tags).await?;
        }
        record(
            &mut tx,
            actor,
            "case.update",
            "case",
            number,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn add_comment(&self, number: &str, body: &str, actor: &Actor) -> Result<Comment> {
        let mut tx = self.begin().await?;
        let out = tx.add_comment(number, body, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn comments(&self, case_id: &str) -> Result<Vec<Comment>> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, author, body, created_at FROM comments WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn add_timeline_entry(
        &self,
        number: &str,
        entry: &NewTimelineEntry,
        actor: &Actor,
    ) -> Result<TimelineEntry> {
        let mut tx = self.begin().await?;
        let out = tx.add_timeline_entry(number, entry, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// In the order things happened.
    pub async fn timeline(&self, case_id: &str) -> Result<Vec<TimelineEntry>> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, occurred_at, kind, text, author, created_at FROM timeline_entries
             WHERE case_id = $1 ORDER BY occurred_at, created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Moves everything of `source` into `target` and closes `source` pointing at `target`.
    pub async fn merge_cases(&self, source: &str, target: &str, actor: &Actor) -> Result<Case> {
        if source == target {
            return Err(StoreError::Conflict(
                "a case cannot be merged into itself".into(),
            ));
        }
        let mut tx = self.writer.begin().await?;
        let src = case_in_tx(&mut tx, source).await?;
        let dst = case_in_tx(&mut tx, target).await?;
        if src.merged_into.is_some() {
            return Err(StoreError::Conflict(format!(
                "case {source} is already merged"
            )));
        }
        if dst.merged_into.is_some() {
            return Err(StoreError::Conflict(format!(
                "case {target} was merged into another case"
            )));
        }
        for table in ["tasks", "timeline_entries", "evidence", "comments"] {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {table} SET case_id = $1 WHERE case_id = $2"
            )))
            .bind(&dst.id)
            .bind(&src.id)
            .execute(&mut *tx)
            .await?;
        }
        // Observables the survivor already has stay once; the rest move.
        sqlx::query(
            "DELETE FROM observables WHERE case_id = $1 AND EXISTS (
                SELECT 1 FROM observables t WHERE t.case_id = $2 AND t.kind = observables.kind AND t.value = observables.value)",
        )
        .bind(&src.id)
        .bind(&dst.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE observables SET case_id = $1 WHERE case_id = $2")
            .bind(&dst.id)
            .bind(&src.id)
            .execute(&mut *tx)
            .await?;
        let mut merged_tags = dst.tags.clone();
        merged_tags.extend(src.tags.iter().cloned());
        merged_tags.sort();
        merged_tags.dedup();
        write_tags(&mut tx, &dst.id, dst.created_at, &merged_tags).await?;
        let now = now_ms();
        sqlx::query(
            "UPDATE cases SET merged_into = $1, status = 'closed', closed_at = $2, updated_at = $2,
                resolution_summary = $3 WHERE id = $4",
        )
        .bind(&dst.number)
        .bind(now)
        .bind(format!("merged into {}", dst.number))
        .bind(&src.id)
        .execute(&mut *tx)
        .await?;
        touch_case(&mut tx, &dst.id).await?;
        let src_after = case_in_tx(&mut tx, source).await?;
        let dst_after = case_in_tx(&mut tx, target).await?;
        record(
            &mut tx,
            actor,
            "case.merge",
            "case",
            source,
            Some(&src),
            Some(&src_after),
        )
        .await?;
        record(
            &mut tx,
            actor,
            "case.merge",
            "case",
            target,
            Some(&dst),
            Some(&dst_after),
        )
        .await?;
        tx.commit().await?;
        Ok(dst_after)
    }
}

/// FROM and WHERE for a case filter, its values bound into `p`. A tag filter joins the tag
/// table (one row per case and tag) so the planner can start from the tag's index.
fn case_source(f: &CaseFilter, p: &mut Params) -> String {
    let mut clauses = Vec::new();
    let from = match &f.tag {
        Some(tag) => format!(
            "cases JOIN case_tags ON case_tags.case_id = cases.id AND case_tags.tag = {}",
            p.text(tag.clone())
        ),
        None => "cases".to_string(),
    };
    for (column, value) in [
        ("status", &f.status),
        ("severity", &f.severity),
        ("category", &f.category),
        ("assignee", &f.assignee),
    ] {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", p.text(v.clone())));
        }
    }
    if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // The case's own text, or one of its observables (an address, a hash, a domain).
        let pattern = like_pattern(text);
        clauses.push(format!(
            "(search_text LIKE {} ESCAPE '\\' OR id IN (SELECT case_id FROM observables WHERE lower(value) LIKE {} ESCAPE '\\'))",
            p.text(pattern.clone()),
            p.text(pattern)
        ));
    }
    if clauses.is_empty() {
        from
    } else {
        format!("{from} WHERE {}", clauses.join(" AND "))
    }
}

impl crate::Tx {
    pub async fn create_case(&mut self, new: &NewCase, actor: &Actor) -> Result<Case> {
        let tx = self.conn();
        // One statement on both engines: first case of the year inserts, later ones increment.
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO case_counters (year, last_value) VALUES ($1, 1)
             ON CONFLICT (year) DO UPDATE SET last_value = case_counters.last_value + 1
             RETURNING last_value",
        )
        .bind(i64::from(new.year))
        .fetch_one(&mut *tx)
        .await?;
        let now = now_ms();
        let mut tags = new.tags.clone();
        tags.sort();
        tags.dedup();
        let case = Case {
            id: new_id(),
            number: hikeshi_model::CaseNumber {
                year: new.year,
                sequence: seq,
            }
            .to_string(),
            title: new.title.clone(),
            description: new.description.clone(),
            category: new.category.clone(),
            severity: new.severity.clone(),
            tlp: new.tlp.clone(),
            pap: new.pap.clone(),
            status: "new".into(),
            phase: new.phase.clone(),
            assignee: new.assignee.clone(),
            tags,
            affected_assets: new.affected_assets.clone(),
            resolution_summary: None,
            lessons_learned: None,
            merged_into: None,
            sla_due_at: new.sla_due_at,
            created_by: actor.username.clone(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            source: new.source.clone(),
            acknowledged_at: None,
            contained_at: None,
            resolved_at: None,
            business_impact: new.business_impact.clone(),
        };
        insert_case(&mut *tx, &case).await?;
        write_tags(&mut *tx, &case.id, case.created_at, &case.tags).await?;
        for title in &new.tasks {
            crate::tasks::insert_task(&mut *tx, &case.id, title, None, None, actor).await?;
        }
        record(
            &mut *tx,
            actor,
            "case.create",
            "case",
            &case.number,
            NONE,
            Some(&case),
        )
        .await?;
        Ok(case)
    }

    /// Brings in a case from the team's earlier ledger with its own times, so that the
    /// statistics cover the months before hikeshi. Audited like any creation.
    pub async fn import_case(&mut self, imported: &ImportedCase, actor: &Actor) -> Result<Case> {
        let tx = self.conn();
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO case_counters (year, last_value) VALUES ($1, 1)
             ON CONFLICT (year) DO UPDATE SET last_value = case_counters.last_value + 1
             RETURNING last_value",
        )
        .bind(i64::from(imported.year))
        .fetch_one(&mut *tx)
        .await?;
        let case = Case {
            id: new_id(),
            number: hikeshi_model::CaseNumber {
                year: imported.year,
                sequence: seq,
            }
            .to_string(),
            resolution_summary: None,
            lessons_learned: None,
            merged_into: None,
            created_by: actor.username.clone(),
            updated_at: imported.created_at,
            ..imported.case.clone()
        };
        insert_case(&mut *tx, &case).await?;
        write_tags(&mut *tx, &case.id, case.created_at, &case.tags).await?;
        record(
            &mut *tx,
            actor,
            "case.import",
            "case",
            &case.number,
            NONE,
            Some(&case),
        )
        .await?;
        Ok(case)
    }

    pub async fn add_comment(
        &mut self,
        number: &str,
        body: &str,
        actor: &Actor,
    ) -> Result<Comment> {
        let tx = self.conn();
        let case = case_in_tx(&mut *tx, number).await?;
        let comment = Comment {
            id: new_id(),
            case_id: case.id.clone(),
            author: actor.username.clone(),
            body: body.to_string(),
            created_at: now_ms(),
        };
        sqlx::query("INSERT INTO comments (id, case_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&comment.id)
            .bind(&comment.case_id)
            .bind(&comment.author)
            .bind(&comment.body)
            .bind(comment.created_at)
            .execute(&mut *tx)
            .await?;
        touch_case(&mut *tx, &case.id).await?;
        record(
            &mut *tx,
            actor,
            "comment.create",
            "case",
            number,
            NONE,
            Some(&comment),
        )
        .await?;
        Ok(comment)
    }

    pub async fn add_timeline_entry(
        &mut self,
        number: &str,
        entry: &NewTimelineEntry,
        actor: &Actor,
    ) -> Result<TimelineEntry> {
        let tx = self.conn();
        let case = case_in_tx(&mut *tx, number).await?;
        let row = TimelineEntry {
            id: new_id(),
            case_id: case.id.clone(),
            occurred_at: entry.occurred_at,
            kind: entry.kind.clone(),
            text: entry.text.clone(),
            author: actor.username.clone(),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO timeline_entries (id, case_id, occurred_at, kind, text, author, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.case_id)
        .bind(row.occurred_at)
        .bind(&row.kind)
        .bind(&row.text)
        .bind(&row.author)
        .bind(row.created_at)
        .execute(&mut *tx)
        .await?;
        touch_case(&mut *tx, &case.id).await?;
        record(
            &mut *tx,
            actor,
            "timeline.create",
            "case",
            number,
            NONE,
            Some(&row),
        )
        .await?;
        Ok(row)
    }
}

impl crate::Tx {
    pub async fn case_by_id(&mut self, id: &str) -> Result<Case> {
        let number: Option<(String,)> = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        match number {
            Some((n,)) => case_in_tx(self.conn(), &n).await,
            None => Err(StoreError::NotFound(format!("case id {id}"))),
        }
    }

    /// The case as this transaction sees it (with its tags).
    pub async fn case_by_number(&mut self, number: &str) -> Result<Case> {
        case_in_tx(self.conn(), number).await
    }
}
