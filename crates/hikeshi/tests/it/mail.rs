//! E-mail intake and outgoing mail through real SMTP exchanges: messages are sent over a socket
//! to hikeshi's listener, and its acknowledgements arrive at a small SMTP sink run by the test.

use crate::common::{temp_dir, Db, TestServer};
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A mail server that accepts everything and keeps each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("sink");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 sink\r\n").await;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") {
                        let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await;
                    } else if upper.starts_with("DATA") {
                        let _ = w.write_all(b"354 go\r\n").await;
                        let mut data = Vec::new();
                        loop {
                            let mut l = Vec::new();
                            if r.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == b".\r\n" {
                                break;
                            }
                            data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
                        }
                        store.lock().expect("sink").push(data);
                        let _ = w.write_all(b"250 kept\r\n").await;
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        let _ = w.write_all(b"250 ok\r\n").await;
                    }
                }
            });
        }
    });
    (port, got)
}

/// A minimal SMTP client: returns the reply codes of every step, the last one DATA's.
pub(crate) async fn send_mail(
    port: u16,
    from: &str,
    to: &str,
    message: &[u8],
    declared_size: Option<usize>,
) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut replies = Vec::new();
    async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }
    replies.push(reply(&mut r).await);
    w.write_all(b"EHLO test.example\r\n").await.expect("ehlo");
    replies.push(reply(&mut r).await);
    let size = declared_size
        .map(|n| format!(" SIZE={n}"))
        .unwrap_or_default();
    w.write_all(format!("MAIL FROM:<{from}>{size}\r\n").as_bytes())
        .await
        .expect("mail");
    let mail_reply = reply(&mut r).await;
    let mail_ok = mail_reply.starts_with("250");
    replies.push(mail_reply);
    if mail_ok {
        w.write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .await
            .expect("rcpt");
        let rcpt = reply(&mut r).await;
        let rcpt_ok = rcpt.starts_with("250");
        replies.push(rcpt);
        if rcpt_ok {
            w.write_all(b"DATA\r\n").await.expect("data");
            replies.push(reply(&mut r).await);
            for line in message.split_inclusive(|b| *b == b'\n') {
                if line.starts_with(b".") {
                    w.write_all(b".").await.expect("stuff");
                }
                w.write_all(line).await.expect("line");
            }
            w.write_all(b".\r\n").await.expect("end");
            replies.push(reply(&mut r).await);
        }
    }
    w.write_all(b"QUIT\r\n").await.expect("quit");
    replies
}

/// "テスト報告" in ISO-2022-JP: JIS X 0208 between ESC $ B and ESC ( B.
const TEST_REPORT_JIS: &[u8] = b"\x1b$B%F%9%HJs9p\x1b(B";

