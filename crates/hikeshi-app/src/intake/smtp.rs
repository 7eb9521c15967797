//! The built-in SMTP listener for e-mail reports (RFC 5321, the subset a mail server needs to
//! hand us a message): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Each message becomes a
//! report with the original kept as evidence (.eml, SHA-256), or, when its subject quotes a
//! tracking number, is threaded onto that report. Limits: message size (announced with SIZE),
//! line length, a timeout per command, and a cap on concurrent connections.

use crate::cases::ReceivedFile;
use crate::intake::{self, ReportInput};
use crate::App;
use hikeshi_model::{find_tracking_number, ReportSource};
use mail_parser::MimeHeaders;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Command lines longer than this are refused (RFC 5321 allows 512; extensions add a little).
const MAX_COMMAND: usize = 2048;
/// Text lines inside DATA (RFC 5321: 1000 with CRLF); longer ones are still read but counted.
const MAX_DATA_LINE: usize = 64 * 1024;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ATTACHMENTS: usize = 20;

/// Starts the listener; errors binding the address stop the server from starting.
/// Listens on `addr` until `shutdown`: it stops accepting then (sessions under way finish).
pub async fn start(
    app: App,
    addr: SocketAddr,
    mut shutdown: crate::jobs::Shutdown,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for SMTP on {addr}: {e}"))?;
    tracing::info!(%addr, "SMTP intake listening");
    let slots = Arc::new(Semaphore::new(app.config.mail.max_connections.max(1)));
    let senders = Arc::new(Senders::default());
    let per_address = app.config.mail.max_connections_per_address.max(1);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.wait() => return,
            };
            let (mut stream, peer) = match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(here) = senders.connect(peer.ip(), per_address) else {
                let _ = stream
                    .write_all(b"421 4.7.0 Too many connections from your address\r\n")
                    .await;
                tracing::warn!(%peer, "SMTP connection refused: too many from this address");
                continue;
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                let _ = stream
                    .write_all(b"421 4.3.2 Too many connections, try again later\r\n")
                    .await;
                tracing::warn!(%peer, "SMTP connection refused: too many at once");
                continue;
            };
            let app = app.clone();
            let senders = senders.clone();
            tokio::spawn(async move {
                if let Err(e) = session(&app, stream, peer, &senders).await {
                    tracing::debug!(%peer, error = %e, "SMTP session ended");
                }
                drop(here);
                drop(permit);
            });
        }
    });
    Ok(())
}

/// Who is connected and how much each address sent, for the per-address limits.
#[derive(Default)]
struct Senders {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    sent: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, Vec<std::time::Instant>>>,
}

/// An open session of an address, given back when dropped.
struct Connected {
    senders: Arc<Senders>,
    addr: std::net::IpAddr,
}

impl Drop for Connected {
    fn drop(&mut self) {
        let mut open = self.senders.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.addr) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

impl Senders {
    fn connect(self: &Arc<Self>, addr: std::net::IpAddr, limit: usize) -> Option<Connected> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(addr).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(Connected {
            senders: self.clone(),
            addr,
        })
    }

    /// Counts a message from `addr` if it is within `per_hour`.
    fn may_send(&self, addr: std::net::IpAddr, per_hour: u32) -> bool {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let hour = Duration::from_secs(3600);
        sent.retain(|_, times| {
            times.retain(|t| t.elapsed() < hour);
            !times.is_empty()
        });
        let times = sent.entry(addr).or_default();
        if times.len() as u32 >= per_hour.max(1) {
            return false;
        }
        times.push(std::time::Instant::now());
        true
    }
}

/// Reads one line up to `max` bytes; `Ok(None)` at the end of the stream, `Err` on timeout.
/// An over-long line is consumed and reported as `Some(Err(len))`.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    max: usize,
    deadline: tokio::time::Instant,
) -> std::io::Result<Option<Result<Vec<u8>, usize>>> {
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        // Each read has its own timeout, and the session a deadline: a sender trickling a
        // byte at a time cannot hold its slot for long.
        let until = deadline.min(tokio::time::Instant::now() + COMMAND_TIMEOUT);
        let buf = tokio::time::timeout_at(until, reader.fill_buf())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"))??;
        if buf.is_empty() {
            return Ok((total > 0).then_some(if total > max { Err(total) } else { Ok(line) }));
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        total += chunk.len();
        if total <= max {
            line.extend_from_slice(chunk);
        }
        let used = chunk.len();
        reader.consume(used);
        if done {
            return Ok(Some(if total > max { Err(total) } else { Ok(line) }));
        }
    }
}

/// The address inside `MAIL FROM:<a@b> SIZE=..` or `RCPT TO:<a@b>`.
fn path_of(arg: &str) -> Option<String> {
    let start = arg.find('<')?;
    let end = arg[start..].find('>')? + start;
    Some(arg[start + 1..end].trim().to_string())
}

