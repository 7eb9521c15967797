//! The webhook connector, for what takes an HTTP call: an EDR's isolation API, a cloud
//! security group, a WAF's block list, a SOAR. hikeshi cannot read back what the receiver did,
//! so an action is active once the receiver answered 2xx, and the receiver is told to undo it
//! when the action ends or is revoked.
//!
//! A call is a JSON body with three headers: `Idempotency-Key` (the same on every retry of one
//! call), `X-Hikeshi-Timestamp` (Unix seconds) and `X-Hikeshi-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of `<timestamp>.<body>` under the shared secret, so the receiver can refuse
//! forged and replayed calls. 5xx, 429 and timeouts are worth a retry (not before Retry-After);
//! every other answer that is not 2xx is final, redirects included.

use super::push::{Answer, Op, Told};
use crate::config::Secret;
use hikeshi_store::ResponseAction;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::PathBuf;
use std::time::Duration;

/// How much of a receiver's answer is kept (in the action and its audit).
const ANSWER_CHARS: usize = 2000;
/// A receiver's body beyond this is not read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Retry-After is honoured up to an hour.
const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

/// `[[response.webhooks]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Policies name it as `connector = "webhook:<name>"`.
    pub name: String,
    pub url: String,
    /// A file whose first line is the signing secret (mode 600);
    /// `HIKESHI_WEBHOOK_SECRET_<NAME>` overrides it.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// One call's limit; past it the call is retried.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Filled by the binary from `secret_file` or the environment.
    #[serde(skip)]
    pub secret: Option<Secret>,
}

fn default_timeout_ms() -> u64 {
    5000
}

impl WebhookSettings {
    pub fn connector(&self) -> String {
        format!("webhook:{}", self.name)
    }

    /// The environment variable that holds this webhook's secret.
    pub fn secret_env(&self) -> String {
        let upper: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("HIKESHI_WEBHOOK_SECRET_{upper}")
    }

    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        super::push::check_name("webhook", name)?;
        let url = url::Url::parse(&self.url)
            .map_err(|e| format!("webhook `{name}`: url `{}`: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "webhook `{name}`: url must be http:// or https:// with a host"
            ));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(format!(
                "webhook `{name}`: timeout_ms must be from 100 to 60000"
            ));
        }
        Ok(())
    }
}

pub struct Webhook {
    settings: WebhookSettings,
    secret: Secret,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(settings: WebhookSettings) -> Result<Webhook, String> {
        settings.check()?;
        let secret = settings.secret.clone().ok_or_else(|| {
            format!(
                "webhook `{}` has no secret: set secret_file or {}",
                settings.name,
                settings.secret_env()
            )
        })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("webhook `{}`: {e}", settings.name))?;
        Ok(Webhook {
            settings,
            secret,
            client,
        })
    }

    pub fn url(&self) -> &str {
        &self.settings.url
    }

    /// What will be sent, for the action's page and its approval.
    pub fn plan(&self, kind: &str, target: &str, ttl_ms: i64) -> String {
        format!(
            "POST {} op=add kind={kind} target={target} ttl={} s; op=delete when it ends or is revoked",
            self.settings.url,
            ttl_ms / 1000
        )
    }
}

impl Told for Webhook {
    fn connector(&self) -> String {
        self.settings.connector()
    }

    /// Makes one call (the push pass has checked the guardrails again before an add).
    async fn send(
        &self,
        op: Op,
        action: &ResponseAction,
        _held_elsewhere: bool,
        now_ms: i64,
    ) -> Answer {
        let body = body(op, action);
        let timestamp = (now_ms / 1000).to_string();
        let signature = sign(self.secret.expose(), &timestamp, &body);
        let sent = self
            .client
            .post(&self.settings.url)
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key(op, action))
            .header("x-hikeshi-timestamp", &timestamp)
            .header("x-hikeshi-signature", format!("sha256={signature}"))
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Answer::Retry {
                    error: format!("POST {}: {e}", self.settings.url),
                    after_ms: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after_ms(v, now_ms));
        let text = format!("HTTP {}: {}", status.as_u16(), read_answer(response).await);
        if status.is_success() {
            Answer::Done(text)
        } else if status.is_server_error() || status.as_u16() == 429 {
            Answer::Retry {
                error: text,
                after_ms: retry_after,
            }
        } else {
            Answer::Final(text)
        }
    }
}

/// One key per action and operation: a receiver that sees it twice knows it is a retry.
pub fn idempotency_key(op: Op, action: &ResponseAction) -> String {
    format!("hikeshi-{}-{}", action.id, op.code())
}

/// The same bytes on every retry of one call (the time of sending is in the header).
pub fn body(op: Op, action: &ResponseAction) -> String {
    let iso = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    serde_json::json!({
        "op": op.code(),
        "action_id": action.id,
        "idempotency_key": action.idempotency_key,
        "kind": action.kind,
        "target": action.target,
        "expires_at": iso(action.expires_at),
        "ttl_secs": action.ttl_ms / 1000,
        "policy": action.policy,
        "policy_version": action.policy_version,
        "alert_id": action.alert_id,
    })
    .to_string()
}

/// Lower-case hex HMAC-SHA256 of `<timestamp>.<body>`.
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    // A key of any length is accepted by HMAC; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Retry-After as seconds or as an HTTP date, capped at an hour.
pub fn retry_after_ms(value: &str, now_ms: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(secs.saturating_mul(1000).clamp(0, MAX_RETRY_AFTER_MS));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.timestamp_millis() - now_ms).clamp(0, MAX_RETRY_AFTER_MS))
}

async fn read_answer(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&bytes)
        .chars()
        .take(ANSWER_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after_ms("3", 0), Some(3000));
        assert_eq!(retry_after_ms("999999", 0), Some(MAX_RETRY_AFTER_MS));
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:50Z")
            .expect("date")
            .timestamp_millis();
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(10_000)
        );
        assert_eq!(retry_after_ms("soon", now), None);
    }

    #[test]
    fn names_and_urls_are_checked() {
        let mut w = WebhookSettings {
            name: "edr".into(),
            url: "https://edr.example/api/block".into(),
            secret_file: None,
            timeout_ms: 5000,
            secret: None,
        };
        assert_eq!(w.check(), Ok(()));
        assert_eq!(w.secret_env(), "HIKESHI_WEBHOOK_SECRET_EDR");
        w.url = "file:///etc/passwd".into();
        assert!(w.check().is_err());
        w.url = "https://edr.example/".into();
        w.name = "edr one".into();
        assert!(w.check().is_err());
    }
}
