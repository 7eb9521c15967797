//! Domain types of hikeshi: the vocabulary of incident handling and the rules that hold
//! whatever stores or shows them. Nothing here does I/O.

mod case_number;
pub mod cvss;
pub mod cvss4;
#[macro_use]
mod enums;
mod intake;
mod observable;
pub mod reporting;
mod templates;

pub use case_number::{CaseNumber, CaseNumberError};
pub use enums::*;
pub use intake::{
    extract_indicators, find_tracking_number, is_tracking_number, suggest_category,
    tracking_number, CategorySuggestion, ReportSource, ReportStatus,
};
pub use observable::{normalise_observable, ObservableError};
pub use templates::{case_templates, CaseTemplate, TemplateTask};

/// A value from outside that does not belong to a closed set, with the field it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: unknown value `{value}`; expected one of: {expected}")]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
    pub expected: String,
}
