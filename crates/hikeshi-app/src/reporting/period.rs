//! Months and quarters in the team's time zone, as millisecond ranges [from, to).

use crate::error::AppError;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    /// `YYYY-MM`, years 2000–2999.
    pub fn parse(field: &str, text: &str) -> Result<Month, AppError> {
        let bad = || {
            AppError::invalid(
                field,
                format!(
                    "{field}: expected a month like 2026-04, got `{}`",
                    text.chars().take(20).collect::<String>()
                ),
            )
        };
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(2000..=2999).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month `at_ms` falls in, in the time zone `offset_ms` east of UTC.
    pub fn containing(at_ms: i64, offset_ms: i64) -> Month {
        let local = chrono::DateTime::from_timestamp_millis(at_ms + offset_ms)
            .unwrap_or_default()
            .date_naive();
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn code(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// `n` months later (earlier when negative).
    pub fn shift(self, n: i32) -> Month {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Month {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    pub fn start_ms(self, offset_ms: i64) -> i64 {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis() - offset_ms)
            .unwrap_or(0)
    }

    pub fn end_ms(self, offset_ms: i64) -> i64 {
        self.shift(1).start_ms(offset_ms)
    }

    /// 1–4.
    pub fn quarter(self) -> u32 {
        (self.month - 1) / 3 + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
}

/// A month or a calendar quarter.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub kind: PeriodKind,
    /// `2026-04` or `2026-Q2`.
    pub label: String,
    #[serde(skip)]
    pub first: Month,
    pub months: u32,
    pub from: i64,
    pub to: i64,
}

impl Period {
    pub fn new(kind: PeriodKind, within: Month, offset_ms: i64) -> Period {
        let (first, months, label) = match kind {
            PeriodKind::Month => (within, 1, within.code()),
            PeriodKind::Quarter => {
                let first = Month {
                    year: within.year,
                    month: (within.quarter() - 1) * 3 + 1,
                };
                (first, 3, format!("{}-Q{}", within.year, within.quarter()))
            }
        };
        Period {
            kind,
            label,
            first,
            months,
            from: first.start_ms(offset_ms),
            to: first.shift(months as i32).start_ms(offset_ms),
        }
    }

    /// The period of the same length just before.
    pub fn previous(&self, offset_ms: i64) -> Period {
        Period::new(
            self.kind,
            self.first.shift(-(self.months as i32)),
            offset_ms,
        )
    }

    pub fn last_month(&self) -> Month {
        self.first.shift(self.months as i32 - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters() {
        let jst = 9 * 3_600_000;
        let m = Month::parse("month", "2026-01").unwrap();
        assert_eq!(m.shift(-1).code(), "2025-12");
        assert_eq!(m.shift(13).code(), "2027-02");
        // 2026-01-01T00:00+09:00 is 2025-12-31T15:00Z.
        assert_eq!(m.start_ms(jst), 1_767_193_200_000);
        assert_eq!(Month::containing(1_767_193_200_000, jst), m);
        assert_eq!(Month::containing(1_767_193_199_999, jst).code(), "2025-12");
        let q = Period::new(
            PeriodKind::Quarter,
            Month::parse("m", "2026-05").unwrap(),
            jst,
        );
        assert_eq!(q.label, "2026-Q2");
        assert_eq!(q.previous(jst).label, "2026-Q1");
        assert!(Month::parse("month", "2026-13").is_err());
        assert!(Month::parse("month", "26-01").is_err());
    }
}
