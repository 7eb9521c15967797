//! A partner's STIX 2.1 bundle becomes a case: its report's title and text, its indicators and
//! cyber-observables as observables with their TLP, in one transaction. Objects hikeshi cannot
//! hold are named in the case description with the reason, so nothing goes missing unseen.

use crate::cases::{self, CreateCaseInput};
use crate::error::{AppError, AppResult};
use crate::i18n::{text, Lang};
use crate::validate::MAX_TEXT;
use crate::who::Who;
use crate::App;
use hikeshi_exchange::stix::import::{read_bundle, Skipped};
use hikeshi_model::{CaseSource, Tlp};
use hikeshi_store::NewObservable;
use serde::Serialize;

/// At most this many skipped objects are named in the case description.
const SKIPPED_NAMED: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct StixImport {
    pub number: String,
    pub tlp: Tlp,
    pub observables: usize,
    pub skipped: Vec<SkippedObject>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedObject {
    pub id: String,
    /// Stable code (`pattern`, `unsupported_type`…).
    pub code: &'static str,
    /// In the reader's language.
    pub reason: String,
}

/// A skipped object's reason in `lang`, quoting what was not read.
fn reason_text(s: &Skipped, lang: Lang) -> String {
    text(lang, &format!("share.skip.{}", s.reason.code())).replace("{detail}", s.reason.detail())
}

pub async fn import_stix(app: &App, who: &Who, bytes: &[u8], lang: Lang) -> AppResult<StixImport> {
    who.require_edit("import shared intelligence")?;
    let bundle = read_bundle(bytes).map_err(|e| AppError::invalid("bundle", e.0))?;
    // An unmarked bundle is handled as TLP:AMBER: it came from outside, and AMBER keeps it
    // inside the organisation and its clients until a person decides otherwise.
    let case_tlp = bundle.strictest_tlp.unwrap_or(Tlp::Amber);
    let title = bundle
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| text(lang, "share.imported_title"));
    let input = CreateCaseInput {
        title: cases::fit_title(title.trim()),
        description: description_of(&bundle.description, &bundle.skipped, lang),
        tlp: Some(case_tlp),
        source: Some(CaseSource::Sharing),
        ..CreateCaseInput::default()
    };
    let mut tx = app.store.begin().await?;
    let case = cases::open_in(app, &mut tx, who, input, lang).await?;
    let actor = who.actor();
    for o in &bundle.observables {
        let new = NewObservable {
            kind: o.kind.code().into(),
            value: o.value.clone(),
            description: o.description.chars().take(10_000).collect(),
            tlp: o.tlp.unwrap_or(case_tlp).code().into(),
            is_ioc: o.is_ioc,
        };
        tx.add_observable(&case.id, &new, &actor).await?;
    }
    tx.commit().await?;
    // What arrived fires on live events from now on, not at the next periodic read.
    if let Some(live) = &app.live {
        if let Err(e) = live.refresh_shared_indicators().await {
            tracing::warn!(error = %e, "cannot read shared indicators");
        }
    }
    Ok(StixImport {
        number: case.number,
        tlp: case_tlp,
        observables: bundle.observables.len(),
        skipped: bundle
            .skipped
            .into_iter()
            .map(|s| SkippedObject {
                reason: reason_text(&s, lang),
                code: s.reason.code(),
                id: s.id,
            })
            .collect(),
    })
}

/// The report's text, then what was not read and why.
fn description_of(report: &str, skipped: &[Skipped], lang: Lang) -> String {
    let mut out = report.trim().to_string();
    if !skipped.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(
            &text(lang, "share.imported_skipped").replace("{n}", &skipped.len().to_string()),
        );
        for s in skipped.iter().take(SKIPPED_NAMED) {
            out.push_str(&format!("\n- `{}`: {}", s.id, reason_text(s, lang)));
        }
    }
    out.chars().take(MAX_TEXT).collect()
}
