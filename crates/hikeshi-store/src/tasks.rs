//! Tasks of a case: what has to be done, by whom, by when.

use crate::audit::{record, NONE};
use crate::cases::touch_case;
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub title: String,
    pub assignee: Option<String>,
    pub status: String,
    pub due_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: String,
    pub assignee: Option<String>,
    pub due_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub assignee: Option<Option<String>>,
    pub status: Option<String>,
    pub due_at: Option<Option<i64>>,
}

/// A task with the case it belongs to, for a person's own list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AssignedTask {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub task: Task,
    pub case_number: String,
    pub case_title: String,
}

const TASK_COLUMNS: &str =
    "id, case_id, title, assignee, status, due_at, created_by, created_at, updated_at";

pub(crate) async fn insert_task(
    conn: &mut AnyConnection,
    case_id: &str,
    title: &str,
    assignee: Option<&str>,
    due_at: Option<i64>,
    actor: &Actor,
) -> Result<Task> {
    let now = now_ms();
    let task = Task {
        id: new_id(),
        case_id: case_id.to_string(),
        title: title.to_string(),
        assignee: assignee.map(str::to_string),
        status: "todo".into(),
        due_at,
        created_by: actor.username.clone(),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO tasks (id, case_id, title, assignee, status, due_at, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&task.id)
    .bind(&task.case_id)
    .bind(&task.title)
    .bind(&task.assignee)
    .bind(&task.status)
    .bind(task.due_at)
    .bind(&task.created_by)
    .bind(task.created_at)
    .bind(task.updated_at)
    .execute(conn)
    .await?;
    Ok(task)
}

impl Store {
    pub async fn add_task(&self, case_id: &str, new: &NewTask, actor: &Actor) -> Result<Task> {
        let mut tx = self.begin().await?;
        let out = tx.add_task(case_id, new, actor).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn tasks(&self, case_id: &str) -> Result<Vec<Task>> {
        let sql =
            format!("SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = $1 ORDER BY created_at, id");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(case_id)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Open tasks (to do, in progress) assigned to `username` on cases that were not merged
    /// away, soonest due first, with their case's number and title.
    pub async fn open_tasks_assigned(&self, username: &str) -> Result<Vec<AssignedTask>> {
        let sql = "SELECT t.id, t.case_id, t.title, t.assignee, t.status, t.due_at, t.created_by, t.created_at, t.updated_at, c.number AS case_number, c.title AS case_title
             FROM tasks t JOIN cases c ON c.id = t.case_id
             WHERE t.assignee = $1 AND t.status IN ('todo', 'in_progress') AND c.merged_into IS NULL
             ORDER BY CASE WHEN t.due_at IS NULL THEN 1 ELSE 0 END, t.due_at, t.created_at, t.id
             LIMIT 500";
        Ok(sqlx::query_as(sql)
            .bind(username)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn task(&self, task_id: &str) -> Result<Task> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(task_id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("task {task_id}")))
    }

    pub async fn update_task(
        &self,
        task_id: &str,
        patch: &TaskPatch,
        actor: &Actor,
    ) -> Result<Task> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let before: Task = sqlx::query_as(AssertSqlSafe(sql))
            .bind(task_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("task {task_id}")))?;
        let mut after = before.clone();
        if let Some(v) = &patch.title {
            after.title = v.clone();
        }
        if let Some(v) = &patch.assignee {
            after.assignee = v.clone();
        }
        if let Some(v) = &patch.status {
            after.status = v.clone();
        }
        if let Some(v) = patch.due_at {
            after.due_at = v;
        }
        after.updated_at = now_ms();
        sqlx::query("UPDATE tasks SET title = $1, assignee = $2, status = $3, due_at = $4, updated_at = $5 WHERE id = $6")
            .bind(&after.title)
            .bind(&after.assignee)
            .bind(&after.status)
            .bind(after.due_at)
            .bind(after.updated_at)
            .bind(&after.id)
            .execute(&mut *tx)
            .await?;
        touch_case(&mut tx, &after.case_id).await?;
        record(
            &mut tx,
            actor,
            "task.update",
            "task",
            task_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

impl crate::Tx {
    pub async fn add_task(&mut self, case_id: &str, new: &NewTask, actor: &Actor) -> Result<Task> {
        let tx = self.conn();
        let task = insert_task(
            &mut *tx,
            case_id,
            &new.title,
            new.assignee.as_deref(),
            new.due_at,
            actor,
        )
        .await?;
        touch_case(&mut *tx, case_id).await?;
        record(
            &mut *tx,
            actor,
            "task.create",
            "task",
            &task.id,
            NONE,
            Some(&task),
        )
        .await?;
        Ok(task)
    }
}
