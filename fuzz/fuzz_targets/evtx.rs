//! Any bytes as an EVTX file: every damaged record must come back as an error item.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = hikeshi_ingest::read_evtx_bytes(data.to_vec(), "fuzz.evtx") {
        for record in records {
            let _ = record;
        }
    }
});
