//! A set of compiled rules and the loop that runs them over events. Windows rules are indexed
//! by (channel, event ID) once, so an event only meets the rules written for its kind.

use crate::event::Event;
use crate::logsource::{windows_scope, Renamed, WindowsMapping, WindowsScope};
use crate::prefilter::Prefilter;
use crate::rule::CompiledRule;
use crate::sources::{profile_rules, SourceMapping};
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
    /// Non-Windows log sources and, per profile, the rules it selects.
    sources: SourceMapping,
    profile_rules: Vec<Vec<usize>>,
    prefilter: Prefilter,
}

impl Detector {
    /// A detector with the shipped non-Windows source profiles.
    pub fn new(rules: Vec<CompiledRule>, mapping: &WindowsMapping) -> Detector {
        Detector::with_sources(rules, mapping, SourceMapping::builtin())
    }

    pub fn with_sources(
        rules: Vec<CompiledRule>,
        mapping: &WindowsMapping,
        sources: SourceMapping,
    ) -> Detector {
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
        let profile_rules = profile_rules(&sources, &rules);
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
        for (from, to) in sources.profiles.iter().flat_map(|p| p.renames.iter()) {
            let targets = aliases.entry(from.clone()).or_default();
            if !targets.contains(to) {
                targets.push(to.clone());
            }
        }
        let prefilter = Prefilter::new(&rules, &aliases);
        Detector {
            rules,
            windows,
            by_channel,
            any_windows,
            sources,
            profile_rules,
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

    /// Indices of the rules that fire on an event of a non-Windows source: every profile of
    /// `sources.yml` that recognises the event contributes the rules it selects.
    pub fn detect_other(&self, event: &dyn Event, hits: &mut Vec<usize>) {
        let mut present = None;
        let before = hits.len();
        for (profile, rules) in self.sources.profiles.iter().zip(&self.profile_rules) {
            if rules.is_empty() || !profile.recognises(event) {
                continue;
            }
            let present = present.get_or_insert_with(|| self.prefilter.scan(event));
            for &index in rules {
                if hits[before..].contains(&index) || !self.prefilter.admits(index, present, event)
                {
                    continue;
                }
                if matches_renamed(&self.rules[index], event, &profile.renames) {
                    hits.push(index);
                }
            }
        }
        hits[before..].sort_unstable();
    }

    /// The names of the source profiles that recognise an event (for `hunt` to say which
    /// sources it saw).
    pub fn recognised_sources(&self, event: &dyn Event) -> Vec<&str> {
        self.sources
            .profiles
            .iter()
            .filter(|p| p.recognises(event))
            .map(|p| p.name.as_str())
            .collect()
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
            if admitted && matches_renamed(rule, event, &alt.renames) {
                hits.push(rule_index);
            }
        }
        hits.sort_unstable();
    }
}

/// Evaluates a rule with its field names mapped onto the event's.
fn matches_renamed(
    rule: &CompiledRule,
    event: &dyn Event,
    renames: &HashMap<String, String>,
) -> bool {
    if renames.is_empty() {
        rule.matches(event)
    } else {
        rule.matches(&Renamed {
            inner: event,
            renames,
        })
    }
}
