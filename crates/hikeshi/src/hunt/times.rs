//! Event times: reading the forms logs write, and `--from`/`--to`.

/// A `--from`/`--to` value: an event time form, or a bare date (its midnight, UTC).
pub fn parse_time_bound(text: &str) -> Option<i64> {
    time_ms(text).or_else(|| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
    })
}

/// Event times as the formats we read write them: RFC 3339 (`2026-11-26T09:30:00.123Z`) or
/// `2026-11-26 09:30:00.123` taken as UTC.
pub(super) fn time_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| n.and_utc().timestamp_millis())
}
