//! Incoming reports (the point of contact): their closed sets, public tracking numbers, the
//! indicators a reporter's text contains, and an explainable category suggestion.

use crate::{normalise_observable, ObservableKind, UnknownValue};

wire_enum!(
    /// Where a report came in.
    ReportSource, "report_source", {
        Form => "form",
        Email => "email",
        Api => "api",
    }
);

wire_enum!(
    /// What the reporter says a report is about: an incident for the CSIRT, or a vulnerability
    /// in the team's own products for the PSIRT.
    ReportKind, "report_kind", {
        Incident => "incident",
        ProductVulnerability => "product_vulnerability",
    }
);

wire_enum!(
    /// Where a report is in triage.
    ReportStatus, "report_status", {
        New => "new",
        Case => "case",
        Attached => "attached",
        Rejected => "rejected",
        Spam => "spam",
    }
);

impl ReportStatus {
    /// Whether triage has decided on it.
    pub fn is_decided(self) -> bool {
        self != ReportStatus::New
    }
}

/// Crockford's base32: no I, L, O or U, so a number read out on the phone survives.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A public tracking number, `HK-XXXX-XXXX-XXXX`: 60 random bits, so numbers cannot be guessed
/// or counted from each other. The caller supplies the randomness.
pub fn tracking_number(random: [u8; 8]) -> String {
    let bits = u64::from_le_bytes(random) >> 4;
    let chars: Vec<u8> = (0..12)
        .map(|i| ALPHABET[((bits >> (55 - i * 5)) & 31) as usize])
        .collect();
    let text = String::from_utf8_lossy(&chars).into_owned();
    format!("HK-{}-{}-{}", &text[0..4], &text[4..8], &text[8..12])
}

/// Whether a text has the shape of a tracking number (case-insensitive).
pub fn is_tracking_number(text: &str) -> bool {
    let upper = text.trim().to_ascii_uppercase();
    let parts: Vec<&str> = upper.split('-').collect();
    parts.len() == 4
        && parts[0] == "HK"
        && parts[1..]
            .iter()
            .all(|p| p.len() == 4 && p.bytes().all(|b| ALPHABET.contains(&b)))
}

/// Finds a tracking number anywhere in a text (a reply's subject), upper-cased.
pub fn find_tracking_number(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    upper
        .match_indices("HK-")
        .map(|(i, _)| &upper[i..])
        .filter_map(|rest| rest.get(..17))
        .find(|candidate| is_tracking_number(candidate))
        .map(str::to_string)
}

/// Reporters often defang what they paste: `hxxp://evil[.]example`.
fn refang(token: &str) -> String {
    token
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[@]", "@")
        .replace("hxxps://", "https://")
        .replace("hxxp://", "http://")
        .replace("hXXps://", "https://")
        .replace("hXXp://", "http://")
}

/// File extensions that make `name.ext` a file name rather than a domain.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "zip",
    "rar", "7z", "gz", "txt", "log", "csv", "js", "vbs", "ps1", "bat", "cmd", "lnk", "iso", "img",
    "jpg", "jpeg", "png", "gif", "htm", "html", "eml", "msg", "hta", "scr", "jar", "py", "sh",
];

