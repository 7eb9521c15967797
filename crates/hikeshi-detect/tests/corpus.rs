//! The public SigmaHQ rule set (../shared/corpus/sigma) must parse and compile.

use hikeshi_detect::{parse_rule_documents, RuleDocument};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_sigmahq_rule_compiles() {
    let root = corpus();
    assert!(
        root.is_dir(),
        "the Sigma corpus is expected at {}",
        root.display()
    );
    let mut files = Vec::new();
    for folder in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        yaml_files(&root.join(folder), &mut files);
    }
    assert!(files.len() > 3000, "found only {} rule files", files.len());
    let (mut detections, mut other) = (0, 0);
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable rule");
        for doc in parse_rule_documents(&text) {
            match doc {
                Ok(RuleDocument::Detection(_)) => detections += 1,
                Ok(_) => other += 1,
                Err(e) => failures
                    .entry(e.group())
                    .or_default()
                    .push(format!("{}: {e}", file.display())),
            }
        }
    }
    let failed: usize = failures.values().map(Vec::len).sum();
    println!("{} files, {detections} detection rules compiled, {other} correlation/filter documents, {failed} failed", files.len());
    for (reason, list) in &failures {
        println!("  {reason}: {}", list.len());
        for f in list.iter().take(5) {
            println!("    {f}");
        }
    }
    assert_eq!(failed, 0, "rules that do not compile (see above)");
}
