//! Human-readable case numbers: `YYYY-NNNN`, counted per year.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber {
    pub year: i32,
    pub sequence: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a case number; expected YYYY-NNNN, e.g. 2026-0001")]
pub struct CaseNumberError(pub String);

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // At least four digits; a busy year simply grows a fifth.
        write!(f, "{:04}-{:04}", self.year, self.sequence)
    }
}

impl FromStr for CaseNumber {
    type Err = CaseNumberError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || CaseNumberError(text.chars().take(40).collect());
        let (year, seq) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || seq.len() < 4 || seq.len() > 9 {
            return Err(bad());
        }
        if !year.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year = year.parse().map_err(|_| bad())?;
        let sequence = seq.parse().map_err(|_| bad())?;
        if sequence == 0 {
            return Err(bad());
        }
        Ok(CaseNumber { year, sequence })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let n = CaseNumber {
            year: 2026,
            sequence: 3,
        };
        assert_eq!(n.to_string(), "2026-0003");
        assert_eq!("2026-0003".parse::<CaseNumber>(), Ok(n));
        assert_eq!(
            "2026-12345".parse::<CaseNumber>().map(|n| n.sequence),
            Ok(12345)
        );
        for bad in [
            "2026",
            "26-0001",
            "2026-01",
            "2026-0000",
            "2026-00a1",
            "２０２６-0001",
        ] {
            assert!(bad.parse::<CaseNumber>().is_err(), "{bad}");
        }
    }
}
