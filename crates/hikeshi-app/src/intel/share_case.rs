//! A case shared as STIX 2.1: the case and its observables become the gate's object graph, the
//! gate decides for the chosen audience, and the bundle is made only from what it cleared.
//! Every export is audited with what left and what was withheld.

use crate::error::{AppError, AppResult};
use crate::i18n::{text, Lang};
use crate::team;
use crate::who::Who;
use crate::App;
use hikeshi_exchange::stix::{report_bundle, Producer};
use hikeshi_exchange::{
    clear, Audience, Channel, Cleared, Refusal, ShareGraph, ShareObservable, ShareOptions,
    VictimProfile,
};
use hikeshi_model::{ObservableKind, Tlp};
use serde::{Deserialize, Serialize};

/// `[sharing]`: what identifies the organisation in what it shares.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SharingSettings {
    /// The organisation's own domains (`example.co.jp`): names, URLs and mailboxes under them
    /// are withheld from shares unless the handler keeps them. The domain of the team
    /// profile's contact address always counts.
    pub own_domains: Vec<String>,
}

/// What the handler asks for.
#[derive(Debug, Clone, Copy)]
pub struct ShareRequest {
    pub audience: Audience,
    pub include_summary: bool,
    pub keep_victim_details: bool,
}

impl ShareRequest {
    /// From the wire: `audience` as its code (`partner`, `client_partner`…).
    pub fn parse(
        audience: Option<&str>,
        include_summary: bool,
        keep_victim_details: bool,
    ) -> AppResult<ShareRequest> {
        let code = audience.unwrap_or("partner");
        let audience = Audience::parse(code).ok_or_else(|| {
            AppError::invalid(
                "audience",
                format!(
                    "audience: unknown value `{}`; expected {}",
                    code.chars().take(40).collect::<String>(),
                    Audience::ALL
                        .iter()
                        .map(|a| a.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        Ok(ShareRequest {
            audience,
            include_summary,
            keep_victim_details,
        })
    }
}

/// The gate's answer for a case, in the reader's language: what leaves, what stays and why.
#[derive(Debug, Clone, Serialize)]
pub struct CaseShare {
    pub number: String,
    pub audience: &'static str,
    pub case_tlp: Tlp,
    /// Set when nothing may leave: the case's own marking forbids this audience.
    pub refused: Option<String>,
    pub title: String,
    pub description: String,
    pub leaving: Vec<LeavingItem>,
    pub withheld: Vec<WithheldItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeavingItem {
    pub kind: ObservableKind,
    pub value: String,
    pub tlp: Tlp,
    pub indicator: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WithheldItem {
    pub kind: ObservableKind,
    pub value: String,
    /// Stable code (`tlp`, `internal_address`, `own_domain`…).
    pub reason: &'static str,
    pub why: String,
}

/// The preview: what a share of this case to this audience would carry, explained in `lang`
/// (the page's language; the API uses the caller's).
pub async fn case_share(
    app: &App,
    who: &Who,
    number: &str,
    request: ShareRequest,
    lang: Lang,
) -> AppResult<CaseShare> {
    who.require_edit("share cases")?;
    let (graph, victim) = graph_of(app, number, lang).await?;
    let decided = decide(&graph, &victim, request);
    Ok(describe(&graph, request.audience, &decided, lang))
}

/// The formats a case can leave in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareFormat {
    /// A STIX 2.1 report bundle.
    Stix,
    /// A MISP event (`{"Event": …}`).
    Misp,
}

impl ShareFormat {
    fn code(self) -> &'static str {
        match self {
            ShareFormat::Stix => "stix-2.1",
            ShareFormat::Misp => "misp-event",
        }
    }
}

/// The case in `format`, made only from what the gate cleared, and audited with what left and
/// what was withheld; generated texts in `lang`. Refused as a whole when the case's marking
/// does not allow the audience.
pub async fn case_export(
    app: &App,
    who: &Who,
    number: &str,
    request: ShareRequest,
    lang: Lang,
    format: ShareFormat,
) -> AppResult<serde_json::Value> {
    who.require_edit("share cases")?;
    let (graph, victim) = graph_of(app, number, lang).await?;
    let cleared = match decide(&graph, &victim, request) {
        Ok(c) => c,
        Err(refusal) => {
            return Err(AppError::conflict(refusal_text(refusal, lang)));
        }
    };
    let profile = team::load(app).await;
    let name = match profile.get("team_name").trim() {
        "" => "hikeshi".to_string(),
        n => n.to_string(),
    };
    let producer = Producer {
        key: app.config.public_url.clone(),
        name,
        // The identity is one object across exports: a fixed creation time (2026-01-01).
        created_ms: 1_767_225_600_000,
    };
    let document = match format {
        ShareFormat::Stix => report_bundle(&cleared, &producer, app.calendar.now_ms()),
        ShareFormat::Misp => hikeshi_exchange::misp::event(&cleared, &producer.name, &producer.key),
    };
    let detail = serde_json::json!({
        "format": format.code(),
        "audience": request.audience.code(),
        "include_summary": request.include_summary,
        "keep_victim_details": request.keep_victim_details,
        "left": cleared.leaving().iter().map(|o| format!("{}:{}", o.kind, o.value)).collect::<Vec<_>>(),
        "withheld": cleared.withheld().iter().map(|w| format!("{}:{} ({})", w.kind, w.value, w.reason.code())).collect::<Vec<_>>(),
    });
    app.store
        .audit_event(&who.actor(), "case.shared", "case", &graph.number, &detail)
        .await?;
    Ok(document)
}

fn decide(
    graph: &ShareGraph,
    victim: &VictimProfile,
    request: ShareRequest,
) -> Result<Cleared, Refusal> {
    clear(
        graph,
        request.audience,
        Channel::Download,
        victim,
        ShareOptions {
            include_summary: request.include_summary,
            keep_victim_details: request.keep_victim_details,
        },
    )
}

async fn graph_of(app: &App, number: &str, lang: Lang) -> AppResult<(ShareGraph, VictimProfile)> {
    let d = crate::cases::case_detail(app, number).await?;
    let c = &d.case;
    let case_tlp = Tlp::parse(&c.tlp).unwrap_or(Tlp::Red);
    let observed_in = text(lang, "share.observed_in").replace("{number}", &c.number);
    let observables = d
        .observables
        .iter()
        .filter_map(|o| {
            // A kind hikeshi cannot read stays behind; a marking it cannot read counts as RED.
            let kind = ObservableKind::parse(&o.kind).ok()?;
            Some(ShareObservable {
                key: o.id.clone(),
                kind,
                value: o.value.clone(),
                description: if o.description.trim().is_empty() {
                    observed_in.clone()
                } else {
                    o.description.clone()
                },
                tlp: Tlp::parse(&o.tlp).unwrap_or(Tlp::Red),
                source_ceiling: None,
                is_ioc: o.is_ioc != 0,
                created_ms: o.created_at,
            })
        })
        .collect();
    let graph = ShareGraph {
        key: c.id.clone(),
        number: c.number.clone(),
        title: c.title.clone(),
        summary: c.description.clone(),
        summary_placeholder: text(lang, "share.placeholder").replace("{number}", &c.number),
        tlp: case_tlp,
        created_ms: c.created_at,
        modified_ms: c.updated_at,
        observables,
    };
    let profile = team::load(app).await;
    let contact_domain = profile
        .get("contact_email")
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_string());
    let victim = VictimProfile::new(
        app.config
            .sharing
            .own_domains
            .iter()
            .cloned()
            .chain(contact_domain),
    );
    Ok((graph, victim))
}

fn describe(
    graph: &ShareGraph,
    audience: Audience,
    decided: &Result<Cleared, Refusal>,
    lang: Lang,
) -> CaseShare {
    let mut share = CaseShare {
        number: graph.number.clone(),
        audience: audience.code(),
        case_tlp: graph.tlp,
        refused: None,
        title: String::new(),
        description: String::new(),
        leaving: Vec::new(),
        withheld: Vec::new(),
    };
    match decided {
        Err(refusal) => share.refused = Some(refusal_text(*refusal, lang)),
        Ok(c) => {
            share.title = c.title().to_string();
            share.description = c.description().to_string();
            share.leaving = c
                .leaving()
                .iter()
                .map(|o| LeavingItem {
                    kind: o.kind,
                    value: o.value.clone(),
                    tlp: o.tlp,
                    indicator: o.is_ioc,
                })
                .collect();
            share.withheld = c
                .withheld()
                .iter()
                .map(|w| WithheldItem {
                    kind: w.kind,
                    value: w.value.clone(),
                    reason: w.reason.code(),
                    why: reason_text(w.reason, audience, lang),
                })
                .collect();
        }
    }
    share
}

fn audience_name(audience: Audience, lang: Lang) -> String {
    text(lang, &format!("share.audience.{}", audience.code()))
}

fn reason_text(reason: hikeshi_exchange::Reason, audience: Audience, lang: Lang) -> String {
    let t = text(lang, &format!("share.reason.{}", reason.code()));
    match reason {
        hikeshi_exchange::Reason::Tlp(tlp) => t
            .replace("{tlp}", &hikeshi_exchange::tlp::label(tlp))
            .replace("{audience}", &audience_name(audience, lang)),
        _ => t,
    }
}

fn refusal_text(refusal: Refusal, lang: Lang) -> String {
    text(lang, "share.refused")
        .replace("{tlp}", &hikeshi_exchange::tlp::label(refusal.case_tlp))
        .replace("{audience}", &audience_name(refusal.audience, lang))
}
