//! The team's earlier incident ledger (the spreadsheet most new CSIRTs keep) brought in as
//! cases with their own times, so that statistics and trends cover the months before
//! hikeshi. One bad cell refuses the whole file, naming its line and column; a row whose
//! `ref` was imported before is skipped, so the same file can be imported again.

use crate::error::AppResult;
use crate::validate::text_field;
use crate::vulns::asset_csv::CellError;
use crate::vulns::csv_import::fields;
use crate::who::Who;
use crate::App;
use hikeshi_model::{CaseSource, CaseStatus, Phase, Severity};
use hikeshi_store::{Case, CaseFilter};
use serde::Serialize;

pub const HEADER: [&str; 14] = [
    "ref",
    "title",
    "category",
    "severity",
    "status",
    "phase",
    "source",
    "created_at",
    "acknowledged_at",
    "contained_at",
    "resolved_at",
    "sla_due_at",
    "business_impact",
    "description",
];

/// Largest ledger file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
const MAX_ROWS: usize = 200_000;

#[derive(Debug, Serialize, Default)]
pub struct LedgerPlan {
    pub dry_run: bool,
    /// Case numbers created (or, in a dry run, the refs that would be).
    pub created: Vec<String>,
    /// Refs already imported before.
    pub skipped: Vec<String>,
    pub errors: Vec<CellError>,
}

fn time(cell: &str) -> Result<Option<i64>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(cell)
        .map(|t| Some(t.timestamp_millis()))
        .map_err(|_| {
            format!(
                "`{}` is not a time like 2026-04-01T09:30:00+09:00",
                cell.chars().take(40).collect::<String>()
            )
        })
}

struct Row {
    line: usize,
    reference: String,
    case: Case,
}

