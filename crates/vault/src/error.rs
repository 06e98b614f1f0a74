//! The vault's error type.
//!
//! Every message is one line that says what to fix, and none ever contains key material: key
//! file errors name the line number and what is wrong with it, never the line's text, because an
//! operator may paste the message into a ticket or a log. `Decrypt` deliberately carries no
//! detail, so a failure tells an attacker nothing about which check failed.

use std::path::PathBuf;

use crate::KekId;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the value could not be decrypted: wrong key, or it was moved or altered")]
    Decrypt,
    #[error(
        "the key-encryption key {0} is not in the keyring: it was retired before every data key \
         wrapped under it was re-wrapped, or this is not the right key file"
    )]
    UnknownKek(KekId),
    #[error("the key-encryption key {0} is already in the keyring: choose another id")]
    DuplicateKek(KekId),
    #[error("not a valid key id: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'")]
    InvalidKekId,
    #[error("not a valid key: expected 32 bytes in standard base64 (44 characters)")]
    InvalidKey,
    #[error("the key file is not valid: {0}")]
    KeyFileFormat(String),
    #[error(
        "the key file {} can be read or written by other users (mode {mode:03o}): run \
         `chmod 600` on it",
        path.display()
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    /// The OS error is part of the one-line message (and deliberately not a `source`, which
    /// error reporters would print a second time).
    #[error("could not {action} the key file {}: {io_error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        io_error: std::io::Error,
    },
}

impl VaultError {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> VaultError {
        let path = path.to_path_buf();
        move |io_error| VaultError::Io {
            action,
            path,
            io_error,
        }
    }
}
