//! A set of compiled rules and the loop that runs them over events.

use crate::event::Event;
use crate::logsource::{windows_scope, Renamed, WindowsMapping, WindowsScope};
use crate::rule::CompiledRule;

pub struct Detector {
    pub rules: Vec<CompiledRule>,
    windows: Vec<WindowsScope>,
}

impl Detector {
    pub fn new(rules: Vec<CompiledRule>, mapping: &WindowsMapping) -> Detector {
        let windows = rules
            .iter()
            .map(|r| windows_scope(&r.logsource, mapping))
            .collect();
        Detector { rules, windows }
    }

    /// Rules whose Windows log source is not in the mapping, with the reason.
    pub fn unmapped(&self) -> impl Iterator<Item = (&CompiledRule, &str)> {
        self.rules
            .iter()
            .zip(&self.windows)
            .filter_map(|(r, s)| match s {
                WindowsScope::Unmapped(why) => Some((r, why.as_str())),
                _ => None,
            })
    }

    /// Indices of the rules for a product/service pair (`aws`/`cloudtrail`) that fire on an event
    /// of that source. Rules naming a category are left to the Windows path.
    pub fn detect_source(
        &self,
        product: &str,
        service: &str,
        event: &dyn Event,
        hits: &mut Vec<usize>,
    ) {
        for (index, rule) in self.rules.iter().enumerate() {
            let ls = &rule.logsource;
            let same = |a: &Option<String>, b: &str| {
                a.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(b))
            };
            if same(&ls.product, product)
                && (ls.service.is_none() || same(&ls.service, service))
                && rule.matches(event)
            {
                hits.push(index);
            }
        }
    }

    /// Indices of the rules that fire on a Windows event (`Channel`, `EventID` fields).
    pub fn detect_windows(&self, event: &dyn Event, hits: &mut Vec<usize>) {
        let channel = event
            .field("Channel")
            .map(|c| c.as_text().into_owned())
            .unwrap_or_default();
        let event_id = event
            .field("EventID")
            .and_then(|v| v.as_number())
            .map(|n| n as i64);
        for (index, (rule, scope)) in self.rules.iter().zip(&self.windows).enumerate() {
            let WindowsScope::Alternatives(alts) = scope else {
                continue;
            };
            let fired = alts.iter().any(|alt| {
                alt.admits(&channel, event_id, event)
                    && if alt.renames.is_empty() {
                        rule.matches(event)
                    } else {
                        rule.matches(&Renamed {
                            inner: event,
                            renames: &alt.renames,
                        })
                    }
            });
            if fired {
                hits.push(index);
            }
        }
    }
}
