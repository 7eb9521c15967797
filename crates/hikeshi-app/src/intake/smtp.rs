//! The built-in SMTP listener for e-mail reports (RFC 5321, the subset a mail server needs to
//! hand us a message): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and STARTTLS (RFC 3207)
//! when the server has a certificate. What a message becomes is `mail`'s business, the command
//! grammar `smtp_protocol`'s. Limits: message size (announced with SIZE), line length, a
//! timeout per command, a deadline per session, caps on connections at once and per address,
//! and messages per address per hour.

use crate::intake::mail::receive;
use crate::intake::sender_check::SenderChecks;
use crate::intake::smtp_protocol::{ehlo_reply, Command, DataCollector, DataLine};
use crate::App;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Command lines longer than this are refused (RFC 5321 allows 512; extensions add a little).
const MAX_COMMAND: usize = 2048;
/// Text lines inside DATA (RFC 5321: 1000 with CRLF); longer ones are still read but counted.
const MAX_DATA_LINE: usize = 64 * 1024;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

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
    tracing::info!(%addr, starttls = app.config.tls.is_some(), "SMTP intake listening");
    // A bad certificate stops the start, as it does for HTTPS.
    let tls = app
        .config
        .tls
        .as_ref()
        .map(|files| crate::tls::acceptor(files, &[]))
        .transpose()?;
    // A resolver that cannot be built stops the start too: every acknowledgement hangs on it.
    let checks = if app.config.mail.sender_checks {
        Some(
            crate::intake::sender_check::SenderChecks::new(app.config.mail.dns_server)
                .map_err(|e| anyhow::anyhow!(e))?,
        )
    } else {
        None
    };
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
            let tls = tls.clone();
            let checks = checks.clone();
            tokio::spawn(async move {
                if let Err(e) = session(&app, stream, peer, &senders, tls, checks.as_ref()).await {
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
async fn read_line<S: AsyncRead + Unpin>(
    reader: &mut BufReader<S>,
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

/// Whether the conversation is encrypted, and whether it may become so.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Plain { tls_offered: bool },
    Encrypted,
}

/// How one conversation ended.
enum Ended {
    Closed,
    /// The client asked for TLS and was told to go ahead.
    StartTls,
}

/// Shared by every conversation of one session.
struct Session<'a> {
    app: &'a App,
    peer: SocketAddr,
    /// SPF/DKIM/DMARC, when `[mail] sender_checks` is on.
    checks: Option<&'a SenderChecks>,
    senders: &'a Senders,
    deadline: tokio::time::Instant,
    intake: Vec<String>,
}

async fn session(
    app: &App,
    stream: TcpStream,
    peer: SocketAddr,
    senders: &Senders,
    tls: Option<TlsAcceptor>,
    checks: Option<&SenderChecks>,
) -> anyhow::Result<()> {
    let s = Session {
        app,
        peer,
        checks,
        senders,
        deadline: tokio::time::Instant::now()
            + Duration::from_secs(app.config.mail.session_deadline_secs.max(1)),
        intake: app
            .config
            .mail
            .intake_addresses
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .collect(),
    };
    let mut conn = BufReader::with_capacity(64 * 1024, stream);
    say(&mut conn, b"220 hikeshi ESMTP ready\r\n").await?;
    let channel = Channel::Plain {
        tls_offered: tls.is_some(),
    };
    let (Ended::StartTls, Some(acceptor)) = (converse(&s, &mut conn, channel).await?, tls) else {
        return Ok(());
    };
    // Commands sent in the clear behind STARTTLS must not run inside the encrypted session
    // (the 2011 STARTTLS command injection): whatever is buffered is thrown away.
    if !conn.buffer().is_empty() {
        tracing::warn!(%peer, bytes = conn.buffer().len(), "SMTP: input pipelined after STARTTLS discarded");
    }
    let tcp = conn.into_inner();
    let until = s
        .deadline
        .min(tokio::time::Instant::now() + crate::tls::HANDSHAKE_DEADLINE);
    let encrypted = tokio::time::timeout_at(until, acceptor.accept(tcp))
        .await
        .map_err(|_| anyhow::anyhow!("TLS handshake timed out"))??;
    let mut conn = BufReader::with_capacity(64 * 1024, encrypted);
    converse(&s, &mut conn, Channel::Encrypted).await?;
    Ok(())
}

/// Writes a reply and sends it at once (a TLS stream holds writes until flushed).
async fn say<S: AsyncWrite + Unpin>(conn: &mut S, reply: &[u8]) -> std::io::Result<()> {
    conn.write_all(reply).await?;
    conn.flush().await
}

/// Commands and replies until QUIT, the end of the stream, or STARTTLS. The envelope starts
/// empty each time: after STARTTLS nothing said in the clear counts (RFC 3207 4.2).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    s: &Session<'_>,
    conn: &mut BufReader<S>,
    channel: Channel,
) -> anyhow::Result<Ended> {
    let max = s.app.config.mail.max_message_bytes;
    let must_encrypt = s.app.config.mail.require_starttls && channel != Channel::Encrypted;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut helo = String::new();
    loop {
        let line = match read_line(conn, MAX_COMMAND, s.deadline).await {
            Ok(Some(Ok(l))) => l,
            Ok(Some(Err(_))) => {
                say(conn, b"500 5.5.2 Line too long\r\n").await?;
                continue;
            }
            Ok(None) => return Ok(Ended::Closed),
            Err(e) => {
                let _ = say(conn, b"421 4.4.2 Timeout, closing\r\n").await;
                return Err(e.into());
            }
        };
        let command = Command::parse(&line);
        if must_encrypt
            && matches!(
                command,
                Command::Mail { .. } | Command::Rcpt { .. } | Command::Data
            )
        {
            say(conn, b"530 5.7.0 Must issue a STARTTLS command first\r\n").await?;
            continue;
        }
        match command {
            Command::Ehlo(name) => {
                helo = name;
                let offer = channel == Channel::Plain { tls_offered: true };
                say(conn, ehlo_reply(max, offer).as_bytes()).await?;
            }
            Command::Helo(name) => {
                helo = name;
                say(conn, b"250 hikeshi\r\n").await?
            }
            Command::Mail { size, .. } if size.is_some_and(|n| n > max) => {
                say(
                    conn,
                    format!("552 5.3.4 Message larger than {max} bytes\r\n").as_bytes(),
                )
                .await?;
            }
            Command::Mail { path: Some(f), .. } => {
                from = Some(f);
                rcpts.clear();
                say(conn, b"250 2.1.0 OK\r\n").await?;
            }
            Command::Mail { path: None, .. } => {
                say(conn, b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n").await?
            }
            Command::Rcpt { .. } if from.is_none() => {
                say(conn, b"503 5.5.1 MAIL first\r\n").await?;
            }
            Command::Rcpt { path: Some(to) } => {
                if s.intake.is_empty() || s.intake.contains(&to.to_ascii_lowercase()) {
                    if rcpts.len() < 100 {
                        rcpts.push(to);
                    }
                    say(conn, b"250 2.1.5 OK\r\n").await?;
                } else {
                    say(conn, b"550 5.1.1 No such intake address here\r\n").await?
                }
            }
            Command::Rcpt { path: None } => {
                say(conn, b"501 5.5.4 Syntax: RCPT TO:<address>\r\n").await?
            }
            Command::Data if from.is_none() || rcpts.is_empty() => {
                say(conn, b"503 5.5.1 MAIL and RCPT first\r\n").await?;
            }
            Command::Data => {
                let sender = from.take().unwrap_or_default();
                rcpts.clear();
                if !data(s, conn, &sender, &helo).await? {
                    return Ok(Ended::Closed);
                }
            }
            Command::Rset => {
                from = None;
                rcpts.clear();
                say(conn, b"250 2.0.0 OK\r\n").await?;
            }
            Command::Noop => say(conn, b"250 2.0.0 OK\r\n").await?,
            Command::Quit => {
                say(conn, b"221 2.0.0 Bye\r\n").await?;
                return Ok(Ended::Closed);
            }
            Command::StartTls => match channel {
                Channel::Plain { tls_offered: true } => {
                    say(conn, b"220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Ended::StartTls);
                }
                Channel::Plain { tls_offered: false } => {
                    say(conn, b"454 4.7.0 TLS not available\r\n").await?
                }
                Channel::Encrypted => say(conn, b"503 5.5.1 TLS already active\r\n").await?,
            },
            Command::Unknown => say(conn, b"502 5.5.1 Command not implemented\r\n").await?,
        }
    }
}

/// DATA: the message up to the final dot, then its answer. `false` when the stream ended.
async fn data<S: AsyncRead + AsyncWrite + Unpin>(
    s: &Session<'_>,
    conn: &mut BufReader<S>,
    sender: &str,
    helo: &str,
) -> anyhow::Result<bool> {
    let (app, peer) = (s.app, s.peer);
    let max = app.config.mail.max_message_bytes;
    if !s
        .senders
        .may_send(peer.ip(), app.config.mail.messages_per_hour_per_address)
    {
        tracing::warn!(%peer, "SMTP message deferred: this address sent its share this hour");
        say(
            conn,
            b"451 4.7.1 Too many messages from your address; try later\r\n",
        )
        .await?;
        return Ok(true);
    }
    say(conn, b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
    let mut collector = DataCollector::new(max);
    loop {
        match read_line(conn, MAX_DATA_LINE, s.deadline).await {
            Ok(Some(Ok(line))) => {
                if collector.line(&line) == DataLine::End {
                    break;
                }
            }
            Ok(Some(Err(_))) => collector.overlong_line(),
            Ok(None) => return Ok(false),
            Err(e) => {
                let _ = say(conn, b"421 4.4.2 Timeout, closing\r\n").await;
                return Err(e.into());
            }
        }
    }
    let Some(message) = collector.finish() else {
        tracing::warn!(%peer, "SMTP message refused: over the size limit");
        say(
            conn,
            format!("552 5.3.4 Message larger than {max} bytes\r\n").as_bytes(),
        )
        .await?;
        return Ok(true);
    };
    let verdict = match s.checks {
        Some(checks) => Some(checks.check(&message, peer.ip(), helo, sender).await),
        None => None,
    };
    match receive(app, &message, sender, peer, verdict.as_ref()).await {
        Ok(tracking) => {
            say(
                conn,
                format!("250 2.0.0 Accepted as {tracking}\r\n").as_bytes(),
            )
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
            say(conn, format!("554 5.6.0 {reason}\r\n").as_bytes()).await?
        }
    }
    Ok(true)
}
