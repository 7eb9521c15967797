//! `hikeshi loadgen`: a load generator for live monitoring. It sends realistic events
//! (about 1 KB Sysmon process-creation JSON over HTTP and NATS, sshd syslog lines over TCP and
//! UDP), one in `--hit-every` of them a known rule hit, and says how many it sent, how many
//! were acknowledged and how many hits they hold. Event N is always the same bytes, so a
//! second run with the same arguments resends exactly the same events.
//! With `--metrics URL` it then waits until the server has processed them and prints the
//! end-to-end rate and the latency from the server's histogram.

use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

pub struct LoadArgs {
    pub events: u64,
    pub start: u64,
    pub hit_every: u64,
    pub batch: usize,
    pub http: Option<String>,
    pub token: Option<String>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_udp: Option<SocketAddr>,
    pub nats: Option<String>,
    pub subject: String,
    /// Send these lines (e.g. OTRF JSON) instead of generated events.
    pub file: Option<PathBuf>,
    pub metrics: Option<String>,
    /// Parallel HTTP requests.
    pub concurrency: usize,
    /// Print the events instead of sending them (sample data, or input for `bench detect`).
    pub print: bool,
}

#[derive(Serialize, Default)]
struct Summary {
    sent: u64,
    hits: u64,
    acknowledged: u64,
    acknowledged_hits: u64,
    failed_batches: u64,
    send_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    processed_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_p50_at_most: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_p99_at_most: Option<f64>,
}

const COMMANDS: [(&str, &str, &str); 5] = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule", "C:\\Windows\\System32\\services.exe"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe --type=renderer --lang=ja --field-trial-handle=1234", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"),
    ("C:\\Windows\\System32\\notepad.exe", "C:\\Windows\\System32\\notepad.exe C:\\Users\\tanaka\\Documents\\memo.txt", "C:\\Windows\\explorer.exe"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE /e", "C:\\Windows\\explorer.exe"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe Install $(Arg0)", "C:\\Windows\\System32\\svchost.exe"),
];

/// Whether event `n` is one of the known hits.
pub fn is_hit(n: u64, every: u64) -> bool {
    every > 0 && n % every == every - 1
}

/// Event `n` as Sysmon process-creation JSON (one line, about 1 KB).
pub fn windows_event(n: u64, every: u64) -> String {
    let (image, cmd, parent) = if is_hit(n, every) {
        (
            "C:\\Windows\\System32\\vssadmin.exe",
            "vssadmin.exe delete shadows /all /quiet",
            "C:\\Windows\\System32\\cmd.exe",
        )
    } else {
        COMMANDS[(n % COMMANDS.len() as u64) as usize]
    };
    let host = n % 50;
    let secs = n % 86_400;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let guid = format!(
        "{:08X}-{:04X}-{:04X}-0000-{:012X}",
        n as u32,
        host,
        n % 65_536,
        n
    );
    let image = image.replace('\\', "\\\\");
    let cmd = cmd.replace('\\', "\\\\");
    let parent = parent.replace('\\', "\\\\");
    format!(
        concat!(
            "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,",
            "\"Provider_Name\":\"Microsoft-Windows-Sysmon\",\"Computer\":\"WS-{host:04}.corp.example.jp\",",
            "\"EventRecordID\":{n},\"TimeCreated\":\"2026-11-27T{h:02}:{m:02}:{s:02}.123Z\",",
            "\"UtcTime\":\"2026-11-27 {h:02}:{m:02}:{s:02}.123\",\"RuleName\":\"-\",",
            "\"ProcessGuid\":\"{{{guid}}}\",\"ProcessId\":{pid},\"Image\":\"{image}\",",
            "\"FileVersion\":\"10.0.19041.1 (WinBuild.160101.0800)\",\"Description\":\"Windows component\",",
            "\"Product\":\"Microsoft Windows Operating System\",\"Company\":\"Microsoft Corporation\",",
            "\"OriginalFileName\":\"component.exe\",\"CommandLine\":\"{cmd}\",",
            "\"CurrentDirectory\":\"C:\\\\Windows\\\\system32\\\\\",\"User\":\"CORP\\\\user{user:03}\",",
            "\"LogonGuid\":\"{{{guid}}}\",\"LogonId\":\"0x3e7\",\"TerminalSessionId\":1,\"IntegrityLevel\":\"Medium\",",
            "\"Hashes\":\"SHA1=5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8,MD5=5F4DCC3B5AA765D61D8327DEB882CF99,SHA256=5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8,IMPHASH=00000000000000000000000000000000\",",
            "\"ParentProcessGuid\":\"{{{guid}}}\",\"ParentProcessId\":{ppid},\"ParentImage\":\"{parent}\",",
            "\"ParentCommandLine\":\"{parent}\",\"ParentUser\":\"CORP\\\\user{user:03}\"}}"
        ),
        host = host,
        n = n,
        h = h,
        m = m,
        s = s,
        guid = guid,
        pid = 1000 + n % 60_000,
        ppid = 900 + n % 50_000,
        image = image,
        cmd = cmd,
        parent = parent,
        user = n % 200,
    )
}

