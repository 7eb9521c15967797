//! Indicator lists (IP addresses and ranges, domains, URLs, e-mail addresses, hashes, file names)
//! matched against every string value of an event in one pass per value: literals through one
//! Aho-Corasick automaton, addresses through hash lookups per prefix length. The cost grows with
//! the event, not with the number of indicators.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndicatorKind {
    Ip,
    Cidr,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Filename,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Email => "email",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Filename => "filename",
        }
    }

    /// A type name as lists and feeds write it (`ip-dst`, `hostname`, `sha256`…).
    pub fn parse(text: &str) -> Option<IndicatorKind> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "ip" | "ipv4" | "ipv6" | "ip-dst" | "ip-src" => IndicatorKind::Ip,
            "cidr" | "net" | "ip-range" => IndicatorKind::Cidr,
            "domain" | "hostname" | "fqdn" => IndicatorKind::Domain,
            "url" | "uri" => IndicatorKind::Url,
            "email" | "e-mail" | "email-src" | "email-dst" => IndicatorKind::Email,
            "md5" => IndicatorKind::Md5,
            "sha1" => IndicatorKind::Sha1,
            "sha256" => IndicatorKind::Sha256,
            "filename" | "file" => IndicatorKind::Filename,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Canonical (lower-case) value.
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IocHit {
    pub indicator: usize,
    /// The event value it was found in.
    pub matched: String,
}

/// A line that could not be read as an indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IocError {
    pub line: usize,
    pub message: String,
}

const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "hta", "scr",
    "lnk", "msi", "jar", "zip", "rar", "7z", "iso", "img", "doc", "docm", "docx", "xls", "xlsm",
    "xlsx", "pdf", "one", "py", "sh", "elf",
];

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Guesses the kind of a bare value.
pub fn infer_kind(value: &str) -> Option<IndicatorKind> {
    let v = value.trim();
    if v.parse::<IpAddr>().is_ok() {
        return Some(IndicatorKind::Ip);
    }
    if let Some((addr, len)) = v.split_once('/') {
        if addr.parse::<IpAddr>().is_ok() && len.parse::<u8>().is_ok() {
            return Some(IndicatorKind::Cidr);
        }
    }
    if v.contains("://") {
        return Some(IndicatorKind::Url);
    }
    if is_hex(v, 32) {
        return Some(IndicatorKind::Md5);
    }
    if is_hex(v, 40) {
        return Some(IndicatorKind::Sha1);
    }
    if is_hex(v, 64) {
        return Some(IndicatorKind::Sha256);
    }
    if v.contains('@') && !v.contains(char::is_whitespace) {
        return Some(IndicatorKind::Email);
    }
    let ext = v.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if v.contains('.') && FILE_EXTENSIONS.contains(&ext.as_str()) {
        return Some(IndicatorKind::Filename);
    }
    if v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Some(IndicatorKind::Domain);
    }
    None
}

#[derive(Default)]
pub struct IndicatorSet {
    pub indicators: Vec<Indicator>,
    literals: Option<AhoCorasick>,
    literal_ids: Vec<usize>,
    ips: HashMap<IpAddr, usize>,
    /// Whole-token kinds: a value's tokens are looked up, so their number does not matter.
    hashes: HashMap<String, usize>,
    domains: HashMap<String, usize>,
    emails: HashMap<String, usize>,
    /// Per prefix length, network address → indicator, for IPv4 and IPv6.
    v4_nets: HashMap<u8, HashMap<u32, usize>>,
    v6_nets: HashMap<u8, HashMap<u128, usize>>,
}

fn mask_v4(addr: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask_v6(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - u32::from(len)))
    }
}

