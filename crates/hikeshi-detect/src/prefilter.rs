//! The cross-rule literal index. Most rules cannot match unless some literal text of theirs
//! appears in some field of the event (`CommandLine|contains: 'mimikatz'` needs "mimikatz" in
//! `CommandLine`). Each rule gets a *need*: a set of (field, needle) pairs of which at least one
//! must be present. One Aho-Corasick pass per event field, with an automaton holding only the
//! needles rules look for in that field, finds which are present; only rules whose need is met
//! (or that have none) are evaluated in full. Small per-field automata stay in cache, which a
//! single automaton of 20,000 needles does not.
//!
//! Soundness rule: a need may be weaker than the rule, never stronger. Anything we cannot
//! reason about (`not`, regular expressions, numbers, CIDR, `null`) yields "no need", which
//! keeps the rule always evaluated.

use crate::condition::Cond;
use crate::event::Event;
use crate::pattern::{Piece, StrMatch, StringMatcher};
use crate::rule::CompiledRule;
use crate::value::{FieldTest, ValueTest};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;

/// Needles shorter than this occur in nearly every event (" ", ".", "16") and would make the
/// scan report a match at every other byte: a test with one is treated as having no need.
const MIN_NEEDLE: usize = 3;

/// A needle: the field it must be in (`None` for keyword searches: any field) and its
/// lower-cased text.
pub type Needle = (Option<String>, String);

/// At least one of these (ASCII-case-insensitive) needles must occur.
type Clause = Vec<Needle>;

/// Every clause must hold; `None` means no filter. Clauses are kept best first.
type Need = Option<Vec<Clause>>;

/// A need as needle ids: every clause must have one of its ids present.
type IdClauses = Box<[Box<[u32]>]>;

/// Clauses kept per rule: the most selective few reject nearly everything already.
const MAX_CLAUSES: usize = 4;

/// How good a clause is: one without keyword needles first (those cost a scan of every field),
/// then the longer shortest needle, then fewer needles.
fn score(clause: &[Needle]) -> (bool, usize, std::cmp::Reverse<usize>) {
    let fields_only = clause.iter().all(|(field, _)| field.is_some());
    let shortest = clause.iter().map(|(_, t)| t.len()).min().unwrap_or(0);
    (fields_only, shortest, std::cmp::Reverse(clause.len()))
}

/// Needs that must all hold (an AND): their clauses together. A part without a need just adds
/// nothing, which is weaker and so still sound.
fn all_of(needs: impl IntoIterator<Item = Need>) -> Need {
    let mut clauses: Vec<Clause> = needs.into_iter().flatten().flatten().collect();
    if clauses.is_empty() {
        return None;
    }
    clauses.sort_by(|a, b| score(b).cmp(&score(a)).then_with(|| a.cmp(b)));
    clauses.dedup();
    clauses.truncate(MAX_CLAUSES);
    Some(clauses)
}

/// Needs of which one must hold (an OR): valid only if every branch has one. Each branch is
/// cut down to its best clause (any one clause of a branch is necessary for it), and the OR
/// needs one of their needles.
fn any_of(needs: impl IntoIterator<Item = Need>) -> Need {
    let mut branches: Vec<Need> = needs.into_iter().collect();
    if branches.len() == 1 {
        return branches.pop().flatten();
    }
    let mut all = Vec::new();
    for need in branches {
        all.extend(need?.into_iter().next()?);
    }
    all.sort_unstable();
    all.dedup();
    Some(vec![all])
}

/// Whether every non-ASCII character has no other case (emoji, kana, kanji, symbols), so
/// folding ASCII alone finds every way the event could write the needle.
fn caseless_beyond_ascii(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_ascii()
            || (c.to_lowercase().eq(std::iter::once(c)) && c.to_uppercase().eq(std::iter::once(c)))
    })
}

