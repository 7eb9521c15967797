//! Sharing with peer teams (issue 16): what hikeshi exports, always through the egress gate
//! of `hikeshi-exchange`. Today: a case as a STIX 2.1 report bundle, with a preview that shows
//! exactly what would leave and why the rest stays; and a partner's bundle read into a case.

mod import_stix;
mod share_case;

pub use import_stix::{import_stix, SkippedObject, StixImport};

pub use share_case::{
    case_export, case_share, CaseShare, ShareFormat, ShareRequest, SharingSettings,
};
