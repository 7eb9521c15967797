//! Any bytes as a scanner report: the format is guessed from the bytes as the import does
//! (Vuls JSON, Trivy JSON or the CSV of asset and CVE).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::vulns::parse_report("fuzz", data);
});
