//! Protection of the public report form without third-party services: a signed challenge that
//! must be at least a few seconds old (people take longer than that to write a report), a small
//! proof of work the browser computes while the reporter types, one use per challenge, and a
//! per-address rate limit.

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// A challenge older than this is refused: the reporter reloads the page.
const MAX_AGE_MS: i64 = 2 * 3_600_000;

pub struct FormGuard {
    secret: [u8; 32],
    /// Leading zero bits the proof must have.
    pub pow_bits: u32,
    pub min_age_ms: i64,
    pub per_hour: u32,
    used: Mutex<HashMap<String, i64>>,
    recent: Mutex<HashMap<IpAddr, Vec<i64>>>,
}

/// Why a submission was refused; each maps to a message for the reporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, forged, expired or reused challenge.
    Challenge,
    /// Sent faster than a person could.
    TooFast,
    /// The proof of work does not hold.
    Work,
    /// Too many reports from this address in the last hour.
    RateLimited,
}

impl Refusal {
    pub fn message_key(self) -> &'static str {
        match self {
            Refusal::Challenge => "report.refused.challenge",
            Refusal::TooFast => "report.refused.too_fast",
            Refusal::Work => "report.refused.work",
            Refusal::RateLimited => "report.refused.rate",
        }
    }
}

fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for b in digest {
        if *b == 0 {
            bits += 8;
        } else {
            bits += b.leading_zeros();
            break;
        }
    }
    bits
}

impl FormGuard {
    pub fn new(pow_bits: u32, min_age_ms: i64, per_hour: u32) -> FormGuard {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        FormGuard {
            secret,
            pow_bits: pow_bits.min(24),
            min_age_ms,
            per_hour,
            used: Mutex::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, issued: i64, nonce: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(issued.to_string().as_bytes());
        h.update(b".");
        h.update(nonce.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// A fresh challenge, `issued.nonce.mac`, for the form.
    pub fn challenge(&self, now_ms: i64) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let nonce = hex::encode(nonce);
        format!("{now_ms}.{nonce}.{}", self.mac(now_ms, &nonce))
    }

    /// Checks a submission's challenge and proof, then counts it against its address.
    /// Would the form be admitted? Nothing is recorded: the form reader asks this before it
    /// reads the first attachment, and [`FormGuard::admit`] records the use at the end.
    pub fn check(
        &self,
        challenge: &str,
        proof: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        self.verify(challenge, proof, addr, now_ms, false)
    }

    /// Admits the form: the challenge is used up and the address's count goes up.
    pub fn admit(
        &self,
        challenge: &str,
        proof: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        self.verify(challenge, proof, addr, now_ms, true)
    }

    fn verify(
        &self,
        challenge: &str,
        proof: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
        record: bool,
    ) -> Result<(), Refusal> {
        let mut parts = challenge.split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::Challenge);
        };
        let issued: i64 = issued.parse().map_err(|_| Refusal::Challenge)?;
        if nonce.len() != 24 || self.mac(issued, nonce) != mac {
            return Err(Refusal::Challenge);
        }
        let age = now_ms - issued;
        if !(0..=MAX_AGE_MS).contains(&age) {
            return Err(Refusal::Challenge);
        }
        if age < self.min_age_ms {
            return Err(Refusal::TooFast);
        }
        if proof.len() > 32 || !proof.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Refusal::Work);
        }
        let digest = Sha256::digest(format!("{challenge}:{proof}").as_bytes());
        if leading_zero_bits(&digest) < self.pow_bits {
            return Err(Refusal::Work);
        }
        // A reused challenge is refused before it can count against the address.
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, t| now_ms - *t < MAX_AGE_MS);
        if used.contains_key(challenge) {
            return Err(Refusal::Challenge);
        }
        if let Some(ip) = addr {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.retain(|_, times| {
                times.retain(|t| now_ms - t < 3_600_000);
                !times.is_empty()
            });
            let times = recent.entry(ip).or_default();
            if times.len() as u32 >= self.per_hour {
                return Err(Refusal::RateLimited);
            }
            if record {
                times.push(now_ms);
            }
        }
        if record {
            used.insert(challenge.to_string(), now_ms);
        }
        Ok(())
    }
}

/// Solves a challenge the way the browser does (for tests and for tools that file reports
/// through the form).
pub fn solve(challenge: &str, bits: u32) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| leading_zero_bits(&Sha256::digest(format!("{challenge}:{n}").as_bytes())) >= bits)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_used_once_and_only_after_the_delay() {
        let g = FormGuard::new(8, 3_000, 100);
        let c = g.challenge(1_000_000);
        let proof = solve(&c, 8);
        assert_eq!(g.admit(&c, &proof, None, 1_001_000), Err(Refusal::TooFast));
        let wrong = (0u64..)
            .map(|n| n.to_string())
            .find(|n| leading_zero_bits(&Sha256::digest(format!("{c}:{n}").as_bytes())) < 8)
            .unwrap();
        assert_eq!(g.admit(&c, &wrong, None, 1_004_000), Err(Refusal::Work));
        let c = g.challenge(2_000_000);
        let proof = solve(&c, 8);
        assert_eq!(g.admit(&c, &proof, None, 2_004_000), Ok(()));
        assert_eq!(
            g.admit(&c, &proof, None, 2_005_000),
            Err(Refusal::Challenge)
        );
        let forged = c.replace('.', ".0");
        assert_eq!(
            g.admit(&forged, &proof, None, 2_005_000),
            Err(Refusal::Challenge)
        );
        assert_eq!(
            g.admit(&c, &proof, None, 2_000_000 + MAX_AGE_MS + 1),
            Err(Refusal::Challenge)
        );
    }

    #[test]
    fn the_rate_limit_counts_per_address_per_hour() {
        let g = FormGuard::new(0, 0, 2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for (i, want) in [Ok(()), Ok(()), Err(Refusal::RateLimited)]
            .into_iter()
            .enumerate()
        {
            let c = g.challenge(10);
            assert_eq!(g.admit(&c, "0", Some(ip), 20 + i as i64), want);
        }
        let c = g.challenge(10);
        assert_eq!(g.admit(&c, "0", Some(other), 30), Ok(()));
        let c = g.challenge(3_600_100);
        assert_eq!(
            g.admit(&c, "0", Some(ip), 3_600_200),
            Ok(()),
            "an hour later"
        );
    }
}
