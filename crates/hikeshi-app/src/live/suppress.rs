//! The suppression rules in force, as the pipeline checks them: a snapshot refreshed from the
//! database every few seconds (and at once after a change made on this node).

use hikeshi_detect::{Event, JsonEvent};
use hikeshi_store::Suppression;

#[derive(Default)]
pub struct Suppressions {
    rules: Vec<Suppression>,
}

impl Suppressions {
    pub fn new(rules: Vec<Suppression>) -> Self {
        Suppressions { rules }
    }

    /// The first rule in force that covers this hit.
    pub fn matching(&self, rule_id: &str, host: &str, event: &JsonEvent) -> Option<&str> {
        let now = hikeshi_store::now_ms();
        self.rules
            .iter()
            .find(|s| {
                s.revoked_at.is_none()
                    && s.expires_at > now
                    && (s.rule_id.is_empty() || s.rule_id == rule_id)
                    && (s.host.is_empty() || s.host.eq_ignore_ascii_case(host))
                    && (s.field.is_empty()
                        || event
                            .field(&s.field)
                            .is_some_and(|v| v.as_text() == s.value.as_str()))
            })
            .map(|s| s.id.as_str())
    }
}
