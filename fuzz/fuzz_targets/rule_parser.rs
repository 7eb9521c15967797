//! Any text as a Sigma rule file: parsing and compiling must return errors, never panic, and a
//! rule that compiles must evaluate on an empty event.
#![no_main]
use hikeshi_detect::{parse_rule_documents, JsonEvent, RuleDocument};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let empty = JsonEvent::default();
    for doc in parse_rule_documents(text).into_iter().flatten() {
        if let RuleDocument::Detection(rule) = doc {
            let _ = rule.matches(&empty);
        }
    }
});
