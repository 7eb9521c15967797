//! Correlation rules, one behaviour per test, written from the Sigma correlation specification.

use hikeshi_detect::{
    parse_rule_documents, CompiledRule, CorrelationHit, CorrelationRule, Correlator, JsonEvent,
    RuleDocument, Source,
};

const BASE: &str = r#"
title: Failed logon
id: 0000000a-0000-0000-0000-000000000001
name: failed_login
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
---
title: Successful logon
name: successful_login
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4624}
  condition: selection
---
title: Outbound transfer
name: transfer
logsource: {category: proxy}
detection:
  selection: {method: POST}
  condition: selection
"#;

struct Setup {
    rules: Vec<CompiledRule>,
    correlator: Correlator,
}

fn setup(correlations: &str) -> Setup {
    let mut rules = Vec::new();
    let mut corr: Vec<CorrelationRule> = Vec::new();
    for doc in parse_rule_documents(BASE)
        .into_iter()
        .chain(parse_rule_documents(correlations))
    {
        match doc.expect("documents compile") {
            RuleDocument::Detection(r) => rules.push(*r),
            RuleDocument::Correlation(c) => corr.push(*c),
            RuleDocument::Filter(_) => unreachable!(),
        }
    }
    let (correlator, failed) = Correlator::new(corr, &rules);
    assert!(failed.is_empty(), "{failed:?}");
    Setup { rules, correlator }
}

/// Feeds (rule name, seconds, event) in order and returns the titles that fired, with the
/// figure, then what `finish` adds.
fn run(s: &mut Setup, matches: &[(&str, i64, serde_json::Value)]) -> Vec<(String, f64)> {
    let mut out: Vec<CorrelationHit> = Vec::new();
    for (name, secs, event) in matches {
        let rule = s
            .rules
            .iter()
            .position(|r| r.name.as_deref() == Some(*name))
            .expect("rule name");
        let serde_json::Value::Object(map) = event.clone() else {
            panic!("object")
        };
        out.extend(
            s.correlator
                .observe(Source::Rule(rule), secs * 1000, &JsonEvent::new(map)),
        );
    }
    out.extend(s.correlator.finish());
    out.iter()
        .map(|h| (s.correlator.rule(h.correlation).title.clone(), h.value))
        .collect()
}

fn user(u: &str) -> serde_json::Value {
    serde_json::json!({ "User": u, "IpAddress": "10.0.0.5" })
}

const THREE_FAILURES: &str = r#"
title: Three failures
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [User]
  timespan: 5m
  condition: {gte: 3}
"#;

#[test]
fn event_count_fires_once_per_group_within_the_timespan() {
    let mut s = setup(THREE_FAILURES);
    let fired = run(
        &mut s,
        &[
            ("failed_login", 0, user("alice")),
            ("failed_login", 10, user("bob")),
            ("failed_login", 60, user("alice")),
            ("failed_login", 120, user("alice")),
            ("failed_login", 130, user("alice")),
            ("failed_login", 140, user("bob")),
        ],
    );
    assert_eq!(fired, vec![("Three failures".to_string(), 3.0)]);

    // The same three, spread over more than five minutes, do not fire.
    let mut s = setup(THREE_FAILURES);
    let fired = run(
        &mut s,
        &[
            ("failed_login", 0, user("carol")),
            ("failed_login", 200, user("carol")),
            ("failed_login", 400, user("carol")),
        ],
    );
    assert!(fired.is_empty(), "{fired:?}");
}

const SPRAY: &str = r#"
title: Spray
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [IpAddress]
  timespan: 1h
  condition: {field: User, gte: 3}
"#;

