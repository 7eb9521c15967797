//! CVSS v4.0 base scores (CVSS-B) from vectors, following section 8.2 of the FIRST CVSS v4.0
//! specification: the vector falls into a macrovector (six equivalence classes), whose score
//! comes from the specification's lookup table; the score is then lowered inside the macrovector
//! in proportion to how far the vector is from that macrovector's most severe vectors.
//! Threat and environmental metrics are checked but not used: this is the base score.

use crate::cvss::CvssError;

fn err(metric: &str, message: impl Into<String>) -> CvssError {
    CvssError {
        metric: metric.into(),
        message: message.into(),
    }
}

const BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];
const ALLOWED: [(&str, &str); 11] = [
    ("AV", "NALP"),
    ("AC", "LH"),
    ("AT", "NP"),
    ("PR", "NLH"),
    ("UI", "NPA"),
    ("VC", "HLN"),
    ("VI", "HLN"),
    ("VA", "HLN"),
    ("SC", "HLN"),
    ("SI", "HLN"),
    ("SA", "HLN"),
];
/// Threat, environmental and supplemental metrics: allowed, with their values, and ignored.
const OPTIONAL: [(&str, &str); 21] = [
    ("E", "XAPU"),
    ("CR", "XHML"),
    ("IR", "XHML"),
    ("AR", "XHML"),
    ("MAV", "XNALP"),
    ("MAC", "XLH"),
    ("MAT", "XNP"),
    ("MPR", "XNLH"),
    ("MUI", "XNPA"),
    ("MVC", "XHLN"),
    ("MVI", "XHLN"),
    ("MVA", "XHLN"),
    ("MSC", "XHLN"),
    ("MSI", "XSHLN"),
    ("MSA", "XSHLN"),
    ("S", "XNP"),
    ("AU", "XNY"),
    ("R", "XAUI"),
    ("V", "XDC"),
    ("RE", "XLMH"),
    ("U", "X"),
];

/// The base metrics of a CVSS v4.0 vector, one letter each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cvss4 {
    m: [char; 11],
}

