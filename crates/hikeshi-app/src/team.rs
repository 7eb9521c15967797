//! The team's published profile: who it serves, which services it offers and which it does not
//! (named after the FIRST CSIRT Services Framework 2.1), hours, languages, keys. Shown beside
//! the public report form and in `/.well-known/security.txt` (RFC 9116).

use crate::App;
use std::collections::BTreeMap;

/// Services of the FIRST CSIRT Services Framework 2.1, by code, with Japanese and English
/// names, grouped by service area.
pub const SERVICES: &[(&str, &str, &str, &str)] = &[
    (
        "event_monitoring",
        "event",
        "監視と検知",
        "Monitoring and detection",
    ),
    ("event_analysis", "event", "イベント分析", "Event analysis"),
    (
        "incident_report_acceptance",
        "incident",
        "インシデント報告の受付",
        "Information security incident report acceptance",
    ),
    (
        "incident_analysis",
        "incident",
        "インシデント分析",
        "Information security incident analysis",
    ),
    (
        "artifact_forensic_analysis",
        "incident",
        "アーティファクトとフォレンジック証拠の分析",
        "Artifact and forensic evidence analysis",
    ),
    (
        "mitigation_recovery",
        "incident",
        "緩和と復旧",
        "Mitigation and recovery",
    ),
    (
        "incident_coordination",
        "incident",
        "インシデント調整",
        "Information security incident coordination",
    ),
    (
        "crisis_management_support",
        "incident",
        "危機管理の支援",
        "Crisis management support",
    ),
    (
        "vulnerability_discovery",
        "vulnerability",
        "脆弱性の発見と調査",
        "Vulnerability discovery / research",
    ),
    (
        "vulnerability_report_intake",
        "vulnerability",
        "脆弱性報告の受付",
        "Vulnerability report intake",
    ),
    (
        "vulnerability_analysis",
        "vulnerability",
        "脆弱性分析",
        "Vulnerability analysis",
    ),
    (
        "vulnerability_coordination",
        "vulnerability",
        "脆弱性調整",
        "Vulnerability coordination",
    ),
    (
        "vulnerability_disclosure",
        "vulnerability",
        "脆弱性の公開",
        "Vulnerability disclosure",
    ),
    (
        "vulnerability_response",
        "vulnerability",
        "脆弱性への対応",
        "Vulnerability response",
    ),
    (
        "data_acquisition",
        "awareness",
        "データ収集",
        "Data acquisition",
    ),
    (
        "analysis_synthesis",
        "awareness",
        "分析と統合",
        "Analysis and synthesis",
    ),
    (
        "situational_communication",
        "awareness",
        "状況の共有",
        "Communication",
    ),
    (
        "awareness_building",
        "knowledge",
        "意識向上",
        "Awareness building",
    ),
    (
        "training_education",
        "knowledge",
        "トレーニングと教育",
        "Training and education",
    ),
    ("exercises", "knowledge", "演習", "Exercises"),
    (
        "technical_policy_advisory",
        "knowledge",
        "技術とポリシーの助言",
        "Technical and policy advisory",
    ),
];

/// The profile's keys, in the order the admin page shows them.
pub const KEYS: &[&str] = &[
    "team_name",
    "constituency",
    "services_offered",
    "services_not_offered",
    "hours",
    "languages",
    "contact_email",
    "phone",
    "pgp_fingerprint",
    "pgp_key_url",
    "policy_url",
    "cve_org_id",
    "cve_short_name",
    "psirt_policy_ja",
    "psirt_policy_en",
    "safe_harbour_ja",
    "safe_harbour_en",
];

/// The profile with every key present (empty when not set).
#[derive(Debug, Clone, Default)]
pub struct TeamProfile {
    pub values: BTreeMap<String, String>,
}

impl TeamProfile {
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map(String::as_str).unwrap_or("")
    }

    /// A text kept in both languages (`<key>_ja`, `<key>_en`): this language's, else the other.
    pub fn in_lang(&self, key: &str, lang: crate::i18n::Lang) -> &str {
        let (mine, other) = match lang {
            crate::i18n::Lang::Ja => ("ja", "en"),
            crate::i18n::Lang::En => ("en", "ja"),
        };
        match self.get(&format!("{key}_{mine}")).trim() {
            "" => self.get(&format!("{key}_{other}")).trim(),
            t => t,
        }
    }

    /// Service codes of a newline- or comma-separated list that are in the catalogue.
    pub fn services(
        &self,
        key: &str,
    ) -> Vec<&'static (&'static str, &'static str, &'static str, &'static str)> {
        let listed: Vec<&str> = self
            .get(key)
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        SERVICES
            .iter()
            .filter(|(code, ..)| listed.contains(code))
            .collect()
    }

    /// Languages for security.txt: `ja, en` unless the team says otherwise.
    pub fn languages(&self) -> String {
        let l = self.get("languages").trim();
        if l.is_empty() {
            "ja, en".into()
        } else {
            l.to_string()
        }
    }
}

