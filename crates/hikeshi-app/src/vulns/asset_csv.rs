//! The asset inventory as CSV, both ways. The header is documented in the README; lists
//! (host names, addresses, cloud IDs, MACs, tags) are separated by `;`. An import is checked
//! whole first: one bad cell refuses the file, naming its line and column, and a dry run says
//! what would be created, changed or left as it is without writing anything.

use super::assets::check_asset;
use crate::csv::csv_document;
use crate::error::AppError;
use crate::vulns::csv_import::fields;
use hikeshi_store::{Actor, Asset, NewAsset, Store};
use serde::Serialize;

pub const HEADER: [&str; 17] = [
    "name",
    "kind",
    "hostnames",
    "ips",
    "cloud_ids",
    "macs",
    "administrator",
    "department",
    "location",
    "environment",
    "internet_facing",
    "value_c",
    "value_i",
    "value_a",
    "tags",
    "data_held",
    "os",
];

/// Largest inventory file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

pub fn export(assets: &[Asset]) -> String {
    csv_document(
        &HEADER,
        assets.iter().map(|a| {
            vec![
                a.name.clone(),
                a.kind.clone(),
                a.hostnames.join(";"),
                a.ips.join(";"),
                a.cloud_ids.join(";"),
                a.macs.join(";"),
                a.administrator.clone(),
                a.department.clone(),
                a.location.clone(),
                a.environment.clone(),
                a.internet_facing.to_string(),
                a.value_c.to_string(),
                a.value_i.to_string(),
                a.value_a.to_string(),
                a.tags.join(";"),
                a.data_held.clone(),
                a.os.clone(),
            ]
        }),
    )
}

#[derive(Debug, Serialize)]
pub struct CellError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Serialize, Default)]
pub struct Plan {
    pub dry_run: bool,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub errors: Vec<CellError>,
}

fn list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Undoes the export's guard against spreadsheet formulas (`'=…`).
fn unguard(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// Reads and checks every row; returns the assets or every problem found.
pub fn parse(text: &str) -> Result<Vec<(usize, NewAsset)>, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else {
        return Err(vec![CellError {
            line: 1,
            column: String::new(),
            message: "empty file".into(),
        }]);
    };
    let head: Vec<String> = fields(head.trim_start_matches('\u{feff}'))
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| head.iter().position(|h| h == name);
    if col("name").is_none() {
        return Err(vec![CellError {
            line: 1,
            column: "name".into(),
            message: "the header needs a `name` column".into(),
        }]);
    }
    if let Some(unknown) = head.iter().find(|h| !HEADER.contains(&h.as_str())) {
        return Err(vec![CellError {
            line: 1,
            column: unknown.clone(),
            message: format!("unknown column; known: {}", HEADER.join(", ")),
        }]);
    }
    let mut seen = std::collections::HashMap::new();
    for (n, line) in lines {
        let line_no = n + 1;
        let f = fields(line);
        let get = |name: &str| {
            col(name)
                .and_then(|i| f.get(i))
                .map(|c| unguard(c))
                .unwrap_or_default()
        };
        let mut bad = |column: &str, message: String| {
            errors.push(CellError {
                line: line_no,
                column: column.into(),
                message,
            })
        };
        let number = |name: &str| -> Result<i64, String> {
            let v = get(name);
            if v.is_empty() {
                return Ok(3);
            }
            v.parse::<i64>()
                .map_err(|_| format!("`{v}` is not a number from 1 to 5"))
        };
        let mut values = [3i64; 3];
        for (k, name) in ["value_c", "value_i", "value_a"].iter().enumerate() {
            match number(name) {
                Ok(v) => values[k] = v,
                Err(e) => bad(name, e),
            }
        }
        let facing = match get("internet_facing").to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            other => {
                bad("internet_facing", format!("`{other}` is not true or false"));
                false
            }
        };
        let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
        let asset = NewAsset {
            name: get("name"),
            kind: or(get("kind"), "server"),
            hostnames: list(&get("hostnames")),
            ips: list(&get("ips")),
            cloud_ids: list(&get("cloud_ids")),
            macs: list(&get("macs")),
            administrator: get("administrator"),
            department: get("department"),
            location: get("location"),
            environment: or(get("environment"), "production"),
            internet_facing: facing,
            value_c: values[0],
            value_i: values[1],
            value_a: values[2],
            tags: list(&get("tags")),
            data_held: get("data_held"),
            os: get("os"),
        };
        match check_asset(&asset) {
            Ok(a) => {
                if let Some(first) = seen.insert(a.name.clone(), line_no) {
                    bad("name", format!("`{}` is also on line {first}", a.name));
                }
                rows.push((line_no, a));
            }
            Err(e) => {
                let (field, message) = describe(&e);
                bad(&field, message);
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn describe(e: &AppError) -> (String, String) {
    (e.field.clone().unwrap_or_default(), e.message.clone())
}

/// Compares the file with the inventory and, unless `dry_run`, applies it. Nothing is written
/// when any row is wrong; each asset written is its own audited change.
pub async fn import(
    store: &Store,
    text: &str,
    dry_run: bool,
    actor: &Actor,
) -> hikeshi_store::Result<Plan> {
    let mut plan = Plan {
        dry_run,
        ..Plan::default()
    };
    let rows = match parse(text) {
        Ok(r) => r,
        Err(errors) => {
            plan.errors = errors;
            return Ok(plan);
        }
    };
    let existing = store.list_assets().await?;
    let mut changes = Vec::new();
    for (_, a) in rows {
        match existing.iter().find(|e| e.name == a.name) {
            None => {
                plan.created.push(a.name.clone());
                changes.push((None, a));
            }
            Some(e) => {
                let current = NewAsset {
                    name: e.name.clone(),
                    kind: e.kind.clone(),
                    hostnames: e.hostnames.clone(),
                    ips: e.ips.clone(),
                    cloud_ids: e.cloud_ids.clone(),
                    macs: e.macs.clone(),
                    administrator: e.administrator.clone(),
                    department: e.department.clone(),
                    location: e.location.clone(),
                    environment: e.environment.clone(),
                    internet_facing: e.internet_facing,
                    value_c: e.value_c,
                    value_i: e.value_i,
                    value_a: e.value_a,
                    tags: e.tags.clone(),
                    data_held: e.data_held.clone(),
                    os: e.os.clone(),
                };
                if current == a {
                    plan.unchanged.push(a.name.clone());
                } else {
                    plan.updated.push(a.name.clone());
                    changes.push((Some(e.id.clone()), a));
                }
            }
        }
    }
    if !dry_run {
        for (id, a) in changes {
            match id {
                Some(id) => store.update_asset(&id, &a, actor).await?,
                None => store.create_asset(&a, actor).await?,
            };
        }
    }
    Ok(plan)
}