/// The specification's score for each macrovector (EQ1..EQ6 as six digits).
const LOOKUP: &[(&str, f64)] = &[
    ("000000", 10.0),
    ("000001", 9.9),
    ("000010", 9.8),
    ("000011", 9.5),
    ("000020", 9.5),
    ("000021", 9.2),
    ("000100", 10.0),
    ("000101", 9.6),
    ("000110", 9.3),
    ("000111", 8.7),
    ("000120", 9.1),
    ("000121", 8.1),
    ("000200", 9.3),
    ("000201", 9.0),
    ("000210", 8.9),
    ("000211", 8.0),
    ("000220", 8.1),
    ("000221", 6.8),
    ("001000", 9.8),
    ("001001", 9.5),
    ("001010", 9.5),
    ("001011", 9.2),
    ("001020", 9.0),
    ("001021", 8.4),
    ("001100", 9.3),
    ("001101", 9.2),
    ("001110", 8.9),
    ("001111", 8.1),
    ("001120", 8.1),
    ("001121", 6.5),
    ("001200", 8.8),
    ("001201", 8.0),
    ("001210", 7.8),
    ("001211", 7.0),
    ("001220", 6.9),
    ("001221", 4.8),
    ("002001", 9.2),
    ("002011", 8.2),
    ("002021", 7.2),
    ("002101", 7.9),
    ("002111", 6.9),
    ("002121", 5.0),
    ("002201", 6.9),
    ("002211", 5.5),
    ("002221", 2.7),
    ("010000", 9.9),
    ("010001", 9.7),
    ("010010", 9.5),
    ("010011", 9.2),
    ("010020", 9.2),
    ("010021", 8.5),
    ("010100", 9.5),
    ("010101", 9.1),
    ("010110", 9.0),
    ("010111", 8.3),
    ("010120", 8.4),
    ("010121", 7.1),
    ("010200", 9.2),
    ("010201", 8.1),
    ("010210", 8.2),
    ("010211", 7.1),
    ("010220", 7.2),
    ("010221", 5.3),
    ("011000", 9.5),
    ("011001", 9.3),
    ("011010", 9.2),
    ("011011", 8.5),
    ("011020", 8.5),
    ("011021", 7.3),
    ("011100", 9.2),
    ("011101", 8.2),
    ("011110", 8.0),
    ("011111", 7.2),
    ("011120", 7.0),
    ("011121", 5.9),
    ("011200", 8.4),
    ("011201", 7.0),
    ("011210", 7.1),
    ("011211", 5.2),
    ("011220", 5.0),
    ("011221", 3.0),
    ("012001", 8.6),
    ("012011", 7.5),
    ("012021", 5.2),
    ("012101", 7.1),
    ("012111", 5.2),
    ("012121", 2.9),
    ("012201", 6.3),
    ("012211", 2.9),
    ("012221", 1.7),
    ("100000", 9.8),
    ("100001", 9.5),
    ("100010", 9.4),
    ("100011", 8.7),
    ("100020", 9.1),
    ("100021", 8.1),
    ("100100", 9.4),
    ("100101", 8.9),
    ("100110", 8.6),
    ("100111", 7.4),
    ("100120", 7.7),
    ("100121", 6.4),
    ("100200", 8.7),
    ("100201", 7.5),
    ("100210", 7.4),
    ("100211", 6.3),
    ("100220", 6.3),
    ("100221", 4.9),
    ("101000", 9.4),
    ("101001", 8.9),
    ("101010", 8.8),
    ("101011", 7.7),
    ("101020", 7.6),
    ("101021", 6.7),
    ("101100", 8.6),
    ("101101", 7.6),
    ("101110", 7.4),
    ("101111", 5.8),
    ("101120", 5.9),
    ("101121", 5.0),
    ("101200", 7.2),
    ("101201", 5.7),
    ("101210", 5.7),
    ("101211", 5.2),
    ("101220", 5.2),
    ("101221", 2.5),
    ("102001", 8.3),
    ("102011", 7.0),
    ("102021", 5.4),
    ("102101", 6.5),
    ("102111", 5.8),
    ("102121", 2.6),
    ("102201", 5.3),
    ("102211", 2.1),
    ("102221", 1.3),
    ("110000", 9.5),
    ("110001", 9.0),
    ("110010", 8.8),
    ("110011", 7.6),
    ("110020", 7.6),
    ("110021", 7.0),
    ("110100", 9.0),
    ("110101", 7.7),
    ("110110", 7.5),
    ("110111", 6.2),
    ("110120", 6.1),
    ("110121", 5.3),
    ("110200", 7.7),
    ("110201", 6.6),
    ("110210", 6.8),
    ("110211", 5.9),
    ("110220", 5.2),
    ("110221", 3.0),
    ("111000", 8.9),
    ("111001", 7.8),
    ("111010", 7.6),
    ("111011", 6.7),
    ("111020", 6.2),
    ("111021", 5.8),
    ("111100", 7.4),
    ("111101", 5.9),
    ("111110", 5.7),
    ("111111", 5.7),
    ("111120", 4.7),
    ("111121", 2.3),
    ("111200", 6.1),
    ("111201", 5.2),
    ("111210", 5.7),
    ("111211", 2.9),
    ("111220", 2.4),
    ("111221", 1.6),
    ("112001", 7.1),
    ("112011", 5.9),
    ("112021", 3.0),
    ("112101", 5.8),
    ("112111", 2.6),
    ("112121", 1.5),
    ("112201", 2.3),
    ("112211", 1.3),
    ("112221", 0.6),
    ("200000", 9.3),
    ("200001", 8.7),
    ("200010", 8.6),
    ("200011", 7.2),
    ("200020", 7.5),
    ("200021", 5.8),
    ("200100", 8.6),
    ("200101", 7.4),
    ("200110", 7.4),
    ("200111", 6.1),
    ("200120", 5.6),
    ("200121", 3.4),
    ("200200", 7.0),
    ("200201", 5.4),
    ("200210", 5.2),
    ("200211", 4.0),
    ("200220", 4.0),
    ("200221", 2.2),
    ("201000", 8.5),
    ("201001", 7.5),
    ("201010", 7.4),
    ("201011", 5.5),
    ("201020", 6.2),
    ("201021", 5.1),
    ("201100", 7.2),
    ("201101", 5.7),
    ("201110", 5.5),
    ("201111", 4.1),
    ("201120", 4.6),
    ("201121", 1.9),
    ("201200", 5.3),
    ("201201", 3.6),
    ("201210", 3.4),
    ("201211", 1.9),
    ("201220", 1.9),
    ("201221", 0.8),
    ("202001", 6.4),
    ("202011", 5.1),
    ("202021", 2.0),
    ("202101", 4.7),
    ("202111", 2.1),
    ("202121", 1.1),
    ("202201", 2.4),
    ("202211", 0.9),
    ("202221", 0.4),
    ("210000", 8.8),
    ("210001", 7.5),
    ("210010", 7.3),
    ("210011", 5.3),
    ("210020", 6.0),
    ("210021", 5.0),
    ("210100", 7.3),
    ("210101", 5.5),
    ("210110", 5.9),
    ("210111", 4.0),
    ("210120", 4.1),
    ("210121", 2.0),
    ("210200", 5.4),
    ("210201", 4.3),
    ("210210", 4.5),
    ("210211", 2.2),
    ("210220", 2.0),
    ("210221", 1.1),
    ("211000", 7.5),
    ("211001", 5.5),
    ("211010", 5.8),
    ("211011", 4.5),
    ("211020", 4.0),
    ("211021", 2.1),
    ("211100", 6.1),
    ("211101", 5.1),
    ("211110", 4.8),
    ("211111", 1.8),
    ("211120", 2.0),
    ("211121", 0.9),
    ("211200", 4.6),
    ("211201", 1.8),
    ("211210", 1.7),
    ("211211", 0.7),
    ("211220", 0.8),
    ("211221", 0.2),
    ("212001", 5.3),
    ("212011", 2.4),
    ("212021", 1.4),
    ("212101", 2.4),
    ("212111", 1.2),
    ("212121", 0.5),
    ("212201", 1.0),
    ("212211", 0.3),
    ("212221", 0.1),
];

