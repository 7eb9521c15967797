//! Each value modifier and condition form, written from the Sigma specification
//! (sigma-rules-specification and the modifiers appendix), against JSON events.

use base64::Engine as _;
use hikeshi_detect::{parse_rule_documents, CompiledRule, JsonEvent, RuleDocument};
use serde_json::json;

fn rule(detection: &str) -> CompiledRule {
    let text = format!("title: t\nlogsource:\n  product: test\ndetection:\n{detection}");
    match parse_rule_documents(&text).pop() {
        Some(Ok(RuleDocument::Detection(r))) => *r,
        other => panic!("rule did not compile: {other:?}\n{text}"),
    }
}

fn event(v: serde_json::Value) -> JsonEvent {
    match v {
        serde_json::Value::Object(m) => JsonEvent::new(m),
        _ => panic!("event must be an object"),
    }
}

fn hits(r: &CompiledRule, v: serde_json::Value) -> bool {
    r.matches(&event(v))
}

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn plain_values_are_case_insensitive_equality() {
    let r = rule("  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel");
    assert!(hits(&r, json!({"Image": "c:\\windows\\system32\\CMD.exe"})));
    assert!(!hits(
        &r,
        json!({"Image": "c:\\windows\\system32\\cmd.exe.bak"})
    ));
    assert!(!hits(
        &r,
        json!({"Other": "c:\\windows\\system32\\cmd.exe"})
    ));
}

#[test]
fn contains_startswith_endswith() {
    let r = rule("  sel:\n    CommandLine|contains: 'mimikatz'\n    Image|endswith: '\\rundll32.exe'\n    User|startswith: 'NT AUTHORITY'\n  condition: sel");
    assert!(hits(
        &r,
        json!({"CommandLine": "x MimiKatz y", "Image": "C:\\x\\RUNDLL32.EXE", "User": "nt authority\\system"})
    ));
    assert!(!hits(
        &r,
        json!({"CommandLine": "x MimiKatz y", "Image": "C:\\x\\RUNDLL32.EXE.x", "User": "nt authority\\system"})
    ));
}

#[test]
fn lists_are_or_and_all_makes_them_and() {
    let any =
        rule("  sel:\n    CommandLine|contains:\n      - '-enc'\n      - '-nop'\n  condition: sel");
    assert!(hits(&any, json!({"CommandLine": "powershell -nop"})));
    let all = rule(
        "  sel:\n    CommandLine|contains|all:\n      - '-enc'\n      - '-nop'\n  condition: sel",
    );
    assert!(!hits(&all, json!({"CommandLine": "powershell -nop"})));
    assert!(hits(
        &all,
        json!({"CommandLine": "powershell -nop -enc AAAA"})
    ));
}

#[test]
fn list_of_maps_is_or_of_ands() {
    let r = rule("  sel:\n    - Image|endswith: '\\a.exe'\n      User: 'x'\n    - Image|endswith: '\\b.exe'\n  condition: sel");
    assert!(hits(&r, json!({"Image": "c:\\a.exe", "User": "x"})));
    assert!(!hits(&r, json!({"Image": "c:\\a.exe", "User": "y"})));
    assert!(hits(&r, json!({"Image": "c:\\b.exe"})));
}

#[test]
fn escaped_wildcards_are_literal() {
    // `\\*` in a rule is a backslash then a wildcard; `\*` alone is a literal star.
    let r = rule("  sel:\n    Path: 'C:\\temp\\\\*.exe'\n    Name: 'what\\?'\n  condition: sel");
    assert!(hits(
        &r,
        json!({"Path": "c:\\temp\\x.exe", "Name": "what?"})
    ));
    assert!(!hits(
        &r,
        json!({"Path": "c:\\temp\\x.exe", "Name": "whatx"})
    ));
    let star = rule("  sel:\n    Value: 'a\\*b'\n  condition: sel");
    assert!(hits(&star, json!({"Value": "a*b"})));
    assert!(!hits(&star, json!({"Value": "axxb"})));
}

