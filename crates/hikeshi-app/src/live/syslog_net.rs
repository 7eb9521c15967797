//! Syslog over the network: UDP datagrams and TCP streams (RFC 6587: newline framing and
//! octet counting, chosen per message), plain or over TLS (RFC 5425, which uses octet
//! counting; newline framing is accepted too, as rsyslog may send it), RFC 3164 and RFC 5424
//! lines. TCP waits when the pipeline queue is full, so senders slow down; UDP cannot wait and
//! counts the drop.

use super::connections::{Connections, Slot};
use super::engine::{Format, Payload, RawEvent};
use super::metrics::SourceKind;
use super::Live;
use bytes::{Buf, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::TlsAcceptor;

/// The longest syslog message accepted; longer ones are counted invalid and skipped.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Events per batch handed to the pipeline.
const BATCH_EVENTS: usize = 1000;
/// A batch is handed on at the latest this long after its first event arrived.
const BATCH_DELAY: Duration = Duration::from_millis(100);

/// Binds a UDP socket and reads datagrams (one message each) until the process ends.
pub async fn start_udp(live: Arc<Live>, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let socket = UdpSocket::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("syslog UDP: cannot listen on {addr}: {e}"))?;
    let local = socket.local_addr()?;
    tracing::info!(%local, "syslog UDP listening");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut pending = Vec::new();
        let mut bytes = 0u64;
        let mut first = Instant::now();
        loop {
            let wait = if pending.is_empty() {
                Duration::from_secs(3600)
            } else {
                BATCH_DELAY.saturating_sub(first.elapsed())
            };
            match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, _peer))) => {
                    if pending.is_empty() {
                        first = Instant::now();
                    }
                    bytes += n as u64;
                    pending.push(RawEvent {
                        id: None,
                        line: 0,
                        payload: Payload::Bytes(bytes::Bytes::copy_from_slice(&buf[..n])),
                    });
                    if pending.len() < BATCH_EVENTS {
                        continue;
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "syslog UDP receive failed");
                    continue;
                }
                Err(_) => {}
            }
            if !pending.is_empty() {
                let events = std::mem::take(&mut pending);
                live.try_submit(
                    SourceKind::SyslogUdp,
                    "syslog_udp",
                    Format::Syslog,
                    events,
                    first,
                    bytes,
                );
                bytes = 0;
            }
        }
    });
    Ok(local)
}

/// Binds a TCP listener and serves syslog senders until the process ends.
pub async fn start_tcp(live: Arc<Live>, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    start_stream(live, addr, None).await
}

/// Binds a TCP listener for syslog over TLS (RFC 5425; port 6514 by convention) with the
/// server's certificate.
pub async fn start_tls(
    live: Arc<Live>,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
) -> anyhow::Result<SocketAddr> {
    start_stream(live, addr, Some(acceptor)).await
}

async fn start_stream(
    live: Arc<Live>,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
) -> anyhow::Result<SocketAddr> {
    let name = if tls.is_some() { "TLS" } else { "TCP" };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("syslog {name}: cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "syslog {name} listening");
    // Each listener has its own connection table with the same limits.
    let table = Connections::new(live.settings.syslog_tcp);
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let slot = match table.admit(peer.ip()) {
                Ok(slot) => slot,
                Err(refused) => {
                    tracing::warn!(%peer, ?refused, "syslog TCP: connection refused");
                    continue;
                }
            };
            let live = live.clone();
            let idle = table.limits().idle;
            let tls = tls.clone();
            tokio::spawn(async move {
                let evicted = slot.evicted.clone();
                let serving = async {
                    match tls {
                        None => serve_tcp(&live, stream, peer, &slot, idle, "syslog_tcp").await,
                        Some(acceptor) => {
                            let stream = tokio::time::timeout(
                                crate::tls::HANDSHAKE_DEADLINE,
                                acceptor.accept(stream),
                            )
                            .await
                            .map_err(|_| {
                                std::io::Error::new(
                                    std::io::ErrorKind::TimedOut,
                                    "TLS handshake timed out",
                                )
                            })??;
                            serve_tcp(&live, stream, peer, &slot, idle, "syslog_tls").await
                        }
                    }
                };
                tokio::select! {
                    ended = serving => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, error = %e, "syslog TCP connection ended");
                        }
                    }
                    _ = evicted.notified() => {
                        tracing::debug!(%peer, "syslog TCP connection closed for a newer sender");
                    }
                }
                drop(slot);
            });
        }
    });
    Ok(local)
}

/// What the framing found at the front of the buffer.
enum Frame {
    Message(bytes::Bytes),
    /// A message over the limit: skip this many more bytes (or to the next newline when
    /// `None`) and count it invalid.
    TooLong(Option<usize>),
    Incomplete,
}

