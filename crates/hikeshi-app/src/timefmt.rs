//! Time shown to people and machines. Stored times are UTC milliseconds.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub fn rfc3339_utc(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn parse_tz(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// The zone pages are shown in for a user who chose none: the team's (`[reporting]
/// utc_offset`), whatever the language, so that switching to English does not move every time
/// on the page. +09:00 is Asia/Tokyo; other whole hours are `Etc/GMT∓N` (whose sign is the
/// POSIX one, the opposite of ISO 8601); anything else is UTC.
pub fn team_zone(offset_ms: i64) -> Tz {
    if offset_ms == 9 * 3_600_000 {
        return chrono_tz::Asia::Tokyo;
    }
    if offset_ms % 3_600_000 != 0 {
        return chrono_tz::UTC;
    }
    let hours = offset_ms / 3_600_000;
    let name = match hours {
        0 => "UTC".to_string(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    parse_tz(&name).unwrap_or(chrono_tz::UTC)
}

/// `2026-11-26 18:30 JST`, in the viewer's zone.
pub fn local(ms: i64, tz: Tz) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return String::new();
    };
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// The value for an `<input type="datetime-local">` in the viewer's zone.
pub fn local_input(ms: i64, tz: Tz) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return String::new();
    };
    t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// Remaining or overdue time against a due time, as days and hours or hours and minutes, in
/// the reader's language.
pub fn remaining(due_ms: i64, now_ms: i64, lang: crate::i18n::Lang) -> (bool, String) {
    let diff = due_ms - now_ms;
    let overdue = diff < 0;
    let minutes = diff.abs() / 60_000;
    let text = if minutes >= 48 * 60 {
        crate::i18n::text(lang, "unit.days_hours")
            .replace("{d}", &(minutes / 1440).to_string())
            .replace("{h}", &((minutes % 1440) / 60).to_string())
    } else {
        crate::i18n::text(lang, "unit.hours_minutes")
            .replace("{h}", &(minutes / 60).to_string())
            .replace("{m}", &format!("{:02}", minutes % 60))
    };
    (overdue, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_reads_in_each_language() {
        use crate::i18n::Lang;
        let now = 1_000_000_000_000;
        let due = now + (2 * 1440 + 23 * 60 + 5) * 60_000;
        assert_eq!(remaining(due, now, Lang::Ja), (false, "2日23時間".into()));
        assert_eq!(remaining(due, now, Lang::En), (false, "2d 23h".into()));
        assert_eq!(
            remaining(now - 95 * 60_000, now, Lang::Ja),
            (true, "1時間35分".into())
        );
    }

    #[test]
    fn the_team_zone_follows_the_offset() {
        assert_eq!(team_zone(9 * 3_600_000).name(), "Asia/Tokyo");
        assert_eq!(team_zone(0).name(), "UTC");
        assert_eq!(team_zone(-5 * 3_600_000).name(), "Etc/GMT+5");
        assert_eq!(team_zone(5 * 3_600_000 + 1_800_000).name(), "UTC");
    }
}
