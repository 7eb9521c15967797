//! What hikeshi tells peer teams, and what it keeps to itself.
//!
//! Everything that leaves goes through one gate, [`egress::clear`]: it decides, for a case's
//! objects, an audience and a channel, which objects may leave, at which effective TLP, and
//! strips the victim's details (private addresses, the organisation's own domains and staff
//! accounts, internal host names) from what leaves. Serializers such as [`stix::report_bundle`]
//! only accept what the gate has cleared ([`egress::Cleared`] cannot be made anywhere else),
//! so no format can forget to ask.
//!
//! Pure, like `hikeshi-detect`: no I/O, no clock, no randomness. The caller passes "now" and
//! gets the same bytes for the same input, so a re-export updates a partner's copy instead of
//! duplicating it.

pub mod csaf;
pub mod cve5;
pub mod decay;
pub mod egress;
pub mod misp;
pub mod sbom;
pub mod stix;
pub mod tlp;
pub mod vex;
mod victim;

pub use egress::{
    clear, Audience, Channel, Cleared, ClearedObservable, Reason, Refusal, ShareGraph,
    ShareObservable, ShareOptions, Withheld,
};
pub use victim::VictimProfile;
