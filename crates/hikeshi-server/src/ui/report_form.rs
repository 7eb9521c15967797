//! The public face: the report form at `/report` (no login), its answer page with the tracking
//! number, and `/.well-known/security.txt`.

use super::{render, I18n, Nav, Viewer};
use crate::error::ApiError;
use crate::state::AppState;
use crate::upload::{hold_field, multipart_error};
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use hikeshi_app::cases::ReceivedFile;
use hikeshi_app::evidence_files::Held;
use hikeshi_app::form_guard::Refusal;
use hikeshi_app::i18n::Lang;
use hikeshi_app::intake::{self, ReportInput};
use hikeshi_app::team::{self, TeamProfile};
use hikeshi_model::{ReportKind, ReportSource, Tlp};
use serde::Deserialize;

pub fn routes(state: &AppState) -> Router<AppState> {
    let f = state.config.report_form;
    let limit = f.max_attachments as u64 * f.max_attachment_bytes + 1024 * 1024;
    Router::new()
        .route(
            "/report",
            get(form_page)
                .post(form_submit)
                .layer(DefaultBodyLimit::max(limit as usize)),
        )
        .route("/static/report.js", get(script))
        .route("/.well-known/security.txt", get(security_txt))
        .route(
            "/security.txt",
            get(|| async { Redirect::permanent("/.well-known/security.txt") }),
        )
}

/// Fields of a multipart form beyond this count are refused: nobody needs thousands.
const MAX_FIELDS: usize = 40;

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/report.js"),
    )
}

/// What the reporter typed, kept when the form comes back with an error.
#[derive(Default, Clone)]
struct Typed {
    reporter_name: String,
    reporter_contact: String,
    reporter_org: String,
    subject: String,
    body: String,
    occurred: String,
    affected: String,
    indicators: String,
    tlp: String,
    /// `incident` or `product_vulnerability`.
    kind: String,
    credit: String,
}

/// A FIRST service as the page shows it.
struct ServiceLine {
    label: String,
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct FormPage {
    i: I18n,
    nav: Option<Nav>,
    challenge: String,
    pow_bits: u32,
    error: String,
    typed: Typed,
    tlps: Vec<super::Choice>,
    team_name: String,
    constituency: String,
    hours: String,
    contact_email: String,
    pgp_fingerprint: String,
    offered: Vec<ServiceLine>,
    not_offered: Vec<ServiceLine>,
    max_attachments: usize,
    max_attachment_mb: u64,
    /// The PSIRT's disclosure policy and safe-harbour statement, in the page's language.
    psirt_policy: String,
    safe_harbour: String,
}

#[derive(Template)]
#[template(path = "report_done.html")]
struct DonePage {
    i: I18n,
    nav: Option<Nav>,
    tracking: String,
    contact_given: bool,
    team_name: String,
}

fn service_lines(profile: &TeamProfile, key: &str, lang: Lang) -> Vec<ServiceLine> {
    profile
        .services(key)
        .into_iter()
        .map(|(_, _, ja, en)| ServiceLine {
            label: if lang == Lang::Ja { ja } else { en }.to_string(),
        })
        .collect()
}

#[derive(Deserialize)]
struct FormQuery {
    lang: Option<String>,
    /// `/report?kind=product_vulnerability` opens the form on the PSIRT choice.
    kind: Option<String>,
}

async fn form(
    state: &AppState,
    i: I18n,
    nav: Option<Nav>,
    error: String,
    typed: Typed,
) -> FormPage {
    let profile = team::load(state).await;
    let f = state.config.report_form;
    FormPage {
        challenge: state.form_guard.challenge(hikeshi_store::now_ms()),
        pow_bits: state.form_guard.pow_bits,
        error,
        tlps: Tlp::ALL
            .iter()
            .map(|t| super::Choice {
                code: t.code().into(),
                label: i.label("tlp", t.code()),
            })
            .collect(),
        team_name: profile.get("team_name").to_string(),
        constituency: profile.get("constituency").to_string(),
        hours: profile.get("hours").to_string(),
        contact_email: profile.get("contact_email").to_string(),
        pgp_fingerprint: profile.get("pgp_fingerprint").to_string(),
        offered: service_lines(&profile, "services_offered", i.lang),
        not_offered: service_lines(&profile, "services_not_offered", i.lang),
        max_attachments: f.max_attachments,
        max_attachment_mb: f.max_attachment_bytes / (1024 * 1024),
        psirt_policy: profile.in_lang("psirt_policy", i.lang).to_string(),
        safe_harbour: profile.in_lang("safe_harbour", i.lang).to_string(),
        typed: Typed {
            tlp: if typed.tlp.is_empty() {
                Tlp::Amber.code().into()
            } else {
                typed.tlp
            },
            ..typed
        },
        i,
        nav,
    }
}

async fn form_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<FormQuery>,
) -> Response {
    let i = viewer.i18n_asked(q.lang.as_deref());
    let nav = viewer.nav();
    let typed = Typed {
        kind: q
            .kind
            .as_deref()
            .and_then(|k| ReportKind::parse(k).ok())
            .unwrap_or(ReportKind::Incident)
            .code()
            .into(),
        ..Typed::default()
    };
    render(&form(&state, i, nav, String::new(), typed).await)
}