async fn session(
    app: &App,
    stream: TcpStream,
    peer: SocketAddr,
    senders: &Senders,
) -> anyhow::Result<()> {
    let max = app.config.mail.max_message_bytes;
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(app.config.mail.session_deadline_secs.max(1));
    let intake: Vec<String> = app
        .config
        .mail
        .intake_addresses
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    write.write_all(b"220 hikeshi ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    loop {
        let line = match read_line(&mut reader, MAX_COMMAND, deadline).await {
            Ok(Some(Ok(l))) => l,
            Ok(Some(Err(_))) => {
                write.write_all(b"500 5.5.2 Line too long\r\n").await?;
                continue;
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = write.write_all(b"421 4.4.2 Timeout, closing\r\n").await;
                return Err(e.into());
            }
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let reply =
                    format!("250-hikeshi\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
                write.write_all(reply.as_bytes()).await?;
            }
            "HELO" => write.write_all(b"250 hikeshi\r\n").await?,
            "MAIL" => {
                let declared = arg
                    .to_ascii_uppercase()
                    .split_whitespace()
                    .find_map(|p| p.strip_prefix("SIZE=").and_then(|n| n.parse::<u64>().ok()));
                if declared.is_some_and(|n| n > max) {
                    write
                        .write_all(
                            format!("552 5.3.4 Message larger than {max} bytes\r\n").as_bytes(),
                        )
                        .await?;
                    continue;
                }
                match path_of(arg) {
                    Some(f) => {
                        from = Some(f);
                        rcpts.clear();
                        write.write_all(b"250 2.1.0 OK\r\n").await?;
                    }
                    None => {
                        write
                            .write_all(b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n")
                            .await?
                    }
                }
            }
            "RCPT" => {
                if from.is_none() {
                    write.write_all(b"503 5.5.1 MAIL first\r\n").await?;
                    continue;
                }
                match path_of(arg) {
                    Some(to) if intake.is_empty() || intake.contains(&to.to_ascii_lowercase()) => {
                        if rcpts.len() < 100 {
                            rcpts.push(to);
                        }
                        write.write_all(b"250 2.1.5 OK\r\n").await?;
                    }
                    Some(_) => {
                        write
                            .write_all(b"550 5.1.1 No such intake address here\r\n")
                            .await?
                    }
                    None => {
                        write
                            .write_all(b"501 5.5.4 Syntax: RCPT TO:<address>\r\n")
                            .await?
                    }
                }
            }
            "DATA" => {
                if from.is_none() || rcpts.is_empty() {
                    write
                        .write_all(b"503 5.5.1 MAIL and RCPT first\r\n")
                        .await?;
                    continue;
                }
                if !senders.may_send(peer.ip(), app.config.mail.messages_per_hour_per_address) {
                    tracing::warn!(%peer, "SMTP message deferred: this address sent its share this hour");
                    write
                        .write_all(b"451 4.7.1 Too many messages from your address; try later\r\n")
                        .await?;
                    continue;
                }
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut message: Vec<u8> = Vec::new();
                let mut too_big = false;
                // Only CRLF . CRLF ends the data (RFC 5321 4.1.1.4): a bare LF before or after
                // the dot is data, so no second message can be smuggled past a relay that
                // reads the end differently.
                let mut after_crlf = true;
                loop {
                    let line = match read_line(&mut reader, MAX_DATA_LINE, deadline).await {
                        Ok(Some(Ok(l))) => l,
                        Ok(Some(Err(_))) => {
                            too_big = true;
                            after_crlf = false;
                            continue;
                        }
                        Ok(None) => return Ok(()),
                        Err(e) => {
                            let _ = write.write_all(b"421 4.4.2 Timeout, closing\r\n").await;
                            return Err(e.into());
                        }
                    };
                    if after_crlf && line == b".\r\n" {
                        break;
                    }
                    after_crlf = line.ends_with(b"\r\n");
                    // Dot-stuffing: the sender doubled a leading dot; drop one.
                    let content = line.strip_prefix(b".").unwrap_or(&line);
                    if message.len() as u64 + content.len() as u64 > max {
                        too_big = true;
                    } else {
                        message.extend_from_slice(content);
                    }
                }
                let sender = from.take().unwrap_or_default();
                rcpts.clear();
                if too_big {
                    tracing::warn!(%peer, "SMTP message refused: over the size limit");
                    write
                        .write_all(
                            format!("552 5.3.4 Message larger than {max} bytes\r\n").as_bytes(),
                        )
                        .await?;
                    continue;
                }
                match receive(app, &message, &sender, peer).await {
                    Ok(tracking) => {
                        write
                            .write_all(format!("250 2.0.0 Accepted as {tracking}\r\n").as_bytes())
                            .await?
                    }
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "SMTP message refused");
                        let reason: String = e
                            .to_string()
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(200)
                            .collect();
                        write
                            .write_all(format!("554 5.6.0 {reason}\r\n").as_bytes())
                            .await?
                    }
                }
            }
            "RSET" => {
                from = None;
                rcpts.clear();
                write.write_all(b"250 2.0.0 OK\r\n").await?;
            }
            "NOOP" => write.write_all(b"250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            "STARTTLS" => write.write_all(b"454 4.7.0 TLS not available\r\n").await?,
            _ => {
                write
                    .write_all(b"502 5.5.1 Command not implemented\r\n")
                    .await?
            }
        }
    }
}

