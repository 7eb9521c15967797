//! Any text as a syslog line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = hikeshi_ingest::parse_syslog_line(line, 2026);
    }
});
