//! Validation and canonical form of observables, so that the same indicator typed two ways is
//! stored once per case and linked across cases.

use crate::ObservableKind;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}: {reason}")]
pub struct ObservableError {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

const MAX_LEN: usize = 2048;

/// Checks `value` against `kind` and returns its canonical form.
pub fn normalise_observable(kind: ObservableKind, value: &str) -> Result<String, ObservableError> {
    let value = value.trim();
    let fail = |reason| ObservableError {
        kind: kind.code(),
        value: value.chars().take(80).collect(),
        reason,
    };
    if value.is_empty() {
        return Err(fail("empty"));
    }
    if value.len() > MAX_LEN {
        return Err(fail("longer than 2048 bytes"));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(fail("contains control characters"));
    }
    use ObservableKind::*;
    match kind {
        Ip => value
            .parse::<IpAddr>()
            .map(|ip| ip.to_string())
            .map_err(|_| fail("not an IPv4 or IPv6 address")),
        Cidr => normalise_cidr(value).ok_or_else(|| fail("not an address/prefix-length range")),
        Domain => normalise_domain(value).ok_or_else(|| fail("not a domain name")),
        Host => normalise_domain(value)
            .or_else(|| value.parse::<IpAddr>().ok().map(|ip| ip.to_string()))
            .or_else(|| single_label_host(value))
            .ok_or_else(|| fail("not a host name")),
        Url => normalise_url(value).ok_or_else(|| fail("not an absolute URL with a host")),
        Email => normalise_email(value).ok_or_else(|| fail("not an e-mail address")),
        Md5 => hex_digest(value, 32).ok_or_else(|| fail("not 32 hexadecimal digits")),
        Sha1 => hex_digest(value, 40).ok_or_else(|| fail("not 40 hexadecimal digits")),
        Sha256 => hex_digest(value, 64).ok_or_else(|| fail("not 64 hexadecimal digits")),
        Filename => {
            if value.contains(['/', '\\']) && value.ends_with(['/', '\\']) {
                Err(fail("ends with a path separator"))
            } else {
                Ok(value.to_string())
            }
        }
        UserAccount | RegistryKey | Other => Ok(value.to_string()),
    }
}

fn hex_digest(value: &str, len: usize) -> Option<String> {
    (value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

fn normalise_cidr(value: &str) -> Option<String> {
    let (addr, prefix) = value.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then(|| format!("{addr}/{prefix}"))
}

/// A host known by one label, as Windows names its machines (`PC-KEIRI-01`).
fn single_label_host(value: &str) -> Option<String> {
    let v = value.trim().to_lowercase();
    let ok = !v.is_empty()
        && v.len() <= 63
        && !v.starts_with('-')
        && !v.ends_with('-')
        && v.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    ok.then_some(v)
}

fn normalise_domain(value: &str) -> Option<String> {
    let domain = value.trim_end_matches('.').to_lowercase();
    if domain.len() > 253 || !domain.contains('.') || domain.parse::<IpAddr>().is_ok() {
        return None;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            // Non-ASCII letters allowed: internationalised names are reported as typed.
            && label.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    domain.split('.').all(label_ok).then_some(domain)
}

fn normalise_url(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next()?;
    if host.is_empty() || value.contains(char::is_whitespace) {
        return None;
    }
    // Scheme and host are case-insensitive; the path is not.
    Some(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority.to_lowercase(),
        &rest[host_end..]
    ))
}

fn normalise_email(value: &str) -> Option<String> {
    let (local, domain) = value.rsplit_once('@')?;
    if local.is_empty() || local.contains(char::is_whitespace) {
        return None;
    }
    let domain = normalise_domain(domain)?;
    Some(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            normalise_observable(Ip, " 2001:DB8::1 ").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            normalise_observable(Cidr, "10.0.0.0/8").unwrap(),
            "10.0.0.0/8"
        );
        assert_eq!(
            normalise_observable(Domain, "Evil.Example.COM.").unwrap(),
            "evil.example.com"
        );
        assert_eq!(
            normalise_observable(Url, "HTTP://Evil.Example/Path?A=1").unwrap(),
            "http://evil.example/Path?A=1"
        );
        assert_eq!(
            normalise_observable(Email, "Boss@Example.JP").unwrap(),
            "Boss@example.jp"
        );
        assert_eq!(
            normalise_observable(Md5, "D41D8CD98F00B204E9800998ECF8427E").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        // Windows machines have one-label names.
        assert_eq!(
            normalise_observable(Host, "PC-KEIRI-01").unwrap(),
            "pc-keiri-01"
        );
        assert!(normalise_observable(Host, "pc keiri").is_err());
    }

    #[test]
    fn rejects_wrong_kinds() {
        for (kind, value) in [
            (Ip, "999.1.1.1"),
            (Cidr, "10.0.0.0/33"),
            (Domain, "not a domain"),
            (Url, "example.com/path"),
            (Email, "nobody"),
            (Sha256, "abc"),
            (Other, ""),
            (Other, "a\u{0}b"),
        ] {
            assert!(
                normalise_observable(kind, value).is_err(),
                "{kind} {value:?}"
            );
        }
    }
}
