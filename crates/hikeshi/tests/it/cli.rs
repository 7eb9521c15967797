//! The command line: configuration precedence, help, scripted set-up.

use crate::common::{bin, free_port, temp_dir};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `serve` with the given environment and flags and returns the port that answers.
fn answering_port(candidates: &[u16], env: &[(&str, String)], args: &[String]) -> Option<u16> {
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("HIKESHI_LOG", "error");
    for var in [
        "HIKESHI_LISTEN",
        "HIKESHI_CONFIG",
        "HIKESHI_DATA_DIR",
        "HIKESHI_DATABASE_URL",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found = None;
    while Instant::now() < deadline && found.is_none() {
        found = candidates
            .iter()
            .copied()
            .find(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    found
}

#[test]
fn flags_override_environment_which_overrides_the_file() {
    let dir = temp_dir("config");
    let (file_port, env_port, flag_port) = (free_port(), free_port(), free_port());
    let ports = [file_port, env_port, flag_port];
    let config = dir.join("hikeshi.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:{file_port}\"\ndata_dir = \"{}\"\n[sla_hours]\ncritical = 2\nhigh = 8\nmedium = 24\nlow = 72\ninfo = 0\n", dir.join("data").display()),
    )
    .expect("write config");
    let cfg = ("HIKESHI_CONFIG", config.display().to_string());
    assert_eq!(
        answering_port(&ports, std::slice::from_ref(&cfg), &[]),
        Some(file_port),
        "file alone"
    );
    let env = ("HIKESHI_LISTEN", format!("127.0.0.1:{env_port}"));
    assert_eq!(
        answering_port(&ports, &[cfg.clone(), env.clone()], &[]),
        Some(env_port),
        "environment over file"
    );
    let flag = vec!["--listen".to_string(), format!("127.0.0.1:{flag_port}")];
    assert_eq!(
        answering_port(&ports, &[cfg, env], &flag),
        Some(flag_port),
        "flag over environment"
    );
    assert!(
        dir.join("data").join("hikeshi.db").exists(),
        "data_dir from the file was used"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_config_file_is_reported_with_the_key() {
    let dir = temp_dir("badconfig");
    let config = dir.join("hikeshi.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nlisten_port = 5\n").expect("write");
    let out = Command::new(bin())
        .args(["migrate", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen_port"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_help_documents_every_setting() {
    let out = Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--listen",
        "HIKESHI_LISTEN",
        "--data-dir",
        "HIKESHI_DATA_DIR",
        "--database-url",
        "HIKESHI_DATABASE_URL",
        "--config",
        "--max-upload-bytes",
    ] {
        assert!(
            help.contains(needle),
            "serve --help lacks {needle}:\n{help}"
        );
    }
    let version = Command::new(bin()).arg("version").output().expect("run");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("hikeshi "));
}

#[test]
fn scripted_setup_reads_the_password_from_stdin_and_checks_it() {
    let dir = temp_dir("setup");
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(bin())
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("HIKESHI_DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        use std::io::Write;
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(input.as_bytes());
        }
        child.wait_with_output().expect("output")
    };
    let short = run(&["user", "add", "admin", "--role", "admin"], "short\n");
    assert!(!short.status.success(), "a short password is refused");
    assert!(String::from_utf8_lossy(&short.stderr).contains("10 characters"));
    assert!(run(
        &["user", "add", "admin", "--role", "admin"],
        "a-long-enough-password\n"
    )
    .status
    .success());
    let dup = run(
        &["user", "add", "admin", "--role", "viewer"],
        "a-long-enough-password\n",
    );
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad_role = run(
        &["user", "add", "eve", "--role", "root"],
        "a-long-enough-password\n",
    );
    assert!(!bad_role.status.success());
    let token = run(&["token", "create", "--user", "admin"], "");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert!(token.starts_with("hks_") && token.len() > 60, "{token}");
    let list = run(&["user", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("admin"));
    let _ = std::fs::remove_dir_all(dir);
}