#[test]
fn value_count_counts_distinct_values() {
    let mut s = setup(SPRAY);
    let same_user_thrice = [
        ("failed_login", 0, user("a")),
        ("failed_login", 1, user("a")),
        ("failed_login", 2, user("a")),
    ];
    assert!(run(&mut s, &same_user_thrice).is_empty());
    let mut s = setup(SPRAY);
    let three_users = [
        ("failed_login", 0, user("a")),
        ("failed_login", 1, user("b")),
        ("failed_login", 2, user("a")),
        ("failed_login", 3, user("c")),
    ];
    assert_eq!(run(&mut s, &three_users), vec![("Spray".to_string(), 3.0)]);
}

#[test]
fn temporal_needs_every_rule_and_ordered_needs_the_order() {
    let temporal = r#"
title: Both
correlation:
  type: temporal
  rules: [failed_login, successful_login]
  group-by: [User]
  timespan: 1m
"#;
    let mut s = setup(temporal);
    let fired = run(
        &mut s,
        &[
            ("successful_login", 0, user("a")),
            ("failed_login", 30, user("a")),
        ],
    );
    assert_eq!(fired, vec![("Both".to_string(), 2.0)]);
    let mut s = setup(temporal);
    let too_far = [
        ("successful_login", 0, user("a")),
        ("failed_login", 90, user("a")),
    ];
    assert!(run(&mut s, &too_far).is_empty());

    let ordered = temporal
        .replace("type: temporal", "type: temporal_ordered")
        .replace("Both", "In order");
    let mut s = setup(&ordered);
    let wrong_order = [
        ("successful_login", 0, user("a")),
        ("failed_login", 30, user("a")),
    ];
    assert!(run(&mut s, &wrong_order).is_empty());
    let mut s = setup(&ordered);
    let right_order = [
        ("failed_login", 0, user("a")),
        ("successful_login", 30, user("a")),
    ];
    assert_eq!(
        run(&mut s, &right_order),
        vec![("In order".to_string(), 2.0)]
    );
}

fn transfer(host: &str, bytes: u64) -> serde_json::Value {
    serde_json::json!({ "host": host, "bytes": bytes })
}

#[test]
fn value_sum_avg_and_percentile() {
    let feed = [
        ("transfer", 0, transfer("h", 100)),
        ("transfer", 1, transfer("h", 200)),
        ("transfer", 2, transfer("h", 900)),
    ];
    let rule = |kind: &str, extra: &str| {
        format!(
            "title: {kind}\ncorrelation:\n  type: {kind}\n  rules: [transfer]\n  group-by: [host]\n  timespan: 1h\n  condition: {{field: bytes, {extra}}}\n"
        )
    };
    let mut s = setup(&rule("value_sum", "gte: 1200"));
    assert_eq!(run(&mut s, &feed), vec![("value_sum".to_string(), 1200.0)]);
    let mut s = setup(&rule("value_sum", "gt: 1200"));
    assert!(run(&mut s, &feed).is_empty());
    let mut s = setup(&rule("value_avg", "gte: 400"));
    assert_eq!(run(&mut s, &feed), vec![("value_avg".to_string(), 400.0)]);
    // Nearest rank: the 90th percentile of (100, 200, 900) is 900; the 50th is 200.
    let mut s = setup(&rule("value_percentile", "percentile: 90, gte: 800"));
    assert_eq!(
        run(&mut s, &feed),
        vec![("value_percentile".to_string(), 900.0)]
    );
    let mut s = setup(&rule("value_percentile", "percentile: 50, gte: 800"));
    let fired = run(&mut s, &feed);
    // The first value alone (100) is its own 50th percentile; none reach 800.
    assert!(fired.is_empty(), "{fired:?}");
}

#[test]
fn an_upper_bound_is_judged_when_the_window_ends() {
    let mut s = setup(
        r#"
title: Quiet
correlation:
  type: event_count
  rules: [successful_login]
  group-by: [User]
  timespan: 10m
  condition: {lt: 2}
"#,
    );
    let fired = run(
        &mut s,
        &[
            ("successful_login", 0, user("once")),
            ("successful_login", 0, user("twice")),
            ("successful_login", 60, user("twice")),
        ],
    );
    assert_eq!(fired, vec![("Quiet".to_string(), 1.0)]);
}

