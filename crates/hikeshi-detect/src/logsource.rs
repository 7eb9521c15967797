//! Which events a rule's `logsource` selects, and how its field names map onto those events.
//! For Windows the mapping is data (`mappings/windows.yml`, extendable by users).

use crate::event::{Event, FieldValue};
use crate::rule::LogSource;
use crate::RuleError;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsMapping {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub services: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub categories: HashMap<String, Vec<CategorySource>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySource {
    pub service: String,
    pub event_ids: Vec<i64>,
    #[serde(default)]
    pub fields: HashMap<String, String>,
    #[serde(default)]
    pub conditions: HashMap<String, String>,
}

impl WindowsMapping {
    /// The mapping shipped with hikeshi.
    pub fn builtin() -> WindowsMapping {
        yaml_serde::from_str(include_str!("../mappings/windows.yml"))
            .unwrap_or_else(|e| panic!("shipped windows.yml is invalid: {e}"))
    }

    pub fn parse(text: &str) -> Result<WindowsMapping, RuleError> {
        yaml_serde::from_str(text).map_err(|e| RuleError::Yaml(e.to_string()))
    }

    /// Adds another mapping's services and categories to this one.
    pub fn extend(&mut self, other: WindowsMapping) {
        for (k, v) in other.services {
            self.services.entry(k).or_default().extend(v);
        }
        for (k, v) in other.categories {
            self.categories.entry(k).or_default().extend(v);
        }
    }
}

/// One way a Windows event can satisfy a rule's log source.
#[derive(Debug, Clone)]
pub struct WindowsAlternative {
    /// Lower-cased channel names; empty means any channel.
    pub channels: Vec<String>,
    pub event_ids: Option<Vec<i64>>,
    pub conditions: Vec<(String, String)>,
    pub renames: Arc<HashMap<String, String>>,
}

/// How a rule applies to Windows events.
#[derive(Debug, Clone)]
pub enum WindowsScope {
    /// The rule is not about Windows events.
    NotWindows,
    /// The log source names a category or service the mapping does not know.
    Unmapped(String),
    Alternatives(Vec<WindowsAlternative>),
}

pub fn windows_scope(ls: &LogSource, mapping: &WindowsMapping) -> WindowsScope {
    let product = ls.product.as_deref().map(str::to_ascii_lowercase);
    if product.as_deref().is_some_and(|p| p != "windows") {
        return WindowsScope::NotWindows;
    }
    if product.is_none() && ls.category.is_none() && ls.service.is_none() {
        return WindowsScope::NotWindows;
    }
    let channels_of = |service: &str| -> Option<Vec<String>> {
        mapping
            .services
            .get(service)
            .map(|c| c.iter().map(|x| x.to_lowercase()).collect())
    };
    let empty = Arc::new(HashMap::new());
    match (&ls.category, &ls.service) {
        (Some(category), service) => {
            let Some(sources) = mapping.categories.get(category) else {
                return if product.is_some() {
                    WindowsScope::Unmapped(format!("category `{category}`"))
                } else {
                    WindowsScope::NotWindows
                };
            };
            let alts: Vec<WindowsAlternative> = sources
                .iter()
                .filter(|s| service.as_ref().is_none_or(|svc| *svc == s.service))
                .map(|s| WindowsAlternative {
                    channels: channels_of(&s.service).unwrap_or_default(),
                    event_ids: Some(s.event_ids.clone()),
                    conditions: s
                        .conditions
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    renames: Arc::new(s.fields.clone()),
                })
                .collect();
            if alts.is_empty() {
                WindowsScope::Unmapped(format!(
                    "category `{category}` with service `{}`",
                    service.as_deref().unwrap_or("")
                ))
            } else {
                WindowsScope::Alternatives(alts)
            }
        }
        (None, Some(service)) => match channels_of(service) {
            Some(channels) => WindowsScope::Alternatives(vec![WindowsAlternative {
                channels,
                event_ids: None,
                conditions: Vec::new(),
                renames: empty,
            }]),
            None if product.is_some() => WindowsScope::Unmapped(format!("service `{service}`")),
            None => WindowsScope::NotWindows,
        },
        (None, None) => WindowsScope::Alternatives(vec![WindowsAlternative {
            channels: Vec::new(),
            event_ids: None,
            conditions: Vec::new(),
            renames: empty,
        }]),
    }
}

/// An event seen through a rule's field renames.
pub struct Renamed<'a> {
    pub inner: &'a dyn Event,
    pub renames: &'a HashMap<String, String>,
}

impl Event for Renamed<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        match self.renames.get(name) {
            Some(mapped) => self.inner.field(mapped),
            None => self.inner.field(name),
        }
    }

    fn any_value(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool {
        self.inner.any_value(visit)
    }

    fn each_text(&self, visit: &mut dyn FnMut(&str, &str)) {
        self.inner.each_text(visit)
    }

    fn folded(&self, name: &str) -> Option<std::rc::Rc<str>> {
        self.inner
            .folded(self.renames.get(name).map(String::as_str).unwrap_or(name))
    }
}
