//! The one AES-256-GCM envelope format used for both values and wrapped data keys.
//!
//! `version (1 byte) || nonce (12 bytes, random) || ciphertext || tag (16 bytes)`. The version
//! byte lets a later format be introduced without guessing; the associated data, built by the
//! callers, starts with a domain tag naming the same version, so a blob cannot be reinterpreted
//! under another version or purpose. Random 96-bit nonces are safe for up to 2^32 messages per
//! key; data keys are per subject and KEKs only wrap data keys, both far below that.
//!
//! This module deliberately does the work in place in a single output buffer: the plaintext is
//! copied once into the buffer that becomes the ciphertext, so large values cost one memcpy over
//! raw AES-GCM and no intermediate allocation.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

use crate::VaultError;

pub(crate) const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Length of a sealed blob for a plaintext of `plaintext_len` bytes.
pub(crate) const fn sealed_len(plaintext_len: usize) -> usize {
    HEADER_LEN + plaintext_len + TAG_LEN
}

/// Encrypts `plaintext` under `cipher` with a fresh random nonce.
///
/// # Panics
///
/// If `plaintext` exceeds AES-GCM's limit of 64 GiB, which no value in Trygg comes near.
pub(crate) fn seal(cipher: &Aes256Gcm, associated_data: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = crate::random_bytes();
    let mut sealed = Vec::with_capacity(sealed_len(plaintext.len()));
    sealed.push(FORMAT_VERSION);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            associated_data,
            &mut sealed[HEADER_LEN..],
        )
        .expect("invariant: values are far below AES-GCM's 64 GiB plaintext limit");
    sealed.extend_from_slice(&tag);
    sealed
}

/// Decrypts a blob made by [`seal`]. Every failure, including a truncated or empty blob, is the
/// same detail-free [`VaultError::Decrypt`].
pub(crate) fn open(
    cipher: &Aes256Gcm,
    associated_data: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if sealed.len() < sealed_len(0) || sealed[0] != FORMAT_VERSION {
        return Err(VaultError::Decrypt);
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    // The plaintext is built inside a zeroizing buffer, reserved up front so that it is never
    // reallocated (which would leave an unzeroized copy behind).
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    plaintext.extend_from_slice(ciphertext);
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(&header[1..]),
            associated_data,
            &mut plaintext,
            Tag::from_slice(tag),
        )
        .map_err(|_| VaultError::Decrypt)?;
    Ok(plaintext)
}

/// Appends `field` with a u64 big-endian length prefix, making concatenated fields unambiguous.
pub(crate) fn push_field(buffer: &mut Vec<u8>, field: &[u8]) {
    // usize is at most 64 bits on every platform Rust supports, so this widening is lossless.
    buffer.extend_from_slice(&(field.len() as u64).to_be_bytes());
    buffer.extend_from_slice(field);
}
