//! The server's certificate, shared by every listener that speaks TLS: HTTPS, STARTTLS on the
//! SMTP intake and syslog over TLS (RFC 5425). One host, one certificate; each listener asks
//! for its own ALPN list. Also the extra trust anchor for the outgoing relay.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake not done by then ends the connection, on every listener: a client that
/// connects and says nothing holds a slot only this long.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server certificate first, then any intermediates.
    pub cert: PathBuf,
    /// PEM: PKCS#8, PKCS#1 or SEC1 private key.
    pub key: PathBuf,
}

/// Reads the certificate and key; every failure names the file and what is wrong with it.
pub fn acceptor(files: &TlsFiles, alpn: &[&[u8]]) -> anyhow::Result<TlsAcceptor> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "TLS key / TLS 秘密鍵 {}: {e} (a PEM private key is expected / PEM 形式の秘密鍵が必要です)",
            files.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            anyhow::anyhow!(
                "TLS certificate {} and key {} do not go together / 証明書と秘密鍵が対応していません: {e}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TLS client that trusts only the CA (or certificate) in a PEM file: the directory's, when
/// the team runs its own CA.
pub fn client_config(ca: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_chain(ca)? {
        roots
            .add(cert)
            .map_err(|e| anyhow::anyhow!("{}: {e}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file, in order; an empty file is an error.
pub fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow::anyhow!("TLS certificate / TLS 証明書 {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("TLS certificate / TLS 証明書 {}: {e}", path.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "TLS certificate / TLS 証明書 {}: no CERTIFICATE block in the file / CERTIFICATE ブロックがありません",
            path.display()
        );
    }
    Ok(chain)
}
