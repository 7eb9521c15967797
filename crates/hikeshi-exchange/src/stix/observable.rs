//! An observable as a STIX cyber-observable object and as a STIX pattern.

use hikeshi_model::ObservableKind;
use serde_json::{json, Value};
use std::net::IpAddr;

/// The STIX form of one observable: the object's type, its identifying properties, and the
/// pattern an indicator for it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct StixForm {
    pub sco_type: &'static str,
    /// The ID-contributing properties, which are also the object's content.
    pub properties: Value,
    pub pattern: String,
}

/// `None` for kinds STIX has no object for, and for values that are not what their kind says
/// (the gate never lets such a value reach here, but a pattern is never guessed).
pub fn stix_form(kind: ObservableKind, value: &str) -> Option<StixForm> {
    use ObservableKind::*;
    let (sco_type, property, pattern_path, comparison) = match kind {
        Ip | Host if value.parse::<IpAddr>().is_ok() => {
            (address_type(value), "value", "value", "=")
        }
        Cidr => (
            address_type(value.split('/').next()?),
            "value",
            "value",
            "ISSUBSET",
        ),
        Domain => ("domain-name", "value", "value", "="),
        Host if value.contains('.') => ("domain-name", "value", "value", "="),
        Url => ("url", "value", "value", "="),
        Email => ("email-addr", "value", "value", "="),
        Md5 => return Some(hash_form("MD5", "MD5", value)),
        Sha1 => return Some(hash_form("SHA-1", "'SHA-1'", value)),
        Sha256 => return Some(hash_form("SHA-256", "'SHA-256'", value)),
        Filename => ("file", "name", "name", "="),
        UserAccount => ("user-account", "account_login", "account_login", "="),
        RegistryKey => {
            let key = expand_hive(value);
            return Some(StixForm {
                sco_type: "windows-registry-key",
                pattern: format!("[windows-registry-key:key = '{}']", quote(&key)),
                properties: json!({ "key": key }),
            });
        }
        Ip | Host | Other => return None,
    };
    Some(StixForm {
        sco_type,
        properties: json!({ property: value }),
        pattern: format!(
            "[{sco_type}:{pattern_path} {comparison} '{}']",
            quote(value)
        ),
    })
}

/// STIX wants the hive written out (`HKEY_LOCAL_MACHINE`, never `HKLM`).
fn expand_hive(key: &str) -> String {
    const HIVES: &[(&str, &str)] = &[
        ("HKLM", "HKEY_LOCAL_MACHINE"),
        ("HKCU", "HKEY_CURRENT_USER"),
        ("HKCR", "HKEY_CLASSES_ROOT"),
        ("HKCC", "HKEY_CURRENT_CONFIG"),
        ("HKU", "HKEY_USERS"),
    ];
    let (hive, rest) = key.split_once('\\').unwrap_or((key, ""));
    match HIVES
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(hive))
    {
        Some((_, full)) if !key.contains('\\') => full.to_string(),
        Some((_, full)) => format!("{full}\\{rest}"),
        None => key.to_string(),
    }
}

fn address_type(address: &str) -> &'static str {
    if address.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    }
}

fn hash_form(algorithm: &str, path: &str, value: &str) -> StixForm {
    StixForm {
        sco_type: "file",
        properties: json!({ "hashes": { algorithm: value } }),
        pattern: format!("[file:hashes.{path} = '{}']", quote(value)),
    }
}

/// A string literal of the STIX pattern grammar: the quote and the reverse solidus escaped.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ObservableKind::*;

    #[test]
    fn patterns_by_kind() {
        let p = |k, v| stix_form(k, v).map(|f| f.pattern);
        assert_eq!(
            p(Ip, "203.0.113.5").unwrap(),
            "[ipv4-addr:value = '203.0.113.5']"
        );
        assert_eq!(
            p(Cidr, "2001:db8::/32").unwrap(),
            "[ipv6-addr:value ISSUBSET '2001:db8::/32']"
        );
        assert_eq!(
            p(Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709").unwrap(),
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"
        );
        assert_eq!(
            p(RegistryKey, r"HKLM\Software\O'Brien").unwrap(),
            r"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\O\'Brien']"
        );
        assert_eq!(expand_hive("hku"), "HKEY_USERS");
        assert_eq!(
            expand_hive(r"HKEY_CURRENT_USER\Run"),
            r"HKEY_CURRENT_USER\Run"
        );
        assert_eq!(p(Host, "fs01"), None);
        assert_eq!(p(Other, "x"), None);
    }
}
