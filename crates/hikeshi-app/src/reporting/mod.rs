//! Management reporting: the CISO dashboard, incident statistics, the countermeasure map, the
//! maturity self-check and the monthly report in HTML and PDF.

pub mod charts;
pub mod coverage;
pub mod kpi;
pub mod ledger;
pub mod maturity;
pub mod monthly;
pub mod pdf;
pub mod period;
pub mod programme;
pub mod rollup;
pub mod settings;
pub mod stats;

pub use settings::ReportingSettings;