/// Event `n` as an sshd syslog line (RFC 3164).
pub fn syslog_event(n: u64, every: u64) -> String {
    let secs = n % 86_400;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let host = n % 20;
    let text = if is_hit(n, every) {
        format!("error: kex_exchange_identification: Corrupted MAC on input [preauth] seq {n}")
    } else {
        format!(
            "Accepted publickey for deploy from 10.1.{}.{} port {} ssh2: ED25519 SHA256:q3Zt0kVnE8Xb5M1aR7yP2wL9cF4sH6jD0uN8gT1vK3o seq {n}",
            n % 250,
            n % 200 + 1,
            1024 + n % 60_000
        )
    };
    format!(
        "<38>Nov 27 {h:02}:{m:02}:{s:02} web{host:02} sshd[{}]: {text}",
        2000 + n % 30_000
    )
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let lines: Option<Vec<String>> = match &args.file {
        // Real logs are not always UTF-8: such bytes become U+FFFD rather than stop the run.
        Some(p) => Some(
            std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                .split(|b| *b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect(),
        ),
        None => None,
    };
    let count = match &lines {
        Some(l) => args.events.min(l.len() as u64),
        None => args.events,
    };
    let syslog = args.syslog_tcp.is_some() || args.syslog_udp.is_some();
    let event = |n: u64| -> String {
        match &lines {
            Some(l) => l[n as usize].clone(),
            None if syslog => syslog_event(n, args.hit_every),
            None => windows_event(n, args.hit_every),
        }
    };
    let baseline = match &args.metrics {
        Some(url) => Some(metrics_snapshot(url).await?),
        None => None,
    };
    let range = args.start..args.start + count;
    let hits_in = |r: std::ops::Range<u64>| {
        if lines.is_some() {
            0
        } else {
            r.filter(|n| is_hit(*n, args.hit_every)).count() as u64
        }
    };
    let mut summary = Summary {
        sent: count,
        hits: hits_in(range.clone()),
        ..Summary::default()
    };
    let began = Instant::now();
    if args.print {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for n in range {
            writeln!(out, "{}", event(n))?;
        }
        out.flush()?;
        return Ok(());
    }
    if let Some(url) = &args.http {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let token = args.token.clone().unwrap_or_default();
        let endpoint = format!("{}/api/v1/events", url.trim_end_matches('/'));
        let starts: Vec<u64> = range.clone().step_by(args.batch.max(1)).collect();
        let mut pending = futures_util::stream::iter(starts.into_iter().map(|from| {
            let to = (from + args.batch as u64).min(range.end);
            let mut body = String::with_capacity(args.batch * 1100);
            for n in from..to {
                body.push_str(&event(n));
                body.push('\n');
            }
            let request = client
                .post(&endpoint)
                .bearer_auth(&token)
                .header("content-type", "application/x-ndjson")
                .body(body);
            async move {
                let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
                (from, to, ok)
            }
        }))
        .buffer_unordered(args.concurrency.max(1));
        use futures_util::StreamExt;
        while let Some((from, to, ok)) = pending.next().await {
            if ok {
                summary.acknowledged += to - from;
                summary.acknowledged_hits += hits_in(from..to);
            } else {
                summary.failed_batches += 1;
            }
        }
    } else if let Some(addr) = args.syslog_tcp {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, stream);
        for n in range.clone() {
            let line = event(n);
            // Octet counting for every other event: both framings are exercised.
            let framed = if n % 2 == 0 {
                format!("{} {line}", line.len())
            } else {
                format!("{line}\n")
            };
            if out.write_all(framed.as_bytes()).await.is_err() {
                summary.failed_batches += 1;
                break;
            }
        }
        let _ = out.flush().await;
        let _ = out.shutdown().await;
    } else if let Some(addr) = args.syslog_udp {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
        for n in range.clone() {
            socket.send_to(event(n).as_bytes(), addr).await?;
        }
    } else if let Some(url) = &args.nats {
        let client = async_nats::connect(url).await?;
        let js = async_nats::jetstream::new(client);
        let mut acks = Vec::new();
        for n in range.clone() {
            let ack = js
                .publish(args.subject.clone(), event(n).into_bytes().into())
                .await?;
            acks.push((n, ack));
            if acks.len() >= 1000 {
                for (n, a) in acks.drain(..) {
                    match a.await {
                        Ok(_) => {
                            summary.acknowledged += 1;
                            summary.acknowledged_hits += u64::from(is_hit(n, args.hit_every));
                        }
                        Err(_) => summary.failed_batches += 1,
                    }
                }
            }
        }
        for (n, a) in acks {
            match a.await {
                Ok(_) => {
                    summary.acknowledged += 1;
                    summary.acknowledged_hits += u64::from(is_hit(n, args.hit_every));
                }
                Err(_) => summary.failed_batches += 1,
            }
        }
    } else {
        anyhow::bail!("say where to send: --http URL, --syslog-tcp, --syslog-udp or --nats URL");
    }
    summary.send_seconds = began.elapsed().as_secs_f64();
    if let (Some(url), Some(base)) = (&args.metrics, baseline) {
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let now = metrics_snapshot(url).await?;
            if now.processed >= base.processed + count {
                let secs = began.elapsed().as_secs_f64();
                summary.processed_seconds = Some(secs);
                summary.events_per_second = Some(count as f64 / secs);
                let (p50, p99) = now.quantiles_since(&base);
                summary.latency_p50_at_most = p50;
                summary.latency_p99_at_most = p99;
                break;
            }
            if Instant::now() > deadline {
                anyhow::bail!("the server did not process the events within 15 minutes");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", serde_json::to_string(&summary)?)?;
    Ok(())
}

/// What `/metrics` says: events processed (parsed or invalid) and the latency histogram.
struct Snapshot {
    processed: u64,
    buckets: Vec<(f64, u64)>,
}

impl Snapshot {
    /// Upper bounds of the median and the 99th percentile among events since `base`.
    fn quantiles_since(&self, base: &Snapshot) -> (Option<f64>, Option<f64>) {
        let diff: Vec<(f64, u64)> = self
            .buckets
            .iter()
            .map(|(le, c)| {
                let before = base
                    .buckets
                    .iter()
                    .find(|(b, _)| b == le)
                    .map(|(_, c)| *c)
                    .unwrap_or(0);
                (*le, c.saturating_sub(before))
            })
            .collect();
        let total = diff.last().map(|(_, c)| *c).unwrap_or(0);
        let q = |p: f64| {
            let want = (total as f64 * p).ceil() as u64;
            diff.iter()
                .find(|(_, c)| *c >= want && total > 0)
                .map(|(le, _)| *le)
        };
        (q(0.5), q(0.99))
    }
}

async fn metrics_snapshot(url: &str) -> anyhow::Result<Snapshot> {
    let text = reqwest::get(url).await?.text().await?;
    let mut processed = 0;
    let mut buckets = Vec::new();
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if name.starts_with("hikeshi_events_parsed_total")
            || name.starts_with("hikeshi_events_invalid_total")
        {
            processed += value.parse::<u64>().unwrap_or(0);
        }
        if let Some(rest) = name.strip_prefix("hikeshi_pipeline_latency_seconds_bucket{le=\"") {
            let le = rest.trim_end_matches("\"}");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::INFINITY)
            };
            buckets.push((le, value.parse().unwrap_or(0)));
        }
    }
    Ok(Snapshot { processed, buckets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_parse_and_hits_are_where_said() {
        for n in 0..200 {
            let e = windows_event(n, 100);
            let v: serde_json::Value = serde_json::from_str(&e).expect("valid JSON");
            let cmd = v["CommandLine"].as_str().unwrap_or_default();
            assert_eq!(cmd.contains("delete shadows"), is_hit(n, 100), "{cmd}");
            assert!((700..1400).contains(&e.len()), "about 1 KB: {}", e.len());
            assert_eq!(
                syslog_event(n, 100).contains("Corrupted MAC"),
                is_hit(n, 100)
            );
        }
    }
}

/// `hikeshi loadgen`'s flags.
#[derive(clap::Args)]
pub struct LoadgenArgs {
    /// How many events.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Number of the first event (events are numbered; event N is always the same bytes).
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// One event in this many is a known rule hit.
    #[arg(long, default_value_t = 100)]
    pub hit_every: u64,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// hikeshi's base URL, to POST NDJSON to /api/v1/events.
    #[arg(long)]
    pub http: Option<String>,
    /// API token for --http.
    #[arg(long, env = "HIKESHI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long)]
    pub syslog_tcp: Option<SocketAddr>,
    #[arg(long)]
    pub syslog_udp: Option<SocketAddr>,
    /// NATS URL: publish to JetStream.
    #[arg(long)]
    pub nats: Option<String>,
    #[arg(long, default_value = "hikeshi.events.load")]
    pub subject: String,
    /// Send this file's lines instead of generated events.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// After sending, wait until this /metrics URL shows the events processed; report the rate and latency.
    #[arg(long)]
    pub metrics: Option<String>,
    /// Parallel HTTP requests.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Print the events (Windows JSON, or syslog with --syslog-format) instead of sending them.
    #[arg(long)]
    pub print: bool,
    /// With --print: syslog lines instead of Windows JSON.
    #[arg(long)]
    pub syslog_format: bool,
}

/// `hikeshi loadgen`: `--syslog-format` only chooses the generator; nothing is sent with
/// `--print`.
pub async fn run_verb(a: LoadgenArgs) -> anyhow::Result<()> {
    let syslog_udp = a.syslog_udp.or(a
        .syslog_format
        .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))));
    run(LoadArgs {
        events: a.events,
        start: a.start,
        hit_every: a.hit_every,
        batch: a.batch,
        http: a.http,
        token: a.token,
        syslog_tcp: a.syslog_tcp,
        syslog_udp,
        nats: a.nats,
        subject: a.subject,
        file: a.file,
        metrics: a.metrics,
        concurrency: a.concurrency,
        print: a.print,
    })
    .await
}