impl IndicatorSet {
    /// Reads a list: one value per line (`#` comments), or CSV whose header names a `value`
    /// (or `indicator`) column and optionally a `type` column. Bad lines are returned, not fatal.
    pub fn add_list(&mut self, text: &str, source: &str) -> Vec<IocError> {
        let mut errors = Vec::new();
        let mut lines = text.lines().enumerate().peekable();
        let mut columns: Option<(usize, Option<usize>)> = None;
        if let Some((_, first)) = lines.peek() {
            let header: Vec<String> = first
                .split(',')
                .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
                .collect();
            let value_col = header.iter().position(|h| h == "value" || h == "indicator");
            if let Some(vc) = value_col {
                columns = Some((vc, header.iter().position(|h| h == "type" || h == "kind")));
                lines.next();
            }
        }
        for (index, line) in lines {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (value, declared) = match columns {
                Some((vc, tc)) => {
                    let cells: Vec<&str> = trimmed
                        .split(',')
                        .map(|c| c.trim().trim_matches('"'))
                        .collect();
                    (
                        cells.get(vc).copied().unwrap_or(""),
                        tc.and_then(|t| cells.get(t).copied()),
                    )
                }
                None => (trimmed, None),
            };
            let kind = match declared.filter(|d| !d.is_empty()) {
                Some(d) => {
                    IndicatorKind::parse(d).ok_or_else(|| format!("unknown indicator type `{d}`"))
                }
                None => infer_kind(value)
                    .ok_or_else(|| format!("cannot tell what kind of indicator `{value}` is")),
            };
            match kind.and_then(|k| self.push(k, value, source)) {
                Ok(()) => {}
                Err(message) => errors.push(IocError {
                    line: index + 1,
                    message,
                }),
            }
        }
        self.build();
        errors
    }

    /// Indicators of known kinds (from the store rather than a list file); values that are not
    /// what their kind says come back with the reason.
    pub fn add_values<'a, I>(&mut self, items: I, source: &str) -> Vec<(String, String)>
    where
        I: IntoIterator<Item = (IndicatorKind, &'a str)>,
    {
        let mut errors = Vec::new();
        for (kind, value) in items {
            if let Err(e) = self.push(kind, value, source) {
                errors.push((value.to_string(), e));
            }
        }
        self.build();
        errors
    }

    fn push(&mut self, kind: IndicatorKind, value: &str, source: &str) -> Result<(), String> {
        let value = value.trim();
        if value.is_empty() || value.len() > 2048 {
            return Err("empty or longer than 2048 bytes".into());
        }
        let id = self.indicators.len();
        let canonical = match kind {
            IndicatorKind::Ip => {
                let ip: IpAddr = value
                    .parse()
                    .map_err(|_| format!("`{value}` is not an IP address"))?;
                self.ips.insert(ip, id);
                ip.to_string()
            }
            IndicatorKind::Cidr => {
                let net: ipnet::IpNet = value
                    .parse()
                    .map_err(|_| format!("`{value}` is not a CIDR range"))?;
                match net {
                    ipnet::IpNet::V4(n) => {
                        self.v4_nets
                            .entry(n.prefix_len())
                            .or_default()
                            .insert(u32::from(n.network()), id);
                    }
                    ipnet::IpNet::V6(n) => {
                        self.v6_nets
                            .entry(n.prefix_len())
                            .or_default()
                            .insert(u128::from(n.network()), id);
                    }
                }
                net.to_string()
            }
            _ => {
                let v = value.trim_end_matches('.').to_lowercase();
                let table = match kind {
                    IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => {
                        Some(&mut self.hashes)
                    }
                    IndicatorKind::Domain => Some(&mut self.domains),
                    IndicatorKind::Email => Some(&mut self.emails),
                    _ => None,
                };
                if let Some(t) = table {
                    t.entry(v.clone()).or_insert(id);
                }
                v
            }
        };
        self.indicators.push(Indicator {
            kind,
            value: canonical,
            source: source.to_string(),
        });
        Ok(())
    }

    fn build(&mut self) {
        let mut patterns = Vec::new();
        self.literal_ids.clear();
        for (id, ind) in self.indicators.iter().enumerate() {
            // URLs and file names are found inside longer text; the rest by token lookup.
            if matches!(ind.kind, IndicatorKind::Url | IndicatorKind::Filename) {
                patterns.push(ind.value.clone());
                self.literal_ids.push(id);
            }
        }
        self.literals = (!patterns.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    // A DFA over 100k case-insensitive patterns takes seconds to build; the
                    // contiguous NFA builds in milliseconds and scans nearly as fast.
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&patterns)
                    .ok()
            })
            .flatten();
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    fn lookup_ip(&self, ip: IpAddr) -> Option<usize> {
        if let Some(id) = self.ips.get(&ip) {
            return Some(*id);
        }
        match ip {
            IpAddr::V4(v4) => {
                let a = u32::from(v4);
                self.v4_nets
                    .iter()
                    .find_map(|(len, nets)| nets.get(&mask_v4(a, *len)).copied())
            }
            IpAddr::V6(v6) => {
                let a = u128::from(v6);
                self.v6_nets
                    .iter()
                    .find_map(|(len, nets)| nets.get(&mask_v6(a, *len)).copied())
            }
        }
    }

