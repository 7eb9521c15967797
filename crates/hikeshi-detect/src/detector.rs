//! A set of compiled rules and the loop that runs them over events. Windows rules are indexed
//! by (channel, event ID) once, so an event only meets the rules written for its kind.

use crate::event::Event;
use crate::logsource::{windows_scope, Renamed, WindowsMapping, WindowsScope};
use crate::prefilter::Prefilter;
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
    /// Non-Windows rules by lower-cased product, with their service if they name one.
    by_product: HashMap<String, Vec<(usize, Option<String>)>>,
    prefilter: Prefilter,
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
        let mut by_product: HashMap<String, Vec<(usize, Option<String>)>> = HashMap::new();
        for (index, rule) in rules.iter().enumerate() {
            if let Some(product) = &rule.logsource.product {
                by_product
                    .entry(product.to_ascii_lowercase())
                    .or_default()
                    .push((
                        index,
                        rule.logsource
                            .service
                            .as_ref()
                            .map(|s| s.to_ascii_lowercase()),
                    ));
            }
        }
        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for scope in &windows {
            if let WindowsScope::Alternatives(alts) = scope {
                for (from, to) in alts.iter().flat_map(|a| a.renames.iter()) {
                    let targets = aliases.entry(from.clone()).or_default();
                    if !targets.contains(to) {
                        targets.push(to.clone());
                    }
                }
            }
        }
        let prefilter = Prefilter::new(&rules, &aliases);
        Detector {
            rules,
            windows,
            by_channel,
            any_windows,
            by_product,
            prefilter,
        }
    }

    /// How many distinct literals the cross-rule index holds, and how many rules it can skip.
    pub fn prefilter_size(&self) -> (usize, usize) {
        (
            self.prefilter.needle_count(),
            self.prefilter.filtered_rules(),
        )
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
        let Some(candidates) = self.by_product.get(&product.to_ascii_lowercase()) else {
            return;
        };
        let mut present = self.prefilter.scan(event);
        for (index, wanted) in candidates {
            if wanted
                .as_deref()
                .is_none_or(|w| w.eq_ignore_ascii_case(service))
                && self.prefilter.admits(*index, &mut present, event)
                && self.rules[*index].matches(event)
            {
                hits.push(*index);
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
        let mut present = self.prefilter.scan(event);
        for &(rule_index, alt_index) in candidates {
            if hits.contains(&rule_index) || !self.prefilter.admits(rule_index, &mut present, event)
            {
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
