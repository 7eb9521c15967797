//! How long a shared indicator stays in force: MISP's polynomial decay model, so that scores
//! agree with what a partner's MISP shows for the same indicator.
//!
//! score(t) = base × (1 − (t / lifetime)^(1 / speed)), t in days since the indicator was last
//! seen (or since it arrived). Below the threshold it is decayed and leaves live detection.

/// The model's parameters; [`DecayModel::default`] is MISP's default model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecayModel {
    pub base_score: f64,
    pub lifetime_days: f64,
    pub decay_speed: f64,
    pub threshold: f64,
}

impl Default for DecayModel {
    fn default() -> Self {
        DecayModel {
            base_score: 80.0,
            lifetime_days: 120.0,
            decay_speed: 2.0,
            threshold: 30.0,
        }
    }
}

impl DecayModel {
    /// The score `elapsed_days` after the indicator was last seen; 0 once its lifetime is over.
    pub fn score(&self, elapsed_days: f64) -> f64 {
        if self.lifetime_days <= 0.0 || self.decay_speed <= 0.0 {
            return 0.0;
        }
        let t = elapsed_days.max(0.0);
        if t >= self.lifetime_days {
            return 0.0;
        }
        self.base_score * (1.0 - (t / self.lifetime_days).powf(1.0 / self.decay_speed))
    }

    /// Whether the indicator has decayed `elapsed_days` after it was last seen.
    pub fn is_decayed(&self, elapsed_days: f64) -> bool {
        self.score(elapsed_days) < self.threshold
    }

    /// Days after which the score falls below the threshold (46.875 for MISP's default).
    pub fn decays_after_days(&self) -> f64 {
        if self.base_score <= self.threshold || self.base_score <= 0.0 {
            return 0.0;
        }
        self.lifetime_days * (1.0 - self.threshold / self.base_score).powf(self.decay_speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misp_default_model() {
        let m = DecayModel::default();
        assert!((m.score(0.0) - 80.0).abs() < 1e-9);
        assert!((m.score(30.0) - 40.0).abs() < 1e-9);
        assert!((m.decays_after_days() - 46.875).abs() < 1e-9);
        assert!(!m.is_decayed(46.8));
        assert!(m.is_decayed(46.9));
        assert_eq!(m.score(500.0), 0.0);
    }
}
