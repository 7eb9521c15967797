//! Plain syslog lines, as found in /var/log: BSD style (RFC 3164, `Oct 11 22:14:15 host
//! prog[pid]: text`, the priority usually missing in files), the same with an RFC 3339 time
//! (rsyslog's high-precision format), and RFC 5424 (`<PRI>1 TIME HOST APP PROCID MSGID SD MSG`).
//! Each becomes flat fields: `log_format` = `syslog`, `@timestamp` (RFC 3339, UTC), `host`,
//! `program`, `pid`, `message`, and `facility`/`severity` when a priority is present.

use serde_json::{Map, Value};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Splits the first space-separated word off `text`.
fn word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches(' ');
    let end = text.find(' ').unwrap_or(text.len());
    (end > 0).then(|| (&text[..end], text[end..].strip_prefix(' ').unwrap_or("")))
}

/// `<PRI>` at the start, if any: (facility, severity, rest).
fn priority(line: &str) -> (Option<(u32, u32)>, &str) {
    if let Some(rest) = line.strip_prefix('<') {
        if let Some(end) = rest.find('>').filter(|e| *e <= 3) {
            if let Ok(pri) = rest[..end].parse::<u32>() {
                if pri <= 191 {
                    return (Some((pri / 8, pri % 8)), &rest[end + 1..]);
                }
            }
        }
    }
    (None, line)
}

/// `Oct 11 22:14:15` (day space-padded) with the year supplied by the caller.
fn bsd_time(text: &str, year: i32) -> Option<(String, &str)> {
    let month = MONTHS.iter().position(|m| text.starts_with(m))? as u32 + 1;
    let rest = text.get(3..)?.trim_start_matches(' ');
    let (day, rest) = word(rest)?;
    let (clock, rest) = word(rest)?;
    let day: u32 = day.parse().ok()?;
    let time = chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let stamp = date.and_time(time).and_utc();
    Some((
        stamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rest,
    ))
}

fn rfc3339_time(text: &str) -> Option<(String, &str)> {
    let (stamp, rest) = word(text)?;
    let parsed = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
    Some((
        parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        rest,
    ))
}

/// `prog[pid]: text` or `prog: text`.
fn tag(text: &str) -> (Option<&str>, Option<&str>, &str) {
    let Some(colon) = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(|t| t.len()))
    else {
        return (None, None, text);
    };
    let head = &text[..colon];
    if head.is_empty() || head.contains(' ') {
        return (None, None, text);
    }
    let message = text.get(colon + 2..).unwrap_or("");
    match head.find('[') {
        Some(open) if head.ends_with(']') => (
            Some(&head[..open]),
            Some(&head[open + 1..head.len() - 1]),
            message,
        ),
        _ => (Some(head), None, message),
    }
}

/// Parses one line; `None` when it is not syslog. `year` fills in BSD timestamps, which have
/// none (the caller passes the file's modification year).
pub fn parse_syslog_line(line: &str, year: i32) -> Option<Map<String, Value>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (pri, rest) = priority(line);
    let mut fields = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: &str| {
        if !v.is_empty() && v != "-" {
            m.insert(k.to_string(), Value::String(v.to_string()));
        }
    };
    fields.insert("log_format".into(), Value::String("syslog".into()));
    if let Some((facility, severity)) = pri {
        fields.insert("facility".into(), Value::from(facility));
        fields.insert("severity".into(), Value::from(severity));
    }
    // RFC 5424: version 1 right after the priority.
    if let Some(after_version) = rest.strip_prefix("1 ").filter(|_| pri.is_some()) {
        let (stamp, r) = word(after_version)?;
        if stamp != "-" {
            let (t, _) = rfc3339_time(stamp)?;
            put(&mut fields, "@timestamp", &t);
        }
        let (host, r) = word(r)?;
        let (app, r) = word(r)?;
        let (procid, r) = word(r)?;
        let (msgid, r) = word(r)?;
        let message = skip_structured_data(r)?;
        put(&mut fields, "host", host);
        put(&mut fields, "program", app);
        put(&mut fields, "pid", procid);
        put(&mut fields, "msgid", msgid);
        put(
            &mut fields,
            "message",
            message.trim_start_matches('\u{feff}'),
        );
        return Some(fields);
    }
    let (stamp, r) = bsd_time(rest, year).or_else(|| rfc3339_time(rest))?;
    put(&mut fields, "@timestamp", &stamp);
    let (host, r) = word(r)?;
    put(&mut fields, "host", host);
    let (program, pid, message) = tag(r);
    if let Some(p) = program {
        put(&mut fields, "program", p);
    }
    if let Some(p) = pid {
        put(&mut fields, "pid", p);
    }
    fields.insert("message".into(), Value::String(message.to_string()));
    Some(fields)
}

/// Skips RFC 5424 structured data (`-` or one or more `[id k="v"...]`), returning the message.
fn skip_structured_data(text: &str) -> Option<&str> {
    if let Some(rest) = text.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while bytes.get(i) == Some(&b'[') {
        let mut escaped = false;
        let mut in_quotes = false;
        i += 1;
        loop {
            let b = *bytes.get(i)?;
            i += 1;
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
        }
    }
    let rest = &text[i..];
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(m: &Map<String, Value>, k: &str) -> String {
        m.get(k)
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .unwrap_or_default()
    }

    #[test]
    fn bsd_line_from_a_file() {
        let m = parse_syslog_line(
            "Nov  3 04:05:06 web1 sshd[812]: Failed password for root from 192.0.2.4 port 22 ssh2",
            2026,
        )
        .unwrap();
        assert_eq!(s(&m, "@timestamp"), "2026-11-03T04:05:06Z");
        assert_eq!(s(&m, "host"), "web1");
        assert_eq!(s(&m, "program"), "sshd");
        assert_eq!(s(&m, "pid"), "812");
        assert!(s(&m, "message").starts_with("Failed password for root"));
        assert_eq!(s(&m, "log_format"), "syslog");
    }

    #[test]
    fn priority_and_rfc3339_time_and_no_pid() {
        let m = parse_syslog_line(
            "<86>2026-11-26T10:00:00.5+09:00 db2 CRON: (root) CMD (run-parts /etc/cron.hourly)",
            2026,
        )
        .unwrap();
        assert_eq!(s(&m, "@timestamp"), "2026-11-26T01:00:00.500Z");
        assert_eq!(s(&m, "facility"), "10");
        assert_eq!(s(&m, "severity"), "6");
        assert_eq!(s(&m, "program"), "CRON");
        assert_eq!(s(&m, "pid"), "");
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let m = parse_syslog_line(
            r#"<165>1 2026-11-26T22:14:15.003Z host.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\]x"] An application event"#,
            2026,
        )
        .unwrap();
        assert_eq!(s(&m, "host"), "host.example.com");
        assert_eq!(s(&m, "program"), "evntslog");
        assert_eq!(s(&m, "msgid"), "ID47");
        assert_eq!(s(&m, "message"), "An application event");
        assert_eq!(s(&m, "pid"), "");
    }

    #[test]
    fn not_syslog() {
        assert!(parse_syslog_line("{\"a\":1}", 2026).is_none());
        assert!(parse_syslog_line("hello world", 2026).is_none());
        assert!(parse_syslog_line("Foo 99 99:99:99 x y: z", 2026).is_none());
        assert!(parse_syslog_line("", 2026).is_none());
    }
}
