//! Envelope encryption for Trygg's stored personal data.
//!
//! A [`Keyring`] of key-encryption keys ([`Kek`]) wraps per-subject [`DataKey`]s; a data key
//! encrypts values with AES-256-GCM whose associated data ([`Aad`]) binds each ciphertext to its
//! table, column and row, so a ciphertext copied to another place no longer decrypts. Deleting a
//! subject's wrapped data key (crypto-shredding) makes all of its values unreadable, even in
//! backups. Rotating the KEK re-wraps the small data keys without touching the encrypted values.
//!
//! Key material lives in zeroize-on-drop containers (including the expanded AES key schedules),
//! and every key type's `Debug` is redacted. This crate deliberately knows nothing about SQL,
//! the network or where data keys are stored: the store persists [`WrappedKey`]s and ciphertexts
//! and deletes wrapped keys to shred. Its only IO is reading and writing the key file
//! ([`Keyring::load`], [`Keyring::save`], [`Keyring::load_or_create`]).

#![forbid(unsafe_code)]

mod data_key;
mod error;
mod kek_id;
mod key_file;
mod keyring;
mod sealing;

#[cfg(test)]
mod tests;

pub use data_key::{Aad, DataKey};
pub use error::VaultError;
pub use kek_id::KekId;
pub use keyring::{Kek, Keyring, WrappedKey};

/// `N` bytes from the operating system's random number generator.
///
/// # Panics
///
/// Only if the operating system cannot provide randomness. Nothing in Trygg can continue safely
/// without it (keys and nonces depend on it), and it does not fail on any supported system once
/// booted, so this is treated like running out of memory rather than returned as an error.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes);
    bytes
}

/// Fills `buffer` from the OS random number generator; used for key material so that it can be
/// generated directly inside its zeroizing container instead of being copied there.
pub(crate) fn fill_random(buffer: &mut [u8]) {
    getrandom::getrandom(buffer).expect("invariant: the OS random number generator is available");
}
