//! What identifies the victim, which is us: addresses that only mean something inside the
//! network, the organisation's own domains and the mailboxes under them. A partner needs the
//! attacker's infrastructure, not a map of ours.

use ipnet::IpNet;
use std::net::IpAddr;

/// Written in place of whatever the gate takes out of a text.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are taken out of free text only where letters or digits do not
/// touch them (`bob` in `bob@example.jp`, not in `bobcat`): inside words they would match
/// everywhere.
const SHORTEST_REDACTED_VALUE: usize = 4;

/// The organisation as the gate recognises it.
#[derive(Debug, Clone, Default)]
pub struct VictimProfile {
    /// Lower case, without a leading or trailing dot (`example.co.jp`); subdomains count.
    own_domains: Vec<String>,
}

impl VictimProfile {
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(own_domains: I) -> VictimProfile {
        let own_domains = own_domains
            .into_iter()
            .map(|d| d.as_ref().trim().trim_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        VictimProfile { own_domains }
    }

    /// A domain or host name under one of the organisation's domains.
    pub fn is_own_domain(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.own_domains.iter().any(|d| {
            host == *d
                || (host.len() > d.len()
                    && host.ends_with(d.as_str())
                    && host.as_bytes()[host.len() - d.len() - 1] == b'.')
        })
    }

    /// A URL's host, or an e-mail address's domain, under the organisation's domains.
    pub fn names_own_domain(&self, value: &str) -> bool {
        if let Some((_, domain)) = value.rsplit_once('@') {
            if !value.contains("://") {
                return self.is_own_domain(domain);
            }
        }
        url_host(value).is_some_and(|h| self.is_own_domain(h))
    }

    /// Takes every private address and every name under the organisation's domains out of a
    /// text, then every withheld value that is left. Whole tokens go first, so a withheld host
    /// name inside an own domain name (`pc01` in `pc01.example.jp`) takes the name with it.
    pub fn redact(&self, text: &str, withheld: &[&str]) -> String {
        let mut out = self.redact_tokens(text);
        for value in withheld.iter().filter(|v| !v.is_empty()) {
            let whole_words = value.len() < SHORTEST_REDACTED_VALUE;
            out = replace_ascii_case_insensitive(&out, value, whole_words);
        }
        out
    }

    fn redact_tokens(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            let start = rest.find(|c: char| !is_separator(c)).unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(is_separator).unwrap_or(rest.len());
            let token = &rest[..end];
            // Sentence punctuation around a token is not part of it.
            let core =
                token.trim_matches(|c: char| ",.;:!?()[]{}<>\"'`「」『』（）、。".contains(c));
            if !core.is_empty() && self.identifies_victim(core) {
                let at = token.find(core).unwrap_or(0);
                out.push_str(&token[..at]);
                out.push_str(REDACTED);
                out.push_str(&token[at + core.len()..]);
            } else {
                out.push_str(token);
            }
            rest = &rest[end..];
        }
        out
    }

    fn identifies_victim(&self, token: &str) -> bool {
        if let Ok(ip) = token.parse::<IpAddr>() {
            return is_internal_address(ip);
        }
        if let Ok(net) = token.parse::<IpNet>() {
            return is_internal_network(net);
        }
        if self.own_domains.is_empty() {
            return false;
        }
        self.is_own_domain(token) || self.names_own_domain(token)
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || "　，、。".contains(c)
}

fn url_host(value: &str) -> Option<&str> {
    let after_scheme = value.split_once("://")?.1;
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// Replaces every occurrence of `needle`, ignoring ASCII case; with `whole_words`, only where
/// no letter or digit touches it. ASCII case folding keeps byte offsets, so positions found in
/// the folded text are positions in the original.
fn replace_ascii_case_insensitive(haystack: &str, needle: &str, whole_words: bool) -> String {
    let folded = haystack.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let bytes = haystack.as_bytes();
    let mut out = String::with_capacity(haystack.len());
    let mut last = 0;
    for (at, _) in folded.match_indices(needle.as_str()) {
        let end = at + needle.len();
        let touched = (at > 0 && bytes[at - 1].is_ascii_alphanumeric())
            || bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric());
        if at < last || (whole_words && touched) {
            continue;
        }
        out.push_str(&haystack[last..at]);
        out.push_str(REDACTED);
        last = at + needle.len();
    }
    out.push_str(&haystack[last..]);
    out
}

/// Addresses that name a machine inside a network rather than on the Internet: private,
/// shared (CGNAT), loopback, link-local, unique-local, unspecified.
pub fn is_internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// A range that lies wholly or partly inside internal space counts as internal.
pub fn is_internal_network(net: IpNet) -> bool {
    is_internal_address(net.network()) || is_internal_address(net.broadcast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_domains_and_their_subdomains() {
        let v = VictimProfile::new(["Example.co.jp."]);
        assert!(v.is_own_domain("example.co.jp"));
        assert!(v.is_own_domain("mail.EXAMPLE.co.jp"));
        assert!(!v.is_own_domain("notexample.co.jp"));
        assert!(v.names_own_domain("alice@example.co.jp"));
        assert!(v.names_own_domain("https://intra.example.co.jp:8443/login"));
        assert!(!v.names_own_domain("https://evil.example/example.co.jp"));
    }

    #[test]
    fn internal_space() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "100.64.0.1",
            "fe80::1",
            "fd00::5",
        ] {
            assert!(is_internal_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.5", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_internal_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn redacts_values_addresses_and_own_names_in_text() {
        let v = VictimProfile::new(["example.co.jp"]);
        let text = "侵入元 203.0.113.5 から 10.0.0.8 (fs01.example.co.jp) へ。連絡: Alice@Example.co.jp、SECRET-CANARY.";
        let out = v.redact(text, &["secret-canary"]);
        assert_eq!(
            out,
            "侵入元 203.0.113.5 から [redacted] ([redacted]) へ。連絡: [redacted]、[redacted]."
        );
    }

    #[test]
    fn short_values_only_as_words() {
        let v = VictimProfile::default();
        assert_eq!(
            v.redact("bob@x.example, bobcat, Bob.", &["bob"]),
            "[redacted]@x.example, bobcat, [redacted]."
        );
    }
}
