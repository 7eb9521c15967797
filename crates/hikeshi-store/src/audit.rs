//! The append-only audit log: who changed what, when, from what to what. Written in the same
//! transaction as the change it records, so one never exists without the other.

use crate::params::Params;
use crate::{new_id, now_ms, Actor, Result, Store};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) async fn record<B: Serialize, A: Serialize>(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<()> {
    let to_json = |v: Option<String>| v;
    let before = to_json(before.and_then(|b| serde_json::to_string(b).ok()));
    let after = to_json(after.and_then(|a| serde_json::to_string(a).ok()));
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(&actor.username)
    .bind(action)
    .bind(object_type)
    .bind(object_id)
    .bind(before)
    .bind(after)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stand-in type for "no value" on one side of an audit record.
pub(crate) const NONE: Option<&()> = None;

impl Store {
    /// Records something that changed nothing stored but must be accountable, such as data
    /// leaving through an export.
    pub async fn audit_event<A: Serialize>(
        &self,
        actor: &Actor,
        action: &str,
        object_type: &str,
        object_id: &str,
        detail: &A,
    ) -> Result<()> {
        self.write(async |tx| {
            tx.audit_event(actor, action, object_type, object_id, detail)
                .await
        })
        .await
    }

    /// Newest first.
    pub async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut p = Params::default();
        let mut clauses = Vec::new();
        if let Some(t) = &q.object_type {
            clauses.push(format!("object_type = {}", p.text(t.clone())));
        }
        if let Some(o) = &q.object_id {
            clauses.push(format!("object_id = {}", p.text(o.clone())));
        }
        if let Some(a) = &q.actor {
            clauses.push(format!("actor = {}", p.text(a.clone())));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = p.int(q.limit.clamp(1, 10_000));
        let offset = p.int(q.offset.max(0));
        let sql = format!(
            "SELECT id, at, actor, action, object_type, object_id, before_json, after_json
             FROM audit_log {filter} ORDER BY at DESC, id DESC LIMIT {limit} OFFSET {offset}"
        );
        Ok(sqlx::query_as_with(AssertSqlSafe(sql), p.into_args())
            .fetch_all(&self.reader)
            .await?)
    }
}

impl crate::Tx {
    /// An accountable event inside a use case's transaction (a guardrail that stopped an
    /// action, a circuit that opened).
    pub async fn audit_event<A: Serialize>(
        &mut self,
        actor: &Actor,
        action: &str,
        object_type: &str,
        object_id: &str,
        detail: &A,
    ) -> Result<()> {
        record(
            self.conn(),
            actor,
            action,
            object_type,
            object_id,
            NONE,
            Some(detail),
        )
        .await
    }
}
