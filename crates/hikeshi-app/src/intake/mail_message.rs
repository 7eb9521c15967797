//! What a received e-mail says, read from its raw bytes (MIME, RFC 5322): subject, sender,
//! text, attachments, and whether it must not be answered. Pure, so it is fuzzed on its own;
//! `mail` stores what this reads.

use crate::intake;
use mail_parser::MimeHeaders;

/// More attachments than this and the message is refused: no report needs them.
pub const MAX_ATTACHMENTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One message as a report sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMail {
    /// Trimmed and cut to the report's limit; `(no subject)` when empty.
    pub subject: String,
    pub from_name: String,
    /// The header From address, or the envelope sender when the header has none.
    pub from_addr: String,
    /// The first text part, cut to the report's limit.
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// Automatic replies, mailing lists and bulk (RFC 3834): never acknowledged.
    pub quiet: bool,
    /// `ja` when the subject or text has kana or kanji, else `en`.
    pub lang: &'static str,
}

impl IncomingMail {
    /// Reads `raw`; the error says why it is not a message hikeshi takes.
    pub fn read(raw: &[u8], envelope_from: &str) -> Result<IncomingMail, String> {
        let parsed = mail_parser::MessageParser::default()
            .parse(raw)
            .ok_or("the message could not be parsed as MIME")?;
        let subject = parsed
            .subject()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("(no subject)")
            .chars()
            .take(intake::MAX_SUBJECT)
            .collect::<String>();
        let (from_name, from_addr) = parsed
            .from()
            .and_then(|a| a.first())
            .map(|a| {
                (
                    a.name().unwrap_or("").to_string(),
                    a.address().unwrap_or("").to_string(),
                )
            })
            .unwrap_or_default();
        let from_addr = if from_addr.is_empty() {
            envelope_from.to_string()
        } else {
            from_addr
        };
        let body: String = parsed
            .body_text(0)
            .map(|b| b.into_owned())
            .unwrap_or_default()
            .chars()
            .take(intake::MAX_BODY)
            .collect();
        let mut attachments = Vec::new();
        for (n, part) in parsed.attachments().enumerate() {
            if n >= MAX_ATTACHMENTS {
                return Err(format!("more than {MAX_ATTACHMENTS} attachments"));
            }
            let content_type = part
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{sub}", c.ctype()),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            attachments.push(Attachment {
                name: part
                    .attachment_name()
                    .unwrap_or("attachment.bin")
                    .to_string(),
                content_type,
                bytes: part.contents().to_vec(),
            });
        }
        let lang = if looks_japanese(&subject) || looks_japanese(&body) {
            "ja"
        } else {
            "en"
        };
        Ok(IncomingMail {
            quiet: is_bulk_or_automatic(&parsed),
            subject,
            from_name,
            from_addr,
            body,
            attachments,
            lang,
        })
    }
}

/// Mail that must not be answered (RFC 3834): automatic replies, mailing lists, bulk.
fn is_bulk_or_automatic(m: &mail_parser::Message) -> bool {
    let header = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let auto = header("Auto-Submitted");
    (!auto.is_empty() && auto != "no")
        || matches!(header("Precedence").as_str(), "bulk" | "list" | "junk")
        || !header("List-Id").is_empty()
        || !header("List-Unsubscribe").is_empty()
}

/// Whether a text is mostly Japanese: kana or kanji anywhere makes it so.
fn looks_japanese(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x4E00..=0x9FFF))
}
