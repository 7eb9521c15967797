//! hikeshi's detection engine: Sigma rules parsed, compiled once and evaluated over events.
//! A pure library: it reads no files and writes nothing; callers hand it rule texts and events.

mod condition;
pub mod correlation;
mod detector;
pub mod event;
pub mod ioc;
pub mod logsource;
mod pattern;
mod prefilter;
mod rule;
mod sources;
mod value;

pub use condition::{parse_condition, Cond};
pub use correlation::{CorrelationHit, CorrelationRule, Correlator, Source};
pub use detector::Detector;
pub use event::{Event, FieldValue, JsonEvent};
pub use ioc::{IndicatorKind, IndicatorSet, IocHit};
pub use logsource::WindowsMapping;
pub use rule::{
    apply_filters, parse_rule_documents, CompiledRule, Level, LogSource, RuleDocument, SigmaFilter,
};
pub use sources::{SourceMapping, SourceProfile};
pub use value::{compile_item, FieldTest};

/// Why a rule cannot be used. The variants group failures for the coverage report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("YAML: {0}")]
    Yaml(String),
    #[error("missing or malformed `{0}`")]
    Structure(String),
    #[error("condition: {0}")]
    Condition(String),
    #[error("value: {0}")]
    Value(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl RuleError {
    /// A short reason for grouping, without the rule-specific details.
    pub fn group(&self) -> String {
        match self {
            RuleError::Yaml(_) => "YAML syntax".into(),
            RuleError::Structure(what) => format!("missing or malformed `{what}`"),
            RuleError::Condition(_) => "invalid condition".into(),
            RuleError::Value(_) => "invalid value".into(),
            RuleError::Unsupported(what) => format!("unsupported: {what}"),
        }
    }
}