fn matcher_needle(m: &StringMatcher) -> Option<String> {
    let text = match &m.kind {
        StrMatch::Equals(n) | StrMatch::StartsWith(n) | StrMatch::EndsWith(n) => n.clone(),
        StrMatch::Contains(n, _) => n.clone(),
        StrMatch::Glob(pieces) => pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t.clone()),
                _ => None,
            })
            .max_by_key(String::len)?,
    };
    // The scan folds ASCII only: a case-insensitive needle with other letters could be missed
    // when the event writes them in upper case. Case-sensitive needles are found as written.
    if text.len() < MIN_NEEDLE || (!m.cased && !caseless_beyond_ascii(&text)) {
        return None;
    }
    Some(text.to_ascii_lowercase())
}

fn field_test_need(test: &FieldTest) -> Need {
    let needles: Vec<Need> = test
        .tests
        .iter()
        .map(|t| match t {
            ValueTest::Str(m) => matcher_needle(m).map(|n| vec![vec![(test.field.clone(), n)]]),
            _ => None,
        })
        .collect();
    if test.all {
        all_of(needles)
    } else {
        any_of(needles)
    }
}

fn selection_need(rule_selections: &[Vec<FieldTest>]) -> Need {
    any_of(
        rule_selections
            .iter()
            .map(|group| all_of(group.iter().map(field_test_need))),
    )
}

fn cond_need(rule: &CompiledRule, cond: &Cond) -> Need {
    match cond {
        Cond::Sel(i) => selection_need(&rule.selections[*i]),
        Cond::And(parts) => all_of(parts.iter().map(|c| cond_need(rule, c))),
        Cond::Or(parts) => any_of(parts.iter().map(|c| cond_need(rule, c))),
        Cond::Not(_) => None,
        Cond::AnyOf(sels) => any_of(sels.iter().map(|i| selection_need(&rule.selections[*i]))),
        Cond::AllOf(sels) => all_of(sels.iter().map(|i| selection_need(&rule.selections[*i]))),
    }
}

/// The needle clauses one rule needs (each must be met), if it needs any.
pub fn rule_need(rule: &CompiledRule) -> Option<Vec<Clause>> {
    cond_need(rule, &rule.condition)
}

/// The needles to look for in one event field, and their global ids.
struct FieldScan {
    automaton: AhoCorasick,
    /// For small needle sets, a leftmost searcher only asked whether anything matches: it may
    /// use the crate's SIMD (Teddy) searcher, which overlapping searches cannot.
    quick_check: Option<AhoCorasick>,
    ids: Vec<u32>,
}

/// Up to this many needles, the SIMD searcher is worth a second automaton.
const QUICK_CHECK_MAX: usize = 64;

impl FieldScan {
    fn build(needles: Vec<(String, u32)>) -> Option<FieldScan> {
        let (texts, ids): (Vec<String>, Vec<u32>) = needles.into_iter().unzip();
        // Overlapping search needs the standard match kind. A DFA scans fastest; if it would
        // grow past the builder's limits, the contiguous NFA is the fallback.
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .build(&texts)
        };
        let automaton = build(Some(AhoCorasickKind::DFA))
            .or_else(|_| build(None))
            .ok()?;
        let quick_check = (texts.len() <= QUICK_CHECK_MAX)
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&texts)
                    .ok()
            })
            .flatten();
        Some(FieldScan {
            automaton,
            quick_check,
            ids,
        })
    }

    /// Looks for the needles in `text`, using `folded` as scratch space.
    fn scan(&self, text: &str, folded: &mut Vec<u8>, present: &mut Present) {
        // Needles are lower case and the automaton case-sensitive: folding the text first
        // lets the crate use its SIMD prefilters, which ASCII-insensitive automata cannot.
        folded.clear();
        folded.extend_from_slice(text.as_bytes());
        folded.make_ascii_lowercase();
        // Most values hold no needle; the SIMD check is the fast way to learn that. Large
        // needle sets have none, and a second pass would only double the work.
        if let Some(quick) = &self.quick_check {
            if !quick.is_match(folded.as_slice()) {
                return;
            }
        }
        for m in self.automaton.find_overlapping_iter(folded.as_slice()) {
            present.set(self.ids[m.pattern().as_usize()] as usize);
        }
    }
}

