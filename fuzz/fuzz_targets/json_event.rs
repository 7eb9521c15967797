//! Any bytes as a JSON-lines event, run through the shipped Windows and source mappings with a
//! small rule set that exercises every kind of value test.
#![no_main]
use hikeshi_detect::{parse_rule_documents, Detector, JsonEvent, RuleDocument, WindowsMapping};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const RULES: &str = r#"
title: strings
logsource: {product: windows, category: process_creation}
detection:
  a: {CommandLine|contains|all: ['-enc', 'iex'], Image|endswith: '\powershell.exe'}
  b: {CommandLine|re: '(?i)invoke-[a-z]+', ParentImage|startswith: 'C:\Windows\'}
  c: {CommandLine|base64offset|contains: 'http://'}
  d: ['mimikatz', 'sekurlsa::']
  condition: 1 of them
---
title: numbers and addresses
logsource: {product: windows, service: security}
detection:
  a: {EventID: 4625, IpAddress|cidr: ['10.0.0.0/8', 'fe80::/10'], LogonType|gte: 3}
  b: {TargetUserName|fieldref: SubjectUserName, WorkstationName: null}
  condition: a or b
"#;

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        let rules = parse_rule_documents(RULES)
            .into_iter()
            .filter_map(|d| match d {
                Ok(RuleDocument::Detection(r)) => Some(*r),
                _ => None,
            })
            .collect();
        Detector::new(rules, &WindowsMapping::builtin())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(data) else {
        return;
    };
    let event = JsonEvent::new(map);
    let mut hits = Vec::new();
    detector().detect_windows(&event, &mut hits);
    detector().detect_other(&event, &mut hits);
});
