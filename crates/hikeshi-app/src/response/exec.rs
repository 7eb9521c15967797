//! The exec connector: runs a program that speaks the Wazuh 4.x active-response protocol, so
//! the scripts a team already has (firewall-drop, host-deny, route-null, their own) work
//! unchanged.
//!
//! The exchange, over the program's stdin and stdout, one JSON object per line:
//! 1. hikeshi writes `{"version":1,"origin":{…},"command":"add"|"delete","parameters":
//!    {"extra_args":[…],"alert":{…},"program":…}}`; the alert carries the target as
//!    `data.srcip`, where the scripts look for it.
//! 2. On `add` the script asks `{"command":"check_keys","parameters":{"keys":[…]}}`; hikeshi
//!    answers `continue`, or `abort` when another action of this connector already holds the
//!    target (the script then leaves it as it is and exits).
//! 3. The exit status decides: 0 done, anything else a final failure. A program that has not
//!    finished within `timeout_ms` is killed, with everything it started, and retried later.
//!
//! The program is started directly with its arguments (never through a shell), in its own
//! process group.

use super::push::{Answer, Op, Told};
use hikeshi_store::ResponseAction;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// What is kept of a program's output, in the action and its audit.
const OUTPUT_CHARS: usize = 2000;
/// A line from the program longer than this is not a protocol message.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// `[[response.exec]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecSettings {
    /// Policies name it as `connector = "exec:<name>"`.
    pub name: String,
    /// An absolute path: no lookup in PATH.
    pub program: PathBuf,
    /// Given to the program as its arguments, and as `extra_args` in the message.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    10_000
}

impl ExecSettings {
    pub fn connector(&self) -> String {
        format!("exec:{}", self.name)
    }

    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        super::push::check_name("exec", name)?;
        if !self.program.is_absolute() {
            return Err(format!(
                "exec `{name}`: program must be an absolute path, not `{}`",
                self.program.display()
            ));
        }
        if !(100..=600_000).contains(&self.timeout_ms) {
            return Err(format!(
                "exec `{name}`: timeout_ms must be from 100 to 600000"
            ));
        }
        Ok(())
    }
}

pub struct Exec {
    settings: ExecSettings,
}

impl Exec {
    pub fn new(settings: ExecSettings) -> Result<Exec, String> {
        settings.check()?;
        Ok(Exec { settings })
    }

    pub fn plan(&self, kind: &str, target: &str, ttl_ms: i64) -> String {
        format!(
            "run {} {} with command=add (Wazuh active-response JSON on stdin) for {kind} data.srcip={}, ttl={} s; command=delete when it ends or is revoked",
            self.settings.program.display(),
            self.settings.args.join(" "),
            srcip(target),
            ttl_ms / 1000
        )
    }

    async fn run(&self, op: Op, action: &ResponseAction, held_elsewhere: bool) -> Answer {
        let program = self.settings.program.display().to_string();
        let mut child = match tokio::process::Command::new(&self.settings.program)
            .args(&self.settings.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Answer::Retry {
                    error: format!("cannot run {program}: {e}"),
                    after_ms: None,
                }
            }
        };
        let group = child.id();
        let limit = Duration::from_millis(self.settings.timeout_ms);
        let message = message(op, action, &self.settings);
        let talk = converse(&mut child, &message, held_elsewhere);
        match tokio::time::timeout(limit, talk).await {
            Ok(answer) => answer,
            Err(_) => {
                kill_group(group);
                let _ = child.wait().await;
                Answer::Retry {
                    error: format!(
                        "{program} did not finish within {} ms and was killed",
                        limit.as_millis()
                    ),
                    after_ms: None,
                }
            }
        }
    }
}

impl Told for Exec {
    fn connector(&self) -> String {
        self.settings.connector()
    }

    async fn send(
        &self,
        op: Op,
        action: &ResponseAction,
        held_elsewhere: bool,
        _now_ms: i64,
    ) -> Answer {
        self.run(op, action, held_elsewhere).await
    }
}

