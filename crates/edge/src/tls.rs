//! The TLS configuration: TLS 1.3 and 1.2 only, with rustls' forward-secret AEAD cipher suites
//! (ECDHE with AES-GCM or ChaCha20-Poly1305), and either the operator's certificate or a
//! self-signed one generated into the data directory on first run for local use.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::HttpError;

/// A ready TLS server configuration.
pub type TlsConfig = Arc<rustls::ServerConfig>;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum CertificateSource {
    /// The operator's PEM certificate chain and key.
    Files { cert: PathBuf, key: PathBuf },
    /// A self-signed certificate kept in this directory, generated when missing.
    SelfSigned { dir: PathBuf },
}

/// What [`load`] did, for the start-up message and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateOrigin {
    Configured,
    SelfSignedExisting,
    SelfSignedGenerated,
}

/// Builds the server's TLS configuration.
pub fn load(
    source: &CertificateSource,
) -> Result<(Arc<rustls::ServerConfig>, CertificateOrigin), HttpError> {
    let (cert_path, key_path, origin) = match source {
        CertificateSource::Files { cert, key } => {
            (cert.clone(), key.clone(), CertificateOrigin::Configured)
        }
        CertificateSource::SelfSigned { dir } => {
            let cert = dir.join("tls-cert.pem");
            let key = dir.join("tls-key.pem");
            let origin = if cert.exists() && key.exists() {
                CertificateOrigin::SelfSignedExisting
            } else {
                generate_self_signed(&cert, &key)?;
                CertificateOrigin::SelfSignedGenerated
            };
            (cert, key, origin)
        }
    };
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| {
            HttpError::Tls(format!(
                "cannot read the TLS certificate {}: {error}; set http.tls_cert_file to a PEM \
                 certificate chain",
                cert_path.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(HttpError::Tls(format!(
            "{} holds no PEM certificate; set http.tls_cert_file to a PEM certificate chain",
            cert_path.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|error| {
        HttpError::Tls(format!(
            "cannot read the TLS private key {}: {error}; set http.tls_key_file to a PEM key",
            key_path.display()
        ))
    })?;
    Ok((server_config(chain, key)?, origin))
}

/// The rustls configuration for a certificate chain and key.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| HttpError::Tls(format!("TLS set-up failed: {error}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| {
            HttpError::Tls(format!(
                "the TLS certificate and key do not fit together: {error}"
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Writes a self-signed certificate for `localhost`, 127.0.0.1 and ::1, its key with mode 0600.
fn generate_self_signed(cert_path: &Path, key_path: &Path) -> Result<(), HttpError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|error| HttpError::Tls(format!("cannot generate a certificate: {error}")))?;
    write_private(key_path, generated.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, generated.cert.pem()).map_err(|error| {
        HttpError::Tls(format!(
            "cannot write {}: {error}; check that the data directory is writable",
            cert_path.display()
        ))
    })?;
    Ok(())
}

/// Creates a file only its owner can read, refusing to overwrite one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), HttpError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|error| {
        HttpError::Tls(format!(
            "cannot create {}: {error}; check that the data directory is writable",
            path.display()
        ))
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| HttpError::Tls(format!("cannot write {}: {error}", path.display())))
}
