//! The team's one clock: what time it is and which year, month and day a moment falls in, in
//! the team's time zone (`[reporting] utc_offset`). Case numbers, monthly reports, the risk
//! history's days and the syslog year all ask here, so they agree around New Year.
//!
//! The offset is fixed, not a named zone: Japan has no daylight saving time, and a fixed
//! offset keeps the SQL of the reports portable.

use chrono::{DateTime, Datelike, FixedOffset};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where "now" comes from: the system clock, or a fixed moment for tests of date rules.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock standing at `ms` until [`Clock::set`] moves it.
    pub fn fixed(ms: i64) -> Clock {
        Clock {
            fixed: Some(Arc::new(AtomicI64::new(ms))),
        }
    }

    pub fn set(&self, ms: i64) {
        if let Some(f) = &self.fixed {
            f.store(ms, Ordering::Relaxed);
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.fixed {
            Some(f) => f.load(Ordering::Relaxed),
            None => hikeshi_store::now_ms(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Calendar {
    offset_ms: i64,
    clock: Clock,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::new(9 * 3_600_000, Clock::system())
    }
}

impl Calendar {
    pub fn new(offset_ms: i64, clock: Clock) -> Calendar {
        Calendar { offset_ms, clock }
    }

    /// From `+09:00`-style text, as in `[reporting] utc_offset`.
    pub fn from_offset(text: &str, clock: Clock) -> Result<Calendar, String> {
        Ok(Calendar::new(parse_offset(text)?, clock))
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn zone(&self) -> FixedOffset {
        FixedOffset::east_opt((self.offset_ms / 1000) as i32)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC is a valid offset"))
    }

    /// The moment in the team's zone.
    pub fn local(&self, ms: i64) -> DateTime<FixedOffset> {
        DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.zone())
    }

    /// The team's year at `ms`.
    pub fn year_at(&self, ms: i64) -> i32 {
        self.local(ms).year()
    }

    /// The team's year now: the year a new case is numbered in.
    pub fn this_year(&self) -> i32 {
        self.year_at(self.now_ms())
    }

    /// `2026-11-27`, the team's day at `ms`.
    pub fn day_code(&self, ms: i64) -> String {
        self.local(ms).format("%Y-%m-%d").to_string()
    }
}

/// `+09:00`, `-05:00`, `+00:00` or `Z`; whole quarter hours, at most 14 hours.
pub fn parse_offset(text: &str) -> Result<i64, String> {
    let bad = || format!("reporting.utc_offset: expected an offset like +09:00, got `{text}`");
    let t = text.trim();
    if t == "Z" || t == "UTC" {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if h > 14 || !matches!(m, 0 | 15 | 30 | 45) || h * 60 + m > 14 * 60 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m) * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-31T23:30:00Z
    const NEW_YEARS_EVE: i64 = 1_798_759_800_000;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+09:00"), Ok(9 * 3_600_000));
        assert_eq!(parse_offset("-05:30"), Ok(-(5 * 60 + 30) * 60_000));
        assert!(parse_offset("09:00").is_err());
        assert!(parse_offset("+15:00").is_err());
    }

    #[test]
    fn the_year_is_the_teams_year() {
        let clock = Clock::fixed(NEW_YEARS_EVE);
        let new_york = Calendar::from_offset("-05:00", clock.clone()).unwrap();
        let tokyo = Calendar::from_offset("+09:00", clock).unwrap();
        assert_eq!(new_york.this_year(), 2026);
        assert_eq!(tokyo.this_year(), 2027);
        assert_eq!(new_york.day_code(NEW_YEARS_EVE), "2026-12-31");
        assert_eq!(tokyo.day_code(NEW_YEARS_EVE), "2027-01-01");
    }
}