pub struct Prefilter {
    /// Keyed by top-level event field name.
    by_field: HashMap<String, FieldScan>,
    /// Keyword needles, run over every field, in one group per rule product and service: an
    /// event meets the keyword rules of its own source only, and a small group can use the
    /// SIMD check.
    keyword_groups: Vec<FieldScan>,
    needle_count: usize,
    /// Per rule: the needle ids of which one must be present, or `None` (always evaluate).
    /// Per rule: clauses of needle ids, every clause needing one of its needles.
    needs: Vec<Option<IdClauses>>,
    /// Per rule: the keyword group its keyword needles are in, if it has any.
    keyword_group: Vec<Option<usize>>,
    enabled: bool,
}

/// Which needles an event holds, one bit per needle.
pub struct Present {
    bits: Vec<u64>,
    /// A value came from a field we cannot name: admit every rule.
    everything: bool,
    /// Keyword needles are looked for only when a candidate rule has some, one bit per group
    /// already scanned: the keyword scan reads every field.
    groups_scanned: u64,
}

impl Present {
    fn has(&self, id: u32) -> bool {
        self.everything
            || self
                .bits
                .get(id as usize / 64)
                .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set(&mut self, id: usize) {
        self.bits[id / 64] |= 1 << (id % 64);
    }
}

/// One field's needles: (lower-cased text, needle id).
type FieldNeedles = Vec<(String, u32)>;

/// Builds the per-field automata on every core (building is most of the rule-load time after
/// parsing); `None` if any cannot be built.
fn build_all(per_field: HashMap<String, FieldNeedles>) -> Option<HashMap<String, FieldScan>> {
    let mut work: Vec<(String, FieldNeedles)> = per_field.into_iter().collect();
    // Largest first, dealt round-robin, so threads finish together.
    work.sort_by_key(|(_, needles)| std::cmp::Reverse(needles.len()));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(work.len())
        .max(1);
    let mut shares: Vec<Vec<(String, FieldNeedles)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in work.into_iter().enumerate() {
        shares[i % threads].push(item);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                s.spawn(move || {
                    share
                        .into_iter()
                        .map(|(name, needles)| Some((name, FieldScan::build(needles)?)))
                        .collect::<Option<Vec<_>>>()
                })
            })
            .collect();
        let mut all = HashMap::new();
        for h in handles {
            all.extend(h.join().ok()??);
        }
        Some(all)
    })
}

/// The top-level key a (possibly dotted) field name is found under.
fn top_level(name: &str) -> &str {
    name.split_once('.').map_or(name, |(top, _)| top)
}