/// Takes one message off the front of `buf` if a whole one is there.
fn next_frame(buf: &mut BytesMut) -> Frame {
    // Octet counting: `LEN SP MSG`, LEN without a leading zero.
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && buf[0] != b'0' && digits < buf.len() && buf[digits] == b' ' {
        let len: usize = std::str::from_utf8(&buf[..digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        if len > MAX_MESSAGE {
            buf.advance(digits + 1);
            let have = buf.len().min(len);
            buf.advance(have);
            return Frame::TooLong(Some(len - have));
        }
        if buf.len() < digits + 1 + len {
            return Frame::Incomplete;
        }
        buf.advance(digits + 1);
        return Frame::Message(buf.split_to(len).freeze());
    }
    match memchr_newline(buf) {
        Some(end) => {
            let line = buf.split_to(end + 1).freeze();
            Frame::Message(line.slice(..end))
        }
        None if buf.len() > MAX_MESSAGE => {
            buf.clear();
            Frame::TooLong(None)
        }
        None => Frame::Incomplete,
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|b| *b == b'\n')
}

async fn serve_tcp<S: AsyncRead + Unpin>(
    live: &Live,
    mut stream: S,
    peer: SocketAddr,
    slot: &Slot,
    idle: Duration,
    source: &str,
) -> std::io::Result<()> {
    let label = format!("{source}:{}", peer.ip());
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut pending: Vec<RawEvent> = Vec::new();
    let mut bytes = 0u64;
    let mut first = Instant::now();
    // Bytes still to throw away from an oversized message: a count, or up to a newline.
    let mut skipping: Option<Option<usize>> = None;
    let mut invalid = 0u64;
    let mut last_byte = Instant::now();
    loop {
        let wait = if pending.is_empty() {
            idle.saturating_sub(last_byte.elapsed())
        } else {
            BATCH_DELAY.saturating_sub(first.elapsed())
        };
        let read = tokio::time::timeout(wait, stream.read_buf(&mut buf)).await;
        let timed_out_idle = read.is_err() && pending.is_empty() && last_byte.elapsed() >= idle;
        if timed_out_idle {
            tracing::debug!(%peer, "syslog TCP: idle connection closed");
        }
        let closed = timed_out_idle || matches!(read, Ok(Ok(0)) | Ok(Err(_)));
        if let Ok(Ok(n)) = read {
            bytes += n as u64;
            last_byte = Instant::now();
            slot.touch();
        }
        loop {
            match skipping {
                Some(Some(left)) => {
                    let n = left.min(buf.len());
                    buf.advance(n);
                    skipping = (left > n).then_some(Some(left - n));
                    if skipping.is_some() {
                        break;
                    }
                    continue;
                }
                Some(None) => match memchr_newline(&buf) {
                    Some(end) => {
                        buf.advance(end + 1);
                        skipping = None;
                        continue;
                    }
                    None => {
                        buf.clear();
                        break;
                    }
                },
                None => {}
            }
            match next_frame(&mut buf) {
                Frame::Message(m) => {
                    if m.trim_ascii().is_empty() {
                        continue;
                    }
                    if pending.is_empty() {
                        first = Instant::now();
                    }
                    pending.push(RawEvent {
                        id: None,
                        line: 0,
                        payload: Payload::Bytes(m),
                    });
                    if pending.len() >= BATCH_EVENTS {
                        let events = std::mem::take(&mut pending);
                        live.submit(
                            SourceKind::SyslogTcp,
                            &label,
                            Format::Syslog,
                            events,
                            first,
                            bytes,
                        )
                        .await;
                        bytes = 0;
                    }
                }
                Frame::TooLong(skip) => {
                    invalid += 1;
                    tracing::warn!(%peer, "syslog TCP: message over {MAX_MESSAGE} bytes skipped");
                    skipping = match skip {
                        Some(0) => None,
                        other => Some(other),
                    };
                }
                Frame::Incomplete => break,
            }
        }
        if invalid > 0 {
            live.metrics.received(SourceKind::SyslogTcp, invalid, 0);
            live.metrics.parsed(SourceKind::SyslogTcp, 0, invalid);
            invalid = 0;
        }
        let due = !pending.is_empty() && (closed || first.elapsed() >= BATCH_DELAY);
        if due {
            let events = std::mem::take(&mut pending);
            live.submit(
                SourceKind::SyslogTcp,
                &label,
                Format::Syslog,
                events,
                first,
                bytes,
            )
            .await;
            bytes = 0;
        }
        if closed {
            // A last message without its newline still counts.
            if !buf.trim_ascii().is_empty() && skipping.is_none() {
                let events = vec![RawEvent {
                    id: None,
                    line: 0,
                    payload: Payload::Bytes(buf.split().freeze()),
                }];
                live.submit(
                    SourceKind::SyslogTcp,
                    &label,
                    Format::Syslog,
                    events,
                    Instant::now(),
                    0,
                )
                .await;
            }
            return match read {
                Ok(Err(e)) => Err(e),
                _ => Ok(()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match next_frame(&mut buf) {
                Frame::Message(m) => out.push(String::from_utf8_lossy(&m).into_owned()),
                Frame::TooLong(_) => out.push("<too long>".into()),
                Frame::Incomplete => break,
            }
        }
        out
    }

    #[test]
    fn newline_and_octet_counting_mix() {
        assert_eq!(
            frames(b"<13>a line\n11 <13>counted<14>next\n"),
            vec!["<13>a line", "<13>counted", "<14>next"]
        );
    }

    #[test]
    fn incomplete_counted_frame_waits() {
        assert!(frames(b"20 <13>short").is_empty());
    }

    #[test]
    fn oversized_counted_frame_is_refused() {
        let input = format!("{} <13>x", MAX_MESSAGE + 1);
        assert_eq!(frames(input.as_bytes()), vec!["<too long>"]);
    }
}
