//! Key-encryption keys, the keyring that holds them, and wrapping of data keys.
//!
//! The keyring has one active KEK, which wraps every new data key, and the retired KEKs that are
//! still needed to unwrap data keys wrapped before a rotation. Rotation is: [`Keyring::rotate`],
//! [`Keyring::rewrap`] every stored data key, persist them, then
//! [`Keyring::retire_all_but_active`] and save the key file. A wrapped key is bound to its
//! `key_ref` (the data key's own id, e.g. `"subject:42"`) so that swapping two subjects' wrapped
//! keys in the database makes both fail rather than exchanging their data.
//!
//! This module deliberately does not read or write the key file (see `key_file.rs`) nor decide
//! when to rotate.

use aes_gcm::{Aes256Gcm, Key, KeyInit};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::sealing::{self, push_field};
use crate::{DataKey, KekId, VaultError};

/// Domain tag for wrapping data keys; the version matches the envelope's version byte.
const WRAP_DOMAIN: &[u8] = b"trygg-vault-wrap-v1\0";

/// A key-encryption key: an id and 32 key bytes. Zeroized on drop, redacted `Debug`.
pub struct Kek {
    id: KekId,
    key: Zeroizing<[u8; 32]>,
    /// The expanded key, cached; its round keys are wiped on drop (see `DataKey`'s field).
    cipher: Aes256Gcm,
}

/// The active KEK plus retired ones still needed to unwrap data keys wrapped before a rotation.
pub struct Keyring {
    active: Kek,
    /// Most recently retired first.
    retired: Vec<Kek>,
}

/// A data key encrypted under a KEK, as the store persists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The KEK that wrapped it.
    pub kek_id: KekId,
    /// `version || nonce || ciphertext || tag`.
    pub blob: Vec<u8>,
}

impl Kek {
    /// A fresh KEK from the OS random number generator.
    pub fn generate(id: KekId) -> Kek {
        let mut key = Zeroizing::new([0u8; 32]);
        crate::fill_random(&mut key[..]);
        Kek::from_zeroizing(id, key)
    }

    /// A KEK from known bytes. The array is moved into a zeroizing container; copies the caller
    /// made before are the caller's to wipe.
    pub fn from_bytes(id: KekId, key: [u8; 32]) -> Kek {
        Kek::from_zeroizing(id, Zeroizing::new(key))
    }

    pub fn id(&self) -> &KekId {
        &self.id
    }

    pub(crate) fn from_zeroizing(id: KekId, key: Zeroizing<[u8; 32]>) -> Kek {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key[..]));
        Kek { id, key, cipher }
    }

    pub(crate) fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

// Both fields holding key material wipe it when dropped (see the field comments).
impl ZeroizeOnDrop for Kek {}

impl std::fmt::Debug for Kek {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Kek")
            .field("id", &self.id.as_str())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Keyring {
    pub fn new(active: Kek) -> Keyring {
        Keyring {
            active,
            retired: Vec::new(),
        }
    }

    pub fn active_id(&self) -> &KekId {
        &self.active.id
    }

    /// The active id first, then the retired ones, most recently retired first.
    pub fn ids(&self) -> Vec<KekId> {
        self.keks().map(|kek| kek.id.clone()).collect()
    }

    /// Makes a fresh KEK named `new_id` active and keeps the old ones as retired (needed until
    /// every data key is re-wrapped). Refuses an id already in the keyring, because wrapped keys
    /// name their KEK by id and two KEKs with one name would make some of them unreadable.
    pub fn rotate(&mut self, new_id: KekId) -> Result<&KekId, VaultError> {
        if self.contains(&new_id) {
            return Err(VaultError::DuplicateKek(new_id));
        }
        let previous = std::mem::replace(&mut self.active, Kek::generate(new_id));
        self.retired.insert(0, previous);
        Ok(&self.active.id)
    }

    /// Keeps every KEK of `older` as a retired one, for a new active KEK that came from outside
    /// (an injected key) rather than from [`Keyring::rotate`]. Ids already present are skipped:
    /// the key held here under that name wins.
    pub fn merge_retired(&mut self, older: Keyring) {
        for kek in std::iter::once(older.active).chain(older.retired) {
            if !self.contains(&kek.id) {
                self.retired.push(kek);
            }
        }
    }

    /// Drops (and so wipes) the retired KEKs, once every data key has been re-wrapped.
    pub fn retire_all_but_active(&mut self) {
        self.retired.clear();
    }

    pub fn contains(&self, id: &KekId) -> bool {
        self.keks().any(|kek| kek.id == *id)
    }

    /// Wraps `key` under the active KEK: AES-256-GCM with a random 96-bit nonce, associated data
    /// = domain tag + `key_ref` (the data key's own id, e.g. `"subject:42"`).
    pub fn wrap(&self, key: &DataKey, key_ref: &str) -> WrappedKey {
        WrappedKey {
            kek_id: self.active.id.clone(),
            blob: sealing::seal(&self.active.cipher, &wrap_aad(key_ref), key.key_bytes()),
        }
    }

    /// Unwraps with the KEK named in `wrapped.kek_id`, active or retired.
    pub fn unwrap(&self, wrapped: &WrappedKey, key_ref: &str) -> Result<DataKey, VaultError> {
        let kek = self
            .keks()
            .find(|kek| kek.id == wrapped.kek_id)
            .ok_or_else(|| VaultError::UnknownKek(wrapped.kek_id.clone()))?;
        let plaintext = sealing::open(&kek.cipher, &wrap_aad(key_ref), &wrapped.blob)?;
        // A blob that authenticates under our KEK was made by `wrap`, so it holds 32 bytes; the
        // check only guards against a future format mistake, without panicking.
        let key_bytes: &[u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Decrypt)?;
        Ok(DataKey::from_zeroizing(Zeroizing::new(*key_bytes)))
    }

    /// Unwraps with whatever KEK wrapped it and wraps again under the active one.
    pub fn rewrap(&self, wrapped: &WrappedKey, key_ref: &str) -> Result<WrappedKey, VaultError> {
        let key = self.unwrap(wrapped, key_ref)?;
        Ok(self.wrap(&key, key_ref))
    }

    /// The active KEK, then the retired ones.
    pub(crate) fn keks(&self) -> impl Iterator<Item = &Kek> {
        std::iter::once(&self.active).chain(&self.retired)
    }

    /// Assembles a keyring from decoded parts; the caller has checked the ids are unique.
    pub(crate) fn from_parts(active: Kek, retired: Vec<Kek>) -> Keyring {
        Keyring { active, retired }
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let retired: Vec<&str> = self.retired.iter().map(|kek| kek.id.as_str()).collect();
        formatter
            .debug_struct("Keyring")
            .field("active", &self.active.id.as_str())
            .field("retired", &retired)
            .finish()
    }
}

/// `domain || key_ref`, length-prefixed.
fn wrap_aad(key_ref: &str) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(WRAP_DOMAIN.len() + 8 + key_ref.len());
    encoded.extend_from_slice(WRAP_DOMAIN);
    push_field(&mut encoded, key_ref.as_bytes());
    encoded
}
