//! The exec connector with scripts written the way Wazuh's active-response scripts are: read
//! the message from stdin, ask `check_keys` on add, act on `continue`, leave on `abort`. The
//! scripts log what they were told; a slow one records its process ids so the test can see
//! that a timeout kills it and what it started.

use crate::common::{temp_dir, Db, TestServer};
use crate::response::{policy, send, ssh_line, states_in_history, wait_state, write_rules};
use std::path::Path;
use std::time::Duration;

const FAILED_PASSWORD: &str = "6f1c6d2e-3b1a-4c53-9a55-0a7e1f3d2b10";
const INVALID_USER: &str = "6f1c6d2e-3b1a-4c53-9a55-0a7e1f3d2b11";

/// A firewall-drop look-alike that logs instead of touching a firewall.
const DROP: &str = r#"#!/bin/sh
log="$1"
read -r message
case "$message" in
  *'"command":"add"'*) command=add ;;
  *'"command":"delete"'*) command=delete ;;
  *) echo "not a valid command" >&2; exit 1 ;;
esac
ip=$(printf '%s' "$message" | sed -n 's/.*"srcip":"\([^"]*\)".*/\1/p')
if [ "$command" = add ]; then
  printf '{"version":1,"origin":{"name":"test-drop","module":"active-response"},"command":"check_keys","parameters":{"keys":["%s"]}}\n' "$ip"
  read -r reply
  case "$reply" in
    *'"command":"continue"'*) echo "add $ip continue" >> "$log" ;;
    *'"command":"abort"'*) echo "add $ip abort" >> "$log"; exit 0 ;;
    *) echo "no answer to check_keys" >&2; exit 1 ;;
  esac
else
  echo "delete $ip" >> "$log"
fi
"#;

/// Never finishes on its own: records its own pid and its child's.
const STUCK: &str = r#"#!/bin/sh
sleep 300 &
echo "$$ $!" > "$1"
wait
"#;

fn script(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn wazuh_style_scripts_are_asked_check_keys_told_to_delete_and_killed_when_stuck() {
    let dir = temp_dir("exec-scripts");
    let log = dir.join("drop.log");
    let pids = dir.join("stuck.pids");
    let drop = script(&dir, "test-drop", DROP);
    let stuck = script(&dir, "stuck", STUCK);
    // Two policies block one sender through one script: 3 s and 6 s.
    let policies = [
        policy("short", FAILED_PASSWORD, 3, "connector = \"exec:drop\""),
        policy("long", FAILED_PASSWORD, 6, "connector = \"exec:drop\""),
        policy("stuck", INVALID_USER, 60, "connector = \"exec:stuck\""),
    ]
    .join("\n");
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!(
            "[response]\nreconcile_every_ms = 200\nlease_ms = 2000\nmax_attempts = 1\n\n[[response.exec]]\nname = \"drop\"\nprogram = \"{drop}\"\nargs = [\"{}\"]\ntimeout_ms = 5000\n\n[[response.exec]]\nname = \"stuck\"\nprogram = \"{stuck}\"\nargs = [\"{}\"]\ntimeout_ms = 700\n\n{policies}",
            log.display(),
            pids.display()
        ),
    )
    .expect("config");
    let rules = write_rules();
    let config = config.display().to_string();
    let s = TestServer::start(
        Db::Sqlite,
        "exec",
        &["--rules", &rules, "--config", &config],
    )
    .await;
    s.add_user("ops", "handler");
    let token = s.token("ops");
    let shipper = s.ingest_token("ops");

    // One hit, two intents: the first add continues, the second is a duplicate and aborts.
    send(&s, &shipper, ssh_line("Failed password", "192.0.2.20", 1)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let all = crate::response::actions_for(&s, &token, "192.0.2.20").await;
        if all.len() == 2 && all.iter().all(|a| a["state"] == "active") {
            let answers: Vec<&str> = all
                .iter()
                .filter_map(|a| a["connector_answer"].as_str())
                .collect();
            assert!(
                answers.iter().any(|a| a.contains("→ continue"))
                    && answers.iter().any(|a| a.contains("aborted")),
                "{answers:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both actions active: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        lines(&log),
        vec!["add 192.0.2.20 continue", "add 192.0.2.20 abort"]
    );

    // The 3 s one ends while the 6 s one holds the address: no delete yet. Then the last one
    // ends, and the script is told to delete.
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    loop {
        let all = crate::response::actions_for(&s, &token, "192.0.2.20").await;
        let states: Vec<&str> = all.iter().filter_map(|a| a["state"].as_str()).collect();
        if states.contains(&"reverted") && states.contains(&"active") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines(&log).len(), 2, "no delete while another holds it");
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while lines(&log).len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "delete at expiry: {:?}",
            lines(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines(&log)[2], "delete 192.0.2.20");
    let all = crate::response::actions_for(&s, &token, "192.0.2.20").await;
    assert!(all.iter().all(|a| a["state"] == "reverted"), "{all:?}");

    // A script past its timeout is killed, with the process it started, and the action fails.
    send(&s, &shipper, ssh_line("Invalid user", "192.0.2.21", 2)).await;
    let failed = wait_state(&s, &token, "192.0.2.21", "failed", Duration::from_secs(5)).await;
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("did not finish within 700 ms and was killed"),
        "{failed}"
    );
    let recorded = std::fs::read_to_string(&pids).expect("the stuck script ran");
    for pid in recorded.split_whitespace() {
        assert!(!alive(pid), "process {pid} was killed");
    }
    let id = failed["id"].as_str().expect("id");
    let view = crate::response::action_view(&s, &token, id).await;
    assert_eq!(
        states_in_history(&view),
        vec!["proposed", "approved", "applying", "failed"]
    );
}