impl Prefilter {
    /// `aliases` maps a rule's field name to the event field names a log-source mapping
    /// renames it to (Security 4688's `NewProcessName` for `Image`).
    pub fn new(rules: &[CompiledRule], aliases: &HashMap<String, Vec<String>>) -> Prefilter {
        let mut ids: HashMap<Needle, u32> = HashMap::new();
        let needs: Vec<Option<IdClauses>> = rules
            .iter()
            .map(|rule| {
                let need = rule_need(rule)?;
                Some(
                    need.into_iter()
                        .map(|clause| {
                            clause
                                .into_iter()
                                .map(|n| {
                                    let next = ids.len() as u32;
                                    *ids.entry(n).or_insert(next)
                                })
                                .collect()
                        })
                        .collect(),
                )
            })
            .collect();
        let mut per_field: HashMap<String, Vec<(String, u32)>> = HashMap::new();
        let mut texts: Vec<&str> = vec![""; ids.len()];
        for ((field, text), id) in &ids {
            texts[*id as usize] = text;
            if let Some(name) = field {
                let mapped = aliases.get(name).into_iter().flatten();
                for target in std::iter::once(name).chain(mapped) {
                    // A dotted name is either a literal flat key or a path into nested JSON
                    // (under its top-level key): scan both.
                    per_field
                        .entry(target.to_string())
                        .or_default()
                        .push((text.clone(), *id));
                    if top_level(target) != target {
                        per_field
                            .entry(top_level(target).to_string())
                            .or_default()
                            .push((text.clone(), *id));
                    }
                }
            }
        }
        let keyword_ids: std::collections::HashSet<u32> = ids
            .iter()
            .filter(|((field, _), _)| field.is_none())
            .map(|(_, id)| *id)
            .collect();
        let mut group_index: HashMap<String, usize> = HashMap::new();
        let mut group_needles: Vec<Vec<u32>> = Vec::new();
        let mut keyword_group = Vec::with_capacity(rules.len());
        for (rule, need) in rules.iter().zip(&needs) {
            let wanted: Vec<u32> = need
                .iter()
                .flat_map(|n| n.iter())
                .flat_map(|clause| clause.iter())
                .filter(|id| keyword_ids.contains(id))
                .copied()
                .collect();
            if wanted.is_empty() {
                keyword_group.push(None);
                continue;
            }
            let ls = &rule.logsource;
            let source = format!(
                "{}/{}",
                ls.product.as_deref().unwrap_or(""),
                ls.service.as_deref().unwrap_or("")
            )
            .to_ascii_lowercase();
            let g = *group_index.entry(source).or_insert_with(|| {
                group_needles.push(Vec::new());
                group_needles.len() - 1
            });
            group_needles[g].extend(wanted);
            keyword_group.push(Some(g));
        }
        let mut keyword_groups = Vec::new();
        for mut group in group_needles {
            group.sort_unstable();
            group.dedup();
            let needles = group
                .into_iter()
                .map(|id| (texts[id as usize].to_string(), id))
                .collect();
            match FieldScan::build(needles) {
                Some(scan) => keyword_groups.push(scan),
                None => return Prefilter::disabled(rules.len()),
            }
        }
        let Some(by_field) = build_all(per_field) else {
            return Prefilter::disabled(rules.len());
        };
        Prefilter {
            by_field,
            keyword_groups,
            needle_count: ids.len(),
            needs,
            keyword_group,
            enabled: true,
        }
    }

    /// A prefilter that admits every rule, for when an automaton cannot be built.
    fn disabled(rules: usize) -> Prefilter {
        Prefilter {
            by_field: HashMap::new(),
            keyword_groups: Vec::new(),
            needle_count: 0,
            needs: vec![None; rules],
            keyword_group: vec![None; rules],
            enabled: false,
        }
    }

    pub fn needle_count(&self) -> usize {
        self.needle_count
    }

    /// How many rules have a need (and so can be skipped).
    pub fn filtered_rules(&self) -> usize {
        self.needs.iter().filter(|n| n.is_some()).count()
    }

    /// One pass over each of the event's values with the needles of its field.
    pub fn scan(&self, event: &dyn Event) -> Present {
        let mut present = Present {
            bits: vec![0u64; self.needle_count.div_ceil(64)],
            everything: !self.enabled,
            groups_scanned: 0,
        };
        if present.everything {
            return present;
        }
        let mut folded = Vec::new();
        event.each_text(&mut |name, text| {
            if name.is_empty() {
                present.everything = true;
                return;
            }
            if let Some(scan) = self.by_field.get(name) {
                scan.scan(text, &mut folded, &mut present);
            }
        });
        present
    }

