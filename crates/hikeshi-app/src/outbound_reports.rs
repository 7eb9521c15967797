//! Ready-to-send text reports that Japanese teams are asked for, filled from a case: the
//! JPCERT/CC incident report (contact, purpose, details, logs with their time zone) and the IPA
//! unauthorised-access report (発見年月日, 被害を受けたシステム, 発見経緯, 被害状況, 対策…).
//! The handler edits the text before sending; recording it as sent writes the timeline.

use crate::cases::{self, CaseDetail};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::team;
use crate::validate::{parse_number, text_field, MAX_TEXT};
use crate::who::Who;
use crate::App;
use hikeshi_store::NewTimelineEntry;
use serde::{Deserialize, Serialize};

/// The report forms hikeshi can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportForm {
    Jpcert,
    Ipa,
}

impl ReportForm {
    pub fn parse(code: &str) -> AppResult<ReportForm> {
        match code {
            "jpcert" => Ok(ReportForm::Jpcert),
            "ipa" => Ok(ReportForm::Ipa),
            other => Err(AppError::invalid(
                "form",
                format!("form: unknown value `{other}`; expected jpcert or ipa"),
            )),
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ReportForm::Jpcert, Lang::Ja) => "JPCERT/CC インシデント報告",
            (ReportForm::Jpcert, Lang::En) => "JPCERT/CC incident report",
            (ReportForm::Ipa, Lang::Ja) => "IPA 不正アクセス届出",
            (ReportForm::Ipa, Lang::En) => "IPA unauthorised access report",
        }
    }
}