/// The most severe vectors of each level of each equivalence class (specification table 24-ish:
/// "highest severity vectors"), as metric letters.
const MAX_EQ1: [&[&str]; 3] = [
    &["AV:N/PR:N/UI:N"],
    &["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
    &["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
];
const MAX_EQ2: [&[&str]; 2] = [&["AC:L/AT:N"], &["AC:H/AT:N", "AC:L/AT:P"]];
/// EQ3 and EQ6 together, by EQ3 then EQ6 (CR/IR/AR are H when not given).
fn max_eq3eq6(eq3: u8, eq6: u8) -> &'static [&'static str] {
    match (eq3, eq6) {
        (0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
        (0, 1) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M",
        ],
        (1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H",
        ],
        (1, 1) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ],
        _ => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
    }
}
const MAX_EQ4: [&[&str]; 3] = [
    &["SC:H/SI:S/SA:S"],
    &["SC:H/SI:H/SA:H"],
    &["SC:L/SI:L/SA:L"],
];

/// Depth of each macrovector, in steps of 0.1 (the specification's "max severity" distances).
const DEPTH_EQ1: [f64; 3] = [1.0, 4.0, 5.0];
const DEPTH_EQ2: [f64; 2] = [1.0, 2.0];
const DEPTH_EQ4: [f64; 3] = [6.0, 5.0, 4.0];
fn depth_eq3eq6(eq3: u8, eq6: u8) -> f64 {
    match (eq3, eq6) {
        (0, 0) => 7.0,
        (0, 1) => 6.0,
        (1, _) => 8.0,
        _ => 10.0,
    }
}

/// How far a metric value is from its most severe value, in tenths.
fn level(metric: &str, value: char) -> f64 {
    let order: &str = match metric {
        "AV" => "NALP",
        "PR" => "NLH",
        "UI" => "NPA",
        "AC" => "LH",
        "AT" => "NP",
        "VC" | "VI" | "VA" => "HLN",
        "SC" | "SI" | "SA" => "SHLN",
        "CR" | "IR" | "AR" => "HML",
        _ => "",
    };
    order.find(value).unwrap_or(0) as f64 * 0.1
}

