//! Response actions, the reconcilers' leases and their health. A state change is a compare and
//! swap on (id, state, updated_at): two servers, or a revoke racing the reconciler, cannot both
//! move one action, and the loser sees `false` and reads again.

use crate::{Actor, Result, Store, StoreError, Tx};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResponseAction {
    pub id: String,
    pub idempotency_key: String,
    pub policy: String,
    pub policy_version: String,
    pub kind: String,
    pub target: String,
    pub connector: String,
    pub mode: String,
    pub state: String,
    pub plan: String,
    pub plan_hash: String,
    pub alert_id: Option<String>,
    pub requested_by: String,
    pub approved_by: String,
    pub offence: i64,
    pub ttl_ms: i64,
    pub created_at: i64,
    pub approval_expires_at: Option<i64>,
    pub activated_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: String,
    pub connector_answer: String,
    pub held_because: String,
    pub updated_at: i64,
    /// When a connector that is told rather than read back (a webhook) was told to undo it.
    pub undone_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConnectorHealth {
    pub connector: String,
    pub holder: String,
    pub last_reconcile_at: i64,
    pub in_force: i64,
    pub drift_repaired: i64,
    pub failures: i64,
    pub last_error: String,
}

#[derive(Debug, Clone, Default)]
pub struct ActionQuery {
    pub state: Option<String>,
    pub policy: Option<String>,
    pub target: Option<String>,
    pub limit: i64,
}

const COLUMNS: &str = "id, idempotency_key, policy, policy_version, kind, target, connector, mode, state, plan, plan_hash, alert_id, requested_by, approved_by, offence, ttl_ms, created_at, approval_expires_at, activated_at, expires_at, attempts, next_attempt_at, last_error, connector_answer, held_because, updated_at, undone_at";

/// States whose actions a connector must have in force (or be trying to).
const WANT_IN_FORCE: &str = "'approved', 'applying', 'active', 'failed'";
/// Still alive: a failure with a retry to come is, a final one is not (a new hit makes a new
/// intent instead of joining a dead one).
const OPEN: &str = "(state IN ('proposed', 'pending_approval', 'approved', 'applying', 'active') OR (state = 'failed' AND next_attempt_at IS NOT NULL))";

impl Tx {
    /// Writes a new action and audits it as proposed. A second insert of the same idempotency
    /// key is a conflict: the caller lost a race and should read the winner.
    pub async fn insert_response_action(
        &mut self,
        row: &ResponseAction,
        actor: &Actor,
    ) -> Result<()> {
        let placeholders = (1..=27)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO response_actions ({COLUMNS}) VALUES ({placeholders}) ON CONFLICT (idempotency_key) DO NOTHING"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&row.id)
            .bind(&row.idempotency_key)
            .bind(&row.policy)
            .bind(&row.policy_version)
            .bind(&row.kind)
            .bind(&row.target)
            .bind(&row.connector)
            .bind(&row.mode)
            .bind(&row.state)
            .bind(&row.plan)
            .bind(&row.plan_hash)
            .bind(&row.alert_id)
            .bind(&row.requested_by)
            .bind(&row.approved_by)
            .bind(row.offence)
            .bind(row.ttl_ms)
            .bind(row.created_at)
            .bind(row.approval_expires_at)
            .bind(row.activated_at)
            .bind(row.expires_at)
            .bind(row.attempts)
            .bind(row.next_attempt_at)
            .bind(&row.last_error)
            .bind(&row.connector_answer)
            .bind(&row.held_because)
            .bind(row.updated_at)
            .bind(row.undone_at)
            .execute(self.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "response action {} exists",
                row.idempotency_key
            )));
        }
        crate::audit::record(
            self.conn(),
            actor,
            "response.proposed",
            "response_action",
            &row.id,
            crate::audit::NONE,
            Some(row),
        )
        .await
    }

    /// Moves `before` to `after` if nobody moved it since it was read; audits the move as
    /// `response.<new state>`. `false`: it changed meanwhile, nothing was written.
    pub async fn save_response_action(
        &mut self,
        before: &ResponseAction,
        after: &ResponseAction,
        actor: &Actor,
    ) -> Result<bool> {
        let action = format!("response.{}", after.state);
        self.save_response_action_as(before, after, actor, &action)
            .await
    }

    /// [`Tx::save_response_action`] audited as `audit_action`: for what happens to an action
    /// without a change of state (a webhook told to undo a revoked block).
    pub async fn save_response_action_as(
        &mut self,
        before: &ResponseAction,
        after: &ResponseAction,
        actor: &Actor,
        audit_action: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE response_actions SET state = $1, plan = $2, plan_hash = $3, approved_by = $4,
                ttl_ms = $5, approval_expires_at = $6, activated_at = $7, expires_at = $8,
                attempts = $9, next_attempt_at = $10, last_error = $11, connector_answer = $12,
                held_because = $13, updated_at = $14, undone_at = $18
             WHERE id = $15 AND state = $16 AND updated_at = $17",
        )
        .bind(&after.state)
        .bind(&after.plan)
        .bind(&after.plan_hash)
        .bind(&after.approved_by)
        .bind(after.ttl_ms)
        .bind(after.approval_expires_at)
        .bind(after.activated_at)
        .bind(after.expires_at)
        .bind(after.attempts)
        .bind(after.next_attempt_at)
        .bind(&after.last_error)
        .bind(&after.connector_answer)
        .bind(&after.held_because)
        .bind(after.updated_at)
        .bind(&before.id)
        .bind(&before.state)
        .bind(before.updated_at)
        .bind(after.undone_at)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        crate::audit::record(
            self.conn(),
            actor,
            audit_action,
            "response_action",
            &after.id,
            Some(before),
            Some(after),
        )
        .await?;
        Ok(true)
    }

    /// The open intent of this policy for this target, if there is one.
    pub async fn open_response_action(
        &mut self,
        policy: &str,
        kind: &str,
        target: &str,
    ) -> Result<Option<ResponseAction>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM response_actions WHERE policy = $1 AND kind = $2 AND target = $3 AND {OPEN} ORDER BY created_at DESC LIMIT 1"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(policy)
            .bind(kind)
            .bind(target)
            .fetch_optional(self.conn())
            .await?)
    }

    /// Actions of this policy against this target: (ever, since `since`). The first numbers the
    /// idempotency key, the second is the offence count of the escalation.
    pub async fn response_offences(
        &mut self,
        policy: &str,
        kind: &str,
        target: &str,
        since: i64,
    ) -> Result<(i64, i64)> {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN created_at >= $4 AND state <> 'simulated' THEN 1 ELSE 0 END), 0)
             FROM response_actions WHERE policy = $1 AND kind = $2 AND target = $3",
        )
        .bind(policy)
        .bind(kind)
        .bind(target)
        .bind(since)
        .fetch_one(self.conn())
        .await?;
        Ok(row)
    }

    /// Actions this policy carried out without asking since `since` (its rate limit).
    pub async fn response_auto_actions_since(&mut self, policy: &str, since: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM response_actions WHERE policy = $1 AND created_at >= $2 AND mode = 'auto' AND held_because = '' AND state <> 'simulated'",
        )
        .bind(policy)
        .bind(since)
        .fetch_one(self.conn())
        .await?;
        Ok(n)
    }

    /// Actions of a kind in force or on their way (a cap per kind).
    pub async fn response_in_force_count(&mut self, kind: &str) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM response_actions WHERE kind = $1 AND state IN ({WANT_IN_FORCE})"
        );
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    pub async fn response_action_for_update(&mut self, id: &str) -> Result<ResponseAction> {
        let sql = format!("SELECT {COLUMNS} FROM response_actions WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("response action {id}")))
    }
}

