//! SigmaHQ's regression suite: for each `info.yml` under ../shared/corpus/sigma/regression_data,
//! the named rule must fire on its EVTX file, read and mapped the way `hikeshi hunt` does.

use hikeshi_detect::{parse_rule_documents, Detector, JsonEvent, RuleDocument, WindowsMapping};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn sigma_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma")
}

fn files(dir: &Path, name_ok: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, name_ok, out);
        } else if name_ok(&p) {
            out.push(p);
        }
    }
}

#[test]
fn sigmahq_regression_samples_fire() {
    let root = sigma_root();
    let mut rule_files = Vec::new();
    for folder in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        files(
            &root.join(folder),
            &|p| p.extension().is_some_and(|e| e == "yml"),
            &mut rule_files,
        );
    }
    let mut by_id = HashMap::new();
    for f in &rule_files {
        let text = std::fs::read_to_string(f).expect("rule text");
        for doc in parse_rule_documents(&text).into_iter().flatten() {
            if let RuleDocument::Detection(r) = doc {
                if let Some(id) = r.id.clone() {
                    by_id.insert(id, *r);
                }
            }
        }
    }
    let mut infos = Vec::new();
    files(
        &root.join("regression_data"),
        &|p| p.file_name().is_some_and(|n| n == "info.yml"),
        &mut infos,
    );
    assert!(infos.len() > 100, "found {} regression cases", infos.len());
    let mapping = WindowsMapping::builtin();
    let (mut passed, mut failed) = (0, Vec::new());
    for info in &infos {
        let doc: yaml_serde::Value =
            yaml_serde::from_str(&std::fs::read_to_string(info).expect("info")).expect("info.yml");
        let rule_id = doc["rule_metadata"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let evtx = doc["regression_tests_info"][0]["path"]
            .as_str()
            .unwrap_or_default();
        let Some(rule) = by_id.get(&rule_id).cloned() else {
            failed.push(format!("{rule_id}: rule not found"));
            continue;
        };
        let title = rule.title.clone();
        let detector = Detector::new(vec![rule], &mapping);
        let mut fired = false;
        match hikeshi_ingest::read_evtx(&root.join(evtx)) {
            Ok(records) => {
                for record in records.flatten() {
                    let mut hits = Vec::new();
                    detector.detect_windows(&JsonEvent::new(record), &mut hits);
                    fired |= !hits.is_empty();
                }
            }
            Err(e) => failed.push(format!("{rule_id}: {e}")),
        }
        if fired {
            passed += 1;
        } else {
            let why = detector
                .unmapped()
                .next()
                .map(|(_, w)| format!(" (log source not mapped: {w})"))
                .unwrap_or_default();
            failed.push(format!("{rule_id} {title}: did not fire on {evtx}{why}"));
        }
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    println!("sigma regression: {passed} passed, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "{} regression samples did not fire",
        failed.len()
    );
}