fn lookup(key: [u8; 6]) -> Option<f64> {
    let key: String = key.iter().map(|d| char::from(b'0' + d)).collect();
    LOOKUP.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

impl Cvss4 {
    /// Parses `CVSS:4.0/AV:N/AC:L/...`; every base metric must be given once.
    pub fn parse(vector: &str) -> Result<Cvss4, CvssError> {
        let mut parts = vector.trim().split('/');
        match parts.next() {
            Some("CVSS:4.0") => {}
            other => {
                return Err(err(
                    "vector",
                    format!("must start with CVSS:4.0/, found `{}`", other.unwrap_or("")),
                ))
            }
        }
        let mut seen: [Option<char>; 11] = [None; 11];
        let mut optional_seen = Vec::new();
        for part in parts {
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| err("vector", format!("`{part}` is not METRIC:VALUE")))?;
            let mut chars = value.chars();
            let (Some(v), None) = (chars.next(), chars.next()) else {
                return Err(err(name, format!("`{value}` is not a single-letter value")));
            };
            if let Some(slot) = BASE.iter().position(|m| *m == name) {
                if !ALLOWED[slot].1.contains(v) {
                    return Err(err(name, format!("invalid value `{v}`")));
                }
                if seen[slot].replace(v).is_some() {
                    return Err(err(name, "given twice"));
                }
            } else if let Some((_, values)) = OPTIONAL.iter().find(|(m, _)| *m == name) {
                if !values.contains(v) {
                    return Err(err(name, format!("invalid value `{v}`")));
                }
                if optional_seen.contains(&name) {
                    return Err(err(name, "given twice"));
                }
                optional_seen.push(name);
            } else {
                return Err(err(name, "unknown metric"));
            }
        }
        let mut m = ['N'; 11];
        for (slot, v) in seen.iter().enumerate() {
            m[slot] = v.ok_or_else(|| err(BASE[slot], "missing"))?;
        }
        Ok(Cvss4 { m })
    }

    fn get(&self, metric: &str) -> char {
        match BASE.iter().position(|m| *m == metric) {
            Some(i) => self.m[i],
            // Threat and environmental metrics are "not defined": E as Attacked, CR/IR/AR High.
            None => match metric {
                "CR" | "IR" | "AR" => 'H',
                _ => 'A',
            },
        }
    }

    fn macrovector(&self) -> [u8; 6] {
        let g = |m: &str| self.get(m);
        let (av, pr, ui) = (g("AV"), g("PR"), g("UI"));
        let eq1 = if av == 'N' && pr == 'N' && ui == 'N' {
            0
        } else if (av == 'N' || pr == 'N' || ui == 'N') && av != 'P' {
            1
        } else {
            2
        };
        let eq2 = if g("AC") == 'L' && g("AT") == 'N' {
            0
        } else {
            1
        };
        let (vc, vi, va) = (g("VC"), g("VI"), g("VA"));
        let eq3 = if vc == 'H' && vi == 'H' {
            0
        } else if vc == 'H' || vi == 'H' || va == 'H' {
            1
        } else {
            2
        };
        // Subsequent-system "Safety" exists only as a modified metric, so base vectors are 1 or 2.
        let eq4 = if g("SC") == 'H' || g("SI") == 'H' || g("SA") == 'H' {
            1
        } else {
            2
        };
        let eq5 = 0;
        let eq6 = if vc == 'H' || vi == 'H' || va == 'H' {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }

    /// The sum of the distances of `metrics` from a most-severe vector `max` ("AV:N/PR:N/UI:N").
    fn distances(&self, max: &str) -> Option<Vec<(String, f64)>> {
        let mut out = Vec::new();
        for pair in max.split('/') {
            let (name, v) = pair.split_once(':')?;
            let target = v.chars().next()?;
            let d = level(name, self.get(name)) - level(name, target);
            out.push((name.to_string(), d));
        }
        Some(out)
    }

    pub fn base_score(&self) -> f64 {
        if ["VC", "VI", "VA", "SC", "SI", "SA"]
            .iter()
            .all(|m| self.get(m) == 'N')
        {
            return 0.0;
        }
        let mv = self.macrovector();
        let Some(value) = lookup(mv) else {
            return 0.0;
        };
        let [eq1, eq2, eq3, eq4, eq5, eq6] = mv;
        let with = |i: usize, v: u8| {
            let mut k = mv;
            k[i] = v;
            lookup(k)
        };
        let lower_eq1 = with(0, eq1 + 1);
        let lower_eq2 = with(1, eq2 + 1);
        let lower_eq4 = with(3, eq4 + 1);
        let lower_eq5 = with(4, eq5 + 1);
        let both = |a: u8, b: u8| {
            let mut k = mv;
            k[2] = a;
            k[5] = b;
            lookup(k)
        };
        let lower_eq3eq6 = match (eq3, eq6) {
            (1, 1) | (0, 1) => both(eq3 + 1, eq6),
            (1, 0) => both(eq3, eq6 + 1),
            // From the top both ways are possible: the higher of the two is the next step down.
            (0, 0) => match (both(eq3, eq6 + 1), both(eq3 + 1, eq6)) {
                (Some(l), Some(r)) => Some(l.max(r)),
                (l, r) => l.or(r),
            },
            _ => both(eq3 + 1, eq6 + 1),
        };
        // The first most-severe vector of this macrovector that the vector does not exceed.
        let mut found = None;
        'search: for a in MAX_EQ1[eq1 as usize] {
            for b in MAX_EQ2[eq2 as usize] {
                for c in max_eq3eq6(eq3, eq6) {
                    for d in MAX_EQ4[eq4 as usize] {
                        let max = format!("{a}/{b}/{c}/{d}");
                        if let Some(ds) = self.distances(&max) {
                            if ds.iter().all(|(_, d)| *d >= -1e-9) {
                                found = Some(ds);
                                break 'search;
                            }
                        }
                    }
                }
            }
        }
        let ds = found.unwrap_or_default();
        let sum = |names: &[&str]| -> f64 {
            ds.iter()
                .filter(|(n, _)| names.contains(&n.as_str()))
                .map(|(_, d)| *d)
                .sum()
        };
        let step = 0.1;
        let parts = [
            (
                lower_eq1,
                sum(&["AV", "PR", "UI"]),
                DEPTH_EQ1[eq1 as usize] * step,
            ),
            (
                lower_eq2,
                sum(&["AC", "AT"]),
                DEPTH_EQ2[eq2 as usize] * step,
            ),
            (
                lower_eq3eq6,
                sum(&["VC", "VI", "VA", "CR", "IR", "AR"]),
                depth_eq3eq6(eq3, eq6) * step,
            ),
            (
                lower_eq4,
                sum(&["SC", "SI", "SA"]),
                DEPTH_EQ4[eq4 as usize] * step,
            ),
            // Exploit maturity has no depth inside a macrovector.
            (lower_eq5, 0.0, 1.0),
        ];
        let mut existing = 0.0;
        let mut total = 0.0;
        for (lower, distance, depth) in parts {
            if let Some(lower) = lower {
                existing += 1.0;
                total += (value - lower) * (distance / depth);
            }
        }
        let mean = if existing > 0.0 {
            total / existing
        } else {
            0.0
        };
        let score = (value - mean).clamp(0.0, 10.0);
        (score * 10.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> f64 {
        Cvss4::parse(v).expect(v).base_score()
    }

    #[test]
    fn published_scores() {
        for (vector, expected) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                5.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
            // Threat metrics are read and left out of the base score.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
                9.3,
            ),
        ] {
            assert_eq!(score(vector), expected, "{vector}");
        }
    }

    #[test]
    fn bad_vectors_name_the_metric() {
        for (vector, metric) in [
            (
                "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "vector",
            ),
            (
                "CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "AV",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
                "SA",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Q",
                "E",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/ZZ:A",
                "ZZ",
            ),
        ] {
            assert_eq!(
                Cvss4::parse(vector).map_err(|e| e.metric),
                Err(metric.to_string()),
                "{vector}"
            );
        }
    }
}