/// An attachment received but not yet evidence: removed unless the report is stored.
struct HeldFile {
    held: Held,
    filename: String,
    content_type: String,
}

/// Everything the multipart form carried.
#[derive(Default)]
struct Posted {
    typed: Typed,
    lang: String,
    challenge: String,
    proof: String,
    honeypot: String,
    files: Vec<HeldFile>,
    /// The guard would let the form in (asked before the first attachment is read).
    checked: bool,
}

/// Why a posted form is refused.
enum Refused {
    Form(ApiError),
    Guard(Refusal),
}

/// Reads the form. The challenge, proof and honeypot come before the file inputs in the page,
/// so the guard decides before a single attachment byte is written: a bot or a flood is
/// refused having cost a few hashes, not disk.
async fn read_form(
    state: &AppState,
    mut multipart: Multipart,
    addr: Option<std::net::IpAddr>,
) -> Result<Posted, Refused> {
    let f = state.config.report_form;
    let mut posted = Posted::default();
    let mut fields = 0usize;
    let form_error = |e| Refused::Form(multipart_error(e, f.max_attachment_bytes));
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(Refused::Form(ApiError::invalid(
                "body",
                format!("the form has more than {MAX_FIELDS} fields"),
            )));
        }
        let name = field.name().unwrap_or("").to_string();
        if name == "attachment" {
            // An empty file input still sends a part without a name.
            if field.file_name().is_none_or(str::is_empty) {
                continue;
            }
            // A bot's attachments are not read at all; it gets its fake answer later.
            if !posted.honeypot.trim().is_empty() {
                continue;
            }
            if !posted.checked {
                let now = hikeshi_store::now_ms();
                state
                    .form_guard
                    .check(&posted.challenge, &posted.proof, addr, now)
                    .map_err(Refused::Guard)?;
                posted.checked = true;
            }
            if posted.files.len() >= f.max_attachments {
                return Err(Refused::Form(ApiError::invalid(
                    "attachment",
                    format!("at most {} attachments", f.max_attachments),
                )));
            }
            let (held, filename, content_type) =
                hold_field(state, &mut field, f.max_attachment_bytes)
                    .await
                    .map_err(Refused::Form)?;
            if held.size > 0 {
                posted.files.push(HeldFile {
                    held,
                    filename,
                    content_type,
                });
            }
            continue;
        }
        let text = field.text().await.map_err(form_error)?;
        let t = &mut posted.typed;
        match name.as_str() {
            "reporter_name" => t.reporter_name = text,
            "reporter_contact" => t.reporter_contact = text,
            "reporter_org" => t.reporter_org = text,
            "subject" => t.subject = text,
            "body" => t.body = text,
            "occurred" => t.occurred = text,
            "affected" => t.affected = text,
            "indicators" => t.indicators = text,
            "tlp" => t.tlp = text,
            "kind" => t.kind = text,
            "credit" => t.credit = text,
            "lang" => posted.lang = text,
            "challenge" => posted.challenge = text,
            "proof" => posted.proof = text,
            "website" => posted.honeypot = text,
            _ => {}
        }
    }
    Ok(posted)
}

