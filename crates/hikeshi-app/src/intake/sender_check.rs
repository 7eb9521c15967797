//! Is the sender who the From line says? SPF (RFC 7208) for the connecting address, the EHLO
//! name and the envelope sender; DKIM (RFC 6376) signatures; DMARC (RFC 7489) alignment with
//! the From domain. The mail is kept whatever the answer — a spoofed phishing mail is itself a
//! report — but only an authenticated sender is acknowledged: otherwise a forged From would
//! turn the intake into a mail cannon aimed at someone else.

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, SpfResult};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The whole check, DNS included, ends within this; a slow DNS means "not authenticated".
const CHECK_DEADLINE: Duration = Duration::from_secs(15);

/// What the checks said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub authenticated: bool,
    /// `spf=pass dkim=none dmarc=pass header.from=example.jp`, for the analyst.
    pub summary: String,
}

/// The checker of one server: a DNS resolver and this host's name.
#[derive(Clone)]
pub struct SenderChecks {
    authenticator: MessageAuthenticator,
}

impl std::fmt::Debug for SenderChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SenderChecks")
    }
}

impl SenderChecks {
    /// Asks `dns_server` (a resolver of the company's, or a test's) or else the system's
    /// resolvers from `/etc/resolv.conf`.
    pub fn new(dns_server: Option<SocketAddr>) -> Result<SenderChecks, String> {
        let mut options = ResolverOpts::default();
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        let authenticator = match dns_server {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), options)
            }
            None => {
                let (config, _) = mail_auth::hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| format!("[mail] sender checks: /etc/resolv.conf: {e}"))?;
                MessageAuthenticator::new(config, options)
            }
        }
        .map_err(|e| format!("[mail] sender checks: DNS resolver: {e}"))?;
        Ok(SenderChecks { authenticator })
    }

    /// Checks one message as received from `ip`, which said `EHLO helo` and `MAIL FROM:<mail_from>`.
    pub async fn check(&self, raw: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> Verdict {
        match tokio::time::timeout(CHECK_DEADLINE, self.run(raw, ip, helo, mail_from)).await {
            Ok(verdict) => verdict,
            Err(_) => Verdict {
                authenticated: false,
                summary: "spf=temperror dkim=temperror dmarc=temperror (DNS timed out)".into(),
            },
        }
    }

    async fn run(&self, raw: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> Verdict {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Verdict {
                authenticated: false,
                summary: "dmarc=permerror (the message has no readable header)".into(),
            };
        };
        let helo = if helo.is_empty() { "unknown" } else { helo };
        let spf = self
            .authenticator
            .verify_spf(SpfParameters::verify(ip, helo, "hikeshi", mail_from))
            .await;
        let dkim = self.authenticator.verify_dkim(&message).await;
        let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let dmarc = self
            .authenticator
            .verify_dmarc(mail_auth::dmarc::verify::DmarcParameters::new(
                &message,
                &dkim,
                mail_from_domain,
                &spf,
            ))
            .await;
        let from_domain = dmarc.domain().to_ascii_lowercase();
        let spf_word = spf_word(spf.result());
        let dkim_word = dkim_word(&dkim);
        let (dmarc_word, authenticated) = match dmarc.result() {
            DmarcResult::Pass => ("pass", true),
            DmarcResult::Fail(_) => ("fail", false),
            DmarcResult::TempError(_) => ("temperror", false),
            DmarcResult::PermError(_) => ("permerror", false),
            // No DMARC record: an identity of the From domain must still have passed.
            DmarcResult::None => {
                let spf_aligned = spf.result() == SpfResult::Pass
                    && relaxed_match(mail_from_domain, &from_domain);
                let dkim_aligned = dkim.iter().any(|d| {
                    d.result() == &DkimResult::Pass
                        && d.signature()
                            .is_some_and(|s| relaxed_match(&s.d, &from_domain))
                });
                (
                    "none",
                    !from_domain.is_empty() && (spf_aligned || dkim_aligned),
                )
            }
        };
        Verdict {
            authenticated,
            summary: format!(
                "spf={spf_word} smtp.mailfrom={mail_from} dkim={dkim_word} dmarc={dmarc_word} header.from={from_domain}"
            ),
        }
    }
}

fn spf_word(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

/// The best DKIM result among the signatures.
fn dkim_word(results: &[mail_auth::DkimOutput<'_>]) -> &'static str {
    let words = results.iter().map(|r| match r.result() {
        DkimResult::Pass => "pass",
        DkimResult::Fail(_) => "fail",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    });
    let mut best = "none";
    for word in words {
        if word == "pass" {
            return "pass";
        }
        if best == "none" {
            best = word;
        }
    }
    best
}

/// DMARC's relaxed alignment, without the public suffix list: one domain is the other or a
/// subdomain of it, and the shorter one is not a bare top-level domain.
fn relaxed_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.contains('.') && (long == short || long.ends_with(&format!(".{short}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_relaxed_but_not_loose() {
        assert!(relaxed_match("mail.example.jp", "example.jp"));
        assert!(relaxed_match("EXAMPLE.jp", "example.jp"));
        assert!(!relaxed_match("badexample.jp", "example.jp"));
        assert!(!relaxed_match("", "example.jp"));
        assert!(
            !relaxed_match("jp", "example.jp"),
            "a bare TLD aligns with nothing"
        );
    }
}