/// Stores bytes as content-addressed evidence and describes them as a received file.
async fn keep(
    app: &App,
    bytes: &[u8],
    name: &str,
    content_type: &str,
) -> anyhow::Result<ReceivedFile> {
    let mut incoming = app.evidence.begin(u64::MAX).await?;
    incoming.write(bytes).await?;
    let (sha256, size) = app.evidence.commit(incoming).await?;
    Ok(ReceivedFile {
        sha256,
        size,
        filename: name.to_string(),
        content_type: content_type.to_string(),
    })
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

/// One received message: a new report, or a follow-up to the one its subject names.
pub async fn receive(
    app: &App,
    raw: &[u8],
    envelope_from: &str,
    peer: SocketAddr,
) -> anyhow::Result<String> {
    let parsed = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| anyhow::anyhow!("the message could not be parsed as MIME"))?;
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
    let eml = keep(app, raw, "message.eml", "message/rfc822").await?;

    if let Some(tracking) = find_tracking_number(&subject) {
        if let Ok(report) = app.store.report_by_tracking(&tracking).await {
            app.store
                .add_report_message(&report.id, &from_addr, &subject, &body, &eml.sha256)
                .await?;
            if let Some(case_id) = &report.case_id {
                if let Ok(case) = app.store.case_by_id(case_id).await {
                    let note =
                        format!("E-mail from {from_addr} about {tracking}: {subject}\n\n{body}");
                    let note: String = note.chars().take(crate::validate::MAX_TEXT).collect();
                    app.store
                        .add_comment(&case.number, &note, &hikeshi_store::Actor::user("email"))
                        .await?;
                }
            }
            tracing::info!(%tracking, from = %from_addr, "e-mail threaded onto its report");
            return Ok(tracking);
        }
    }

    let mut files = vec![eml];
    for (n, part) in parsed.attachments().enumerate() {
        if n >= MAX_ATTACHMENTS {
            anyhow::bail!("more than {MAX_ATTACHMENTS} attachments");
        }
        let name = part.attachment_name().unwrap_or("attachment.bin");
        let content_type = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{sub}", c.ctype()),
                None => c.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        files.push(keep(app, part.contents(), name, &content_type).await?);
    }
    let lang = if looks_japanese(&subject) || looks_japanese(&body) {
        "ja"
    } else {
        "en"
    };
    let input = ReportInput {
        quiet: is_bulk_or_automatic(&parsed),
        subject,
        body: if body.trim().is_empty() {
            "(no text)".into()
        } else {
            body
        },
        reporter_name: from_name,
        reporter_contact: from_addr,
        lang: Some(lang.into()),
        ..ReportInput::default()
    };
    let report = intake::submit_report(
        app,
        input,
        ReportSource::Email,
        &peer.ip().to_string(),
        files,
        "email",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(report.tracking)
}

/// Reads a Maildir's `new/` folder (every few seconds, from `jobs::registry`): each message is received like one that
/// came over SMTP, then moved to `cur/` marked seen (`:2,S`), or, if it was refused, marked
/// trashed (`:2,T`) so it is kept for a person to look at and not read again.
pub async fn read_maildir(app: &App, dir: &std::path::Path) {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut entries = match tokio::fs::read_dir(dir.join("new")).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "Maildir not readable");
            return;
        }
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let size = entry.metadata().await.map(|m| m.len()).unwrap_or(0);
        let outcome = if size > app.config.mail.max_message_bytes {
            Err(anyhow::anyhow!(
                "larger than {} bytes",
                app.config.mail.max_message_bytes
            ))
        } else {
            match tokio::fs::read(&path).await {
                Ok(raw) => receive(app, &raw, "", local).await,
                Err(e) => Err(e.into()),
            }
        };
        let flag = match &outcome {
            Ok(tracking) => {
                tracing::info!(file = %name, %tracking, "Maildir message received");
                "S"
            }
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "Maildir message refused; kept in cur/ marked trashed");
                "T"
            }
        };
        let base = name.split(":2,").next().unwrap_or(&name);
        let target = dir.join("cur").join(format!("{base}:2,{flag}"));
        if let Err(e) = tokio::fs::rename(&path, &target).await {
            tracing::error!(file = %name, error = %e, "cannot move a Maildir message to cur/");
        }
    }
}
