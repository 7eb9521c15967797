//! Advisories of a product vulnerability and their revisions. A revision is proposed (rendered,
//! checked against the VEX rules and hashed), approved by someone else against that hash, and
//! scheduled for its release time; moving that time renders it again and asks for a new
//! approval. A revision may be proposed only when every earlier one is out.

use super::document::{freeze, number_of, render, utc, Rendering};
use super::{short_text, store_error, PUBLIC_TLP};
use crate::error::{AppError, AppResult};
use crate::{App, Who};
use hikeshi_exchange::csaf::{self, DocStatus};
use hikeshi_model::{AdvisoryProfile, RevisionStatus};
use hikeshi_store::{new_id, Advisory, AdvisoryRevision, CSAF_PUBLISH_JOB};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdvisory {
    pub tracking_id: String,
    pub profile: AdvisoryProfile,
    /// The advisory's title; the vulnerability's title when empty.
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRevision {
    pub status: RevisionStatus,
    pub summary: String,
    /// When it becomes public (RFC 3339), e.g. the date agreed with the coordinator.
    pub release_at: String,
}

#[derive(Debug, Serialize)]
pub struct AdvisoryView {
    #[serde(flatten)]
    pub advisory: Advisory,
    pub revisions: Vec<AdvisoryRevision>,
}

fn parse_time(field: &str, text: &str) -> AppResult<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            AppError::invalid(
                field,
                format!(
                    "{field}: `{text}` is not an RFC 3339 time such as 2026-12-24T09:00:00+09:00"
                ),
            )
        })
}

pub async fn create(
    app: &App,
    who: &Who,
    vuln_id: &str,
    input: NewAdvisory,
) -> AppResult<Advisory> {
    who.require_edit("draft advisories")?;
    let vuln = app
        .store
        .product_vuln(vuln_id)
        .await?
        .ok_or_else(|| AppError::not_found("product vulnerability"))?;
    if input.profile == AdvisoryProfile::Informational {
        return Err(AppError::invalid(
            "profile",
            "profile: an advisory of a product vulnerability is a security advisory or a VEX document",
        ));
    }
    let tracking_id = short_text("tracking_id", &input.tracking_id, true, 100)?;
    let title = match short_text("title", &input.title, false, 300)? {
        t if t.is_empty() => vuln.title.clone(),
        t => t,
    };
    let advisory = Advisory {
        id: new_id(),
        vuln_id: vuln.id,
        file_name: csaf::file_name(&tracking_id),
        tracking_id,
        profile: input.profile.code().into(),
        tlp: PUBLIC_TLP.into(),
        title,
        summary: short_text("summary", &input.summary, false, 20_000)?,
        created_by: who.name.clone(),
        created_at: app.calendar.now_ms(),
    };
    let mut tx = app.store.begin().await?;
    tx.insert_advisory(&advisory, &who.actor())
        .await
        .map_err(|e| store_error(e, "an advisory with this tracking ID or file name"))?;
    tx.commit().await?;
    Ok(advisory)
}

async fn load(app: &App, id: &str) -> AppResult<Advisory> {
    app.store
        .advisory(id)
        .await?
        .ok_or_else(|| AppError::not_found("advisory"))
}

pub async fn view(app: &App, _who: &Who, id: &str) -> AppResult<AdvisoryView> {
    let advisory = load(app, id).await?;
    let revisions = app.store.revisions(id).await?;
    Ok(AdvisoryView {
        advisory,
        revisions,
    })
}

/// The next revision as reviewers see it now: status `draft`, released now.
pub async fn draft(app: &App, who: &Who, id: &str) -> AppResult<String> {
    who.require_edit("read draft advisories")?;
    let advisory = load(app, id).await?;
    let earlier: Vec<AdvisoryRevision> = app.store.revisions(id).await?;
    let now = app.calendar.now_ms();
    let rendered = render(
        app,
        &advisory,
        &earlier,
        Rendering {
            number: number_of(earlier.len() as i64 + 1),
            status: DocStatus::Draft,
            summary: "Draft",
            release_at: now.max(earlier.last().map_or(0, |r| r.release_at + 1)),
        },
    )
    .await?;
    Ok(rendered.document)
}