    /// Whether the rule could match the event with these needles present. Scans for keyword
    /// needles, in every field, the first time a rule needs them.
    pub fn admits(&self, rule: usize, present: &mut Present, event: &dyn Event) -> bool {
        let Some(Some(clauses)) = self.needs.get(rule) else {
            return true;
        };
        for clause in clauses.iter() {
            if clause.iter().any(|id| present.has(*id)) {
                continue;
            }
            let Some(group) = self.keyword_group[rule] else {
                return false;
            };
            // Past 64 groups the bit cannot be kept: such groups are scanned every time.
            let bit = 1u64.checked_shl(group as u32).unwrap_or(0);
            if present.groups_scanned & bit != 0 {
                return false;
            }
            present.groups_scanned |= bit;
            let scan = &self.keyword_groups[group];
            let mut folded = Vec::new();
            event.each_text(&mut |_, text| scan.scan(text, &mut folded, present));
            if !clause.iter().any(|id| present.has(*id)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_rule_documents;
    use crate::rule::RuleDocument;

    fn rule(yaml: &str) -> CompiledRule {
        match parse_rule_documents(yaml).remove(0) {
            Ok(RuleDocument::Detection(r)) => *r,
            other => panic!("not a detection: {other:?}"),
        }
    }

    /// The needle texts of a rule's need clauses, for brevity.
    fn need(yaml: &str) -> Option<Vec<Vec<String>>> {
        rule_need(&rule(yaml)).map(|n| {
            n.into_iter()
                .map(|clause| clause.into_iter().map(|(_, t)| t).collect())
                .collect()
        })
    }

    fn texts(clauses: &[&[&str]]) -> Option<Vec<Vec<String>>> {
        Some(
            clauses
                .iter()
                .map(|c| c.iter().map(|t| t.to_string()).collect())
                .collect(),
        )
    }

    #[test]
    fn and_needs_every_part_most_selective_first_or_needs_one_branch() {
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: ['whoami /all', 'net user /domain']\n  condition: a\n",
        );
        // Both parts are needed; the longer needles are the more selective clause, checked first.
        assert_eq!(
            n,
            texts(&[&["net user /domain", "whoami /all"], &["\\cmd.exe"]])
        );
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    Image|endswith: '\\pwsh.exe'\n  condition: a or b\n",
        );
        assert_eq!(n, texts(&[&["\\cmd.exe", "\\pwsh.exe"]]));
    }

    #[test]
    fn what_cannot_be_reasoned_about_has_no_need() {
        // `not` alone, a regex, a number comparison, and an OR with an unfilterable branch.
        for detection in [
            "  a:\n    Image: 'x.exe'\n  condition: not a\n",
            "  a:\n    CommandLine|re: 'a.*b'\n  condition: a\n",
            "  a:\n    Count|gt: 3\n  condition: a\n",
            "  a:\n    Image: 'x.exe'\n  b:\n    Other: null\n  condition: a or b\n",
            "  a:\n    Image: 'ÄBC.exe'\n  condition: a\n",
            "  a:\n    CommandLine|contains: 'ПРИВЕТ'\n  condition: a\n",
            "  a:\n    Image: ''\n  condition: a\n",
        ] {
            let yaml =
                format!("title: t\nlogsource: {{product: windows}}\ndetection:\n{detection}");
            assert_eq!(need(&yaml), None, "{detection}");
        }
        // ...but an AND with a filterable part keeps that part's need.
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    Image: 'x.exe'\n  f:\n    User|re: 'adm.*'\n  condition: a and not f\n",
        );
        assert_eq!(n, texts(&[&["x.exe"]]));
    }

    #[test]
    fn all_modifier_needs_every_value_and_globs_their_longest_piece() {
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    CommandLine|contains|all: ['-nop', 'downloadstring']\n  condition: a\n",
        );
        assert_eq!(n, texts(&[&["downloadstring"], &["-nop"]]));
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    Image: '*\\temp\\evil?.exe'\n  condition: a\n",
        );
        assert_eq!(n, texts(&[&["\\temp\\evil"]]));
    }

    #[test]
    fn caseless_characters_are_indexed_as_written() {
        // Emoji and kanji have no other case: folding ASCII alone cannot miss them.
        let n = need(
            "title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    CommandLine|contains: ['🔥🔥', '不正アクセス']\n  condition: a\n",
        );
        assert_eq!(n, texts(&[&["不正アクセス", "🔥🔥"]]));
    }
}
