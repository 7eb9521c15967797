//! The SMTP conversation without the network (RFC 5321, RFC 3207 for STARTTLS): command lines
//! become [`Command`]s, and DATA lines are collected by [`DataCollector`]. The listener in
//! `smtp` does the reading, the writing and the limits in time; everything here is pure, so it
//! is fuzzed on its own.

/// One command line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO name`: the name is what SPF checks for the HELO identity.
    Ehlo(String),
    Helo(String),
    /// `MAIL FROM:<path>`, with the size the client announced (`SIZE=`), if any.
    Mail {
        path: Option<String>,
        size: Option<u64>,
    },
    /// `RCPT TO:<path>`.
    Rcpt {
        path: Option<String>,
    },
    Data,
    Rset,
    Noop,
    Quit,
    StartTls,
    /// Anything else; answered 502.
    Unknown,
}

/// The client's name from EHLO/HELO: one word, at most 255 characters.
fn helo_name(arg: &str) -> String {
    arg.split_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .take(255)
        .collect()
}

impl Command {
    /// Reads one command line (its CRLF may still be on it). Invalid UTF-8 is replaced, never
    /// refused: the verb is ASCII, and paths with broken bytes are then simply not addresses.
    pub fn parse(line: &[u8]) -> Command {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']).trim_end();
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => Command::Ehlo(helo_name(arg)),
            "HELO" => Command::Helo(helo_name(arg)),
            "MAIL" => Command::Mail {
                path: path_of(arg),
                size: declared_size(arg),
            },
            "RCPT" => Command::Rcpt { path: path_of(arg) },
            "DATA" => Command::Data,
            "RSET" => Command::Rset,
            "NOOP" => Command::Noop,
            "QUIT" => Command::Quit,
            "STARTTLS" => Command::StartTls,
            _ => Command::Unknown,
        }
    }
}

/// The address inside `FROM:<a@b> SIZE=..` or `TO:<a@b>`.
fn path_of(arg: &str) -> Option<String> {
    let start = arg.find('<')?;
    let end = arg[start..].find('>')? + start;
    Some(arg[start + 1..end].trim().to_string())
}

/// `SIZE=n` among the MAIL parameters (RFC 1870).
fn declared_size(arg: &str) -> Option<u64> {
    arg.split_whitespace().find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.eq_ignore_ascii_case("SIZE")
            .then(|| value.parse::<u64>().ok())
            .flatten()
    })
}

/// The EHLO answer: what this listener offers. STARTTLS only when a certificate is configured
/// and the session is not already encrypted.
pub fn ehlo_reply(max_message_bytes: u64, offer_starttls: bool) -> String {
    let mut reply = format!("250-hikeshi\r\n250-SIZE {max_message_bytes}\r\n250-8BITMIME\r\n");
    if offer_starttls {
        reply.push_str("250-STARTTLS\r\n");
    }
    reply.push_str("250 SMTPUTF8\r\n");
    reply
}

/// What a DATA line meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLine {
    /// More of the message.
    More,
    /// The end of the data: `CRLF . CRLF`.
    End,
}

/// Collects the message between `354` and the final dot, undoing dot-stuffing and counting
/// the size. Only CRLF . CRLF ends the data (RFC 5321 4.1.1.4): a bare LF before or after the
/// dot is data, so no second message can be smuggled past a relay that reads the end
/// differently.
#[derive(Debug)]
pub struct DataCollector {
    max: u64,
    message: Vec<u8>,
    too_big: bool,
    after_crlf: bool,
}

impl DataCollector {
    pub fn new(max: u64) -> DataCollector {
        DataCollector {
            max,
            message: Vec::new(),
            too_big: false,
            after_crlf: true,
        }
    }

    /// One line as read, with its line ending.
    pub fn line(&mut self, line: &[u8]) -> DataLine {
        if self.after_crlf && line == b".\r\n" {
            return DataLine::End;
        }
        self.after_crlf = line.ends_with(b"\r\n");
        // Dot-stuffing: the sender doubled a leading dot; drop one.
        let content = line.strip_prefix(b".").unwrap_or(line);
        if self.message.len() as u64 + content.len() as u64 > self.max {
            self.too_big = true;
        } else {
            self.message.extend_from_slice(content);
        }
        DataLine::More
    }

    /// A line longer than the reader keeps: the message is refused at the end, and the next
    /// line does not follow a CRLF.
    pub fn overlong_line(&mut self) {
        self.too_big = true;
        self.after_crlf = false;
    }

    /// The message, or `None` when it went over the size limit.
    pub fn finish(self) -> Option<Vec<u8>> {
        (!self.too_big).then_some(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_case_blind_with_their_paths_and_size() {
        assert_eq!(
            Command::parse(b"mail FROM:<a@example.jp> size=1200\r\n"),
            Command::Mail {
                path: Some("a@example.jp".into()),
                size: Some(1200)
            }
        );
        assert_eq!(
            Command::parse(b"RCPT TO:csirt@example.jp\r\n"),
            Command::Rcpt { path: None }
        );
        assert_eq!(Command::parse(b"StartTLS\r\n"), Command::StartTls);
        assert_eq!(Command::parse(b"\xff\xfe\r\n"), Command::Unknown);
    }

    #[test]
    fn only_crlf_dot_crlf_ends_the_data_and_stuffed_dots_are_undone() {
        let mut data = DataCollector::new(1000);
        for line in [&b"a\n"[..], b".\r\n", b"..b\r\n"] {
            assert_eq!(data.line(line), DataLine::More);
        }
        assert_eq!(data.line(b".\r\n"), DataLine::End);
        assert_eq!(data.finish().as_deref(), Some(&b"a\n\r\n.b\r\n"[..]));
    }

    #[test]
    fn a_message_over_the_limit_is_refused_at_the_end() {
        let mut data = DataCollector::new(4);
        data.line(b"12345\r\n");
        assert_eq!(data.line(b".\r\n"), DataLine::End);
        assert_eq!(data.finish(), None);
    }
}
