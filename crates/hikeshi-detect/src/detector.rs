//! A set of compiled rules and the loop that runs them over events. Windows rules are indexed
//! by (channel, event ID) once, so an event only meets the rules written for its kind.

use crate::event::Event;
use crate::logsource::{windows_scope, Renamed, WindowsMapping, WindowsScope};
use crate::rule::CompiledRule;
use std::collections::HashMap;

/// (rule, alternative) pairs.
type Candidates = Vec<(usize, usize)>;

pub struct Detector {
    pub rules: Vec<CompiledRule>,
    windows: Vec<WindowsScope>,
    /// Keyed by lower-cased channel and event ID; `None` holds rules for a whole channel.
    by_channel: HashMap<(String, Option<i64>), Candidates>,
    /// Rules for any Windows event (product only).
    any_windows: Candidates,
}

impl Detector {
    pub fn new(rules: Vec<CompiledRule>, mapping: &WindowsMapping) -> Detector {
        let windows: Vec<WindowsScope> = rules
            .iter()
            .map(|r| windows_scope(&r.logsource, mapping))
            .collect();
        let mut by_channel: HashMap<(String, Option<i64>), Candidates> = HashMap::new();
        let mut any_windows = Vec::new();
        for (rule, scope) in windows.iter().enumerate() {
            let WindowsScope::Alternatives(alts) = scope else {
                continue;
            };
            for (alt_index, alt) in alts.iter().enumerate() {
                if alt.channels.is_empty() {
                    any_windows.push((rule, alt_index));
                    continue;
                }
                for channel in &alt.channels {
                    match &alt.event_ids {
                        Some(ids) => {
                            for id in ids {
                                by_channel
                                    .entry((channel.clone(), Some(*id)))
                                    .or_default()
                                    .push((rule, alt_index));
                            }
                        }
                        None => by_channel
                            .entry((channel.clone(), None))
                            .or_default()
                            .push((rule, alt_index)),
                    }
                }
            }
        }
        Detector {
            rules,
            windows,
            by_channel,
            any_windows,
        }
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
            .map(|c| c.as_text().to_lowercase())
            .unwrap_or_default();
        let event_id = event
            .field("EventID")
            .and_then(|v| v.as_number())
            .map(|n| n as i64);
        let exact = event_id.and_then(|id| self.by_channel.get(&(channel.clone(), Some(id))));
        let whole = self.by_channel.get(&(channel, None));
        let candidates = exact
            .into_iter()
            .chain(whole)
            .flatten()
            .chain(self.any_windows.iter());
        for &(rule_index, alt_index) in candidates {
            if hits.contains(&rule_index) {
                continue;
            }
            let WindowsScope::Alternatives(alts) = &self.windows[rule_index] else {
                continue;
            };
            let alt = &alts[alt_index];
            let rule = &self.rules[rule_index];
            // Channel and ID are settled by the index; the extra conditions are not.
            let admitted = alt.conditions.iter().all(|(k, v)| {
                event
                    .field(k)
                    .is_some_and(|f| f.as_text().eq_ignore_ascii_case(v))
            });
            let fired = admitted
                && if alt.renames.is_empty() {
                    rule.matches(event)
                } else {
                    rule.matches(&Renamed {
                        inner: event,
                        renames: &alt.renames,
                    })
                };
            if fired {
                hits.push(rule_index);
            }
        }
        hits.sort_unstable();
    }
}
