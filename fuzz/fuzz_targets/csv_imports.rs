//! Any bytes as each CSV import: findings (asset, CVE) and the asset inventory.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_app::vulns::csv_import::parse("fuzz.csv", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hikeshi_app::vulns::asset_csv::parse(text);
    }
});