pub async fn load(app: &App) -> TeamProfile {
    let values = app
        .store
        .team_profile()
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    TeamProfile { values }
}

/// The body of `/.well-known/security.txt`. `Expires` is always 180 days ahead (the RFC asks
/// for less than a year), so the file never goes stale while the server runs.
pub fn security_txt(
    profile: &TeamProfile,
    public_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut lines = Vec::new();
    let email = profile.get("contact_email").trim();
    if !email.is_empty() {
        lines.push(format!("Contact: mailto:{email}"));
    }
    lines.push(format!("Contact: {public_url}/report"));
    let expires = now + chrono::Duration::days(180);
    lines.push(format!(
        "Expires: {}",
        expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    let key = profile.get("pgp_key_url").trim();
    if !key.is_empty() {
        lines.push(format!("Encryption: {key}"));
    }
    lines.push(format!("Preferred-Languages: {}", profile.languages()));
    let policy = profile.get("policy_url").trim();
    if policy.is_empty() {
        lines.push(format!("Policy: {public_url}/report#scope"));
    } else {
        lines.push(format!("Policy: {policy}"));
    }
    lines.push(format!("Canonical: {public_url}/.well-known/security.txt"));
    // RFC 9116 allows fields of other standards; CSAF 2.0 requirement 8 names the provider.
    lines.push(format!(
        "CSAF: {public_url}/.well-known/csaf/provider-metadata.json"
    ));
    lines.join("\n") + "\n"
}

/// May `who` edit the profile? (Admins; the form page asks before showing it.)
pub fn may_edit(who: &crate::Who) -> crate::AppResult<()> {
    who.require_admin("edit the team profile")
}

/// Sets profile entries (admins). Unknown keys and over-long values are refused by name.
pub async fn save(
    app: &App,
    who: &crate::Who,
    input: Vec<(String, String)>,
) -> crate::AppResult<TeamProfile> {
    may_edit(who)?;
    let mut entries = Vec::new();
    for (key, value) in input {
        if !KEYS.contains(&key.as_str()) {
            return Err(crate::AppError::invalid(
                &key,
                format!(
                    "{key}: not a team profile entry; expected one of {}",
                    KEYS.join(", ")
                ),
            ));
        }
        let value = crate::validate::text_field(&key, &value, false, MAX_VALUE)?;
        if key == "cve_org_id" && !value.is_empty() && !is_uuid_v4(&value) {
            return Err(crate::AppError::invalid(
                &key,
                "cve_org_id: the CNA's organisation ID is a version-4 UUID (CVE Services' orgId)",
            ));
        }
        entries.push((key, value));
    }
    app.store.set_team_profile(&entries, &who.actor()).await?;
    Ok(load(app).await)
}

/// `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`, as the CVE JSON schema's orgId pattern has it.
pub fn is_uuid_v4(text: &str) -> bool {
    // The hyphenated form only: uuid also reads the simple, braced and URN forms.
    text.len() == 36
        && uuid::Uuid::try_parse(text)
            .is_ok_and(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122)
}

/// Longest value of one profile entry (a PGP key URL or a paragraph of constituency).
pub const MAX_VALUE: usize = 5_000;

#[cfg(test)]
mod uuid_tests {
    use super::is_uuid_v4;

    #[test]
    fn only_a_hyphenated_version_4_uuid_is_a_cna_org_id() {
        assert!(is_uuid_v4("b3476cb9-2e3d-41a6-98d0-0f47421a65b6"));
        assert!(is_uuid_v4("B3476CB9-2E3D-41A6-98D0-0F47421A65B6"));
        for bad in [
            "b3476cb92e3d41a698d00f47421a65b6",
            "{b3476cb9-2e3d-41a6-98d0-0f47421a65b6}",
            "b3476cb9-2e3d-11a6-98d0-0f47421a65b6",
            "b3476cb9-2e3d-41a6-c8d0-0f47421a65b6",
            "",
        ] {
            assert!(!is_uuid_v4(bad), "{bad}");
        }
    }
}
