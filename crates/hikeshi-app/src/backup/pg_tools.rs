//! PostgreSQL's own tools: `pg_dump` takes a consistent snapshot while the server writes, and
//! `pg_restore` loads it. The connection goes in libpq's environment variables, not on the
//! command line, so the password is not in the process list.

use super::BackupError;
use std::path::Path;
use std::process::Command;

pub fn dump(url: &str, dest: &Path) -> Result<(), BackupError> {
    let mut cmd = Command::new("pg_dump");
    cmd.arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--file")
        .arg(dest);
    run("pg_dump", connect_env(&mut cmd, url)?)
}

pub fn restore(url: &str, dump: &Path) -> Result<(), BackupError> {
    let mut cmd = Command::new("pg_restore");
    cmd.arg("--no-owner")
        .arg("--no-privileges")
        .arg("--exit-on-error")
        .arg("--single-transaction");
    let cmd = connect_env(&mut cmd, url)?;
    cmd.arg(dump);
    run("pg_restore", cmd)
}

fn connect_env<'c>(cmd: &'c mut Command, url: &str) -> Result<&'c mut Command, BackupError> {
    let bad = |detail: String| BackupError::Tool {
        tool: "the PostgreSQL URL",
        detail,
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(bad(format!("`{}` is not postgres://", parsed.scheme())));
    }
    let decode = |s: &str| {
        urlencoding::decode(s)
            .map(|d| d.into_owned())
            .map_err(|_| bad("a part of the URL is not valid UTF-8".into()))
    };
    let database = decode(parsed.path().trim_start_matches('/'))?;
    if database.is_empty() {
        return Err(bad("the URL names no database".into()));
    }
    cmd.env_remove("PGSERVICE");
    if let Some(host) = parsed.host_str() {
        cmd.env("PGHOST", host.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(port) = parsed.port() {
        cmd.env("PGPORT", port.to_string());
    }
    if !parsed.username().is_empty() {
        cmd.env("PGUSER", decode(parsed.username())?);
    }
    if let Some(pw) = parsed.password() {
        cmd.env("PGPASSWORD", decode(pw)?);
    }
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => cmd.env("PGSSLMODE", value.as_ref()),
            "sslrootcert" => cmd.env("PGSSLROOTCERT", value.as_ref()),
            "host" => cmd.env("PGHOST", value.as_ref()),
            _ => cmd,
        };
    }
    // With the connection in the environment, --dbname names only the database.
    cmd.arg("--dbname").arg(&database);
    Ok(cmd)
}

fn run(tool: &'static str, cmd: &mut Command) -> Result<(), BackupError> {
    let out = cmd.output().map_err(|e| BackupError::Tool {
        tool,
        detail: format!("cannot start it ({e}); it comes with PostgreSQL's client package"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(BackupError::Tool {
        tool,
        detail: stderr.trim().chars().take(2000).collect(),
    })
}