#[test]
fn base64_and_three_offsets() {
    let r = rule("  sel:\n    CommandLine|base64: 'http://'\n  condition: sel");
    assert!(hits(&r, json!({"CommandLine": b64(b"http://")})));
    let off = rule("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel");
    for prefix in ["", "a", "ab", "abc", "abcd", "abcde"] {
        for suffix in ["", "x", "xy", "xyz"] {
            let encoded = b64(format!("{prefix}http://{suffix}").as_bytes());
            assert!(
                hits(
                    &off,
                    json!({"CommandLine": format!("powershell -e {encoded}")})
                ),
                "offset {} missed in {encoded}",
                prefix.len()
            );
        }
    }
    assert!(!hits(&off, json!({"CommandLine": b64(b"https://example")})));
}

#[test]
fn utf16_encodings_with_base64() {
    let wide = rule("  sel:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: sel");
    let utf16le: Vec<u8> = "cmd /c ping x"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert!(hits(&wide, json!({"CommandLine": b64(&utf16le)})));
    let be = rule("  sel:\n    Data|utf16be|base64: 'ab'\n  condition: sel");
    assert!(hits(&be, json!({"Data": b64(&[0, b'a', 0, b'b'])})));
    let bom = rule("  sel:\n    Data|utf16|base64: 'ab'\n  condition: sel");
    assert!(hits(
        &bom,
        json!({"Data": b64(&[0xFF, 0xFE, b'a', 0, b'b', 0])})
    ));
}

#[test]
fn windash_covers_dash_slash_and_lookalikes() {
    let r = rule("  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel");
    for dash in ["-", "/", "–", "—", "―"] {
        assert!(
            hits(
                &r,
                json!({"CommandLine": format!("powershell {dash}exec bypass")})
            ),
            "{dash}"
        );
    }
    assert!(!hits(&r, json!({"CommandLine": "powershell exec bypass"})));
}

#[test]
fn regular_expressions_and_flags() {
    let r = rule("  sel:\n    CommandLine|re: 'evil\\d+'\n  condition: sel");
    assert!(hits(&r, json!({"CommandLine": "x evil42"})));
    assert!(
        !hits(&r, json!({"CommandLine": "x EVIL42"})),
        "re is case-sensitive by default"
    );
    let i = rule("  sel:\n    CommandLine|re|i: 'evil\\d+'\n  condition: sel");
    assert!(hits(&i, json!({"CommandLine": "x EVIL42"})));
    let m = rule("  sel:\n    Text|re|m: '^second$'\n  condition: sel");
    assert!(hits(&m, json!({"Text": "first\nsecond\nthird"})));
    let s = rule("  sel:\n    Text|re|s: 'a.b'\n  condition: sel");
    assert!(hits(&s, json!({"Text": "a\nb"})));
    let no_s = rule("  sel:\n    Text|re: 'a.b'\n  condition: sel");
    assert!(!hits(&no_s, json!({"Text": "a\nb"})));
}

#[test]
fn cidr_for_ipv4_and_ipv6() {
    let r = rule("  sel:\n    DestinationIp|cidr:\n      - '10.0.0.0/8'\n      - '2001:db8::/32'\n  condition: sel");
    assert!(hits(&r, json!({"DestinationIp": "10.1.2.3"})));
    assert!(hits(&r, json!({"DestinationIp": "2001:db8:1::5"})));
    assert!(!hits(&r, json!({"DestinationIp": "192.0.2.1"})));
    assert!(!hits(&r, json!({"DestinationIp": "2001:db9::1"})));
    assert!(!hits(&r, json!({"DestinationIp": "not an ip"})));
}

#[test]
fn numeric_comparisons() {
    let r = rule("  sel:\n    Count|gte: 10\n    Size|lt: 5.5\n  condition: sel");
    assert!(hits(&r, json!({"Count": 10, "Size": 5})));
    assert!(hits(&r, json!({"Count": "12", "Size": "1.0"})));
    assert!(!hits(&r, json!({"Count": 9, "Size": 5})));
    assert!(!hits(&r, json!({"Count": 10, "Size": 5.5})));
    let gt = rule("  sel:\n    N|gt: 3\n  condition: sel");
    let lte = rule("  sel:\n    N|lte: 3\n  condition: sel");
    assert!(hits(&gt, json!({"N": 4})) && !hits(&gt, json!({"N": 3})));
    assert!(hits(&lte, json!({"N": 3})) && !hits(&lte, json!({"N": 4})));
}

