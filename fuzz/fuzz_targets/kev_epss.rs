//! Any bytes as the CISA KEV catalogue (JSON) and as the EPSS scores (CSV).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::vulns::intel::parse_kev("kev.json", data);
    let _ = hikeshi_app::vulns::intel::parse_epss("epss.csv", data);
});
