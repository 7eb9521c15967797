//! Any bytes as a product version's SBOM (CycloneDX or SPDX JSON); the version comparison
//! runs over what it yields, as the assessment does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = hikeshi_exchange::sbom::parse(data) {
        for pair in sbom.components.windows(2) {
            let _ = hikeshi_exchange::sbom::compare_versions(&pair[0].version, &pair[1].version);
            let _ = pair[0].purl_base();
        }
    }
});
