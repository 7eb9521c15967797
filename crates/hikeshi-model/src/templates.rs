//! Case templates shipped with hikeshi: a category, a starting severity and bilingual tasks.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseTemplate {
    pub code: String,
    pub category: String,
    pub severity: crate::Severity,
    pub name_ja: String,
    pub name_en: String,
    /// Each task as `[Japanese, English]`.
    pub tasks: Vec<[String; 2]>,
}

#[derive(Debug, Clone, Copy)]
pub struct TemplateTask<'a> {
    pub title_ja: &'a str,
    pub title_en: &'a str,
}

impl CaseTemplate {
    pub fn name(&self, lang: &str) -> &str {
        if lang == "ja" {
            &self.name_ja
        } else {
            &self.name_en
        }
    }

    pub fn task_titles(&self) -> impl Iterator<Item = TemplateTask<'_>> {
        self.tasks.iter().map(|[ja, en]| TemplateTask {
            title_ja: ja,
            title_en: en,
        })
    }
}

#[derive(Deserialize)]
struct TemplateFile {
    template: Vec<CaseTemplate>,
}

/// The shipped templates, parsed once. The file is part of the binary and checked by a test,
/// so a parse failure is a build defect, not bad input.
pub fn case_templates() -> &'static [CaseTemplate] {
    static TEMPLATES: OnceLock<Vec<CaseTemplate>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        toml::from_str::<TemplateFile>(include_str!("templates.toml"))
            .map(|f| f.template)
            .unwrap_or_else(|e| panic!("shipped templates.toml is invalid: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_parse_and_are_bilingual() {
        let templates = case_templates();
        let codes: Vec<_> = templates.iter().map(|t| t.code.as_str()).collect();
        for needed in [
            "ransomware",
            "phishing",
            "web_defacement",
            "ddos",
            "lost_device",
            "insider",
        ] {
            assert!(codes.contains(&needed), "missing template {needed}");
        }
        for t in templates {
            assert!(!t.tasks.is_empty(), "{}", t.code);
            for task in t.task_titles() {
                assert!(
                    !task.title_ja.is_empty() && task.title_en.is_ascii(),
                    "{}",
                    t.code
                );
            }
        }
    }
}