    /// Indicators found in one value.
    pub fn scan_value(&self, value: &str, hits: &mut Vec<IocHit>) {
        if !self.ips.is_empty() || !self.v4_nets.is_empty() || !self.v6_nets.is_empty() {
            // Address-looking tokens: runs of hex digits, dots and colons.
            for token in value.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':')) {
                let token = token.trim_matches(|c| c == '.' || c == ':');
                if token.len() >= 3 && (token.contains('.') || token.contains(':')) {
                    // `203.0.113.5:443`: an IPv4 address with its port.
                    let addr = token.parse::<IpAddr>().ok().or_else(|| {
                        token
                            .split_once(':')
                            .filter(|(a, _)| a.contains('.'))
                            .and_then(|(a, _)| a.parse().ok())
                    });
                    if let Some(id) = addr.and_then(|ip| self.lookup_ip(ip)) {
                        hits.push(IocHit {
                            indicator: id,
                            matched: value.to_string(),
                        });
                    }
                }
            }
        }
        let push = |id: usize, hits: &mut Vec<IocHit>| {
            if !hits.iter().any(|h| h.indicator == id) {
                hits.push(IocHit {
                    indicator: id,
                    matched: value.to_string(),
                });
            }
        };
        if !self.hashes.is_empty() {
            for token in value.split(|c: char| !c.is_ascii_hexdigit()) {
                if matches!(token.len(), 32 | 40 | 64) {
                    if let Some(id) = self.hashes.get(&token.to_ascii_lowercase()) {
                        push(*id, hits);
                    }
                }
            }
        }
        if !self.domains.is_empty() || !self.emails.is_empty() {
            let host_char =
                |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+');
            for token in value.split(|c: char| !host_char(c)) {
                let token = token.trim_matches('.');
                if !token.contains('.') {
                    continue;
                }
                let lower = token.to_lowercase();
                if let Some(id) = self.emails.get(&lower) {
                    push(*id, hits);
                }
                // The host part, then each parent domain at a label boundary.
                let mut host = lower.rsplit('@').next().unwrap_or("");
                loop {
                    if let Some(id) = self.domains.get(host) {
                        push(*id, hits);
                    }
                    match host.split_once('.') {
                        Some((_, parent))
                            if parent.contains('.') || self.domains.contains_key(parent) =>
                        {
                            host = parent
                        }
                        _ => break,
                    }
                }
            }
        }
        let Some(ac) = &self.literals else { return };
        let bytes = value.as_bytes();
        for m in ac.find_overlapping_iter(value) {
            let id = self.literal_ids[m.pattern().as_usize()];
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            let word = |b: Option<u8>| {
                b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            let ok = match self.indicators[id].kind {
                IndicatorKind::Filename => {
                    before.is_none_or(|b| b == b'\\' || b == b'/' || b == b' ' || b == b'"')
                        && !word(after)
                        && after != Some(b'.')
                }
                IndicatorKind::Url => true,
                _ => false,
            };
            if ok {
                push(id, hits);
            }
        }
    }

    /// Indicators found anywhere in an event.
    pub fn scan_event(&self, event: &dyn crate::Event) -> Vec<IocHit> {
        let mut hits = Vec::new();
        event.any_value(&mut |v| {
            self.scan_value(v, &mut hits);
            false
        });
        hits.sort_by_key(|h| h.indicator);
        hits.dedup_by_key(|h| h.indicator);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> IndicatorSet {
        let mut s = IndicatorSet::default();
        assert_eq!(s.add_list(text, "test"), vec![]);
        s
    }

    fn found(s: &IndicatorSet, value: &str) -> Vec<String> {
        let mut hits = Vec::new();
        s.scan_value(value, &mut hits);
        hits.iter()
            .map(|h| s.indicators[h.indicator].value.clone())
            .collect()
    }

    #[test]
    fn kinds_are_inferred() {
        assert_eq!(infer_kind("10.0.0.1"), Some(IndicatorKind::Ip));
        assert_eq!(infer_kind("2001:db8::/32"), Some(IndicatorKind::Cidr));
        assert_eq!(
            infer_kind("https://evil.example/x"),
            Some(IndicatorKind::Url)
        );
        assert_eq!(
            infer_kind("d41d8cd98f00b204e9800998ecf8427e"),
            Some(IndicatorKind::Md5)
        );
        assert_eq!(infer_kind("boss@evil.example"), Some(IndicatorKind::Email));
        assert_eq!(infer_kind("invoice.exe"), Some(IndicatorKind::Filename));
        assert_eq!(infer_kind("evil.example"), Some(IndicatorKind::Domain));
        assert_eq!(infer_kind("no kind here"), None);
    }

    #[test]
    fn addresses_and_ranges() {
        let s = set("198.51.100.7\n10.20.0.0/16\n2001:db8:bad::/48\n");
        assert_eq!(
            found(&s, "conn from 198.51.100.7:443"),
            vec!["198.51.100.7"]
        );
        assert_eq!(found(&s, "10.20.3.4"), vec!["10.20.0.0/16"]);
        assert!(found(&s, "10.21.3.4").is_empty());
        assert_eq!(
            found(&s, "src=2001:db8:bad:1::9"),
            vec!["2001:db8:bad::/48"]
        );
        assert!(
            found(&s, "198.51.100.70").is_empty(),
            "no partial address match"
        );
    }

    #[test]
    fn domains_match_subdomains_only() {
        let s = set("evil.example\n");
        assert_eq!(
            found(&s, "GET http://cdn.EVIL.example/x"),
            vec!["evil.example"]
        );
        assert_eq!(found(&s, "evil.example"), vec!["evil.example"]);
        assert!(found(&s, "notevil.example").is_empty());
        assert!(found(&s, "evil.example.org").is_empty());
    }

    #[test]
    fn hashes_files_emails_and_csv() {
        let s = set("value,type\nD41D8CD98F00B204E9800998ECF8427E,md5\ninvoice.exe,filename\nceo@evil.example,email\n");
        assert_eq!(
            found(&s, "MD5=d41d8cd98f00b204e9800998ecf8427e,SHA1=x"),
            vec!["d41d8cd98f00b204e9800998ecf8427e"]
        );
        assert!(
            found(&s, "0d41d8cd98f00b204e9800998ecf8427e").is_empty(),
            "part of a longer hex run"
        );
        assert_eq!(
            found(&s, "C:\\Users\\a\\Downloads\\Invoice.exe"),
            vec!["invoice.exe"]
        );
        assert!(found(&s, "C:\\x\\myinvoice.exe").is_empty());
        assert_eq!(
            found(&s, "From: CEO@evil.example"),
            vec!["ceo@evil.example"]
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let mut s = IndicatorSet::default();
        let errors = s.add_list("198.51.100.7\nnot an indicator\n300.1.1.1/8\n", "t");
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(s.len(), 1);
    }
}