#[test]
fn exists_null_and_empty() {
    let ex = rule("  sel:\n    User|exists: true\n  condition: sel");
    assert!(hits(&ex, json!({"User": ""})));
    assert!(!hits(&ex, json!({"Other": "x"})));
    let missing = rule("  sel:\n    User|exists: false\n  condition: sel");
    assert!(hits(&missing, json!({"Other": "x"})));
    let null = rule("  sel:\n    User: null\n  condition: sel");
    assert!(hits(&null, json!({"Other": "x"})));
    assert!(hits(&null, json!({"User": null})));
    assert!(!hits(&null, json!({"User": "x"})));
    let empty = rule("  sel:\n    User: ''\n  condition: sel");
    assert!(hits(&empty, json!({"User": ""})));
    assert!(!hits(&empty, json!({"User": "x"})));
    assert!(!hits(&empty, json!({"Other": ""})));
}

#[test]
fn fieldref_compares_two_fields() {
    let r = rule("  sel:\n    TargetUserName|fieldref: SubjectUserName\n  condition: sel");
    assert!(hits(
        &r,
        json!({"TargetUserName": "Alice", "SubjectUserName": "alice"})
    ));
    assert!(!hits(
        &r,
        json!({"TargetUserName": "Alice", "SubjectUserName": "bob"})
    ));
    let ends = rule("  sel:\n    Image|fieldref|endswith: OriginalName\n  condition: sel");
    assert!(hits(
        &ends,
        json!({"Image": "c:\\x\\tool.exe", "OriginalName": "TOOL.EXE"})
    ));
}

#[test]
fn cased_is_case_sensitive() {
    let r = rule("  sel:\n    Name|cased: 'CamelCase'\n  condition: sel");
    assert!(hits(&r, json!({"Name": "CamelCase"})));
    assert!(!hits(&r, json!({"Name": "camelcase"})));
}

#[test]
fn expand_without_values_is_a_wildcard() {
    let r = rule("  sel:\n    Group|expand: '%DomainAdmins%'\n  condition: sel");
    assert!(hits(&r, json!({"Group": "anything"})));
    let mixed = rule("  sel:\n    Path|expand: 'C:\\Users\\%user%\\AppData'\n  condition: sel");
    assert!(hits(&mixed, json!({"Path": "c:\\users\\bob\\appdata"})));
    assert!(!hits(&mixed, json!({"Path": "d:\\users\\bob\\appdata"})));
}

#[test]
fn time_parts() {
    let r = rule("  sel:\n    Timestamp|hour: 3\n    Timestamp|month: 11\n  condition: sel");
    assert!(hits(&r, json!({"Timestamp": "2026-11-26T03:15:00Z"})));
    assert!(!hits(&r, json!({"Timestamp": "2026-11-26T04:15:00Z"})));
    let week = rule("  sel:\n    Timestamp|week: 48\n  condition: sel");
    assert!(
        hits(&week, json!({"Timestamp": "2026-11-26T00:00:00Z"})),
        "26 Nov 2026 is in ISO week 48"
    );
}

#[test]
fn keywords_search_every_value() {
    let r = rule("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords");
    assert!(hits(
        &r,
        json!({"a": "x", "nested": {"b": "run SEKURLSA::logonpasswords"}})
    ));
    assert!(!hits(&r, json!({"a": "x"})));
    let all =
        rule("  keywords:\n    '|all':\n      - 'alpha'\n      - 'beta'\n  condition: keywords");
    assert!(hits(&all, json!({"a": "alpha", "b": "beta"})));
    assert!(!hits(&all, json!({"a": "alpha"})));
}

#[test]
fn condition_forms() {
    let r = rule("  selection_a:\n    A: 1\n  selection_b:\n    B: 2\n  filter_main:\n    C: 3\n  condition: 1 of selection_* and not filter_main");
    assert!(hits(&r, json!({"A": 1})));
    assert!(hits(&r, json!({"B": 2})));
    assert!(!hits(&r, json!({"B": 2, "C": 3})));
    let all = rule("  s1:\n    A: 1\n  s2:\n    B: 2\n  condition: all of them");
    assert!(hits(&all, json!({"A": 1, "B": 2})));
    assert!(!hits(&all, json!({"A": 1})));
    let paren =
        rule("  s1:\n    A: 1\n  s2:\n    B: 2\n  s3:\n    C: 3\n  condition: s1 and (s2 or s3)");
    assert!(hits(&paren, json!({"A": 1, "C": 3})));
    assert!(!hits(&paren, json!({"A": 1})));
}

