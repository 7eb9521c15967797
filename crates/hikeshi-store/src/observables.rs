//! Observables of a case, stored once per (case, kind, canonical value) and linked across cases.

use crate::audit::{record, NONE};
use crate::cases::touch_case;
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Observable {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub value: String,
    pub description: String,
    pub tlp: String,
    pub is_ioc: i64,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewObservable {
    pub kind: String,
    /// Already in canonical form (see `hikeshi_model::normalise_observable`).
    pub value: String,
    pub description: String,
    pub tlp: String,
    pub is_ioc: bool,
}

/// The same observable seen in another case.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ObservableLink {
    pub kind: String,
    pub value: String,
    pub case_number: String,
    pub case_title: String,
}

const OBS_COLUMNS: &str =
    "id, case_id, kind, value, description, tlp, is_ioc, created_by, created_at";

impl Store {
    /// (kind, value) of the indicators partners shared that are in force: IOC observables on
    /// cases received through sharing that are neither closed, rejected nor merged, recorded
    /// since `since_ms` or sighted since then (an indicator alert, `ioc:<kind>:<value>`, seen).
    pub async fn shared_indicators(&self, since_ms: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT o.kind, o.value FROM observables o JOIN cases c ON c.id = o.case_id
             WHERE o.is_ioc = 1 AND c.source = 'sharing' AND c.status NOT IN ('closed', 'rejected')
               AND c.merged_into IS NULL
               AND (o.created_at >= $1 OR EXISTS (
                   SELECT 1 FROM alerts a
                   WHERE a.rule_id = 'ioc:' || o.kind || ':' || o.value AND a.last_seen >= $1))",
        )
        .bind(since_ms)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Adds an observable; if the case already has it, returns the existing one and `false`.
    pub async fn add_observable(
        &self,
        case_id: &str,
        new: &NewObservable,
        actor: &Actor,
    ) -> Result<(Observable, bool)> {
        let mut tx = self.begin().await?;
        let out = tx.add_observable(case_id, new, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn observables(&self, case_id: &str) -> Result<Vec<Observable>> {
        let sql = format!(
            "SELECT {OBS_COLUMNS} FROM observables WHERE case_id = $1 ORDER BY kind, value"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn delete_observable(
        &self,
        case_id: &str,
        observable_id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {OBS_COLUMNS} FROM observables WHERE id = $1 AND case_id = $2");
        let before: Observable = sqlx::query_as(AssertSqlSafe(sql))
            .bind(observable_id)
            .bind(case_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("observable {observable_id}")))?;
        sqlx::query("DELETE FROM observables WHERE id = $1")
            .bind(observable_id)
            .execute(&mut *tx)
            .await?;
        touch_case(&mut tx, case_id).await?;
        record(
            &mut tx,
            actor,
            "observable.delete",
            "observable",
            observable_id,
            Some(&before),
            NONE,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Other cases that share an observable with this one.
    pub async fn observable_links(&self, case_id: &str) -> Result<Vec<ObservableLink>> {
        Ok(sqlx::query_as(
            "SELECT o.kind, o.value, c.number AS case_number, c.title AS case_title
             FROM observables o
             JOIN observables x ON x.kind = o.kind AND x.value = o.value AND x.case_id <> o.case_id
             JOIN cases c ON c.id = x.case_id
             WHERE o.case_id = $1
             ORDER BY c.number, o.kind, o.value",
        )
        .bind(case_id)
        .fetch_all(&self.reader)
        .await?)
    }
}

impl crate::Tx {
    /// Adds an observable; if the case already has it, returns the existing one and `false`.
    pub async fn add_observable(
        &mut self,
        case_id: &str,
        new: &NewObservable,
        actor: &Actor,
    ) -> Result<(Observable, bool)> {
        let tx = self.conn();
        let sql = format!(
            "SELECT {OBS_COLUMNS} FROM observables WHERE case_id = $1 AND kind = $2 AND value = $3"
        );
        let existing: Option<Observable> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(case_id)
            .bind(&new.kind)
            .bind(&new.value)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(found) = existing {
            return Ok((found, false));
        }
        let obs = Observable {
            id: new_id(),
            case_id: case_id.to_string(),
            kind: new.kind.clone(),
            value: new.value.clone(),
            description: new.description.clone(),
            tlp: new.tlp.clone(),
            is_ioc: i64::from(new.is_ioc),
            created_by: actor.username.clone(),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO observables (id, case_id, kind, value, description, tlp, is_ioc, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&obs.id)
        .bind(&obs.case_id)
        .bind(&obs.kind)
        .bind(&obs.value)
        .bind(&obs.description)
        .bind(&obs.tlp)
        .bind(obs.is_ioc)
        .bind(&obs.created_by)
        .bind(obs.created_at)
        .execute(&mut *tx)
        .await?;
        touch_case(&mut *tx, case_id).await?;
        record(
            &mut *tx,
            actor,
            "observable.create",
            "observable",
            &obs.id,
            NONE,
            Some(&obs),
        )
        .await?;
        Ok((obs, true))
    }
}
