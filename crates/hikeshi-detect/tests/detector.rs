//! The detector with its cross-rule literal index: the index may skip rules, never change what
//! fires. Each case here is one the index could get wrong.

use hikeshi_detect::{
    parse_rule_documents, CompiledRule, Detector, JsonEvent, RuleDocument, WindowsMapping,
};

fn rules(texts: &[&str]) -> Vec<CompiledRule> {
    texts
        .iter()
        .flat_map(|t| parse_rule_documents(t))
        .map(|d| match d {
            Ok(RuleDocument::Detection(r)) => *r,
            other => panic!("not a detection rule: {other:?}"),
        })
        .collect()
}

fn fired(detector: &Detector, event: serde_json::Value) -> Vec<String> {
    let serde_json::Value::Object(map) = event else {
        panic!("events are objects")
    };
    let mut hits = Vec::new();
    detector.detect_windows(&JsonEvent::new(map), &mut hits);
    hits.iter()
        .map(|i| detector.rules[*i].title.clone())
        .collect()
}

const KEYWORDS: &str = "title: kw\nlogsource: {product: windows}\ndetection:\n  keywords: ['sekurlsa::logonpasswords']\n  condition: keywords\n";
const PROCESS: &str = "title: proc\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n    CommandLine|contains: '/priv'\n  condition: sel\n";
const NEGATED: &str = "title: neg\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4625\n  filter:\n    TargetUserName|endswith: '$'\n  condition: sel and not filter\n";

fn detector() -> Detector {
    Detector::new(
        rules(&[KEYWORDS, PROCESS, NEGATED]),
        &WindowsMapping::builtin(),
    )
}

#[test]
fn keywords_are_found_in_fields_no_rule_names() {
    let d = detector();
    let event = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "SomeUnnamedField": "ran SEKURLSA::LogonPasswords today",
    });
    assert_eq!(fired(&d, event), vec!["kw"]);
    let quiet = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "SomeUnnamedField": "nothing to see",
    });
    assert!(fired(&d, quiet).is_empty());
}

#[test]
fn needles_match_whatever_the_case_and_through_field_renames() {
    let d = detector();
    let sysmon = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "Image": "C:\\WINDOWS\\System32\\WHOAMI.EXE", "CommandLine": "whoami /PRIV",
    });
    assert_eq!(fired(&d, sysmon), vec!["proc"]);
    // Security 4688 names the image `NewProcessName`; the mapping renames it for the rule.
    let security = serde_json::json!({
        "Channel": "Security", "EventID": 4688,
        "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /priv",
    });
    assert_eq!(fired(&d, security), vec!["proc"]);
    let half = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /all",
    });
    assert!(fired(&d, half).is_empty());
}

#[test]
fn numbers_and_negations_still_fire() {
    let d = detector();
    let failed_logon = serde_json::json!({
        "Channel": "Security", "EventID": 4625, "TargetUserName": "alice",
    });
    assert_eq!(fired(&d, failed_logon), vec!["neg"]);
    let machine = serde_json::json!({
        "Channel": "Security", "EventID": 4625, "TargetUserName": "HOST$",
    });
    assert!(fired(&d, machine).is_empty());
}