async fn form_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    super::PeerAddr(addr): super::PeerAddr,
    multipart: Multipart,
) -> Response {
    let mut i = viewer.i.clone();
    let nav = viewer.nav();
    let posted = match read_form(&state, multipart, addr).await {
        Ok(p) => p,
        Err(Refused::Form(e)) => {
            tracing::warn!(?addr, error = %e.message, "report form refused");
            let status = e.status();
            let page = form(&state, i, nav, e.0.message, Typed::default()).await;
            return (status, render(&page)).into_response();
        }
        Err(Refused::Guard(refusal)) => {
            return refused(&state, i, nav, refusal, addr, Typed::default()).await
        }
    };
    if let Some(lang) = Lang::parse(&posted.lang) {
        i.lang = lang;
    }
    let profile_name = team::load(&state).await.get("team_name").to_string();
    // A filled honeypot is a bot: it gets the same answer a person would, and nothing is kept.
    if !posted.honeypot.trim().is_empty() {
        tracing::warn!(?addr, "report form honeypot filled; nothing stored");
        let mut random = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
        return render(&DonePage {
            tracking: hikeshi_model::tracking_number(random),
            contact_given: false,
            team_name: profile_name,
            i,
            nav,
        });
    }
    let now = hikeshi_store::now_ms();
    if let Err(refusal) = state
        .form_guard
        .admit(&posted.challenge, &posted.proof, addr, now)
    {
        return refused(&state, i, nav, refusal, addr, posted.typed).await;
    }
    // Admitted: the attachments join the evidence, and leave it again if the report is refused.
    let mut files = Vec::new();
    let mut created = Vec::new();
    for f in posted.files {
        match state.evidence.keep(f.held).await {
            Ok((sha256, size, new)) => {
                if new {
                    created.push(sha256.clone());
                }
                files.push(ReceivedFile {
                    sha256,
                    size,
                    filename: f.filename,
                    content_type: f.content_type,
                });
            }
            Err(e) => {
                for sha in &created {
                    state.evidence.forget(sha).await;
                }
                let e = ApiError::internal(e);
                let page = form(&state, i, nav, e.0.message.clone(), posted.typed).await;
                return (e.status(), render(&page)).into_response();
            }
        }
    }
    let typed = posted.typed.clone();
    let input = ReportInput {
        subject: typed.subject.clone(),
        body: typed.body.clone(),
        reporter_name: typed.reporter_name.clone(),
        reporter_contact: typed.reporter_contact.clone(),
        reporter_org: typed.reporter_org.clone(),
        occurred: typed.occurred.clone(),
        affected: typed.affected.clone(),
        indicators: typed.indicators.clone(),
        tlp: Tlp::parse(&typed.tlp).ok(),
        kind: ReportKind::parse(&typed.kind).ok(),
        credit: typed.credit.clone(),
        lang: Some(i.code().to_string()),
        quiet: false,
    };
    let ip = addr.map(|a| a.to_string()).unwrap_or_default();
    match intake::submit_report(&state, input, ReportSource::Form, &ip, files, "public").await {
        Ok(report) => render(&DonePage {
            tracking: report.tracking,
            contact_given: !report.reporter_contact.is_empty(),
            team_name: profile_name,
            i,
            nav,
        }),
        Err(e) => {
            for sha in &created {
                state.evidence.forget(sha).await;
            }
            let e = crate::error::ApiError::from(e);
            let status = e.status();
            let page = form(&state, i, nav, e.0.message, posted.typed).await;
            (status, render(&page)).into_response()
        }
    }
}

/// The form again, with the guard's reason in the reporter's language.
async fn refused(
    state: &AppState,
    i: I18n,
    nav: Option<Nav>,
    refusal: Refusal,
    addr: Option<std::net::IpAddr>,
    typed: Typed,
) -> Response {
    tracing::warn!(?addr, ?refusal, "report form refused");
    let status = if refusal == Refusal::RateLimited {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::BAD_REQUEST
    };
    let message = i.t(refusal.message_key());
    let page = form(state, i, nav, message, typed).await;
    (status, render(&page)).into_response()
}

async fn security_txt(State(state): State<AppState>) -> Response {
    let profile = team::load(&state).await;
    let body = team::security_txt(&profile, &state.config.public_url, chrono::Utc::now());
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}