/// The indicators in a free text: IP addresses, URLs, e-mail addresses, domains and hashes, in
/// canonical form, each once, in the order first seen. Defanged forms are recognised.
pub fn extract_indicators(text: &str) -> Vec<(ObservableKind, String)> {
    let mut found: Vec<(ObservableKind, String)> = Vec::new();
    let mut push = |kind: ObservableKind, value: &str| {
        if let Ok(v) = normalise_observable(kind, value) {
            if !found.iter().any(|(k, x)| *k == kind && *x == v) {
                found.push((kind, v));
            }
        }
    };
    let separators = |c: char| {
        c.is_whitespace()
            || "<>\"'`()（）「」『』【】、。，,;；|".contains(c)
            || (!c.is_ascii() && !c.is_alphanumeric())
    };
    for raw in text.split(separators).filter(|t| !t.is_empty()) {
        let token = refang(raw);
        let token = token.trim_end_matches(['.', ':', '!', '?', ']', '}']);
        let token = token.trim_start_matches(['[', '{']);
        if token.len() < 4 || token.len() > 2048 {
            continue;
        }
        let lower = token.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            push(ObservableKind::Url, token);
            // The host also counts on its own: duplicates across reports are found by it.
            if let Some(host) = token.split('/').nth(2) {
                let host = host.rsplit('@').next().unwrap_or(host);
                let host = host.split(':').next().unwrap_or(host);
                if host.parse::<std::net::IpAddr>().is_ok() {
                    push(ObservableKind::Ip, host);
                } else {
                    push(ObservableKind::Domain, host);
                }
            }
            continue;
        }
        if token.contains('@') {
            push(ObservableKind::Email, token);
            continue;
        }
        if token.parse::<std::net::IpAddr>().is_ok() {
            push(ObservableKind::Ip, token);
            continue;
        }
        if token.bytes().all(|b| b.is_ascii_hexdigit()) {
            match token.len() {
                32 => push(ObservableKind::Md5, token),
                40 => push(ObservableKind::Sha1, token),
                64 => push(ObservableKind::Sha256, token),
                _ => {}
            }
            continue;
        }
        let last = lower.rsplit('.').next().unwrap_or("");
        if lower.contains('.')
            && (2..=24).contains(&last.len())
            && last.bytes().all(|b| b.is_ascii_lowercase())
            && !FILE_EXTENSIONS.contains(&last)
        {
            push(ObservableKind::Domain, token);
        }
    }
    found
}

/// Why a category is suggested, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySuggestion {
    pub category: &'static str,
    pub reason_ja: String,
    pub reason_en: String,
}

/// Keyword rules: a category, the words that point to it, and whether an indicator of a kind
/// must also be present. The first rule that holds wins, so the more specific come first.
struct Clue {
    category: &'static str,
    words: &'static [&'static str],
    needs: Option<ObservableKind>,
}

const CLUES: &[Clue] = &[
    Clue {
        category: "phishing_site",
        words: &[
            "フィッシング",
            "偽サイト",
            "なりすましサイト",
            "phishing",
            "credential harvest",
            "偽のログイン",
        ],
        needs: Some(ObservableKind::Url),
    },
    Clue {
        category: "web_defacement",
        words: &["改ざん", "改竄", "deface", "書き換え"],
        needs: None,
    },
    Clue {
        category: "malware_site",
        words: &[
            "マルウェア配布",
            "ウイルス配布",
            "malware download",
            "drive-by",
            "malware distribution",
        ],
        needs: Some(ObservableKind::Url),
    },
    Clue {
        category: "dos",
        words: &[
            "ddos",
            "dos攻撃",
            "サービス妨害",
            "アクセス集中",
            "denial of service",
            "flood",
        ],
        needs: None,
    },
    Clue {
        category: "scan",
        words: &[
            "スキャン",
            "ポートスキャン",
            "port scan",
            "scanning",
            "probe",
            "探索",
        ],
        needs: Some(ObservableKind::Ip),
    },
    Clue {
        category: "targeted_attack",
        words: &[
            "標的型",
            "spear",
            "targeted attack",
            "不審なメール",
            "suspicious e-mail",
            "suspicious email",
        ],
        needs: None,
    },
    Clue {
        category: "ransomware",
        words: &[
            "ランサム",
            "ransom",
            "暗号化された",
            "encrypted our files",
            "身代金",
        ],
        needs: None,
    },
    Clue {
        category: "lost_device",
        words: &[
            "紛失",
            "盗難",
            "置き忘れ",
            "lost laptop",
            "lost my",
            "stolen",
        ],
        needs: None,
    },
    Clue {
        category: "control_system",
        words: &["制御システム", "scada", "plc"],
        needs: None,
    },
];

