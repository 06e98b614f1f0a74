//! The audit trail's checkpoint signing key on disk: 32 secret bytes in hex, mode 0600, created
//! on first run, with the public half written beside it (`.pub`) for offline verification.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use audit::{CheckpointSigner, PublicKey};
use zeroize::Zeroizing;

/// Loads the signing key, or creates it (and its `.pub`) when missing. Returns whether it was
/// created.
pub fn load_or_create(path: &Path) -> anyhow::Result<(CheckpointSigner, bool)> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let signer = CheckpointSigner::generate();
    let secret = Zeroizing::new(hex::encode(*signer.to_bytes()));
    write_private(path, secret.as_bytes())?;
    std::fs::write(
        public_key_path(path),
        format!("{}\n", signer.public_key().to_hex()),
    )
    .with_context(|| format!("cannot write {}", public_key_path(path).display()))?;
    Ok((signer, true))
}

fn load(path: &Path) -> anyhow::Result<CheckpointSigner> {
    check_private(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the audit signing key {}", path.display()))?,
    );
    let mut bytes = Zeroizing::new([0u8; 32]);
    if hex::decode_to_slice(text.trim(), bytes.as_mut_slice()).is_err() {
        bail!(
            "the audit signing key {} is not 64 hex digits; restore it from backup \
             (audit.signing_key_file)",
            path.display()
        );
    }
    Ok(CheckpointSigner::from_bytes(&bytes))
}

/// The public key for verification: from `.pub` beside the signing key.
pub fn load_public(signing_key_path: &Path) -> anyhow::Result<PublicKey> {
    let path = public_key_path(signing_key_path);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the audit public key {}; give it with --public-key",
            path.display()
        )
    })?;
    parse_public(text.trim())
}

pub fn parse_public(hex_text: &str) -> anyhow::Result<PublicKey> {
    PublicKey::from_hex(hex_text.trim()).map_err(|_| {
        anyhow::anyhow!("the audit public key must be 64 hex digits of an Ed25519 key")
    })
}

pub fn public_key_path(signing_key_path: &Path) -> PathBuf {
    let mut name = signing_key_path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Creates a new file only its owner can read and write.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Refuses a secret file that others could read or change.
pub fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is accessible to other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(())
}
