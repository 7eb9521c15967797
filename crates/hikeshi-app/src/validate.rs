//! Checks of input from outside that every use case shares: lengths in characters (Japanese
//! text counts per character, not per byte), tag lists, times and case numbers. Each error
//! names its field.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDateTime, TimeZone};
use hikeshi_model::CaseNumber;

pub const MAX_TITLE: usize = 300;
pub const MAX_TEXT: usize = 100_000;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;

/// Checks a text field's length in characters, naming the field when it is wrong.
pub fn text_field(field: &str, value: &str, required: bool, max: usize) -> AppResult<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} must have at most {max} characters"),
        ));
    }
    Ok(hikeshi_model::without_nul(value).into_owned())
}

pub fn check_tags(tags: &[String]) -> AppResult<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    tags.iter()
        .map(|t| text_field("tags", t, true, MAX_TAG))
        .collect()
}

/// Parses an RFC 3339 time from the API into milliseconds.
pub fn parse_time(field: &str, value: &str) -> AppResult<i64> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            AppError::invalid(
                field,
                format!(
                    "{field}: `{value}` is not an RFC 3339 time, e.g. 2026-11-26T09:30:00+09:00"
                ),
            )
        })
}

/// Parses a browser `datetime-local` value, which is in the user's time zone.
pub fn parse_local_time(field: &str, value: &str, tz: chrono_tz::Tz) -> AppResult<i64> {
    let naive = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            AppError::invalid(field, format!("{field}: `{value}` is not a date and time"))
        })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| {
            AppError::invalid(field, format!("{field}: `{value}` does not exist in {tz}"))
        })
}

pub fn parse_number(number: &str) -> AppResult<String> {
    number
        .parse::<CaseNumber>()
        .map(|n| n.to_string())
        .map_err(|_| {
            AppError::not_found(format!(
                "case {}",
                number.chars().take(40).collect::<String>()
            ))
        })
}

/// Keeps the last path component and drops control characters; the name is only a label.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() {
        "evidence.bin".into()
    } else {
        clean
    }
}
