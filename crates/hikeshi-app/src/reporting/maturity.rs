//! The maturity self-check over the FIRST CSIRT Services Framework: checking a submitted
//! questionnaire, per-area averages for the radar chart, the gap list and the history.

use crate::error::{AppError, AppResult};
use crate::App;
use hikeshi_model::reporting::{Sourcing, MATURITY_AREAS, MATURITY_SERVICES};
use hikeshi_store::{Assessment, Rating};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub service: String,
    pub as_is: i64,
    pub to_be: i64,
    pub sourcing: Sourcing,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    pub title: String,
    pub ratings: Vec<RatingInput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaScore {
    pub area: &'static str,
    pub as_is: f64,
    pub to_be: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapLine {
    pub service: &'static str,
    pub area: &'static str,
    pub as_is: i64,
    pub to_be: i64,
    pub gap: i64,
    pub sourcing: String,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentView {
    pub assessment: Assessment,
    pub ratings: Vec<Rating>,
    pub areas: Vec<AreaScore>,
    pub gaps: Vec<GapLine>,
}

/// Checks every rating: a known service, levels 0–4, no service twice, notes not too long.
pub fn check(input: &AssessmentInput) -> AppResult<(String, Vec<Rating>)> {
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("title", "title: 1 to 200 characters"));
    }
    if input.ratings.is_empty() {
        return Err(AppError::invalid(
            "ratings",
            "ratings: rate at least one service",
        ));
    }
    let mut out: Vec<Rating> = Vec::new();
    for (i, r) in input.ratings.iter().enumerate() {
        let field = |name: &str| format!("ratings[{i}].{name}");
        if !MATURITY_SERVICES.iter().any(|s| s.code == r.service) {
            return Err(AppError::invalid(
                &field("service"),
                format!(
                    "{}: unknown service `{}`",
                    field("service"),
                    r.service.chars().take(60).collect::<String>()
                ),
            ));
        }
        if out.iter().any(|o| o.service == r.service) {
            return Err(AppError::invalid(
                &field("service"),
                format!("{}: `{}` is rated twice", field("service"), r.service),
            ));
        }
        for (name, v) in [("as_is", r.as_is), ("to_be", r.to_be)] {
            if !(0..=4).contains(&v) {
                return Err(AppError::invalid(
                    &field(name),
                    format!("{}: a level from 0 to 4, got {v}", field(name)),
                ));
            }
        }
        if r.notes.chars().count() > 2000 {
            return Err(AppError::invalid(
                &field("notes"),
                format!("{}: at most 2000 characters", field("notes")),
            ));
        }
        out.push(Rating {
            service: r.service.clone(),
            as_is: r.as_is,
            to_be: r.to_be,
            sourcing: r.sourcing.code().into(),
            notes: r.notes.trim().to_string(),
        });
    }
    Ok((title.to_string(), out))
}

pub fn area_scores(ratings: &[Rating]) -> Vec<AreaScore> {
    MATURITY_AREAS
        .iter()
        .map(|area| {
            let rated: Vec<&Rating> = ratings
                .iter()
                .filter(|r| {
                    MATURITY_SERVICES
                        .iter()
                        .any(|s| s.code == r.service && s.area == area.code)
                })
                .collect();
            let avg = |f: fn(&Rating) -> i64| {
                if rated.is_empty() {
                    0.0
                } else {
                    let sum: i64 = rated.iter().map(|r| f(r)).sum();
                    (sum as f64 / rated.len() as f64 * 10.0).round() / 10.0
                }
            };
            AreaScore {
                area: area.code,
                as_is: avg(|r| r.as_is),
                to_be: avg(|r| r.to_be),
            }
        })
        .collect()
}

/// Services below their target, largest gap first, then in the framework's order.
pub fn gaps(ratings: &[Rating]) -> Vec<GapLine> {
    let mut out: Vec<(usize, GapLine)> = MATURITY_SERVICES
        .iter()
        .enumerate()
        .filter_map(|(order, s)| {
            let r = ratings.iter().find(|r| r.service == s.code)?;
            (r.to_be > r.as_is).then(|| {
                (
                    order,
                    GapLine {
                        service: s.code,
                        area: s.area,
                        as_is: r.as_is,
                        to_be: r.to_be,
                        gap: r.to_be - r.as_is,
                        sourcing: r.sourcing.clone(),
                        notes: r.notes.clone(),
                    },
                )
            })
        })
        .collect();
    out.sort_by(|a, b| b.1.gap.cmp(&a.1.gap).then(a.0.cmp(&b.0)));
    out.into_iter().map(|(_, g)| g).collect()
}

pub async fn view(app: &App, assessment: Assessment) -> AppResult<AssessmentView> {
    let ratings = app.store.ratings(&assessment.id).await?;
    Ok(AssessmentView {
        areas: area_scores(&ratings),
        gaps: gaps(&ratings),
        assessment,
        ratings,
    })
}

/// Every assessment with its area scores, oldest first.
pub async fn history(app: &App) -> AppResult<Vec<AssessmentView>> {
    let mut out = Vec::new();
    for a in app.store.assessments().await? {
        out.push(view(app, a).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(service: &str, as_is: i64, to_be: i64) -> Rating {
        Rating {
            service: service.into(),
            as_is,
            to_be,
            sourcing: "in_house".into(),
            notes: String::new(),
        }
    }

    #[test]
    fn gaps_largest_first_and_areas_averaged() {
        let r = vec![
            rating("monitoring_detection", 1, 3),
            rating("event_analysis", 2, 3),
            rating("exercises", 0, 3),
        ];
        let g = gaps(&r);
        assert_eq!(
            g.iter().map(|g| g.service).collect::<Vec<_>>(),
            ["exercises", "monitoring_detection", "event_analysis"]
        );
        let a = area_scores(&r);
        assert_eq!((a[0].as_is, a[0].to_be), (1.5, 3.0));
        assert_eq!(a[4].as_is, 0.0);
    }
}
