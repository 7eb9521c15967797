//! CVSS v3.x base scores from vectors (FIRST CVSS v3.1 specification, section 7). Every metric
//! is checked; an invalid or missing one is named in the error.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct CvssError {
    /// The metric at fault (`AV`, `S`…), or `vector` for the whole string.
    pub metric: String,
    pub message: String,
}

impl fmt::Display for CvssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS {}: {}", self.metric, self.message)
    }
}

impl std::error::Error for CvssError {}

fn err(metric: &str, message: impl Into<String>) -> CvssError {
    CvssError {
        metric: metric.into(),
        message: message.into(),
    }
}

/// The base metrics of a CVSS v3.0 or v3.1 vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cvss3 {
    pub minor: u8,
    av: f64,
    ac: f64,
    pr: char,
    ui: f64,
    scope_changed: bool,
    c: f64,
    i: f64,
    a: f64,
}

const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

impl Cvss3 {
    /// Parses `CVSS:3.1/AV:N/AC:L/...`; temporal and environmental metrics are allowed and
    /// ignored (the base score is what scanners report).
    pub fn parse(vector: &str) -> Result<Cvss3, CvssError> {
        let mut parts = vector.trim().split('/');
        let minor = match parts.next() {
            Some("CVSS:3.1") => 1,
            Some("CVSS:3.0") => 0,
            other => {
                return Err(err(
                    "vector",
                    format!(
                        "must start with CVSS:3.1/ or CVSS:3.0/, found `{}`",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let mut seen: [Option<char>; 8] = [None; 8];
        for part in parts {
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| err("vector", format!("`{part}` is not METRIC:VALUE")))?;
            let mut chars = value.chars();
            let (Some(v), None) = (chars.next(), chars.next()) else {
                return Err(err(name, format!("`{value}` is not a single-letter value")));
            };
            match BASE.iter().position(|m| *m == name) {
                Some(slot) => {
                    if seen[slot].is_some() {
                        return Err(err(name, "given twice"));
                    }
                    seen[slot] = Some(v);
                }
                // Temporal and environmental metrics do not change the base score.
                None if matches!(
                    name,
                    "E" | "RL"
                        | "RC"
                        | "CR"
                        | "IR"
                        | "AR"
                        | "MAV"
                        | "MAC"
                        | "MPR"
                        | "MUI"
                        | "MS"
                        | "MC"
                        | "MI"
                        | "MA"
                ) => {}
                None => return Err(err(name, "unknown metric")),
            }
        }
        let get = |slot: usize| seen[slot].ok_or_else(|| err(BASE[slot], "missing"));
        let pick = |slot: usize, table: &[(char, f64)]| -> Result<f64, CvssError> {
            let v = get(slot)?;
            table
                .iter()
                .find(|(c, _)| *c == v)
                .map(|(_, w)| *w)
                .ok_or_else(|| err(BASE[slot], format!("invalid value `{v}`")))
        };
        let cia = [('H', 0.56), ('L', 0.22), ('N', 0.0)];
        let scope = get(4)?;
        if scope != 'U' && scope != 'C' {
            return Err(err("S", format!("invalid value `{scope}`")));
        }
        let pr = get(2)?;
        if !matches!(pr, 'N' | 'L' | 'H') {
            return Err(err("PR", format!("invalid value `{pr}`")));
        }
        Ok(Cvss3 {
            minor,
            av: pick(0, &[('N', 0.85), ('A', 0.62), ('L', 0.55), ('P', 0.2)])?,
            ac: pick(1, &[('L', 0.77), ('H', 0.44)])?,
            pr,
            ui: pick(3, &[('N', 0.85), ('R', 0.62)])?,
            scope_changed: scope == 'C',
            c: pick(5, &cia)?,
            i: pick(6, &cia)?,
            a: pick(7, &cia)?,
        })
    }

    pub fn base_score(&self) -> f64 {
        let pr = match (self.pr, self.scope_changed) {
            ('N', _) => 0.85,
            ('L', false) => 0.62,
            ('L', true) => 0.68,
            ('H', false) => 0.27,
            _ => 0.5,
        };
        let iss = 1.0 - (1.0 - self.c) * (1.0 - self.i) * (1.0 - self.a);
        let impact = if self.scope_changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22 * self.av * self.ac * pr * self.ui;
        if impact <= 0.0 {
            return 0.0;
        }
        let raw = if self.scope_changed {
            (1.08 * (impact + exploitability)).min(10.0)
        } else {
            (impact + exploitability).min(10.0)
        };
        self.round_up(raw)
    }

    /// v3.1's Roundup works on integers so that 4.000000001 does not become 4.1; v3.0 rounds up
    /// to one decimal directly.
    fn round_up(&self, x: f64) -> f64 {
        if self.minor == 0 {
            return (x * 10.0).ceil() / 10.0;
        }
        let int = (x * 100_000.0).round() as i64;
        if int % 10_000 == 0 {
            int as f64 / 100_000.0
        } else {
            ((int / 10_000) + 1) as f64 / 10.0
        }
    }
}

/// The qualitative rating of a v3 score.
pub fn severity_of(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> f64 {
        Cvss3::parse(v).expect(v).base_score()
    }

    #[test]
    fn specification_and_nvd_examples() {
        // Vectors and scores as the FIRST calculator gives them.
        for (vector, expected) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C",
                9.8,
            ),
        ] {
            assert_eq!(score(vector), expected, "{vector}");
        }
    }

    #[test]
    fn bad_vectors_name_the_metric() {
        for (vector, metric) in [
            ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "vector"),
            ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "A"),
            ("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H", "S"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", "ZZ"),
            ("CVSS:3.1/AV:Network/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV"),
        ] {
            assert_eq!(
                Cvss3::parse(vector).map_err(|e| e.metric),
                Err(metric.to_string()),
                "{vector}"
            );
        }
    }

    #[test]
    fn ratings() {
        assert_eq!(severity_of(9.8), "critical");
        assert_eq!(severity_of(7.0), "high");
        assert_eq!(severity_of(4.0), "medium");
        assert_eq!(severity_of(0.1), "low");
        assert_eq!(severity_of(0.0), "none");
    }
}