#[test]
fn bad_rules_say_why() {
    let bad = |d: &str| {
        parse_rule_documents(&format!("title: t\ndetection:\n{d}"))
            .pop()
            .expect("one document")
    };
    assert!(matches!(
        bad("  sel:\n    A|nosuch: 1\n  condition: sel"),
        Err(hikeshi_detect::RuleError::Unsupported(_))
    ));
    assert!(matches!(
        bad("  sel:\n    A|re: '('\n  condition: sel"),
        Err(hikeshi_detect::RuleError::Value(_))
    ));
    assert!(matches!(
        bad("  sel:\n    A: 1\n  condition: other"),
        Err(hikeshi_detect::RuleError::Condition(_))
    ));
    assert!(matches!(
        bad("  sel:\n    A|cidr: 'x'\n  condition: sel"),
        Err(hikeshi_detect::RuleError::Value(_))
    ));
    assert!(matches!(
        parse_rule_documents("title: [unclosed").pop(),
        Some(Err(hikeshi_detect::RuleError::Yaml(_)))
    ));
}

#[test]
fn filters_and_their_condition_onto_the_named_rules() {
    let text = "title: Rar compression\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n---\ntitle: Other rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n";
    let filter = "title: Admins may compress\nlogsource:\n  product: windows\n  category: process_creation\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n  selection:\n    User|startswith: 'adm_'\n  condition: not selection\n";
    let mut rules: Vec<CompiledRule> = parse_rule_documents(text)
        .into_iter()
        .map(|d| match d {
            Ok(RuleDocument::Detection(r)) => *r,
            other => panic!("{other:?}"),
        })
        .collect();
    let filters: Vec<hikeshi_detect::SigmaFilter> = parse_rule_documents(filter)
        .into_iter()
        .map(|d| match d {
            Ok(RuleDocument::Filter(f)) => *f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        hikeshi_detect::apply_filters(&mut rules, &filters),
        1,
        "only the named rule"
    );
    let admin = json!({"Image": "c:\\tools\\rar.exe", "User": "adm_taro"});
    let user = json!({"Image": "c:\\tools\\rar.exe", "User": "hanako"});
    assert!(!hits(&rules[0], admin.clone()), "filtered out");
    assert!(hits(&rules[0], user));
    assert!(hits(&rules[1], admin), "unnamed rules are untouched");
    let wrong_source = filter.replace("category: process_creation", "category: file_event");
    let other: Vec<_> = parse_rule_documents(&wrong_source)
        .into_iter()
        .filter_map(|d| match d {
            Ok(RuleDocument::Filter(f)) => Some(*f),
            _ => None,
        })
        .collect();
    assert_eq!(
        hikeshi_detect::apply_filters(&mut rules, &other),
        0,
        "log source must match"
    );
}

#[test]
fn matched_fields_name_what_made_the_match_and_not_the_filters() {
    let r = rule(
        "  sel_img:\n    Image|endswith: '\\\\certutil.exe'\n  sel_cli:\n    - CommandLine|contains: urlcache\n    - ParentImage|endswith: '\\\\winword.exe'\n  filter:\n    User: SYSTEM\n  condition: sel_img and 1 of sel_cli* and not filter",
    );
    let e = event(json!({
        "Image": "C:\\Windows\\System32\\certutil.exe",
        "CommandLine": "certutil -urlcache -f http://x/a.exe",
        "ParentImage": "C:\\Windows\\explorer.exe",
        "User": "alice"
    }));
    // The second alternative of sel_cli did not match, and the filter only keeps events out.
    assert_eq!(r.matched_fields(&e), vec!["CommandLine", "Image"]);
    let filtered = event(json!({
        "Image": "C:\\Windows\\System32\\certutil.exe",
        "CommandLine": "certutil -urlcache",
        "User": "SYSTEM"
    }));
    assert!(r.matched_fields(&filtered).is_empty());
}
