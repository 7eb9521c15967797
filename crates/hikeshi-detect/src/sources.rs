//! Log sources other than Windows event logs (`mappings/sources.yml`): recognising an event's
//! source from its fields, and which rules apply to it.

use crate::event::Event;
use crate::pattern::{parse_sigma_string, StringMatcher};
use crate::rule::{CompiledRule, LogSource};
use crate::RuleError;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// One value or a list of them, as YAML lets people write either.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileText {
    name: String,
    #[serde(default)]
    when: HashMap<String, OneOrMany>,
    logsource: LogSource,
    #[serde(default)]
    fields: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingText {
    sources: Vec<ProfileText>,
}

/// A recognisable log source.
#[derive(Debug, Clone)]
pub struct SourceProfile {
    pub name: String,
    /// Every field must be present and match one of its patterns (case-insensitive).
    when: Vec<(String, Vec<StringMatcher>)>,
    pub logsource: LogSource,
    pub renames: Arc<HashMap<String, String>>,
}

impl SourceProfile {
    pub fn recognises(&self, event: &dyn Event) -> bool {
        self.when.iter().all(|(field, patterns)| {
            event
                .field(field)
                .is_some_and(|v| patterns.iter().any(|p| p.matches(&v.as_text())))
        })
    }

    /// Whether a rule's log source selects this profile's events: every part the rule sets
    /// must equal the profile's.
    pub fn selects(&self, rule: &LogSource) -> bool {
        let same = |r: &Option<String>, p: &Option<String>| match r {
            None => true,
            Some(r) => p.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(r)),
        };
        (rule.product.is_some() || rule.category.is_some() || rule.service.is_some())
            && same(&rule.product, &self.logsource.product)
            && same(&rule.category, &self.logsource.category)
            && same(&rule.service, &self.logsource.service)
    }
}

#[derive(Debug, Clone, Default)]
pub struct SourceMapping {
    pub profiles: Vec<SourceProfile>,
}

impl SourceMapping {
    /// The profiles shipped with hikeshi.
    pub fn builtin() -> SourceMapping {
        SourceMapping::parse(include_str!("../mappings/sources.yml"))
            .unwrap_or_else(|e| panic!("shipped sources.yml is invalid: {e}"))
    }

    pub fn parse(text: &str) -> Result<SourceMapping, RuleError> {
        let parsed: MappingText =
            yaml_serde::from_str(text).map_err(|e| RuleError::Yaml(e.to_string()))?;
        let profiles = parsed
            .sources
            .into_iter()
            .map(|p| {
                if p.when.is_empty() {
                    return Err(RuleError::Structure(format!(
                        "sources[{}].when (a profile must say how to recognise its events)",
                        p.name
                    )));
                }
                let mut when: Vec<(String, Vec<StringMatcher>)> = p
                    .when
                    .into_iter()
                    .map(|(field, patterns)| {
                        let list = match patterns {
                            OneOrMany::One(one) => vec![one],
                            OneOrMany::Many(many) => many,
                        };
                        let matchers = list
                            .iter()
                            .map(|t| StringMatcher::new(parse_sigma_string(t), false))
                            .collect();
                        (field, matchers)
                    })
                    .collect();
                when.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(SourceProfile {
                    name: p.name,
                    when,
                    logsource: p.logsource,
                    renames: Arc::new(p.fields),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(SourceMapping { profiles })
    }

    pub fn extend(&mut self, other: SourceMapping) {
        self.profiles.extend(other.profiles);
    }
}

/// Per profile, the rules it selects, computed once.
pub fn profile_rules(mapping: &SourceMapping, rules: &[CompiledRule]) -> Vec<Vec<usize>> {
    mapping
        .profiles
        .iter()
        .map(|p| {
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| p.selects(&r.logsource))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}
