//! Queries behind the incident statistics: counts by one dimension, counts by day, and the
//! milestone times that response metrics are computed from. Merged cases are left out: their
//! incident is counted in the case they went into.

use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::AssertSqlSafe;

/// What a case count can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseDimension {
    Category,
    Severity,
    Source,
    Status,
}

impl CaseDimension {
    fn column(self) -> &'static str {
        match self {
            CaseDimension::Category => "category",
            CaseDimension::Severity => "severity",
            CaseDimension::Source => "source",
            CaseDimension::Status => "status",
        }
    }
}

/// The times of one case that response metrics need.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseTiming {
    pub severity: String,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub contained_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub sla_due_at: Option<i64>,
}

/// A case as the monthly report lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseLine {
    pub number: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub status: String,
    pub phase: String,
    pub source: String,
    pub business_impact: String,
    pub created_at: i64,
}

impl Store {
    /// Cases created in [from, to), counted by `dim`.
    pub async fn case_counts(
        &self,
        from: i64,
        to: i64,
        dim: CaseDimension,
    ) -> Result<Vec<(String, i64)>> {
        let col = dim.column();
        let sql = format!(
            "SELECT {col}, COUNT(*) FROM cases WHERE created_at >= $1 AND created_at < $2
             AND merged_into IS NULL GROUP BY {col} ORDER BY {col}"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .fetch_all(&self.reader)
            .await?)
    }

    /// Cases created in [from, to) per day, where a day starts at `offset_ms` past UTC
    /// midnight's negative (i.e. days of the team's time zone). Returns (day number, count).
    pub async fn case_counts_by_day(
        &self,
        from: i64,
        to: i64,
        offset_ms: i64,
    ) -> Result<Vec<(i64, i64)>> {
        if offset_ms.abs() > 14 * 3_600_000 {
            return Err(StoreError::Corrupt(format!(
                "time-zone offset {offset_ms} ms is out of range"
            )));
        }
        Ok(sqlx::query_as(
            "SELECT (created_at + $3) / 86400000 AS day, COUNT(*) FROM cases
             WHERE created_at >= $1 AND created_at < $2 AND merged_into IS NULL
             GROUP BY (created_at + $3) / 86400000 ORDER BY day",
        )
        .bind(from)
        .bind(to)
        .bind(offset_ms)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Milestones of the cases created in [from, to).
    pub async fn case_timings(&self, from: i64, to: i64) -> Result<Vec<CaseTiming>> {
        Ok(sqlx::query_as(
            "SELECT severity, created_at, acknowledged_at, contained_at, resolved_at, sla_due_at
             FROM cases WHERE created_at >= $1 AND created_at < $2 AND merged_into IS NULL",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The cases created in [from, to), most severe first, at most `limit`.
    pub async fn case_lines(&self, from: i64, to: i64, limit: i64) -> Result<Vec<CaseLine>> {
        Ok(sqlx::query_as(
            "SELECT number, title, category, severity, status, phase, source, business_impact, created_at
             FROM cases WHERE created_at >= $1 AND created_at < $2 AND merged_into IS NULL
             ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                      WHEN 'low' THEN 3 ELSE 4 END, created_at
             LIMIT $3",
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Open cases whose phase is `phase` (the dashboard counts those in containment).
    pub async fn open_cases_in_phase(&self, phase: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM cases WHERE phase = $1 AND status IN ('new', 'triage', 'in_progress')
             AND merged_into IS NULL",
        )
        .bind(phase)
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }
}

impl Store {
    /// Incidents under way at `at` and not yet contained: work had begun (acknowledged) and
    /// containment was not over. Rejected and merged cases are left out.
    pub async fn cases_not_contained_at(&self, at: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM cases WHERE merged_into IS NULL AND status <> 'rejected'
             AND acknowledged_at IS NOT NULL AND acknowledged_at < $1
             AND (contained_at IS NULL OR contained_at >= $1)",
        )
        .bind(at)
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }
}