#[test]
fn chained_correlation_and_aliases() {
    // The specification's example: many failures, then a success, for the same user.
    let mut s = setup(
        r#"
title: Brute force then success
correlation:
  type: temporal_ordered
  rules: [many_failures, successful_login]
  group-by: [User]
  timespan: 10m
level: high
---
title: Many failures
name: many_failures
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [User]
  timespan: 10m
  condition: {gte: 3}
"#,
    );
    let mut feed: Vec<(&str, i64, serde_json::Value)> = (0..3)
        .map(|i| ("failed_login", i, user("mallory")))
        .collect();
    feed.push(("successful_login", 100, user("mallory")));
    feed.push(("successful_login", 101, user("alice")));
    let fired = run(&mut s, &feed);
    assert_eq!(
        fired,
        vec![
            ("Many failures".to_string(), 3.0),
            ("Brute force then success".to_string(), 2.0)
        ]
    );

    // Aliases: the same address as source in one rule and as destination in another.
    let mut s = setup(
        r#"
title: Same address
correlation:
  type: temporal
  rules: [failed_login, transfer]
  group-by: [ip]
  timespan: 1m
  aliases:
    ip:
      failed_login: IpAddress
      transfer: dst
"#,
    );
    let fired = run(
        &mut s,
        &[
            (
                "failed_login",
                0,
                serde_json::json!({"IpAddress": "192.0.2.9"}),
            ),
            ("transfer", 5, serde_json::json!({"dst": "192.0.2.7"})),
            ("transfer", 6, serde_json::json!({"dst": "192.0.2.9"})),
        ],
    );
    assert_eq!(fired, vec![("Same address".to_string(), 2.0)]);
}

#[test]
fn referenced_rules_stay_quiet_unless_generate_is_set() {
    let s = setup(THREE_FAILURES);
    let failed = s
        .rules
        .iter()
        .position(|r| r.title == "Failed logon")
        .unwrap();
    let success = s
        .rules
        .iter()
        .position(|r| r.title == "Successful logon")
        .unwrap();
    assert!(!s.correlator.rule_reports_alone(failed));
    assert!(s.correlator.rule_reports_alone(success));
    assert_eq!(
        s.correlator.fields_for_rule(failed),
        vec!["User".to_string()]
    );
    let s = setup(&format!("{THREE_FAILURES}generate: true\n"));
    assert!(s.correlator.rule_reports_alone(failed));
}

#[test]
fn bad_correlations_are_refused_with_a_reason() {
    let refuse = |text: &str| -> String {
        let mut rules = Vec::new();
        let mut corr = Vec::new();
        for doc in parse_rule_documents(BASE)
            .into_iter()
            .chain(parse_rule_documents(text))
        {
            match doc {
                Ok(RuleDocument::Detection(r)) => rules.push(*r),
                Ok(RuleDocument::Correlation(c)) => corr.push(*c),
                Ok(RuleDocument::Filter(_)) => {}
                Err(e) => return e.to_string(),
            }
        }
        let (_, failed) = Correlator::new(corr, &rules);
        failed
            .first()
            .map(|(_, e)| e.to_string())
            .unwrap_or_else(|| "accepted".into())
    };
    let base = "title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n";
    assert_eq!(refuse(base), "accepted");
    assert!(refuse(&base.replace("5m", "5 minutes")).contains("timespan"));
    assert!(refuse(&base.replace("event_count", "event_histogram")).contains("event_histogram"));
    assert!(refuse(&base.replace("failed_login", "nope")).contains("nope"));
    assert!(refuse(&base.replace("event_count", "value_count")).contains("field"));
    let cycle = "title: a\nname: a\ncorrelation:\n  type: event_count\n  rules: [b]\n  timespan: 5m\n  condition: {gte: 1}\n---\ntitle: b\nname: b\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n";
    assert!(refuse(cycle).contains("refers back"));
}
