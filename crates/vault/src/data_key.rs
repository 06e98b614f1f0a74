//! Data keys and the encryption of stored values.
//!
//! A [`DataKey`] encrypts the values of one subject (a customer, a meeting). The [`Aad`] names
//! where a value lives; it is authenticated with the value, so a ciphertext copied into another
//! row, column or table fails to decrypt instead of silently showing one customer's data under
//! another's name.
//!
//! This module deliberately does not store or wrap data keys ([`crate::Keyring`] wraps them, the
//! store keeps them) and does not choose what the row id is: the store passes a stable one.

use aes_gcm::{Aes256Gcm, Key, KeyInit};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::sealing::{self, push_field};
use crate::VaultError;

/// Domain tag for value encryption; the version matches the envelope's version byte.
const VALUE_DOMAIN: &[u8] = b"trygg-vault-value-v1\0";
const BLIND_INDEX_DOMAIN: &[u8] = b"trygg-vault-blind-index-v1\0";

/// A 256-bit key that encrypts values. Zeroized on drop, redacted `Debug`, deliberately not
/// `Clone` so that key bytes are not copied around.
pub struct DataKey {
    key: Zeroizing<[u8; 32]>,
    /// The expanded key, cached so that each call does not redo the AES key schedule and GHASH
    /// setup. The `aes` crate is built with its `zeroize` feature, so the round keys are wiped on
    /// drop. (The GHASH subkey AES_K(0), which does not reveal the key, is not: polyval 0.6's
    /// runtime-detected backend never drops its state.)
    cipher: Aes256Gcm,
}

/// Where a value lives. Encoded unambiguously (length-prefixed) into the AEAD associated data
/// together with a domain tag.
#[derive(Clone, Copy, Debug)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl DataKey {
    /// A fresh key from the OS random number generator.
    pub fn generate() -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        crate::fill_random(&mut key[..]);
        DataKey::from_zeroizing(key)
    }

    /// Encrypts `plaintext` for the place `aad`:
    /// `version || 96-bit random nonce || ciphertext || tag`.
    ///
    /// # Panics
    ///
    /// If `plaintext` exceeds AES-GCM's limit of 64 GiB.
    pub fn encrypt(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
        sealing::seal(&self.cipher, &aad.encode(), plaintext)
    }

    /// Decrypts a value encrypted for the place `aad`. Wrong key, wrong place, any alteration and
    /// malformed input all give the same [`VaultError::Decrypt`].
    pub fn decrypt(
        &self,
        aad: &Aad<'_>,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        sealing::open(&self.cipher, &aad.encode(), ciphertext)
    }

    /// A keyed hash of `value` for finding a row by an encrypted field without storing the field
    /// in the clear (a blind index): HMAC-SHA256 under a key derived from this data key for
    /// `purpose`, so the same value gives unrelated indexes for different purposes and nothing
    /// without the key. Equal inputs give equal outputs: normalise `value` before calling.
    pub fn blind_index(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        type HmacSha256 = Hmac<sha2::Sha256>;
        let derive = |key: &[u8], parts: &[&[u8]]| {
            // Invariant: HMAC accepts keys of any length.
            let mut mac =
                <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
            for part in parts {
                mac.update(part);
            }
            let bytes: [u8; 32] = mac.finalize().into_bytes().into();
            bytes
        };
        let purpose_key = Zeroizing::new(derive(
            &self.key[..],
            &[
                BLIND_INDEX_DOMAIN,
                &(purpose.len() as u64).to_be_bytes(),
                purpose.as_bytes(),
            ],
        ));
        derive(&purpose_key[..], &[value])
    }

    pub(crate) fn from_zeroizing(key: Zeroizing<[u8; 32]>) -> DataKey {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key[..]));
        DataKey { key, cipher }
    }

    pub(crate) fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

// Both fields wipe their key material when dropped: `Zeroizing`, and the `aes` crate's zeroize
// feature (see the `cipher` field).
impl ZeroizeOnDrop for DataKey {}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DataKey")
            .field("key", &"<redacted>")
            .finish()
    }
}

impl<'a> Aad<'a> {
    pub fn new(table: &'a str, column: &'a str, row: &'a str) -> Aad<'a> {
        Aad { table, column, row }
    }

    /// `domain || table || column || row`, each field length-prefixed.
    fn encode(&self) -> Vec<u8> {
        let mut encoded = Vec::with_capacity(
            VALUE_DOMAIN.len() + 3 * 8 + self.table.len() + self.column.len() + self.row.len(),
        );
        encoded.extend_from_slice(VALUE_DOMAIN);
        push_field(&mut encoded, self.table.as_bytes());
        push_field(&mut encoded, self.column.as_bytes());
        push_field(&mut encoded, self.row.as_bytes());
        encoded
    }
}