fn iso2022jp_message() -> Vec<u8> {
    let subject = base64::engine::general_purpose::STANDARD.encode(TEST_REPORT_JIS);
    let mut m = Vec::new();
    m.extend_from_slice(b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n");
    m.extend_from_slice(b"To: csirt@example.jp\r\n");
    m.extend_from_slice(format!("Subject: =?ISO-2022-JP?B?{subject}?=\r\n").as_bytes());
    m.extend_from_slice(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
    m.extend_from_slice(TEST_REPORT_JIS);
    m.extend_from_slice(b" 198.51.100.99\r\n");
    m
}

fn multipart_message(attachment: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(attachment);
    format!(
        "From: Reporter <reporter@example.org>\r\nTo: csirt@example.jp\r\nSubject: Malware sample attached\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Please look at the attached file; it came from http://malware.example/dl.\r\n\
         .a line that starts with a dot\r\n--b1\r\nContent-Type: application/octet-stream; name=\"../../etc/passwd\"\r\n\
         Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b1--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn mail_in_and_acknowledgements_out() {
    let (sink_port, sink) = smtp_sink().await;
    let smtp_port = crate::common::free_port();
    let dir = temp_dir("mail-config");
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "smtp_listen = \"127.0.0.1:{smtp_port}\"\n[mail]\nsender_checks = false\nrelay = \"127.0.0.1:{sink_port}\"\nfrom = \"csirt@example.jp\"\nintake_addresses = [\"CSIRT@example.jp\"]\nmax_message_bytes = 200000\n"
        ),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "mail",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("lead", "manager");
    let token = s.token("lead");

    // ISO-2022-JP subject, sender name and body.
    let replies = send_mail(
        smtp_port,
        "yamada@example.jp",
        "csirt@example.jp",
        &iso2022jp_message(),
        None,
    )
    .await;
    let last = replies.last().cloned().unwrap_or_default();
    assert!(last.starts_with("250 2.0.0 Accepted as HK-"), "{replies:?}");
    let t1 = last
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let (_, v1) = s
        .json(Method::GET, &format!("/api/v1/reports/{t1}"), &token, None)
        .await;
    assert_eq!(v1["report"]["source"], "email");
    assert_eq!(v1["report"]["subject"], "テスト報告");
    assert!(
        v1["report"]["body"]
            .as_str()
            .unwrap_or("")
            .contains("テスト報告"),
        "{v1}"
    );
    assert_eq!(v1["report"]["reporter_name"], "山田");
    assert_eq!(v1["report"]["lang"], "ja");
    assert!(v1["observables"].to_string().contains("198.51.100.99"));
    let eml = &v1["attachments"][0];
    assert_eq!(eml["file_name"], "message.eml");
    assert_eq!(
        eml["sha256"],
        hex::encode(Sha256::digest(iso2022jp_message()))
    );

    // Multipart with an attachment named like a path, and a dot-stuffed line.
    let sample = b"MZ\x90\x00 not really malware".to_vec();
    let message = multipart_message(&sample);
    let replies = send_mail(
        smtp_port,
        "reporter@example.org",
        "csirt@example.jp",
        &message,
        None,
    )
    .await;
    let last = replies.last().cloned().unwrap_or_default();
    assert!(last.starts_with("250"), "{replies:?}");
    let t2 = last
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let (_, v2) = s
        .json(Method::GET, &format!("/api/v1/reports/{t2}"), &token, None)
        .await;
    assert_eq!(v2["report"]["lang"], "en");
    assert!(
        v2["report"]["body"]
            .as_str()
            .unwrap_or("")
            .contains(".a line that starts with a dot"),
        "{v2}"
    );
    let files: Vec<(String, String)> = v2["attachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["file_name"].as_str().unwrap_or("").to_string(),
                        f["sha256"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        files.contains(&(
            "message.eml".to_string(),
            hex::encode(Sha256::digest(&message))
        )),
        "{files:?}"
    );
    assert!(
        files.contains(&("passwd".to_string(), hex::encode(Sha256::digest(&sample)))),
        "{files:?}"
    );

    // A reply quoting the tracking number joins the report instead of opening another.
    let reply = format!("From: reporter@example.org\r\nTo: csirt@example.jp\r\nSubject: Re: [{t2}] Report received\r\n\r\nOne more detail: it ran at 03:12.\r\n");
    let replies = send_mail(
        smtp_port,
        "reporter@example.org",
        "csirt@example.jp",
        reply.as_bytes(),
        None,
    )
    .await;
    assert!(
        replies.last().is_some_and(|r| r.contains(&t2)),
        "{replies:?}"
    );
    let (_, v2) = s
        .json(Method::GET, &format!("/api/v1/reports/{t2}"), &token, None)
        .await;
    assert_eq!(v2["messages"].as_array().map(|m| m.len()), Some(1), "{v2}");
    assert!(v2["messages"][0]["body"]
        .as_str()
        .unwrap_or("")
        .contains("03:12"));
    let (_, all) = s
        .json(Method::GET, "/api/v1/reports?status=new", &token, None)
        .await;
    assert_eq!(all.as_array().map(|a| a.len()), Some(2), "no third report");

    // A body in a charset nobody knows is still kept, not lost.
    let odd = b"From: odd@example.org\r\nTo: csirt@example.jp\r\nSubject: charset test\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\nplain words \xfe\xff survive\r\n";
    let replies = send_mail(smtp_port, "odd@example.org", "csirt@example.jp", odd, None).await;
    let last = replies.last().cloned().unwrap_or_default();
    assert!(last.starts_with("250"), "{replies:?}");
    let t3 = last
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let (_, v3) = s
        .json(Method::GET, &format!("/api/v1/reports/{t3}"), &token, None)
        .await;
    let body = v3["report"]["body"].as_str().unwrap_or("");
    assert!(
        body.contains("plain words") && body.contains("survive"),
        "{v3}"
    );
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{t3}/spam"),
            &token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // Refusals: an unknown recipient, a declared size and an actual size over the limit.
    let replies = send_mail(
        smtp_port,
        "x@example.org",
        "someone@example.jp",
        b"Subject: x\r\n\r\nx\r\n",
        None,
    )
    .await;
    assert!(replies[3].starts_with("550"), "{replies:?}");
    let replies = send_mail(
        smtp_port,
        "x@example.org",
        "csirt@example.jp",
        b"Subject: x\r\n\r\nx\r\n",
        Some(50_000_000),
    )
    .await;
    assert!(replies[2].starts_with("552"), "{replies:?}");
    let mut huge = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..5_000 {
        huge.extend_from_slice(&[b'a'; 78]);
        huge.extend_from_slice(b"\r\n");
    }
    let replies = send_mail(smtp_port, "x@example.org", "csirt@example.jp", &huge, None).await;
    assert!(
        replies.last().is_some_and(|r| r.starts_with("552")),
        "{replies:?}"
    );

    // Acknowledgements reach the sink, in the reporter's language first, with the number.
    let mut acks = Vec::new();
    for _ in 0..100 {
        acks = sink.lock().expect("sink").clone();
        if acks.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The spam report was acknowledged too (it arrived as a report before it was judged).
    assert_eq!(acks.len(), 3, "one acknowledgement per new report");
    let parsed: Vec<(String, String, String)> = acks
        .iter()
        .filter_map(|raw| {
            let m = mail_parser::MessageParser::default().parse(raw)?;
            let to = m.to()?.first()?.address()?.to_string();
            Some((to, m.subject()?.to_string(), m.body_text(0)?.into_owned()))
        })
        .collect();
    let ja = parsed
        .iter()
        .find(|(to, ..)| to == "yamada@example.jp")
        .expect("ack to yamada");
    assert!(
        ja.1.contains(&t1) && ja.1.contains("受付のお知らせ"),
        "{ja:?}"
    );
    assert!(ja.2.starts_with("CSIRT です。"), "Japanese first: {}", ja.2);
    assert!(ja.2.contains(&t1) && ja.2.contains("Tracking number"));
    let en = parsed
        .iter()
        .find(|(to, ..)| to == "reporter@example.org")
        .expect("ack to reporter");
    assert!(
        en.2.starts_with("This is CSIRT."),
        "English first: {}",
        en.2
    );

    // The queue shows both as sent.
    let (st, queue) = s.json(Method::GET, "/api/v1/mail", &token, None).await;
    assert_eq!(st, StatusCode::OK);
    let statuses: Vec<&str> = queue
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, vec!["sent", "sent", "sent"], "{queue}");

    // Rejecting the English report tells its reporter why.
    let (st, _) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{t2}/reject"),
            &token,
            Some(serde_json::json!({"reason": "The sample is a known test file (EICAR)."})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut all = Vec::new();
    for _ in 0..100 {
        all = sink.lock().expect("sink").clone();
        if all.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let notice = all
        .get(3)
        .and_then(|raw| mail_parser::MessageParser::default().parse(raw))
        .expect("rejection notice");
    assert_eq!(
        notice
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address()),
        Some("reporter@example.org")
    );
    let body = notice.body_text(0).unwrap_or_default();
    assert!(
        body.starts_with("This is CSIRT. About your report"),
        "{body}"
    );
    assert!(
        body.contains("known test file (EICAR)") && body.contains("対応しないと判断"),
        "{body}"
    );
}

#[tokio::test]
async fn maildir_messages_become_reports() {
    let dir = temp_dir("maildir");
    let maildir = dir.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    std::fs::write(
        maildir.join("new").join("1700000000.1.host"),
        iso2022jp_message(),
    )
    .expect("msg");
    std::fs::write(maildir.join("new").join("1700000001.2.host"), b"").expect("empty msg");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!("[mail]\nmaildir = \"{}\"\n", maildir.display()),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "maildir",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("lead", "manager");
    let token = s.token("lead");
    let mut reports = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, list) = s.json(Method::GET, "/api/v1/reports", &token, None).await;
        if list.as_array().is_some_and(|a| !a.is_empty()) {
            reports = list;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reports[0]["subject"], "テスト報告", "{reports}");
    assert_eq!(reports[0]["source"], "email");
    // Moved out of new/: the good one marked seen, the empty one kept and marked trashed.
    for _ in 0..50 {
        if std::fs::read_dir(maildir.join("new"))
            .map(|d| d.count())
            .unwrap_or(1)
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut cur: Vec<String> = std::fs::read_dir(maildir.join("cur"))
        .expect("cur")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cur.sort();
    assert_eq!(
        cur,
        vec![
            "1700000000.1.host:2,S".to_string(),
            "1700000001.2.host:2,T".to_string()
        ]
    );
}

fn plain_message(from: &str, subject: &str, text: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: csirt@example.jp\r\nSubject: {subject}\r\n\r\n{text}\r\n")
        .into_bytes()
}

/// Sends a message to the intake and returns the tracking number it was accepted as.
pub(crate) async fn accepted(smtp: u16, from: &str, raw: &[u8]) -> String {
    let replies = send_mail(smtp, from, "csirt@example.jp", raw, None).await;
    let last = replies.last().cloned().unwrap_or_default();
    assert!(last.starts_with("250 2.0.0 Accepted as HK-"), "{replies:?}");
    last.trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Issue 19, the intake loses nothing: a From that is no address is kept (unverified, not
/// answered) instead of refused; follow-ups sent before a case exists come into the case when
/// it is opened, and later ones too, each with its .eml as evidence; sent mail carries
/// Message-ID, Date and MIME-Version.
#[tokio::test]
async fn follow_ups_and_odd_senders_lose_nothing() {
    let (sink_port, sink) = smtp_sink().await;
    let smtp = crate::common::free_port();
    let dir = temp_dir("mail-follow-ups");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!("smtp_listen = \"127.0.0.1:{smtp}\"\n[mail]\nsender_checks = false\nrelay = \"127.0.0.1:{sink_port}\"\nfrom = \"csirt@example.jp\"\n"),
    )
    .expect("config");
    let s = TestServer::start(
        Db::Sqlite,
        "mail-follow-ups",
        &["--config", &config.display().to_string()],
    )
    .await;
    s.add_user("lead", "manager");
    let token = s.token("lead");

    // cron's mail: `root@vm` is no address; kept, marked, not answered.
    let cron = accepted(
        smtp,
        "root@vm",
        &plain_message("root@vm", "disk alert", "/var is 99% full"),
    )
    .await;
    let (_, v) = s
        .json(
            Method::GET,
            &format!("/api/v1/reports/{cron}"),
            &token,
            None,
        )
        .await;
    let body = v["report"]["body"].as_str().unwrap_or("");
    assert!(
        body.contains("/var is 99% full") && body.contains("unverified"),
        "{body}"
    );
    assert_eq!(v["report"]["reporter_contact"], "");

    // A report, a follow-up before any case, the case, and a follow-up after.
    let tracking = accepted(
        smtp,
        "hana@example.jp",
        &plain_message("hana@example.jp", "phishing", "a fake login page"),
    )
    .await;
    let early = plain_message(
        "hana@example.jp",
        &format!("Re: {tracking}"),
        "it also asked for my card number",
    );
    assert_eq!(accepted(smtp, "hana@example.jp", &early).await, tracking);
    let (st, case) = s
        .json(
            Method::POST,
            &format!("/api/v1/reports/{tracking}/case"),
            &token,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{case}");
    let number = case["number"].as_str().unwrap_or_default().to_string();
    let late = plain_message(
        "hana@example.jp",
        &format!("Re: {tracking}"),
        "the page is gone now",
    );
    assert_eq!(accepted(smtp, "hana@example.jp", &late).await, tracking);
    let (_, detail) = s
        .json(
            Method::GET,
            &format!("/api/v1/cases/{number}"),
            &token,
            None,
        )
        .await;
    let comments = detail["comments"].to_string();
    assert!(
        comments.contains("card number") && comments.contains("page is gone"),
        "{comments}"
    );
    let follow_ups: Vec<&str> = detail["evidence"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|x| {
                    x["filename"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("follow-up-"))
                })
                .filter_map(|x| x["sha256"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let want = [
        hex::encode(Sha256::digest(&early)),
        hex::encode(Sha256::digest(&late)),
    ];
    assert_eq!(follow_ups.len(), 2, "{detail}");
    assert!(
        want.iter().all(|w| follow_ups.contains(&w.as_str())),
        "{detail}"
    );

    // Only hana was acknowledged, with the headers a mail client expects.
    for _ in 0..100 {
        if !sink.lock().expect("sink").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A second acknowledgement, if one were wrongly queued, would follow within this.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let acks = sink.lock().expect("sink").clone();
    assert_eq!(acks.len(), 1, "cron's mail is not answered");
    let ack = mail_parser::MessageParser::default()
        .parse(&acks[0])
        .expect("ack");
    assert!(ack
        .message_id()
        .is_some_and(|id| id.ends_with("@example.jp")));
    assert!(ack.date().is_some());
    assert!(ack.header("MIME-Version").is_some());
}
