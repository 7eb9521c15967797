//! Log parsers for hikeshi: each turns raw records into flat JSON objects (field name → value)
//! that the detection engine reads.

pub mod evtx_file;

pub use evtx_file::{flatten_evtx, read_evtx, read_evtx_bytes, EvtxRecord};
pub mod syslog;

pub use syslog::parse_syslog_line;
