//! Sharing with peer teams (issue 16): what hikeshi exports, always through the egress gate
//! of `hikeshi-exchange`. Today: a case as a STIX 2.1 report bundle, with a preview that shows
//! exactly what would leave and why the rest stays.

mod share_case;

pub use share_case::{case_share, case_stix, CaseShare, ShareRequest, SharingSettings};
