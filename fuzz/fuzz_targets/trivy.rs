//! Any bytes as a Trivy JSON report.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::vulns::trivy::parse("fuzz.json", data);
});
