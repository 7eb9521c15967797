//! Sigma string values: wildcards `*` and `?` with `\` escapes, compiled into the cheapest
//! matcher that does the job (equality, prefix, suffix, substring, or a wildcard walk).

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    AnyMany,
    AnyOne,
}

/// Parses a plain Sigma string. `\*`, `\?` and `\\` are literal; any other backslash is itself.
pub fn parse_sigma_string(value: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    text.push(next);
                    chars.next();
                }
                _ => text.push('\\'),
            },
            '*' | '?' => {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                // Consecutive stars are one star.
                if c == '*' {
                    if pieces.last() != Some(&Piece::AnyMany) {
                        pieces.push(Piece::AnyMany);
                    }
                } else {
                    pieces.push(Piece::AnyOne);
                }
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// Whether the pieces hold any wildcard.
pub fn is_plain(pieces: &[Piece]) -> bool {
    pieces.iter().all(|p| matches!(p, Piece::Text(_)))
}

pub fn plain_text(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.as_str(),
            Piece::AnyMany => "*",
            Piece::AnyOne => "?",
        })
        .collect()
}

/// A compiled string test. Needles are stored folded to lower case unless `cased`.
#[derive(Debug, Clone)]
pub enum StrMatch {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    /// The needle and its precompiled substring searcher.
    Contains(String, Box<memchr::memmem::Finder<'static>>),
    Glob(Vec<Piece>),
}

fn contains(needle: String) -> StrMatch {
    let finder = Box::new(memchr::memmem::Finder::new(needle.as_bytes()).into_owned());
    StrMatch::Contains(needle, finder)
}

#[derive(Debug, Clone)]
pub struct StringMatcher {
    pub kind: StrMatch,
    pub cased: bool,
    /// All needle text is ASCII: byte-wise ASCII folding is then exact on any UTF-8 haystack,
    /// because no byte of a multi-byte character equals an ASCII byte.
    ascii: bool,
}

fn fold(s: &str, cased: bool) -> String {
    if cased {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

impl StringMatcher {
    pub fn new(pieces: Vec<Piece>, cased: bool) -> StringMatcher {
        let text = |p: &Piece| match p {
            Piece::Text(t) => Some(fold(t, cased)),
            _ => None,
        };
        let kind = match pieces.as_slice() {
            [] => StrMatch::Equals(String::new()),
            [Piece::Text(t)] => StrMatch::Equals(fold(t, cased)),
            [Piece::AnyMany] => StrMatch::StartsWith(String::new()),
            [a, Piece::AnyMany] if text(a).is_some() => {
                StrMatch::StartsWith(text(a).unwrap_or_default())
            }
            [Piece::AnyMany, b] if text(b).is_some() => {
                StrMatch::EndsWith(text(b).unwrap_or_default())
            }
            [Piece::AnyMany, m, Piece::AnyMany] if text(m).is_some() => {
                contains(text(m).unwrap_or_default())
            }
            _ => StrMatch::Glob(
                pieces
                    .into_iter()
                    .map(|p| match p {
                        Piece::Text(t) => Piece::Text(fold(&t, cased)),
                        other => other,
                    })
                    .collect(),
            ),
        };
        let ascii = match &kind {
            StrMatch::Equals(n)
            | StrMatch::StartsWith(n)
            | StrMatch::EndsWith(n)
            | StrMatch::Contains(n, _) => n.is_ascii(),
            StrMatch::Glob(p) => p.iter().all(|x| {
                matches!(x, Piece::Text(t) if t.is_ascii()) || !matches!(x, Piece::Text(_))
            }),
        };
        StringMatcher { kind, cased, ascii }
    }

    pub fn matches(&self, haystack: &str) -> bool {
        // ASCII needles, the common case, are compared without allocating.
        if !self.cased && !self.ascii {
            return self.matches_folded(&haystack.to_lowercase());
        }
        if self.cased {
            return self.matches_folded(haystack);
        }
        match &self.kind {
            StrMatch::Equals(n) => haystack.eq_ignore_ascii_case(n),
            StrMatch::StartsWith(n) => {
                haystack.len() >= n.len()
                    && haystack.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes())
            }
            StrMatch::EndsWith(n) => {
                haystack.len() >= n.len()
                    && haystack.as_bytes()[haystack.len() - n.len()..]
                        .eq_ignore_ascii_case(n.as_bytes())
            }
            StrMatch::Contains(n, _) => contains_ascii_ci(haystack.as_bytes(), n.as_bytes()),
            StrMatch::Glob(p) => glob(p, &haystack.to_ascii_lowercase()),
        }
    }

    /// Whether this matcher can take a haystack already folded to lower case.
    pub fn takes_folded(&self) -> bool {
        !self.cased
    }

    /// Matches a haystack already folded to lower case (see [`Event::folded`](crate::Event::folded)).
    pub fn matches_folded(&self, h: &str) -> bool {
        match &self.kind {
            StrMatch::Equals(n) => h == n,
            StrMatch::StartsWith(n) => h.starts_with(n.as_str()),
            StrMatch::EndsWith(n) => h.ends_with(n.as_str()),
            StrMatch::Contains(_, finder) => finder.find(h.as_bytes()).is_some(),
            StrMatch::Glob(p) => glob(p, h),
        }
    }
}

/// Case-insensitive substring search for an already lower-cased ASCII needle.
fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.len() < needle.len() {
        return false;
    }
    let first = needle[0];
    let last = hay.len() - needle.len();
    (0..=last).any(|i| {
        hay[i].to_ascii_lowercase() == first
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
    })
}

/// Wildcard match over characters with backtracking on the last `*`.
fn glob(pattern: &[Piece], text: &str) -> bool {
    // Expand to a char-level pattern once per call; globs are rare in rules.
    enum T {
        Ch(char),
        One,
        Many,
    }
    let pat: Vec<T> = pattern
        .iter()
        .flat_map(|p| -> Vec<T> {
            match p {
                Piece::Text(t) => t.chars().map(T::Ch).collect(),
                Piece::AnyOne => vec![T::One],
                Piece::AnyMany => vec![T::Many],
            }
        })
        .collect();
    let txt: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        match pat.get(p) {
            Some(T::Ch(c)) if *c == txt[t] => {
                p += 1;
                t += 1;
            }
            Some(T::One) => {
                p += 1;
                t += 1;
            }
            Some(T::Many) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while matches!(pat.get(p), Some(T::Many)) {
        p += 1;
    }
    p == pat.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        StringMatcher::new(parse_sigma_string(pattern), false).matches(text)
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(m("*\\cmd.exe", "C:\\Windows\\System32\\CMD.EXE"));
        assert!(
            m("C:\\Windows\\\\*", "c:\\windows\\x"),
            "escaped backslash before a wildcard"
        );
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "abbc"));
        assert!(m("a*b*c", "a-x-b-y-c"));
        assert!(!m("a*b*c", "a-x-c"));
        assert!(m("100\\*", "100*"), "escaped star is literal");
        assert!(!m("100\\*", "1000"));
        assert!(m("what\\?", "what?"));
        assert!(!m("what\\?", "whatx"));
        assert!(
            m("back\\\\*", "back\\slash"),
            "escaped backslash then wildcard"
        );
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("*", "anything"));
    }

    #[test]
    fn case_insensitive_by_default_including_non_ascii() {
        assert!(m("ÄBC", "äbc"));
        assert!(m("*straße*", "x STRAßE y"));
        assert!(!StringMatcher::new(parse_sigma_string("ABC"), true).matches("abc"));
    }
}
