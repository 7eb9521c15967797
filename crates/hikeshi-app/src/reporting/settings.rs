//! `[reporting]` settings: the team's time zone for months, what counts as suspicious, the
//! KPI thresholds and where the PDF's Japanese font is.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportingSettings {
    /// Offset of the team's time zone from UTC (`+09:00`): months and days start there.
    pub utc_offset: String,
    /// Alerts of rules with any of these tags count as suspicious activity (intrusion or
    /// insider), whatever their level.
    pub suspicious_tags: Vec<String>,
    /// Alerts at this level or above count as suspicious activity too, when their rule has
    /// an ATT&CK tactic past initial access.
    pub suspicious_min_level: String,
    pub thresholds: Thresholds,
    /// Font files for the PDF, tried in order; the first that loads is used. A font with
    /// Japanese glyphs is needed for Japanese reports.
    pub fonts: Vec<PathBuf>,
}

/// Headline values at which a KPI turns to level 2 (caution) and level 3 (action needed).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub caution: i64,
    pub action: i64,
}

impl Threshold {
    pub fn level(self, value: i64) -> u8 {
        if value >= self.action {
            3
        } else if value >= self.caution {
            2
        } else {
            1
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// High and critical alerts of the month plus external events entered.
    pub attack: Threshold,
    /// Open findings that are in KEV or critical (CVSS 9.0 or more).
    pub protect: Threshold,
    /// Suspicious alerts plus incidents under way and not yet contained.
    pub suspicious: Threshold,
    /// Open HR and physical entries plus intelligence entries of the month.
    pub indirect: Threshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            attack: Threshold {
                caution: 1,
                action: 20,
            },
            protect: Threshold {
                caution: 1,
                action: 10,
            },
            suspicious: Threshold {
                caution: 1,
                action: 5,
            },
            indirect: Threshold {
                caution: 1,
                action: 5,
            },
        }
    }
}

/// The tactics after initial access: what an intruder or an insider does once inside.
pub const INSIDE_TACTICS: &[&str] = &[
    "attack.execution",
    "attack.persistence",
    "attack.privilege_escalation",
    "attack.defense_evasion",
    "attack.credential_access",
    "attack.discovery",
    "attack.lateral_movement",
    "attack.collection",
    "attack.command_and_control",
    "attack.exfiltration",
    "attack.impact",
];

impl Default for ReportingSettings {
    fn default() -> Self {
        ReportingSettings {
            utc_offset: "+09:00".into(),
            suspicious_tags: vec![
                "attack.lateral_movement".into(),
                "attack.credential_access".into(),
                "attack.exfiltration".into(),
                "attack.command_and_control".into(),
            ],
            suspicious_min_level: "high".into(),
            thresholds: Thresholds::default(),
            fonts: vec![
                PathBuf::from("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
                PathBuf::from("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                PathBuf::from("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
            ],
        }
    }
}

impl ReportingSettings {
    /// The offset in milliseconds, or what is wrong with it.
    pub fn offset_ms(&self) -> Result<i64, String> {
        crate::calendar::parse_offset(&self.utc_offset)
    }

    /// Checks every value once at start, so that a typo stops the server with its name.
    pub fn validate(&self) -> Result<(), String> {
        self.offset_ms()?;
        hikeshi_model::Severity::parse(&self.suspicious_min_level)
            .map_err(|e| format!("reporting.suspicious_min_level: {e}"))?;
        for (name, t) in [
            ("attack", self.thresholds.attack),
            ("protect", self.thresholds.protect),
            ("suspicious", self.thresholds.suspicious),
            ("indirect", self.thresholds.indirect),
        ] {
            if t.caution < 1 || t.action < t.caution {
                return Err(format!(
                    "reporting.thresholds.{name}: need 1 <= caution <= action, got caution {} and action {}",
                    t.caution, t.action
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let t = Threshold {
            caution: 2,
            action: 5,
        };
        assert_eq!(
            (t.level(1), t.level(2), t.level(4), t.level(5)),
            (1, 2, 2, 3)
        );
    }
}
