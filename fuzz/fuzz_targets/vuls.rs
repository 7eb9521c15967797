//! Any bytes as a Vuls JSON v4 scan result.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::vulns::vuls::parse("fuzz.json", data);
});