/// The message, the check_keys answer, the exit.
async fn converse(
    child: &mut tokio::process::Child,
    message: &str,
    held_elsewhere: bool,
) -> Answer {
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Answer::Retry {
            error: "the program's pipes were not opened".into(),
            after_ms: None,
        };
    };
    let errors = tokio::spawn(async move {
        let mut text = Vec::new();
        let _ = (&mut stderr)
            .take(MAX_LINE_BYTES as u64)
            .read_to_end(&mut text)
            .await;
        String::from_utf8_lossy(&text).into_owned()
    });
    // A script that exits without reading its stdin is not an error in itself.
    let _ = stdin.write_all(format!("{message}\n").as_bytes()).await;
    let _ = stdin.flush().await;
    let mut said = Vec::new();
    let mut aborted = false;
    let mut lines = BufReader::new(stdout.take(4 * MAX_LINE_BYTES as u64)).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match check_keys(&line) {
            Some(keys) => {
                aborted = held_elsewhere;
                let reply = reply(if aborted { "abort" } else { "continue" });
                let _ = stdin.write_all(format!("{reply}\n").as_bytes()).await;
                let _ = stdin.flush().await;
                said.push(format!(
                    "check_keys {keys:?} → {}",
                    if aborted { "abort" } else { "continue" }
                ));
            }
            None => said.push(line),
        }
    }
    drop(stdin);
    let status = match child.wait().await {
        Ok(s) => s,
        Err(e) => {
            return Answer::Retry {
                error: format!("waiting for the program: {e}"),
                after_ms: None,
            }
        }
    };
    let stderr_text = errors.await.unwrap_or_default();
    let mut text = said.join("\n");
    if aborted {
        text = format!("aborted: the target is already held by another action\n{text}");
    }
    if !stderr_text.trim().is_empty() {
        text.push_str(&format!("\nstderr: {}", stderr_text.trim()));
    }
    let text = format!("exit {status}: {}", text.trim())
        .chars()
        .take(OUTPUT_CHARS)
        .collect::<String>();
    if status.success() {
        Answer::Done(text)
    } else {
        Answer::Final(text)
    }
}

/// The keys of a `check_keys` line, or `None` for any other line.
fn check_keys(line: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["command"] != "check_keys" {
        return None;
    }
    Some(
        v["parameters"]["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn reply(command: &str) -> String {
    serde_json::json!({
        "version": 1,
        "origin": {"name": "hikeshi", "module": "wazuh-execd"},
        "command": command,
        "parameters": {},
    })
    .to_string()
}

/// A single address as the scripts expect it (no /32); a range as written.
fn srcip(target: &str) -> String {
    match target.parse::<ipnet::IpNet>() {
        Ok(net) if net.prefix_len() == net.max_prefix_len() => net.addr().to_string(),
        _ => target.to_string(),
    }
}

/// The Wazuh 4.x message, with an alert built from the action.
pub fn message(op: Op, action: &ResponseAction, settings: &ExecSettings) -> String {
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string())
            .unwrap_or_default()
    };
    serde_json::json!({
        "version": 1,
        "origin": {"name": "hikeshi", "module": "wazuh-execd"},
        "command": op.code(),
        "parameters": {
            "extra_args": settings.args,
            "program": settings.program.display().to_string(),
            "alert": {
                "timestamp": iso(action.created_at),
                "id": action.id,
                "rule": {
                    "id": action.policy,
                    "description": format!("hikeshi response policy {}@{}", action.policy, action.policy_version),
                },
                "data": {"srcip": srcip(&action.target)},
                "hikeshi": {
                    "action_id": action.id,
                    "kind": action.kind,
                    "target": action.target,
                    "ttl_secs": action.ttl_ms / 1000,
                    "alert_id": action.alert_id,
                },
            },
        },
    })
    .to_string()
}

/// Kills the program and whatever it started (its process group).
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_check_keys_lines_are_protocol() {
        let asked = r#"{"version":1,"origin":{"name":"firewall-drop","module":"active-response"},"command":"check_keys","parameters":{"keys":["192.0.2.7"]}}"#;
        assert_eq!(check_keys(asked), Some(vec!["192.0.2.7".to_string()]));
        assert_eq!(check_keys("Starting"), None);
        assert_eq!(check_keys(r#"{"command":"add"}"#), None);
        assert_eq!(srcip("192.0.2.7/32"), "192.0.2.7");
        assert_eq!(srcip("2001:db8::/48"), "2001:db8::/48");
    }
}