fn parse(text: &str, categories: &[String]) -> Result<Vec<Row>, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let err = |line: usize, column: &str, message: String| CellError {
        line,
        column: column.into(),
        message,
    };
    let Some((_, head)) = lines.next() else {
        return Err(vec![err(1, "", "empty file".into())]);
    };
    let head: Vec<String> = fields(head.trim_start_matches('\u{feff}'))
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for needed in ["title", "category", "severity", "created_at"] {
        if !head.iter().any(|h| h == needed) {
            return Err(vec![err(
                1,
                needed,
                format!("the header needs a `{needed}` column"),
            )]);
        }
    }
    if let Some(unknown) = head.iter().find(|h| !HEADER.contains(&h.as_str())) {
        return Err(vec![err(
            1,
            unknown,
            format!("unknown column; known: {}", HEADER.join(", ")),
        )]);
    }
    let col = |name: &str| head.iter().position(|h| h == name);
    let mut seen = std::collections::HashMap::new();
    for (n, line) in lines {
        let line_no = n + 1;
        if rows.len() >= MAX_ROWS {
            errors.push(err(
                line_no,
                "",
                format!("at most {MAX_ROWS} rows per file"),
            ));
            break;
        }
        let f = fields(line);
        let get = |name: &str| {
            col(name)
                .and_then(|i| f.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let mut bad = |column: &str, message: String| errors.push(err(line_no, column, message));
        let mut text_of = |name: &str, required: bool, max: usize| match text_field(
            name,
            &get(name),
            required,
            max,
        ) {
            Ok(v) => v,
            Err(e) => {
                bad(name, e.message.clone());
                String::new()
            }
        };
        let title = text_of("title", true, 500);
        let description = text_of("description", false, 20_000);
        let business_impact = text_of("business_impact", false, 4000);
        let reference = text_of("ref", false, 100);
        let mut bad = |column: &str, message: String| errors.push(err(line_no, column, message));
        let category = get("category");
        if !categories.contains(&category) {
            bad(
                "category",
                format!(
                    "unknown category `{}`; known: {}",
                    category.chars().take(40).collect::<String>(),
                    categories.join(", ")
                ),
            );
        }
        let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
        let mut code_of = |name: &str, default: &str, check: &dyn Fn(&str) -> bool| {
            let v = or(get(name), default);
            if !check(&v) {
                bad(
                    name,
                    format!("unknown value `{}`", v.chars().take(40).collect::<String>()),
                );
            }
            v
        };
        let severity = code_of("severity", "", &|v| Severity::parse(v).is_ok());
        let status = code_of("status", "closed", &|v| CaseStatus::parse(v).is_ok());
        let phase = code_of("phase", "post_incident", &|v| Phase::parse(v).is_ok());
        let source = code_of("source", "manual", &|v| CaseSource::parse(v).is_ok());
        let mut times = [None; 5];
        for (k, name) in [
            "created_at",
            "acknowledged_at",
            "contained_at",
            "resolved_at",
            "sla_due_at",
        ]
        .iter()
        .enumerate()
        {
            match time(&get(name)) {
                Ok(t) => times[k] = t,
                Err(e) => errors.push(err(line_no, name, e)),
            }
        }
        let [created, acknowledged, contained, resolved, sla_due] = times;
        let Some(created) = created else {
            if !get("created_at").is_empty() {
                continue;
            }
            errors.push(err(
                line_no,
                "created_at",
                "a creation time is needed".into(),
            ));
            continue;
        };
        for (name, t) in [
            ("acknowledged_at", acknowledged),
            ("contained_at", contained),
            ("resolved_at", resolved),
        ] {
            if t.is_some_and(|t| t < created) {
                errors.push(err(line_no, name, "is before created_at".into()));
            }
        }
        if !reference.is_empty() {
            if let Some(first) = seen.insert(reference.clone(), line_no) {
                errors.push(err(
                    line_no,
                    "ref",
                    format!("`{reference}` is also on line {first}"),
                ));
            }
        }
        let done = matches!(status.as_str(), "resolved" | "closed" | "rejected");
        rows.push(Row {
            line: line_no,
            reference: reference.clone(),
            case: Case {
                id: String::new(),
                // Given out in the case's own year when it is written.
                number: String::new(),
                title,
                description,
                category,
                severity,
                tlp: "amber".into(),
                pap: "amber".into(),
                status: status.clone(),
                phase,
                assignee: None,
                tags: if reference.is_empty() {
                    Vec::new()
                } else {
                    vec![ledger_tag(&reference)]
                },
                affected_assets: String::new(),
                resolution_summary: None,
                lessons_learned: None,
                merged_into: None,
                sla_due_at: sla_due,
                created_by: String::new(),
                created_at: created,
                updated_at: created,
                closed_at: if matches!(status.as_str(), "closed" | "rejected") {
                    resolved
                } else {
                    None
                },
                source,
                acknowledged_at: acknowledged,
                contained_at: contained,
                resolved_at: if done { resolved } else { None },
                business_impact,
            },
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn ledger_tag(reference: &str) -> String {
    format!("ledger:{}", reference.to_lowercase())
}

/// Checks the whole file, then (unless `dry_run`) creates a case for each new row, all in one
/// transaction: a file goes in whole or not at all.
pub async fn import(app: &App, text: &str, dry_run: bool, who: &Who) -> AppResult<LedgerPlan> {
    let store = &app.store;
    let categories: Vec<String> = store
        .categories()
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let mut plan = LedgerPlan {
        dry_run,
        ..LedgerPlan::default()
    };
    let rows = match parse(text, &categories) {
        Ok(rows) => rows,
        Err(errors) => {
            plan.errors = errors;
            return Ok(plan);
        }
    };
    let mut tx = store.begin().await?;
    for row in rows {
        if !row.reference.is_empty() {
            let existing = store
                .list_cases(&CaseFilter {
                    tag: Some(ledger_tag(&row.reference)),
                    limit: 1,
                    ..CaseFilter::default()
                })
                .await?;
            if !existing.items.is_empty() {
                plan.skipped.push(row.reference);
                continue;
            }
        }
        if dry_run {
            plan.created.push(format!("line {}", row.line));
            continue;
        }
        let case = crate::cases::open::open_from_history(app, &mut tx, who, row.case).await?;
        plan.created.push(case.number);
    }
    tx.commit().await?;
    Ok(plan)
}