impl Store {
    pub async fn response_action(&self, id: &str) -> Result<Option<ResponseAction>> {
        let sql = format!("SELECT {COLUMNS} FROM response_actions WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// Newest first.
    pub async fn response_actions(&self, q: &ActionQuery) -> Result<Vec<ResponseAction>> {
        let mut sql = format!("SELECT {COLUMNS} FROM response_actions WHERE 1 = 1");
        let mut binds: Vec<&str> = Vec::new();
        for (column, value) in [
            ("state", &q.state),
            ("policy", &q.policy),
            ("target", &q.target),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        let limit = if q.limit > 0 { q.limit.min(1000) } else { 200 };
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        Ok(query.fetch_all(&self.reader).await?)
    }

    /// What a connector's reconciler works on: actions it should have in force, and those
    /// whose approval may have timed out. Read on the writer: the reconciler acts on it.
    pub async fn response_actions_of_connector(
        &self,
        connector: &str,
    ) -> Result<Vec<ResponseAction>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM response_actions WHERE connector = $1 AND state IN ({WANT_IN_FORCE}, 'pending_approval', 'reverting') ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(connector)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Revoked actions a told connector may have applied (an attempt was made) and has not
    /// yet been told to undo.
    pub async fn response_actions_to_undo(&self, connector: &str) -> Result<Vec<ResponseAction>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM response_actions WHERE connector = $1 AND state = 'revoked' AND attempts > 0 AND undone_at IS NULL ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(connector)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Counts by state, for /metrics.
    pub async fn response_action_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT state, COUNT(*) FROM response_actions GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Takes or renews the reconciler's lease on `connector` until `until`; `false`: another
    /// holder's lease has not run out.
    pub async fn claim_response_lease(
        &self,
        connector: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool> {
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO response_leases (connector, holder, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (connector) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
             WHERE response_leases.holder = excluded.holder OR response_leases.until_ms < $4
             RETURNING holder",
        )
        .bind(connector)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.is_some())
    }

    /// Gives the lease up (a clean shutdown), so another server takes over at once.
    pub async fn release_response_lease(&self, connector: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM response_leases WHERE connector = $1 AND holder = $2")
            .bind(connector)
            .bind(holder)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn record_connector_health(&self, h: &ConnectorHealth) -> Result<()> {
        sqlx::query(
            "INSERT INTO response_connector_health (connector, holder, last_reconcile_at, in_force, drift_repaired, failures, last_error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (connector) DO UPDATE SET holder = excluded.holder, last_reconcile_at = excluded.last_reconcile_at,
               in_force = excluded.in_force, drift_repaired = excluded.drift_repaired, failures = excluded.failures,
               last_error = excluded.last_error",
        )
        .bind(&h.connector)
        .bind(&h.holder)
        .bind(h.last_reconcile_at)
        .bind(h.in_force)
        .bind(h.drift_repaired)
        .bind(h.failures)
        .bind(&h.last_error)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn connector_health(&self) -> Result<Vec<ConnectorHealth>> {
        Ok(sqlx::query_as(
            "SELECT connector, holder, last_reconcile_at, in_force, drift_repaired, failures, last_error FROM response_connector_health ORDER BY connector",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Whether an address belongs to an asset of the inventory: (asset name, its tags).
    pub async fn asset_with_ip(&self, ip: &str) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT a.name, a.tags FROM asset_identifiers i JOIN assets a ON a.id = i.asset_id WHERE i.kind = 'ip' AND i.value = $1 LIMIT 1",
        )
        .bind(ip)
        .fetch_optional(&self.reader)
        .await?)
    }
}

/// The recorded fingerprint of a web root's known-good copy.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ContentBaseline {
    pub name: String,
    pub manifest_sha256: String,
    pub files: i64,
    pub promoted_by: String,
    pub promoted_at: i64,
}

impl Store {
    pub async fn content_baseline(&self, name: &str) -> Result<Option<ContentBaseline>> {
        Ok(sqlx::query_as(
            "SELECT name, manifest_sha256, files, promoted_by, promoted_at FROM content_baselines WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.writer)
        .await?)
    }

    /// Records a promoted baseline and audits it (`content.baseline_promoted`), in one
    /// transaction.
    pub async fn promote_content_baseline(&self, b: &ContentBaseline, actor: &Actor) -> Result<()> {
        self.write(async |tx| {
            let before: Option<ContentBaseline> = sqlx::query_as(
                "SELECT name, manifest_sha256, files, promoted_by, promoted_at FROM content_baselines WHERE name = $1",
            )
            .bind(&b.name)
            .fetch_optional(tx.conn())
            .await?;
            sqlx::query(
                "INSERT INTO content_baselines (name, manifest_sha256, files, promoted_by, promoted_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET manifest_sha256 = excluded.manifest_sha256,
                   files = excluded.files, promoted_by = excluded.promoted_by, promoted_at = excluded.promoted_at",
            )
            .bind(&b.name)
            .bind(&b.manifest_sha256)
            .bind(b.files)
            .bind(&b.promoted_by)
            .bind(b.promoted_at)
            .execute(tx.conn())
            .await?;
            crate::audit::record(
                tx.conn(),
                actor,
                "content.baseline_promoted",
                "content_baseline",
                &b.name,
                before.as_ref(),
                Some(b),
            )
            .await
        })
        .await
    }
}