fn kind_label(kind: ObservableKind) -> (&'static str, &'static str) {
    match kind {
        ObservableKind::Url => ("URL", "a URL"),
        ObservableKind::Ip => ("IPアドレス", "an IP address"),
        _ => ("指標", "an indicator"),
    }
}

/// Suggests a category from the words of a report and the indicators found in it, saying why.
/// Matching ignores ASCII case; words are matched as written otherwise.
pub fn suggest_category(
    text: &str,
    indicators: &[(ObservableKind, String)],
) -> Option<CategorySuggestion> {
    let lower = text.to_lowercase();
    for clue in CLUES {
        let Some(word) = clue
            .words
            .iter()
            .find(|w| lower.contains(&w.to_lowercase()))
        else {
            continue;
        };
        match clue.needs {
            Some(kind) if !indicators.iter().any(|(k, _)| *k == kind) => continue,
            Some(kind) => {
                let (ja, en) = kind_label(kind);
                return Some(CategorySuggestion {
                    category: clue.category,
                    reason_ja: format!("「{word}」と{ja}を含む"),
                    reason_en: format!("mentions “{word}” and gives {en}"),
                });
            }
            None => {
                return Some(CategorySuggestion {
                    category: clue.category,
                    reason_ja: format!("「{word}」を含む"),
                    reason_en: format!("mentions “{word}”"),
                })
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_shaped_and_found() {
        let t = tracking_number([1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(is_tracking_number(&t), "{t}");
        assert_ne!(t, tracking_number([1, 2, 3, 4, 5, 6, 7, 9]));
        assert_eq!(
            find_tracking_number(&format!("Re: [{}] 続報", t.to_lowercase())),
            Some(t.clone())
        );
        assert!(
            !is_tracking_number("HK-0000-0000-000I"),
            "I is not in the alphabet"
        );
        assert_eq!(find_tracking_number("Re: hello"), None);
    }

    #[test]
    fn indicators_in_japanese_text_and_defanged() {
        let text = "本日、hxxps://login-example[.]com/verify にアクセスさせるメールが届きました。\
            送信元は「attacker@evil.example」、接続元 198.51.100.7 と 2001:db8::1。\
            添付 invoice.exe のSHA-256は E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 です。";
        let found = extract_indicators(text);
        let has = |k: ObservableKind, v: &str| found.iter().any(|(a, b)| *a == k && b == v);
        assert!(
            has(ObservableKind::Url, "https://login-example.com/verify"),
            "{found:?}"
        );
        assert!(
            has(ObservableKind::Domain, "login-example.com"),
            "{found:?}"
        );
        assert!(
            has(ObservableKind::Email, "attacker@evil.example"),
            "{found:?}"
        );
        assert!(has(ObservableKind::Ip, "198.51.100.7"), "{found:?}");
        assert!(has(ObservableKind::Ip, "2001:db8::1"), "{found:?}");
        assert!(has(
            ObservableKind::Sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ));
        assert!(
            !found.iter().any(|(_, v)| v.contains("invoice")),
            "a file name is not a domain: {found:?}"
        );
    }

    #[test]
    fn suggestions_explain_themselves() {
        let text = "フィッシングサイトを見つけました https://bank-login.example/";
        let s = suggest_category(text, &extract_indicators(text)).unwrap();
        assert_eq!(s.category, "phishing_site");
        assert!(
            s.reason_ja.contains("フィッシング") && s.reason_ja.contains("URL"),
            "{s:?}"
        );
        // The word alone, without a URL, does not make it a phishing site.
        let s = suggest_category("フィッシングメールの訓練について", &[]);
        assert_eq!(s, None);
        let s = suggest_category("Our web site was DEFACED last night", &[]).unwrap();
        assert_eq!(s.category, "web_defacement");
        assert_eq!(s.reason_en, "mentions “deface”");
    }
}
