//! The egress gate over random cases and audiences: whatever a bundle carries, nothing marked
//! TLP:RED, no withheld value or planted canary, no own-domain name unless kept on purpose,
//! AMBER+STRICT only inside the organisation, AMBER only to it and its clients, GREEN never to
//! the public, and nothing below its case's marking.

use hikeshi_exchange::stix::{report_bundle, Producer};
use hikeshi_exchange::tlp::marking_id;
use hikeshi_exchange::{
    clear, Audience, Channel, ShareGraph, ShareObservable, ShareOptions, VictimProfile,
};
use hikeshi_model::{ObservableKind, Tlp};
use proptest::prelude::*;
use serde_json::Value;

const VICTIM_DOMAIN: &str = "victim.example";

/// Each observable carries a canary `c<n>q` that no other value contains.
fn value_for(kind: ObservableKind, n: usize, own: bool, internal: bool) -> String {
    use ObservableKind::*;
    let domain = if own {
        VICTIM_DOMAIN
    } else {
        "attacker.example"
    };
    match kind {
        Domain => format!("c{n}q.{domain}"),
        Url => format!("https://c{n}q.{domain}/login?c{n}q"),
        Email => format!("c{n}q@{domain}"),
        Filename => format!("c{n}q.exe"),
        RegistryKey => format!("HKLM\\Software\\c{n}q"),
        Host => format!("c{n}q"),
        UserAccount => format!("c{n}q"),
        Other => format!("c{n}q other"),
        Ip if internal => format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256),
        Ip => format!("198.51.{}.{}", n / 256 % 256, n % 256),
        Cidr => format!("203.0.{}.0/24", n % 256),
        Md5 => format!("{n:032x}"),
        Sha1 => format!("{n:040x}"),
        Sha256 => format!("{n:064x}"),
    }
}

fn any_tlp() -> impl Strategy<Value = Tlp> {
    prop::sample::select(Tlp::ALL.to_vec())
}

fn any_kind() -> impl Strategy<Value = ObservableKind> {
    prop::sample::select(ObservableKind::ALL.to_vec())
}

prop_compose! {
    fn any_observable()(
        kind in any_kind(),
        tlp in any_tlp(),
        ceiling in prop::option::of(any_tlp()),
        own in any::<bool>(),
        internal in any::<bool>(),
        is_ioc in any::<bool>(),
    ) -> (ObservableKind, Tlp, Option<Tlp>, bool, bool, bool) {
        (kind, tlp, ceiling, own, internal, is_ioc)
    }
}

prop_compose! {
    fn any_share()(
        case_tlp in any_tlp(),
        raw in prop::collection::vec(any_observable(), 0..12),
        audience in prop::sample::select(Audience::ALL.to_vec()),
        include_summary in any::<bool>(),
        keep_victim_details in any::<bool>(),
    ) -> (ShareGraph, Audience, ShareOptions) {
        let values: Vec<String> = raw
            .iter()
            .enumerate()
            .map(|(n, (kind, _, _, own, internal, _))| value_for(*kind, n, *own, *internal))
            .collect();
        // Each description names the next observable, which may be one that is withheld.
        let observables: Vec<ShareObservable> = raw
            .into_iter()
            .enumerate()
            .map(|(n, (kind, tlp, source_ceiling, _, _, is_ioc))| ShareObservable {
                key: format!("obs-{n}"),
                kind,
                value: values[n].clone(),
                description: format!("seen with {}", values[(n + 1) % values.len()]),
                tlp,
                source_ceiling,
                is_ioc,
                created_ms: 1_700_000_000_000,
            })
            .collect();
        // Every value appears in the texts, so the texts must be cleaned of the withheld ones.
        let everything: Vec<String> = observables.iter().map(|o| o.value.clone()).collect();
        let graph = ShareGraph {
            key: "case-key".into(),
            number: "2026-0042".into(),
            title: format!("事案 {}", everything.first().cloned().unwrap_or_default()),
            summary: format!("経緯: {} / mail c0q@{VICTIM_DOMAIN}", everything.join(" 、")),
            summary_placeholder: format!("From case 2026-0042 ({})", everything.join(", ")),
            tlp: case_tlp,
            created_ms: 1_700_000_000_000,
            modified_ms: 1_700_000_100_000,
            observables,
        };
        (graph, audience, ShareOptions { include_summary, keep_victim_details })
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn nothing_leaves_that_should_not((graph, audience, options) in any_share()) {
        let victim = VictimProfile::new([VICTIM_DOMAIN]);
        let producer = Producer { key: "team".into(), name: "Test CSIRT".into(), created_ms: 0 };
        let Ok(cleared) = clear(&graph, audience, Channel::Taxii, &victim, options) else {
            prop_assert!(!audience.may_receive(graph.tlp));
            return Ok(());
        };
        let bundle = report_bundle(&cleared, &producer, 1_800_000_000_000);
        let text = bundle.to_string();
        let mut all = Vec::new();
        strings(&bundle, &mut all);

        prop_assert!(!text.contains(marking_id(Tlp::Red)));
        if audience != Audience::Organisation {
            prop_assert!(!text.contains(marking_id(Tlp::AmberStrict)));
        }
        if !matches!(audience, Audience::Organisation | Audience::ClientPartner) {
            prop_assert!(!text.contains(marking_id(Tlp::Amber)));
        }
        if audience == Audience::Public {
            prop_assert!(!text.contains(marking_id(Tlp::Green)));
        }
        if !options.keep_victim_details {
            prop_assert!(!text.contains(VICTIM_DOMAIN), "{}", text);
        }
        for w in cleared.withheld() {
            let exact = all.iter().any(|s| s.eq_ignore_ascii_case(&w.value));
            prop_assert!(!exact, "withheld {} leaked: {}", w.value, text);
            // Values built around a canary (`c3q`) cannot be part of another value, so they
            // must not appear inside any text either. Addresses and digests can (198.51.0.1 is
            // the start of 198.51.0.12), so they are held to the exact check above.
            if !matches!(w.kind, ObservableKind::Ip | ObservableKind::Cidr
                | ObservableKind::Md5 | ObservableKind::Sha1 | ObservableKind::Sha256) {
                let leaks = all.iter().any(|s| s.to_ascii_lowercase().contains(&w.value.to_ascii_lowercase()));
                prop_assert!(!leaks, "withheld {} ({:?}) leaked: {}", w.value, w.kind, text);
            }
        }
        // Nothing is marked below its case.
        if let Some(objects) = bundle["objects"].as_array() {
            for o in objects {
                if let Some(refs) = o["object_marking_refs"].as_array() {
                    for r in refs {
                        let tlp = Tlp::ALL.iter().find(|t| marking_id(**t) == r).copied();
                        prop_assert!(tlp.is_some_and(|t| t >= graph.tlp), "{}", o);
                    }
                }
            }
        }
    }
}
