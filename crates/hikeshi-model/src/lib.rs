//! Domain types of hikeshi: the vocabulary of incident handling and the rules that hold
//! whatever stores or shows them. Nothing here does I/O.

mod case_number;
pub mod cvss;
pub mod cvss4;
#[macro_use]
mod enums;
mod intake;
mod observable;
mod psirt;
pub mod reporting;
mod templates;

pub use case_number::{CaseNumber, CaseNumberError};
pub use enums::*;
pub use intake::{
    extract_indicators, find_tracking_number, is_tracking_number, suggest_category,
    tracking_number, CategorySuggestion, ReportKind, ReportSource, ReportStatus,
};
pub use observable::{normalise_observable, ObservableError};
pub use psirt::{
    AdvisoryProfile, Coordinator, ProductStatus, RemediationKind, RevisionStatus, VexJustification,
};
pub use templates::{case_templates, CaseTemplate, TemplateTask};

/// A value from outside that does not belong to a closed set, with the field it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: unknown value `{value}`; expected one of: {expected}")]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
    pub expected: String,
}

/// What a NUL character in text from outside becomes: U+FFFD, on both engines. PostgreSQL
/// cannot store U+0000 in text at all, SQLite can; deciding once keeps the two alike and keeps
/// a hostile line from failing the lines stored with it.
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// [`without_nul`] in place.
pub fn strip_nul(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{FFFD}");
    }
}

#[cfg(test)]
mod nul_tests {
    #[test]
    fn nul_becomes_the_replacement_character() {
        assert_eq!(super::without_nul("a\0b"), "a\u{FFFD}b");
        assert_eq!(super::without_nul("plain"), "plain");
    }
}
