//! `hikeshi hunt` and `hikeshi rules check` through the command line.

use crate::common::{bin, temp_dir};
use std::path::Path;
use std::process::Command;

const RULE: &str = r"title: Mimikatz Command Line
id: 11111111-2222-3333-4444-555555555555
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1003.001
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|contains: 'sekurlsa::'
    condition: selection
";

fn sigma() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma")
}

#[test]
fn hunt_reports_detections_and_skipped_input() {
    let dir = temp_dir("hunt");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("mimikatz.yml"), RULE).expect("rule");
    std::fs::write(rules.join("broken.yml"), "title: [unclosed\n").expect("rule");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let sysmon = |cmd: &str| {
        format!("{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Hostname\":\"pc1\",\"@timestamp\":\"2026-11-26T01:00:00Z\",\"CommandLine\":\"{cmd}\"}}\n")
    };
    let mut lines = sysmon("mimikatz.exe sekurlsa::logonpasswords");
    lines.push_str(&sysmon("notepad.exe"));
    lines.push_str("{not json\n");
    // Security 4688 with the field names of that event: the mapping renames for the rule.
    lines.push_str("{\"Channel\":\"Security\",\"EventID\":4688,\"CommandLine\":\"x SEKURLSA::pth\",\"NewProcessName\":\"C:\\\\m.exe\"}\n");
    std::fs::write(logs.join("events.jsonl"), lines).expect("logs");

    let out = Command::new(bin())
        .args(["hunt", "--format", "jsonl", "--rules"])
        .arg(&rules)
        .arg(&logs)
        .output()
        .expect("run hunt");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "skipped input gives exit code 3\n{stderr}"
    );
    let detections: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect();
    assert_eq!(detections.len(), 2, "{stdout}");
    assert!(detections
        .iter()
        .all(|d| d["rule_id"] == "11111111-2222-3333-4444-555555555555"));
    assert_eq!(detections[0]["level"], "high");
    assert!(stderr.contains("events.jsonl:3: invalid JSON"), "{stderr}");
    assert!(
        stderr.contains("broken.yml"),
        "the unusable rule is named: {stderr}"
    );
    assert!(
        stderr.contains("3 events"),
        "three valid events read: {stderr}"
    );

    let high_only = Command::new(bin())
        .args(["hunt", "--min-level", "critical", "--rules"])
        .arg(&rules)
        .arg(&logs)
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&high_only.stdout).trim().is_empty(),
        "below --min-level is not shown"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hunt_finds_a_regression_sample_in_evtx() {
    let root = sigma();
    let evtx = root.join("regression_data/rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load/8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.evtx");
    let out = Command::new(bin())
        .args(["hunt", "--format", "csv", "--rules"])
        .arg(root.join("rules-threat-hunting"))
        .arg(&evtx)
        .output()
        .expect("run hunt");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("time,host,level,rule_title,rule_id"),
        "{stdout}"
    );
    assert!(
        stdout.contains("8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_check_counts_and_groups_failures() {
    let dir = temp_dir("rulescheck");
    std::fs::write(dir.join("good.yml"), RULE).expect("rule");
    std::fs::write(
        dir.join("bad_modifier.yml"),
        RULE.replace("CommandLine|contains", "CommandLine|nosuchmod"),
    )
    .expect("rule");
    let out = Command::new(bin())
        .args(["rules", "check"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout.contains("2 files: 1 detection rules compiled"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unsupported: modifier `nosuchmod`"),
        "{stdout}"
    );
    assert!(stdout.contains("bad_modifier.yml"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hunt_matches_indicator_lists() {
    let dir = temp_dir("iocs");
    std::fs::write(
        dir.join("iocs.txt"),
        "# C2 and payloads\n198.51.100.23\n10.66.0.0/16\nevil.example\nd41d8cd98f00b204e9800998ecf8427e\nthis is not an indicator\n",
    )
    .expect("iocs");
    std::fs::write(
        dir.join("events.jsonl"),
        concat!(
            "{\"Hostname\":\"pc1\",\"@timestamp\":\"2026-11-26T01:00:00Z\",\"DestinationIp\":\"198.51.100.23\"}\n",
            "{\"Hostname\":\"pc2\",\"@timestamp\":\"2026-11-26T01:01:00Z\",\"QueryName\":\"cdn.EVIL.example\"}\n",
            "{\"Hostname\":\"pc3\",\"@timestamp\":\"2026-11-26T01:02:00Z\",\"Hashes\":\"MD5=D41D8CD98F00B204E9800998ECF8427E\"}\n",
            "{\"Hostname\":\"pc4\",\"@timestamp\":\"2026-11-26T01:03:00Z\",\"SourceIp\":\"10.66.4.5\"}\n",
            "{\"Hostname\":\"pc5\",\"@timestamp\":\"2026-11-26T01:04:00Z\",\"QueryName\":\"notevil.example\",\"DestinationIp\":\"198.51.100.230\"}\n",
        ),
    )
    .expect("events");
    let out = Command::new(bin())
        .args(["hunt", "--format", "jsonl", "--iocs"])
        .arg(dir.join("iocs.txt"))
        .arg(dir.join("events.jsonl"))
        .output()
        .expect("run hunt");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let hosts: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("jsonl")["host"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(hosts, vec!["pc1", "pc2", "pc3", "pc4"], "{stdout}");
    assert!(stdout.contains("\"rule_id\":\"ioc:iocs.txt\""), "{stdout}");
    assert!(
        stderr.contains("iocs.txt:6:"),
        "the bad indicator line is reported: {stderr}"
    );
    assert_eq!(out.status.code(), Some(3));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_large_json_lines_file_is_split_across_threads_without_losing_lines() {
    let dir = temp_dir("chunks");
    std::fs::write(dir.join("rule.yml"), RULE).expect("rule");
    // About 10 MB: more than one 8 MiB chunk, so two workers share the file.
    let mut text = String::new();
    let padding = "x".repeat(200);
    for i in 0..40_000 {
        let cmd = if i % 1000 == 0 {
            "mimikatz sekurlsa::logonpasswords"
        } else {
            "notepad.exe"
        };
        text.push_str(&format!(
            "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"n\":{i},\"pad\":\"{padding}\",\"CommandLine\":\"{cmd}\"}}\n"
        ));
    }
    std::fs::write(dir.join("big.jsonl"), &text).expect("logs");
    let out = Command::new(bin())
        .args(["hunt", "--threads", "2", "--format", "jsonl", "--rules"])
        .arg(dir.join("rule.yml"))
        .arg(dir.join("big.jsonl"))
        .output()
        .expect("run hunt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("40000 events"),
        "every line read exactly once: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        40,
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn correlation_rules_fire_across_files_in_time_order() {
    let dir = temp_dir("hunt-correlation");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(
        rules.join("brute.yml"),
        r"title: Brute force then success
id: 99999999-0000-0000-0000-000000000001
level: high
correlation:
    type: temporal_ordered
    rules: [many_failures, logon_ok]
    group-by: [TargetUserName]
    timespan: 10m
---
title: Many failed logons
name: many_failures
correlation:
    type: event_count
    rules: [logon_failed]
    group-by: [TargetUserName]
    timespan: 5m
    condition:
        gte: 3
---
title: Failed logon
name: logon_failed
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
---
title: Logon
name: logon_ok
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4624}
    condition: selection
",
    )
    .expect("rule");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let event = |id: u32, user: &str, time: &str| {
        format!("{{\"Channel\":\"Security\",\"EventID\":{id},\"TargetUserName\":\"{user}\",\"@timestamp\":\"{time}\",\"Hostname\":\"dc1\"}}\n")
    };
    // The success sits in a file read before the failures; only the time order counts.
    std::fs::write(
        logs.join("a.jsonl"),
        event(4624, "mallory", "2026-11-26T01:03:00Z")
            + &event(4624, "alice", "2026-11-26T01:03:00Z"),
    )
    .expect("logs");
    let failures: String = ["01:00:00", "01:01:00", "01:02:00"]
        .iter()
        .map(|t| event(4625, "mallory", &format!("2026-11-26T{t}Z")))
        .chain(std::iter::once(event(
            4625,
            "alice",
            "2026-11-26T01:00:30Z",
        )))
        .collect();
    std::fs::write(logs.join("b.jsonl"), failures).expect("logs");

    let (code, lines, stderr) =
        hunt_jsonl(&["--rules".as_ref(), rules.as_os_str(), logs.as_os_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    let titles: Vec<&str> = lines
        .iter()
        .map(|l| l["rule_title"].as_str().unwrap_or_default())
        .collect();
    // The base rules feed correlations only (`generate` is not set), so they stay quiet.
    assert_eq!(
        titles,
        vec!["Many failed logons", "Brute force then success"],
        "{lines:?}"
    );
    assert_eq!(lines[1]["rule_id"], "99999999-0000-0000-0000-000000000001");
    assert_eq!(lines[1]["level"], "high");
    assert_eq!(lines[1]["fields"]["TargetUserName"], "mallory");
    assert_eq!(lines[1]["time"], "2026-11-26T01:03:00Z");
    assert!(stderr.contains("2 correlation rules in use"), "{stderr}");
}

/// Runs `hikeshi hunt --format jsonl` and returns (exit code, detections, stderr).
fn hunt_jsonl(args: &[&std::ffi::OsStr]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = Command::new(bin())
        .args(["hunt", "--format", "jsonl"])
        .args(args)
        .output()
        .expect("run hunt");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn titles(lines: &[serde_json::Value]) -> Vec<String> {
    let mut t: Vec<String> = lines
        .iter()
        .map(|l| l["rule_title"].as_str().unwrap_or_default().to_string())
        .collect();
    t.sort();
    t
}

#[test]
fn syslog_files_meet_linux_rules_and_from_to_narrows_the_time() {
    let dir = temp_dir("hunt-syslog");
    let log = dir.join("auth.log");
    std::fs::write(
        &log,
        "Nov 20 03:00:01 web1 CRON[100]: (root) CMD (true)\n\
         Nov 20 03:10:00 web1 sshd[812]: error: Corrupted MAC on input.\n\
         Nov 25 11:00:00 web1 sshd[913]: fatal: buffer_get_string: bad string\n\
         a line that is not syslog\n",
    )
    .expect("log");
    let rules = sigma().join("rules/linux/builtin/sshd");
    let (code, lines, stderr) =
        hunt_jsonl(&["--rules".as_ref(), rules.as_os_str(), log.as_os_str()]);
    assert_eq!(
        code,
        Some(3),
        "the bad line is reported as skipped\n{stderr}"
    );
    assert!(stderr.contains("auth.log:4: not a syslog line"), "{stderr}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l["rule_title"] == "Suspicious OpenSSH Daemon Error"));
    assert_eq!(lines[0]["host"], "web1");

    let (_, lines, stderr) = hunt_jsonl(&[
        "--rules".as_ref(),
        rules.as_os_str(),
        "--from".as_ref(),
        "2026-11-21".as_ref(),
        log.as_os_str(),
    ]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0]["time"]
        .as_str()
        .unwrap_or_default()
        .contains("-11-25T11:00:00"));
    assert!(
        stderr.contains("2 events outside --from/--to left out"),
        "{stderr}"
    );
    let (code, _, stderr) = hunt_jsonl(&[
        "--rules".as_ref(),
        rules.as_os_str(),
        "--to".as_ref(),
        "next tuesday".as_ref(),
        log.as_os_str(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--to: `next tuesday` is not a time"),
        "{stderr}"
    );
}

#[test]
fn json_sources_are_recognised_by_the_source_profiles() {
    let dir = temp_dir("hunt-sources");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules");
    // A web rule in Sigma's W3C field names; the ECS event spells them as nested JSON.
    std::fs::write(
        rules.join("web.yml"),
        "title: Path traversal\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-method: GET\n    c-uri|contains: '../../'\n  condition: sel\n",
    )
    .expect("rule");
    // A rule for a source only a user mapping describes.
    std::fs::write(
        rules.join("vpn.yml"),
        "title: VPN admin login\nlogsource: {product: acme, service: vpn}\ndetection:\n  sel: {user: admin}\n  condition: sel\n",
    )
    .expect("rule");
    let mapping = dir.join("acme.yml");
    std::fs::write(
        &mapping,
        "sources:\n  - name: acme-vpn\n    when: {vendor: acme, kind: vpn}\n    logsource: {product: acme, service: vpn}\n",
    )
    .expect("mapping");
    let logs = dir.join("events.jsonl");
    std::fs::write(
        &logs,
        concat!(
            r#"{"@timestamp":"2026-11-26T01:00:00Z","http":{"request":{"method":"GET"}},"url":{"original":"/a/../../etc/passwd"}}"#, "\n",
            r#"{"@timestamp":"2026-11-26T01:00:01Z","http":{"request":{"method":"GET"}},"url":{"original":"/index.html"}}"#, "\n",
            r#"{"@timestamp":"2026-11-26T01:00:02Z","vendor":"acme","kind":"vpn","user":"admin"}"#, "\n",
            r#"{"@timestamp":"2026-11-26T01:00:03Z","type":"EXECVE","argc":"3","a0":"chattr","a1":"-i","a2":"/etc/passwd"}"#, "\n",
        ),
    )
    .expect("logs");
    let auditd = sigma().join("rules/linux/auditd");
    let (code, lines, stderr) = hunt_jsonl(&[
        "--rules".as_ref(),
        rules.as_os_str(),
        "--rules".as_ref(),
        auditd.as_os_str(),
        logs.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    // Without the user's mapping, the VPN event belongs to no known source.
    assert_eq!(
        titles(&lines),
        vec![
            "Path traversal".to_string(),
            "Remove Immutable File Attribute - Auditd".to_string()
        ],
        "{lines:?}"
    );

    let (code, lines, stderr) = hunt_jsonl(&[
        "--rules".as_ref(),
        rules.as_os_str(),
        "--rules".as_ref(),
        auditd.as_os_str(),
        "--mapping".as_ref(),
        mapping.as_os_str(),
        logs.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        titles(&lines),
        vec![
            "Path traversal".to_string(),
            "Remove Immutable File Attribute - Auditd".to_string(),
            "VPN admin login".to_string()
        ],
        "{lines:?}"
    );
}

#[test]
fn archives_are_read_member_by_member() {
    use std::io::Write;
    let dir = temp_dir("hunt-archives");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("mimikatz.yml"), RULE).expect("rule");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let line = |cmd: &str| {
        format!("{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"@timestamp\":\"2026-11-26T01:00:00Z\",\"CommandLine\":\"{cmd}\"}}\n")
    };
    let regression = sigma().join("regression_data/rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load/8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.evtx");
    let evtx = std::fs::read(&regression).expect("regression sample");

    // A zip with a JSON-lines member, an EVTX member, a nested zip and a folder.
    let mut zip = zip::ZipWriter::new(std::fs::File::create(logs.join("a.zip")).expect("zip"));
    let options = zip::write::SimpleFileOptions::default();
    zip.add_directory("dir/", options).expect("dir");
    zip.start_file("dir/events.json", options).expect("member");
    zip.write_all(line("zipped sekurlsa::logonpasswords").as_bytes())
        .expect("write");
    zip.start_file("sample.evtx", options).expect("member");
    zip.write_all(&evtx).expect("write");
    zip.start_file("inner.zip", options).expect("member");
    zip.write_all(b"PK\x03\x04not really").expect("write");
    zip.finish().expect("finish");

    // A tar.gz with one JSON-lines member, and a plain .gz log.
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(logs.join("b.tar.gz")).expect("tgz"),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    let body = line("tarred sekurlsa::pth");
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "x/events.jsonl", body.as_bytes())
        .expect("append");
    tar.into_inner().expect("tar").finish().expect("gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(logs.join("c.jsonl.gz")).expect("gz"),
        flate2::Compression::default(),
    );
    gz.write_all(line("gzipped sekurlsa::tickets").as_bytes())
        .expect("write");
    gz.finish().expect("gz");
    std::fs::write(logs.join("broken.zip"), b"PK\x03\x04 truncated").expect("broken");

    let threat_hunting = sigma().join("rules-threat-hunting/windows/image_load");
    let (code, lines, stderr) = hunt_jsonl(&[
        "--rules".as_ref(),
        rules.as_os_str(),
        "--rules".as_ref(),
        threat_hunting.as_os_str(),
        logs.as_os_str(),
    ]);
    assert_eq!(
        code,
        Some(3),
        "the nested and broken archives are skipped\n{stderr}"
    );
    assert!(
        stderr.contains("a.zip!inner.zip: an archive inside an archive is not read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("broken.zip: not a readable zip"),
        "{stderr}"
    );
    let mut files: Vec<String> = lines
        .iter()
        .map(|l| {
            let file = l["file"].as_str().unwrap_or_default();
            file.split("/logs/").nth(1).unwrap_or(file).to_string()
        })
        .collect();
    files.sort();
    files.dedup();
    assert_eq!(
        files,
        vec![
            "a.zip!dir/events.json".to_string(),
            "a.zip!sample.evtx".to_string(),
            "b.tar.gz!x/events.jsonl".to_string(),
            "c.jsonl.gz".to_string()
        ],
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn damaged_evtx_and_oversized_lines_are_reported_and_the_rest_is_read() {
    let dir = temp_dir("hunt-damaged");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("mimikatz.yml"), RULE).expect("rule");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    // A real EVTX file cut short, with its second chunk scrambled.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx-attack-samples/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx");
    let mut bytes = std::fs::read(&sample).expect("sample");
    bytes.truncate(200_000);
    for b in &mut bytes[4096 + 65536 + 600..4096 + 65536 + 4000] {
        *b ^= 0x5a;
    }
    std::fs::write(logs.join("damaged.evtx"), bytes).expect("evtx");
    // A 17 MiB line between two good ones; the file is big enough to be read in chunks, so
    // the line is named by its byte offset.
    let good = |cmd: &str| {
        format!("{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"CommandLine\":\"{cmd}\"}}\n")
    };
    let mut lines = good("before sekurlsa::a");
    lines.push_str(&format!("{{\"x\":\"{}\"}}\n", "a".repeat(17 * 1024 * 1024)));
    lines.push_str(&good("after sekurlsa::b"));
    std::fs::write(logs.join("long.jsonl"), lines).expect("jsonl");

    let (code, found, stderr) =
        hunt_jsonl(&["--rules".as_ref(), rules.as_os_str(), logs.as_os_str()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("damaged.evtx: Failed to parse chunk number 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("damaged.evtx: the file ends inside chunk 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("long.jsonl@98: line longer than 16777216 bytes"),
        "{stderr}"
    );
    // The first chunk's records were read, and both good lines.
    assert!(stderr.contains("130 events"), "{stderr}");
    assert_eq!(found.len(), 2, "{found:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_reader_that_goes_away_ends_the_hunt_quietly() {
    use std::io::{BufRead, BufReader};
    let evtx =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx-attack-samples");
    let mut child = Command::new(bin())
        .arg("hunt")
        .arg(&evtx)
        .arg("--rules")
        .arg(sigma().join("rules"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hunt");
    // Like `hikeshi hunt … | head -1`: read one line, then close the pipe.
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    assert!(!first.is_empty());
    let out = child.wait_with_output().expect("exit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}
