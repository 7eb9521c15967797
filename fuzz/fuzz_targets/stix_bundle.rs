//! Any bytes as a partner's STIX 2.1 bundle.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hikeshi_exchange::stix::import::read_bundle(data);
});