/// Times in reports always carry their zone: JST for Japanese, UTC for English.
fn stamp(ms: i64, lang: Lang) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    match lang {
        Lang::Ja => t
            .with_timezone(&chrono_tz::Asia::Tokyo)
            .format("%Y-%m-%d %H:%M:%S JST (UTC+09:00)")
            .to_string(),
        Lang::En => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// Labels of the report's lines in the chosen language.
fn l(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Ja {
        ja
    } else {
        en
    }
}

/// The filled text of a form for a case.
pub async fn draft(app: &App, number: &str, form: ReportForm, lang: Lang) -> AppResult<String> {
    let d: CaseDetail = cases::case_detail(app, number).await?;
    let profile = team::load(app).await;
    let c = &d.case;
    let category = app
        .store
        .categories()
        .await?
        .into_iter()
        .find(|x| x.code == c.category)
        .map(|x| {
            if lang == Lang::Ja {
                x.label_ja
            } else {
                x.label_en
            }
        })
        .unwrap_or_else(|| c.category.clone());
    let first_seen = d
        .timeline
        .iter()
        .map(|t| t.occurred_at)
        .min()
        .unwrap_or(c.created_at);
    let indicators: Vec<String> = d
        .observables
        .iter()
        .map(|o| format!("- {}: {}", o.kind, o.value))
        .collect();
    let timeline: Vec<String> = d
        .timeline
        .iter()
        .map(|t| {
            let kind = crate::i18n::text(lang, &format!("timeline_kind.{}", t.kind));
            format!("- {} [{kind}] {}", stamp(t.occurred_at, lang), t.text)
        })
        .collect();
    let done: Vec<String> = d
        .timeline
        .iter()
        .filter(|t| t.kind == "action")
        .map(|t| format!("- {} {}", stamp(t.occurred_at, lang), t.text))
        .collect();
    let none = l(lang, "(なし)", "(none)");
    let list = |v: &[String]| {
        if v.is_empty() {
            none.to_string()
        } else {
            v.join("\n")
        }
    };
    let reporter = format!(
        "{}: {}\n{}: {}\n{}: {}\n{}: {}",
        l(lang, "組織名", "Organisation"),
        profile.get("team_name"),
        l(lang, "電子メール", "E-mail"),
        profile.get("contact_email"),
        l(lang, "電話番号", "Phone"),
        profile.get("phone"),
        l(lang, "PGP フィンガープリント", "PGP fingerprint"),
        profile.get("pgp_fingerprint"),
    );
    let text = match form {
        ReportForm::Jpcert => format!(
            "{title}\n\n[1] {h_reporter}\n{reporter}\n\n[2] {h_purpose}\n{purpose}\n\n[3] {h_summary}\n{l_case}: {number} {case_title}\n{l_category}: {category}\n{l_severity}: {severity}\n{l_first}: {first}\n{l_tlp}: TLP:{tlp}\n\n{description}\n\n[4] {h_affected}\n{affected}\n\n[5] {h_indicators}\n{indicators}\n\n[6] {h_logs}\n{timeline}\n\n[7] {h_done}\n{done}\n",
            title = ReportForm::Jpcert.name(lang),
            h_reporter = l(lang, "報告者の連絡先", "Reporter"),
            h_purpose = l(lang, "報告の目的", "Purpose of this report"),
            purpose = l(lang, "情報提供および調整の依頼(該当するものを残してください: 情報提供のみ / 調整依頼 / 技術的な助言の依頼)", "Information and a request for coordination (keep what applies: information only / coordination / technical advice)"),
            h_summary = l(lang, "インシデントの概要", "Incident summary"),
            l_case = l(lang, "当方の管理番号", "Our reference"),
            number = c.number,
            case_title = c.title,
            l_category = l(lang, "種別", "Category"),
            l_severity = l(lang, "重大度", "Severity"),
            severity = crate::i18n::text(lang, &format!("severity.{}", c.severity)),
            l_first = l(lang, "最初の記録", "First recorded"),
            first = stamp(first_seen, lang),
            l_tlp = l(lang, "取り扱い", "Handling"),
            tlp = c.tlp.to_uppercase(),
            description = c.description,
            h_affected = l(lang, "影響を受けたシステム", "Affected systems"),
            affected = if c.affected_assets.is_empty() { none.to_string() } else { c.affected_assets.clone() },
            h_indicators = l(lang, "関連する IP アドレス・ホスト名・URL など", "Related IP addresses, host names, URLs"),
            indicators = list(&indicators),
            h_logs = l(lang, "ログと経緯(時刻はタイムゾーン付き)", "Logs and timeline (times with their zone)"),
            timeline = list(&timeline),
            h_done = l(lang, "実施済みの対応", "Actions taken"),
            done = list(&done),
        ),
        ReportForm::Ipa => format!(
            "{title}\n\n1. {h_reporter}\n{reporter}\n\n2. {h_found}: {found}\n\n3. {h_system}\n{affected}\n\n4. {h_how}\n{description}\n\n5. {h_damage}\n{l_category}: {category}\n{l_severity}: {severity}\n{indicators}\n\n6. {h_measures}\n{done}\n\n7. {h_timeline}\n{timeline}\n",
            title = ReportForm::Ipa.name(lang),
            h_reporter = l(lang, "届出者", "Reporter"),
            h_found = l(lang, "発見年月日", "Date of discovery"),
            found = stamp(first_seen, lang),
            h_system = l(lang, "被害を受けたシステム(OS・ソフトウェア・用途)", "Systems affected (OS, software, purpose)"),
            affected = if c.affected_assets.is_empty() { none.to_string() } else { c.affected_assets.clone() },
            h_how = l(lang, "発見経緯", "How it was found"),
            description = c.description,
            h_damage = l(lang, "被害状況", "Damage"),
            l_category = l(lang, "種別", "Category"),
            l_severity = l(lang, "重大度", "Severity"),
            severity = crate::i18n::text(lang, &format!("severity.{}", c.severity)),
            indicators = list(&indicators),
            h_measures = l(lang, "対策(実施済みの対応)", "Countermeasures taken"),
            done = list(&done),
            h_timeline = l(lang, "経緯(時刻はタイムゾーン付き)", "Timeline (times with their zone)"),
            timeline = list(&timeline),
        ),
    };
    Ok(text)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentInput {
    pub form: String,
    /// The text as sent, after the handler's edits.
    pub text: String,
    /// To whom (an address or a web form).
    pub sent_to: String,
}

/// Records that a report was sent: the text is kept as a comment and the timeline says so.
pub async fn record_sent(app: &App, who: &Who, number: &str, input: SentInput) -> AppResult<()> {
    who.require(who.role.can_edit_cases(), "send reports")?;
    let form = ReportForm::parse(&input.form)?;
    let text = text_field("text", &input.text, true, MAX_TEXT)?;
    let sent_to = text_field("sent_to", &input.sent_to, true, 500)?;
    let number = parse_number(number)?;
    let name = form.name(Lang::En);
    app.store
        .add_comment(
            &number,
            &format!("{name} sent to {sent_to}:\n\n{text}"),
            &who.actor(),
        )
        .await?;
    let entry = NewTimelineEntry {
        occurred_at: hikeshi_store::now_ms(),
        kind: "action".into(),
        text: format!("Sent the {name} to {sent_to}"),
    };
    app.store
        .add_timeline_entry(&number, &entry, &who.actor())
        .await?;
    Ok(())
}
