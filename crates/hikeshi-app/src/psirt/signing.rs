//! OpenPGP signatures of CSAF documents (CSAF 2.0 requirements 19 and 20), made by Debian's
//! `gpg` with the team's key. The key is imported at start-up into a keyring of the server's
//! own (`<data_dir>/openpgp`, recreated each time, so the keyring holds exactly that key); a
//! document is signed once, when its revision is frozen, and the signature is stored beside
//! it. A key that needs a passphrase is refused at start-up rather than failing at the release
//! time.

use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// `[psirt]`: the PSIRT's own settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PsirtSettings {
    /// The team's OpenPGP secret key (ASCII armour, no passphrase, mode 0600): every CSAF
    /// document is signed with it and the provider becomes a trusted provider.
    pub openpgp_key_file: Option<PathBuf>,
    /// The gpg program [default: `gpg` on the PATH].
    pub gpg: Option<PathBuf>,
}

/// Longest a gpg run may take: signing a document is milliseconds.
const GPG_TIMEOUT: Duration = Duration::from_secs(30);

/// The team's signing key, ready in its keyring.
#[derive(Debug)]
pub struct Signer {
    gpg: PathBuf,
    home: PathBuf,
    /// Upper-case hexadecimal, as CSAF's `public_openpgp_keys` gives it.
    pub fingerprint: String,
    /// The public key in ASCII armour, published beside the provider metadata.
    pub public_key: String,
}

impl Signer {
    /// Imports the key into a fresh keyring under `data_dir` and proves it can sign.
    pub async fn open(settings: &PsirtSettings, data_dir: &Path) -> Result<Option<Signer>, String> {
        let Some(key_file) = &settings.openpgp_key_file else {
            return Ok(None);
        };
        let gpg = settings.gpg.clone().unwrap_or_else(|| PathBuf::from("gpg"));
        let home = data_dir.join("openpgp");
        // An agent left from the last run would keep the old keyring's files open.
        let _ = tokio::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(&home)
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if home.exists() {
            std::fs::remove_dir_all(&home)
                .map_err(|e| format!("{}: {e} / 削除できません", home.display()))?;
        }
        create_private_dir(&home)?;
        let mut signer = Signer {
            gpg,
            home,
            fingerprint: String::new(),
            public_key: String::new(),
        };
        let key_arg = key_file.display().to_string();
        signer
            .run(&["--import", &key_arg], None)
            .await
            .map_err(|e| format!("[psirt] openpgp_key_file {key_arg}: {e} / 鍵を読み込めません"))?;
        let listing = signer
            .run(&["--with-colons", "--list-secret-keys"], None)
            .await
            .map_err(|e| format!("gpg --list-secret-keys: {e}"))?;
        signer.fingerprint = primary_fingerprint(&listing).ok_or_else(|| {
            format!(
                "[psirt] openpgp_key_file {key_arg} holds no secret key / 秘密鍵が含まれていません"
            )
        })?;
        signer.public_key = signer
            .run(&["--armor", "--export", &signer.fingerprint.clone()], None)
            .await
            .map_err(|e| format!("gpg --export: {e}"))?;
        signer.sign("hikeshi signing check\n").await.map_err(|e| {
            format!(
                "[psirt] openpgp_key_file {key_arg} cannot sign without a passphrase: {e} / \
                 パスフレーズなしで署名できる鍵が必要です"
            )
        })?;
        Ok(Some(signer))
    }

    /// A detached, armoured signature of `document`.
    pub async fn sign(&self, document: &str) -> AppResult<String> {
        let fpr = self.fingerprint.clone();
        self.run(
            &[
                "--local-user",
                &fpr,
                "--armor",
                "--detach-sign",
                "--output",
                "-",
            ],
            Some(document.as_bytes()),
        )
        .await
        .map_err(|e| {
            AppError::unavailable(
                "signing",
                format!("signing with the team's OpenPGP key: {e}"),
            )
        })
    }

    async fn run(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, String> {
        let mut child = tokio::process::Command::new(&self.gpg)
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--no-tty", "--pinentry-mode", "error", "--quiet"])
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.gpg.display()))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(bytes).await.map_err(|e| e.to_string())?;
            drop(stdin);
        }
        let out = tokio::time::timeout(GPG_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| format!("gpg took longer than {} s", GPG_TIMEOUT.as_secs()))?
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(err
                .lines()
                .last()
                .unwrap_or("gpg failed")
                .trim()
                .to_string());
        }
        String::from_utf8(out.stdout).map_err(|_| "gpg wrote something not UTF-8".to_string())
    }
}

/// Signs again every revision whose signature is missing or made by another key (the team
/// added or replaced its key). The documents do not change, so approvals stand.
pub async fn resign_all(app: &crate::App) -> AppResult<usize> {
    let Some(signer) = &app.signer else {
        return Ok(0);
    };
    let stale = app
        .store
        .revisions_not_signed_by(&signer.fingerprint)
        .await?;
    for r in &stale {
        let signature = signer.sign(&r.document).await?;
        app.store
            .resign_revision(
                &r.advisory_id,
                r.seq,
                &r.signing_key,
                &signature,
                &signer.fingerprint,
            )
            .await?;
    }
    Ok(stale.len())
}

/// The fingerprint of the first secret primary key in `--with-colons` output.
fn primary_fingerprint(listing: &str) -> Option<String> {
    let mut after_sec = false;
    for line in listing.lines() {
        let mut fields = line.split(':');
        match fields.next() {
            Some("sec") => after_sec = true,
            Some("fpr") if after_sec => {
                let fpr = fields.nth(8)?.trim();
                return (!fpr.is_empty()).then(|| fpr.to_ascii_uppercase());
            }
            _ => {}
        }
    }
    None
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e} / 作成できません", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::primary_fingerprint;

    #[test]
    fn the_primary_keys_fingerprint_is_read_not_a_subkeys() {
        let listing = "sec:u:255:22:AAAA:1:::u:::scESC:::+:::23::0:\n\
                       fpr:::::::::0123456789ABCDEF0123456789ABCDEF01234567:\n\
                       uid:u::::1::X::PSIRT <psirt@example.jp>::::::::::0:\n\
                       ssb:u:255:18:BBBB:1::::::e:::+:::23:\n\
                       fpr:::::::::FFFF456789ABCDEF0123456789ABCDEF01234567:\n";
        assert_eq!(
            primary_fingerprint(listing).as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(primary_fingerprint("uid:u::::\n"), None);
    }
}
