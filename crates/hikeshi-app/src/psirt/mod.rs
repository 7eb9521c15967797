//! The PSIRT side: the products a team ships, vulnerabilities found in them (each handled in a
//! case), the state of every product version, and CSAF 2.0 advisories published at an agreed
//! time. A revision is rendered and hashed when proposed, approved by a second person against
//! that hash, and visible to the public only once its release time has come
//! ([`provider`] reads nothing else); the job in [`publish`] records the publication.

pub mod advisories;
mod document;
pub mod exports;
pub mod products;
pub mod provider;
pub mod public;
pub mod publish;
pub mod sboms;
pub mod signing;
pub mod vulns;

use crate::error::{AppError, AppResult};

/// The public folder's TLP: CSAF 2.0 names TLP:CLEAR `WHITE`.
pub const PUBLIC_TLP: &str = "WHITE";

/// Text from outside: trimmed, within `max` characters, no control characters but newlines.
fn short_text(field: &str, value: &str, required: bool, max: usize) -> AppResult<String> {
    let value = crate::validate::text_field(field, value, required, max)?;
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AppError::invalid(
            field,
            format!("{field}: control characters are not allowed"),
        ));
    }
    Ok(value)
}

/// A URL the public page links to: http(s) only.
fn link(field: &str, value: &str) -> AppResult<String> {
    let value = short_text(field, value, false, 2_000)?;
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    if !(value.is_empty() || scheme_ok) || value.contains(char::is_whitespace) {
        return Err(AppError::invalid(
            field,
            format!("{field}: an http(s) URL without spaces is expected"),
        ));
    }
    Ok(value)
}

/// The publisher's name in documents and feeds: the team's name, else `PSIRT`.
async fn publisher_name(app: &crate::App) -> String {
    match crate::team::load(app).await.get("team_name").trim() {
        "" => "PSIRT".to_string(),
        n => n.to_string(),
    }
}

fn store_error(err: hikeshi_store::StoreError, what: &str) -> AppError {
    if err.is_unique_violation() {
        AppError::conflict(format!("{what} exists already"))
    } else {
        err.into()
    }
}