/// Renders, checks and freezes the next revision; it waits for a second person's approval.
pub async fn propose(
    app: &App,
    who: &Who,
    id: &str,
    input: NewRevision,
) -> AppResult<AdvisoryRevision> {
    who.require_edit("propose advisory revisions")?;
    let advisory = load(app, id).await?;
    let summary = short_text("summary", &input.summary, true, 2_000)?;
    let release_at = parse_time("release_at", &input.release_at)?;
    let now = app.calendar.now_ms();
    let earlier = app.store.revisions(id).await?;
    if let Some(last) = earlier.last() {
        if last.state == "pending" || last.release_at > now {
            return Err(AppError::conflict(format!(
                "revision {} is not out yet: approve it or move its date first",
                last.number
            )));
        }
        if last.status == "final" && input.status == RevisionStatus::Interim {
            return Err(AppError::invalid(
                "status",
                "status: a final advisory stays final; revise it as final",
            ));
        }
        if release_at <= last.release_at {
            return Err(AppError::invalid(
                "release_at",
                format!(
                    "release_at: must be after revision {}'s release",
                    last.number
                ),
            ));
        }
    }
    if release_at < now - 60_000 {
        return Err(AppError::invalid(
            "release_at",
            "release_at: the release time has passed; give the agreed time to come",
        ));
    }
    let seq = earlier.len() as i64 + 1;
    let status = match input.status {
        RevisionStatus::Interim => DocStatus::Interim,
        RevisionStatus::Final => DocStatus::Final,
    };
    let frozen = freeze(
        app,
        &advisory,
        &earlier,
        Rendering {
            number: number_of(seq),
            status,
            summary: &summary,
            release_at,
        },
    )
    .await?;
    let revision = AdvisoryRevision {
        advisory_id: advisory.id.clone(),
        seq,
        number: number_of(seq),
        status: input.status.code().into(),
        summary,
        release_at,
        state: "pending".into(),
        year: frozen.year,
        document: frozen.document,
        sha256: frozen.sha256,
        sha512: frozen.sha512,
        signature: frozen.signature,
        signing_key: frozen.signing_key,
        proposed_by: who.name.clone(),
        approved_by: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_revision(&revision, &who.actor()).await?;
    tx.commit().await?;
    Ok(revision)
}

async fn revision(app: &App, id: &str, seq: i64) -> AppResult<AdvisoryRevision> {
    app.store
        .revisions(id)
        .await?
        .into_iter()
        .find(|r| r.seq == seq)
        .ok_or_else(|| AppError::not_found("advisory revision"))
}

/// A second person approves exactly the document they read (its SHA-256); the revision is then
/// scheduled and the publication job queued for its release time.
pub async fn approve(
    app: &App,
    who: &Who,
    id: &str,
    seq: i64,
    sha256: &str,
) -> AppResult<AdvisoryRevision> {
    who.require_edit("approve advisory revisions")?;
    let before = revision(app, id, seq).await?;
    if before.state != "pending" {
        return Err(AppError::conflict(format!(
            "revision {} is {}, not waiting for approval",
            before.number, before.state
        )));
    }
    if before.proposed_by == who.name {
        return Err(AppError::forbidden(
            "approve a revision you proposed (four eyes: someone else reviews it)",
        ));
    }
    if !before.sha256.eq_ignore_ascii_case(sha256.trim()) {
        return Err(AppError::conflict(
            "the document changed since it was read: read it again and approve its new hash",
        ));
    }
    let mut after = before.clone();
    after.state = "scheduled".into();
    after.approved_by = who.name.clone();
    after.updated_at = app.calendar.now_ms();
    let mut tx = app.store.begin().await?;
    tx.update_revision(&before, &after, "psirt.revision_approved", &who.actor())
        .await?;
    tx.enqueue_job(
        CSAF_PUBLISH_JOB,
        &serde_json::json!({ "advisory_id": id, "seq": seq }),
        Some(after.release_at),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a revision's release time before it is out (a new date agreed with the coordinator).
/// The document carries the date, so it is rendered again and needs a new approval.
pub async fn move_release(
    app: &App,
    who: &Who,
    id: &str,
    seq: i64,
    release_at: &str,
) -> AppResult<AdvisoryRevision> {
    who.require_edit("move advisory release dates")?;
    let advisory = load(app, id).await?;
    let release_at = parse_time("release_at", release_at)?;
    let now = app.calendar.now_ms();
    let all = app.store.revisions(id).await?;
    let before = all
        .iter()
        .find(|r| r.seq == seq)
        .cloned()
        .ok_or_else(|| AppError::not_found("advisory revision"))?;
    if before.release_at <= now && before.state != "pending" {
        return Err(AppError::conflict(format!(
            "revision {} is out since {}; publish a new revision instead",
            before.number,
            utc(before.release_at).to_rfc3339()
        )));
    }
    if release_at < now - 60_000 {
        return Err(AppError::invalid(
            "release_at",
            "release_at: the new release time has passed",
        ));
    }
    let earlier: Vec<AdvisoryRevision> = all.into_iter().filter(|r| r.seq < seq).collect();
    if earlier.last().is_some_and(|l| release_at <= l.release_at) {
        return Err(AppError::invalid(
            "release_at",
            "release_at: must be after the previous revision's release",
        ));
    }
    let status = if before.status == "final" {
        DocStatus::Final
    } else {
        DocStatus::Interim
    };
    let frozen = freeze(
        app,
        &advisory,
        &earlier,
        Rendering {
            number: before.number.clone(),
            status,
            summary: &before.summary,
            release_at,
        },
    )
    .await?;
    let mut after = before.clone();
    after.release_at = release_at;
    after.year = frozen.year;
    after.document = frozen.document;
    after.sha256 = frozen.sha256;
    after.sha512 = frozen.sha512;
    after.signature = frozen.signature;
    after.signing_key = frozen.signing_key;
    after.state = "pending".into();
    after.approved_by = String::new();
    after.proposed_by = who.name.clone();
    after.updated_at = now;
    let mut tx = app.store.begin().await?;
    tx.update_revision(&before, &after, "psirt.release_moved", &who.actor())
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// A revision's frozen document, for reviewers (the public reads it through the provider).
pub async fn revision_document(app: &App, who: &Who, id: &str, seq: i64) -> AppResult<String> {
    who.require_edit("read advisory revisions")?;
    Ok(revision(app, id, seq).await?.document)
}
