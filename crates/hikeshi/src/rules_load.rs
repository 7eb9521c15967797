//! Loading Sigma rule folders for `hunt` and `rules check`: every file is read, every document
//! compiled, and every failure kept with its file and reason so that none is dropped silently.

use hikeshi_detect::{parse_rule_documents, CompiledRule, RuleDocument};
use std::path::{Path, PathBuf};

pub struct LoadedRules {
    pub files: usize,
    pub rules: Vec<CompiledRule>,
    /// Correlation documents, with the file each came from.
    pub correlations: Vec<(PathBuf, hikeshi_detect::CorrelationRule)>,
    /// Filter documents read, and how many rules they changed.
    pub filters: usize,
    pub filters_applied: usize,
    pub failures: Vec<(PathBuf, hikeshi_detect::RuleError)>,
}

/// Rule files larger than this are refused: no real rule comes close.
const MAX_RULE_BYTES: u64 = 1024 * 1024;

pub fn walk(path: &Path, accept: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        if accept(path) {
            out.push(path.to_path_buf());
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        walk(&p, accept, out);
    }
}

pub fn load(dirs: &[PathBuf]) -> LoadedRules {
    let mut files = Vec::new();
    for d in dirs {
        walk(
            d,
            &|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"),
            &mut files,
        );
    }
    let mut loaded = LoadedRules {
        files: files.len(),
        rules: Vec::new(),
        correlations: Vec::new(),
        failures: Vec::new(),
        filters: 0,
        filters_applied: 0,
    };
    let mut filters = Vec::new();
    // Parsing is most of the load time: files are parsed on every core, then merged in the
    // order they were found so that rule numbering does not depend on thread timing.
    for (file, docs) in files.iter().zip(parse_all(&files)) {
        for doc in docs {
            match doc {
                Ok(RuleDocument::Detection(r)) => loaded.rules.push(*r),
                Ok(RuleDocument::Correlation(c)) => loaded.correlations.push((file.clone(), *c)),
                Ok(RuleDocument::Filter(f)) => filters.push(*f),
                Err(e) => loaded.failures.push((file.clone(), e)),
            }
        }
    }
    loaded.filters_applied = hikeshi_detect::apply_filters(&mut loaded.rules, &filters);
    loaded.filters = filters.len();
    loaded
}

type Parsed = Vec<Result<RuleDocument, hikeshi_detect::RuleError>>;

/// Reads and parses one rule file; a file that cannot be read is one failed document.
fn parse_file(file: &Path) -> Parsed {
    let refuse = |e| vec![Err(e)];
    match std::fs::metadata(file) {
        Ok(m) if m.len() > MAX_RULE_BYTES => refuse(hikeshi_detect::RuleError::Structure(format!(
            "file over {MAX_RULE_BYTES} bytes"
        ))),
        _ => match std::fs::read_to_string(file) {
            Ok(text) => parse_rule_documents(&text),
            Err(e) => refuse(hikeshi_detect::RuleError::Yaml(format!("unreadable: {e}"))),
        },
    }
}

/// Parses the files on every core; results come back in the files' order.
fn parse_all(files: &[PathBuf]) -> Vec<Parsed> {
    let threads = crate::hunt::all_cores().min(files.len()).max(1);
    let per_thread = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(per_thread)
            .map(|part| {
                let handle =
                    s.spawn(move || part.iter().map(|f| parse_file(f)).collect::<Vec<_>>());
                (part.len(), handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                // Keep one entry per file even if a parser thread died.
                h.join().unwrap_or_else(|_| {
                    (0..len)
                        .map(|_| {
                            vec![Err(hikeshi_detect::RuleError::Structure(
                                "the parser stopped unexpectedly".into(),
                            ))]
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// `hikeshi rules check DIR...`
pub fn check(dirs: &[PathBuf]) -> anyhow::Result<bool> {
    let started = std::time::Instant::now();
    let mut loaded = load(dirs);
    let (correlator, refused) = correlator(&loaded);
    for (file, err) in refused {
        loaded.failures.push((file, err));
    }
    println!("{} files: {} detection rules compiled, {} filters (applied to {} rules), {} correlation rules usable, {} failed ({:.2} s)",
        loaded.files, loaded.rules.len(), loaded.filters, loaded.filters_applied, correlator.len(), loaded.failures.len(), started.elapsed().as_secs_f64());
    let mut groups: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (file, err) in &loaded.failures {
        groups
            .entry(err.group())
            .or_default()
            .push(format!("{}: {err}", file.display()));
    }
    for (reason, list) in &groups {
        println!("\n{reason} ({}):", list.len());
        for line in list {
            println!("  {line}");
        }
    }
    let mapping = hikeshi_detect::WindowsMapping::builtin();
    let detector = hikeshi_detect::Detector::new(loaded.rules, &mapping);
    let unmapped: Vec<_> = detector.unmapped().collect();
    if !unmapped.is_empty() {
        println!(
            "\nWindows log source not in the mapping ({}), these rules never fire on EVTX:",
            unmapped.len()
        );
        for (rule, why) in unmapped {
            println!(
                "  {} {}: {why}",
                rule.id.as_deref().unwrap_or("-"),
                rule.title
            );
        }
    }
    Ok(groups.is_empty())
}

/// Resolves the loaded correlation rules against the detection rules; the ones that cannot be
/// used come back with their file and reason.
pub fn correlator(
    loaded: &LoadedRules,
) -> (
    hikeshi_detect::Correlator,
    Vec<(PathBuf, hikeshi_detect::RuleError)>,
) {
    let rules: Vec<_> = loaded.correlations.iter().map(|(_, c)| c.clone()).collect();
    let (correlator, failed) = hikeshi_detect::Correlator::new(rules, &loaded.rules);
    let refused = failed
        .into_iter()
        .map(|(rule, err)| {
            let file = loaded
                .correlations
                .iter()
                .find(|(_, c)| c.title == rule.title && c.id == rule.id)
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            (file, err)
        })
        .collect();
    (correlator, refused)
}

#[derive(clap::Subcommand)]
pub enum RulesCommand {
    /// Parse and compile every rule under the folders and report failures grouped by reason.
    Check { dirs: Vec<PathBuf> },
}
