//! NATS JetStream as a source: a durable pull consumer shared by every node that names it, so
//! several `hikeshi worker` processes split one stream and each message is handled once.
//! Messages are acknowledged only after their alerts are committed; a worker that dies leaves
//! its messages unacknowledged and JetStream hands them to another after `ack_wait`. Hits are
//! recorded under the message's stream sequence, so a redelivered message is not counted twice.

use super::engine::{Format, Payload, RawEvent};
use super::metrics::SourceKind;
use super::Live;
use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, AckKind};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct NatsSettings {
    pub url: String,
    pub stream: String,
    pub subject: String,
    pub durable: String,
    pub ack_wait: Duration,
    /// Fetch loops per process (batches in flight).
    pub fetchers: usize,
}

impl NatsSettings {
    pub fn new(url: &str) -> Self {
        NatsSettings {
            url: url.to_string(),
            stream: "HIKESHI_EVENTS".into(),
            subject: "hikeshi.events.>".into(),
            durable: "hikeshi-workers".into(),
            ack_wait: Duration::from_secs(30),
            fetchers: 2,
        }
    }
}

/// Messages fetched per request.
const FETCH_MESSAGES: usize = 1000;
/// Largest message accepted (JetStream's default max payload is 1 MiB).
const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// Connects, makes sure the stream and the durable consumer exist, and starts the fetch loops.
pub async fn start_nats(live: Arc<Live>, s: NatsSettings) -> anyhow::Result<()> {
    let client = async_nats::connect(&s.url)
        .await
        .map_err(|e| anyhow::anyhow!("NATS {}: cannot connect: {e}", s.url))?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: s.stream.clone(),
            subjects: vec![s.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("NATS stream {}: {e}", s.stream))?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &s.durable,
            pull::Config {
                durable_name: Some(s.durable.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: s.ack_wait,
                max_ack_pending: 50_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("NATS consumer {}: {e}", s.durable))?;
    tracing::info!(url = %s.url, stream = %s.stream, consumer = %s.durable, "consuming from NATS JetStream");
    for _ in 0..s.fetchers.max(1) {
        let live = live.clone();
        let consumer = consumer.clone();
        let label = format!("nats:{}", s.stream);
        tokio::spawn(async move {
            loop {
                if let Err(e) = fetch_once(&live, &consumer, &label).await {
                    tracing::warn!(error = %e, "NATS fetch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
    }
    Ok(())
}

async fn fetch_once(
    live: &Live,
    consumer: &jetstream::consumer::PullConsumer,
    label: &str,
) -> anyhow::Result<()> {
    let mut batch = consumer
        .fetch()
        .max_messages(FETCH_MESSAGES)
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut messages = Vec::new();
    while let Some(m) = batch.next().await {
        match m {
            Ok(m) => messages.push(m),
            Err(e) => tracing::warn!(error = %e, "NATS message not received"),
        }
    }
    if messages.is_empty() {
        return Ok(());
    }
    let mut events = Vec::new();
    let mut bytes = 0u64;
    for m in &messages {
        let (stream, seq) = match m.info() {
            Ok(i) => (i.stream.to_string(), i.stream_sequence),
            Err(_) => continue,
        };
        bytes += m.payload.len() as u64;
        if m.payload.len() > MAX_MESSAGE_BYTES {
            live.metrics.received(SourceKind::Nats, 1, 0);
            live.metrics.parsed(SourceKind::Nats, 0, 1);
            tracing::warn!(seq, "NATS message over {MAX_MESSAGE_BYTES} bytes skipped");
            continue;
        }
        // A message may carry one event or several as NDJSON.
        let payload = m.payload.clone();
        let mut start = 0;
        for (n, piece) in payload.split(|b| *b == b'\n').enumerate() {
            let end = start + piece.len();
            if !piece.trim_ascii().is_empty() {
                events.push(RawEvent {
                    id: Some(format!("nats:{stream}:{seq}:{n}")),
                    line: n + 1,
                    payload: Payload::Bytes(payload.slice(start..end)),
                });
            }
            start = end + 1;
        }
    }
    match live
        .process(SourceKind::Nats, label, Format::Sniff, events, bytes)
        .await
    {
        Ok(_) => {
            for m in &messages {
                if let Err(e) = m.ack().await {
                    tracing::warn!(error = %e, "NATS ack failed; the message will come again");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "batch not committed; asking NATS to deliver it again");
            for m in &messages {
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))).await;
            }
        }
    }
    Ok(())
}
