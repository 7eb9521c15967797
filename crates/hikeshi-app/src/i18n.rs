//! User-visible strings in Japanese and English. The strings live in `locales/*.toml` (flat
//! `key = "text"`); a test checks that both files carry the same keys.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ja" | "ja-jp" => Some(Lang::Ja),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header; English when neither is asked for.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "ja" => Lang::Ja,
                "en" => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }
}

type Table = HashMap<String, String>;

fn load(text: &str, name: &str) -> Table {
    let value: toml::Table =
        toml::from_str(text).unwrap_or_else(|e| panic!("locale {name} is invalid: {e}"));
    value
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_default()))
        .collect()
}

fn tables() -> &'static (Table, Table) {
    static TABLES: OnceLock<(Table, Table)> = OnceLock::new();
    TABLES.get_or_init(|| {
        (
            load(include_str!("../locales/ja.toml"), "ja"),
            load(include_str!("../locales/en.toml"), "en"),
        )
    })
}

/// The text for `key`; a missing key shows itself so the gap is visible, never a blank.
pub fn text(lang: Lang, key: &str) -> String {
    let (ja, en) = tables();
    let table = if lang == Lang::Ja { ja } else { en };
    table.get(key).cloned().unwrap_or_else(|| key.to_string())
}

/// All keys of one language, for the completeness test.
pub fn keys(lang: Lang) -> Vec<String> {
    let (ja, en) = tables();
    let mut keys: Vec<String> = if lang == Lang::Ja {
        ja.keys().cloned().collect()
    } else {
        en.keys().cloned().collect()
    };
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let ja = keys(Lang::Ja);
        let en = keys(Lang::En);
        let only_ja: Vec<_> = ja.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !ja.contains(k)).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "ja only: {only_ja:?}; en only: {only_en:?}"
        );
    }

    #[test]
    fn enum_labels_exist_in_both_languages() {
        use hikeshi_model::*;
        let mut wanted: Vec<String> = Vec::new();
        wanted.extend(Severity::ALL.iter().map(|v| v.message_key()));
        wanted.extend(Tlp::ALL.iter().map(|v| v.message_key()));
        wanted.extend(Pap::ALL.iter().map(|v| v.message_key()));
        wanted.extend(CaseStatus::ALL.iter().map(|v| v.message_key()));
        wanted.extend(Phase::ALL.iter().map(|v| v.message_key()));
        wanted.extend(TaskStatus::ALL.iter().map(|v| v.message_key()));
        wanted.extend(TimelineKind::ALL.iter().map(|v| v.message_key()));
        wanted.extend(ObservableKind::ALL.iter().map(|v| v.message_key()));
        wanted.extend(Role::ALL.iter().map(|v| v.message_key()));
        wanted.extend(TokenScope::ALL.iter().map(|v| v.message_key()));
        for lang in [Lang::Ja, Lang::En] {
            let known = keys(lang);
            let missing: Vec<_> = wanted.iter().filter(|k| !known.contains(k)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language("ja,en-US;q=0.9"), Lang::Ja);
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, ja;q=0.5"), Lang::Ja);
    }
}
