//! Incident statistics: counts by category, severity and source for a month or a quarter
//! beside the period before, the last 13 months and 5 quarters, response times (median and
//! 90th percentile, nearest rank) and SLA breaches.

use super::period::{Month, Period, PeriodKind};
use crate::error::{AppError, AppResult};
use crate::App;
use hikeshi_store::{CaseDimension, CaseTiming};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct CountRow {
    pub code: String,
    pub current: i64,
    pub previous: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// `category`, `severity` or `source`.
    pub dimension: &'static str,
    pub rows: Vec<CountRow>,
}

/// Minutes from creation to a milestone over the cases that reached it.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseTime {
    /// `acknowledge`, `contain` or `resolve`.
    pub measure: &'static str,
    pub cases: usize,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlaStats {
    /// Cases of the period that had a due time.
    pub with_sla: i64,
    /// Resolved after the due time, or still open past it.
    pub breached: i64,
    /// Of those, the ones still open.
    pub open_breached: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    pub period: Period,
    pub previous: Period,
    pub total: i64,
    pub previous_total: i64,
    pub breakdowns: Vec<Breakdown>,
    /// The 13 months up to the period's last month: (`YYYY-MM`, cases created).
    pub monthly: Vec<(String, i64)>,
    /// The 5 quarters up to the period's: (`YYYY-Qn`, cases created).
    pub quarterly: Vec<(String, i64)>,
    pub response: Vec<ResponseTime>,
    pub sla: SlaStats,
}

/// The value at the nearest rank `ceil(p × n)` of sorted values.
pub fn nearest_rank(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn response(
    measure: &'static str,
    timings: &[CaseTiming],
    pick: fn(&CaseTiming) -> Option<i64>,
) -> ResponseTime {
    let mut minutes: Vec<i64> = timings
        .iter()
        .filter_map(|t| pick(t).map(|at| (at - t.created_at).max(0) / 60_000))
        .collect();
    minutes.sort_unstable();
    ResponseTime {
        measure,
        cases: minutes.len(),
        median_minutes: nearest_rank(&minutes, 0.5),
        p90_minutes: nearest_rank(&minutes, 0.9),
    }
}

fn sla(timings: &[CaseTiming], now: i64) -> SlaStats {
    let mut s = SlaStats {
        with_sla: 0,
        breached: 0,
        open_breached: 0,
    };
    for t in timings {
        let Some(due) = t.sla_due_at else { continue };
        s.with_sla += 1;
        match t.resolved_at {
            Some(done) if done > due => s.breached += 1,
            None if now > due => {
                s.breached += 1;
                s.open_breached += 1;
            }
            _ => {}
        }
    }
    s
}

async fn breakdown(
    app: &App,
    dim: CaseDimension,
    name: &'static str,
    current: &Period,
    previous: &Period,
) -> AppResult<Breakdown> {
    let mut rows: BTreeMap<String, CountRow> = BTreeMap::new();
    for (period, is_current) in [(current, true), (previous, false)] {
        for (code, n) in app.store.case_counts(period.from, period.to, dim).await? {
            let row = rows.entry(code.clone()).or_insert(CountRow {
                code,
                current: 0,
                previous: 0,
            });
            if is_current {
                row.current = n;
            } else {
                row.previous = n;
            }
        }
    }
    let mut rows: Vec<CountRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.current.cmp(&a.current).then(a.code.cmp(&b.code)));
    Ok(Breakdown {
        dimension: name,
        rows,
    })
}

pub async fn statistics(app: &App, kind: PeriodKind, at: Month) -> AppResult<Statistics> {
    let offset = app
        .config
        .reporting
        .offset_ms()
        .map_err(AppError::internal)?;
    let period = Period::new(kind, at, offset);
    let previous = period.previous(offset);
    let mut breakdowns = Vec::new();
    for (dim, name) in [
        (CaseDimension::Category, "category"),
        (CaseDimension::Severity, "severity"),
        (CaseDimension::Source, "source"),
    ] {
        breakdowns.push(breakdown(app, dim, name, &period, &previous).await?);
    }
    let total: i64 = breakdowns[0].rows.iter().map(|r| r.current).sum();
    let previous_total: i64 = breakdowns[0].rows.iter().map(|r| r.previous).sum();
    // One query by day over 15 months feeds both series.
    let last = period.last_month();
    let first_quarter = Period::new(PeriodKind::Quarter, last.shift(-12), offset);
    let span_from = first_quarter.from.min(last.shift(-12).start_ms(offset));
    let span_to = last.end_ms(offset);
    let by_day = app
        .store
        .case_counts_by_day(span_from, span_to, offset)
        .await?;
    let count_between = |from: i64, to: i64| -> i64 {
        by_day
            .iter()
            .filter(|(day, _)| {
                let start = day * 86_400_000 - offset;
                start >= from && start < to
            })
            .map(|(_, n)| n)
            .sum()
    };
    let monthly = (0..13)
        .map(|i| {
            let m = last.shift(i - 12);
            (
                m.code(),
                count_between(m.start_ms(offset), m.end_ms(offset)),
            )
        })
        .collect();
    let this_quarter = Period::new(PeriodKind::Quarter, last, offset);
    let mut quarterly = Vec::new();
    let mut q = this_quarter.clone();
    for _ in 0..5 {
        quarterly.push((q.label.clone(), count_between(q.from, q.to)));
        q = q.previous(offset);
    }
    quarterly.reverse();
    let timings = app.store.case_timings(period.from, period.to).await?;
    let response = vec![
        response("acknowledge", &timings, |t| t.acknowledged_at),
        response("contain", &timings, |t| t.contained_at),
        response("resolve", &timings, |t| t.resolved_at),
    ];
    Ok(Statistics {
        sla: sla(&timings, hikeshi_store::now_ms()),
        period,
        previous,
        total,
        previous_total,
        breakdowns,
        monthly,
        quarterly,
        response,
    })
}

/// The statistics as CSV: one line per count, then one per response measure and the SLA.
pub fn to_csv(s: &Statistics) -> String {
    let mut rows = Vec::new();
    for b in &s.breakdowns {
        for r in &b.rows {
            rows.push(vec![
                b.dimension.to_string(),
                r.code.clone(),
                s.period.label.clone(),
                r.current.to_string(),
                s.previous.label.clone(),
                r.previous.to_string(),
            ]);
        }
    }
    for (month, n) in &s.monthly {
        rows.push(vec![
            "month".into(),
            month.clone(),
            month.clone(),
            n.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    for (quarter, n) in &s.quarterly {
        rows.push(vec![
            "quarter".into(),
            quarter.clone(),
            quarter.clone(),
            n.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for r in &s.response {
        rows.push(vec![
            format!("{}_minutes", r.measure),
            format!("cases={}", r.cases),
            "median".into(),
            opt(r.median_minutes),
            "p90".into(),
            opt(r.p90_minutes),
        ]);
    }
    rows.push(vec![
        "sla".into(),
        format!("with_sla={}", s.sla.with_sla),
        "breached".into(),
        s.sla.breached.to_string(),
        "open_breached".into(),
        s.sla.open_breached.to_string(),
    ]);
    crate::csv::csv_document(
        &[
            "dimension",
            "code",
            "period",
            "count",
            "previous_period",
            "previous_count",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(5));
        assert_eq!(nearest_rank(&v, 0.9), Some(9));
        assert_eq!(nearest_rank(&[7], 0.9), Some(7));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }
}
