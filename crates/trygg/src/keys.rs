//! The key service: the vault's keyring joined to the stored data keys. It creates, opens and
//! destroys data keys (crypto-shredding) and rotates the key-encryption key while servers keep
//! serving.
//!
//! A keyring file may be rewritten by `trygg keys rotate` in another process at any time; before
//! wrapping or on meeting an unknown key-encryption key, the service re-reads the file if it
//! changed, so a running server follows a rotation without a restart.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::{bail, Context as _};
use audit::{Event, Outcome};
use store::{AuditWriter, Store, Tx, WrappedKeyRow};
use vault::{Aad, DataKey, KekId, Keyring, VaultError};

use crate::clock::now_ms;

/// Where the key-encryption key comes from.
#[derive(Debug, Clone)]
pub enum KekSource {
    /// A keyring file, created on first run.
    File(PathBuf),
    /// A key given in the environment (or `_FILE`); rotation is then the operator's job.
    Injected,
}

/// The keyring plus the knowledge of where it lives.
#[derive(Debug)]
pub struct KeyService {
    source: KekSource,
    state: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    keyring: Keyring,
    /// The keyring file's modification time and length when it was read.
    stamp: Option<(SystemTime, u64)>,
}

/// What opening the keyring found, for the start-up checks.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Existing,
    Created,
}

/// How long rotation waits before its second pass, so that servers that had read the old
/// keyring finish any data key they were creating with it.
const REWRAP_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Data keys re-wrapped per transaction during rotation.
const ROTATION_BATCH: i64 = 500;

impl KeyService {
    /// Opens the keyring file, creating a new one only if the database holds no data keys yet:
    /// a missing key file for a database that has keys is an operator error, never a reason to
    /// start over with a new key.
    pub async fn open_file(path: &Path, store: &Store) -> anyhow::Result<(KeyService, Opened)> {
        let counts = store.data_key_counts().await?;
        let opened = if path.exists() {
            Opened::Existing
        } else if counts.is_empty() {
            Opened::Created
        } else {
            bail!(
                "the keyring {} is missing but the database holds data keys wrapped under {}; \
                 restore the key file (vault.key_file) from your key backup",
                path.display(),
                kek_names(&counts)
            );
        };
        let (keyring, _) = Keyring::load_or_create(path, new_kek_id())
            .map_err(|error| anyhow::anyhow!("{error}"))
            .with_context(|| format!("cannot open the keyring {}", path.display()))?;
        let service = KeyService {
            source: KekSource::File(path.to_owned()),
            state: RwLock::new(Loaded {
                keyring,
                stamp: file_stamp(path),
            }),
        };
        service.check_against(store).await?;
        Ok((service, opened))
    }

    /// Uses a key given in configuration.
    pub async fn injected(keyring: Keyring, store: &Store) -> anyhow::Result<KeyService> {
        let service = KeyService {
            source: KekSource::Injected,
            state: RwLock::new(Loaded {
                keyring,
                stamp: None,
            }),
        };
        service.check_against(store).await?;
        Ok(service)
    }

    /// Refuses a keyring that cannot open the database's data keys: every key-encryption key in
    /// use must be present and must actually unwrap one of its keys.
    async fn check_against(&self, store: &Store) -> anyhow::Result<()> {
        let counts = store.data_key_counts().await?;
        let where_from = match &self.source {
            KekSource::File(path) => format!("the keyring {}", path.display()),
            KekSource::Injected => "the configured vault.kek".to_owned(),
        };
        for (kek_id, count) in counts {
            let known = self.read().keyring.contains(&parse_kek_id(&kek_id)?);
            if !known {
                bail!(
                    "{where_from} does not hold key-encryption key {kek_id}, which wraps {count} \
                     data keys; use the right key file (vault.key_file) or vault.kek"
                );
            }
            if let Some(row) = store.first_data_key_under(&kek_id).await? {
                if self.unwrap_row(&row).is_err() {
                    bail!(
                        "{where_from} holds a key named {kek_id} that does not unwrap this \
                         database's data keys: it is the wrong key file"
                    );
                }
            }
        }
        Ok(())
    }

    pub fn active_kek(&self) -> String {
        self.read().keyring.active_id().to_string()
    }

    /// Creates a new data key for `key_ref` inside `tx` and returns it.
    pub fn new_wrapped(&self, key_ref: &str) -> (DataKey, WrappedKeyRow) {
        self.refresh_if_changed();
        let key = DataKey::generate();
        let state = self.read();
        let wrapped = state.keyring.wrap(&key, key_ref);
        let row = WrappedKeyRow {
            key_ref: key_ref.to_owned(),
            kek_id: wrapped.kek_id.to_string(),
            wrapped: wrapped.blob,
        };
        (key, row)
    }

    /// Creates and stores a data key in `tx`.
    pub async fn create(&self, tx: &mut Tx, key_ref: &str) -> anyhow::Result<DataKey> {
        let (key, row) = self.new_wrapped(key_ref);
        tx.insert_data_key(&row, now_ms()).await?;
        Ok(key)
    }

    /// Opens the data key of `key_ref`, or `None` if it was never made or has been destroyed.
    pub async fn open(&self, store: &Store, key_ref: &str) -> anyhow::Result<Option<DataKey>> {
        let Some(row) = store.data_key(key_ref).await? else {
            return Ok(None);
        };
        Ok(Some(self.unwrap_row(&row)?))
    }

    fn unwrap_row(&self, row: &WrappedKeyRow) -> anyhow::Result<DataKey> {
        let wrapped = vault::WrappedKey {
            kek_id: parse_kek_id(&row.kek_id)?,
            blob: row.wrapped.clone(),
        };
        let first = self.read().keyring.unwrap(&wrapped, &row.key_ref);
        match first {
            Err(VaultError::UnknownKek(_)) if self.refresh_if_changed() => {
                Ok(self.read().keyring.unwrap(&wrapped, &row.key_ref)?)
            }
            other => Ok(other?),
        }
    }

    /// Re-wraps every data key under a new key-encryption key. For a keyring file the new key is
    /// generated and saved first (beside the old one, so servers can still open keys not yet
    /// re-wrapped), and the old one is dropped from the file once nothing needs it. With an
    /// injected key, the caller passes the new keyring.
    pub async fn rotate(
        &self,
        store: &Store,
        writer: &AuditWriter,
        injected_new: Option<Keyring>,
    ) -> anyhow::Result<Rotation> {
        let old_ids: Vec<String> = self
            .read()
            .keyring
            .ids()
            .iter()
            .map(|id| id.to_string())
            .collect();
        let new_id = {
            let mut state = self.write();
            match (&self.source, injected_new) {
                (KekSource::File(path), None) => {
                    let new_id = new_kek_id();
                    state.keyring.rotate(new_id.clone())?;
                    state.keyring.save(path).map_err(|error| anyhow::anyhow!("{error}"))?;
                    state.stamp = file_stamp(path);
                    new_id
                }
                (KekSource::Injected, Some(new_keyring)) => {
                    let new_id = new_keyring.active_id().clone();
                    // The old keys stay usable for unwrapping until every data key is re-wrapped.
                    let old = std::mem::replace(&mut state.keyring, new_keyring);
                    state.keyring.merge_retired(old);
                    new_id
                }
                (KekSource::File(_), Some(_)) => {
                    bail!("this server keeps its key in a keyring file; run `trygg keys rotate` without --new-kek-file")
                }
                (KekSource::Injected, None) => bail!(
                    "the key-encryption key is injected (vault.kek); give the new one with --new-kek-file"
                ),
            }
        };
        let started = now_ms();
        let mut tx = store.begin().await?;
        let event = Event::new(started, "system", "keys.rotation_started", Outcome::Success)
            .detail("new_kek", new_id.to_string())
            .detail("old_keks", old_ids.join(","));
        writer.append(&mut tx, vec![event], started).await?;
        tx.commit().await?;

        let mut rewrapped = self.rewrap_all(store, &new_id).await?;
        // A server that read the keyring just before the new file was saved may have wrapped a
        // new data key under the old key-encryption key after the first pass went by; a second
        // pass, with the old keys still held here, catches it before they are dropped.
        tokio::time::sleep(REWRAP_GRACE).await;
        rewrapped += self.rewrap_all(store, &new_id).await?;
        {
            let mut state = self.write();
            state.keyring.retire_all_but_active();
            if let KekSource::File(path) = &self.source {
                state
                    .keyring
                    .save(path)
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
                state.stamp = file_stamp(path);
            }
        }

        let finished = now_ms();
        let mut tx = store.begin().await?;
        let event = Event::new(finished, "system", "keys.rotated", Outcome::Success)
            .detail("new_kek", new_id.to_string())
            .detail("old_keks", old_ids.join(","))
            .detail("rewrapped", rewrapped.to_string());
        writer.append(&mut tx, vec![event], finished).await?;
        tx.commit().await?;
        Ok(Rotation {
            new_kek: new_id.to_string(),
            old_keks: old_ids,
            rewrapped,
        })
    }

    async fn rewrap_all(&self, store: &Store, new_id: &KekId) -> anyhow::Result<u64> {
        let mut total = 0;
        loop {
            let batch = store
                .data_keys_not_under(new_id.as_str(), ROTATION_BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(total);
            }
            let mut tx = store.begin().await?;
            for row in &batch {
                let wrapped = vault::WrappedKey {
                    kek_id: parse_kek_id(&row.kek_id)?,
                    blob: row.wrapped.clone(),
                };
                let rewrapped = self.read().keyring.rewrap(&wrapped, &row.key_ref)?;
                tx.rewrap_data_key(
                    &row.key_ref,
                    &row.kek_id,
                    rewrapped.kek_id.as_str(),
                    &rewrapped.blob,
                    now_ms(),
                )
                .await?;
            }
            tx.commit().await?;
            total += batch.len() as u64;
        }
    }

    /// Re-reads the keyring file if it changed since it was read. Returns whether it did.
    fn refresh_if_changed(&self) -> bool {
        let KekSource::File(path) = &self.source else {
            return false;
        };
        let stamp = file_stamp(path);
        if stamp == self.read().stamp {
            return false;
        }
        match Keyring::load(path) {
            Ok(keyring) => {
                let mut state = self.write();
                state.keyring = keyring;
                state.stamp = stamp;
                tracing::info!("re-read the keyring after it changed on disk");
                true
            }
            Err(error) => {
                tracing::error!(%error, "the keyring file changed but cannot be read; keeping the loaded keys");
                false
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        // A panic while holding the lock cannot leave the keyring half-changed (every writer
        // replaces whole values), so a poisoned lock is still safe to use.
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Loaded> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What a rotation did.
#[derive(Debug, serde::Serialize)]
pub struct Rotation {
    pub new_kek: String,
    pub old_keks: Vec<String>,
    pub rewrapped: u64,
}

/// Encrypts one value with a data key, bound to where it is stored.
pub fn seal(key: &DataKey, table: &str, column: &str, row: &str, plaintext: &[u8]) -> Vec<u8> {
    key.encrypt(&Aad { table, column, row }, plaintext)
}

/// Decrypts one value sealed by [`seal`] for the same place.
pub fn open_value(
    key: &DataKey,
    table: &str,
    column: &str,
    row: &str,
    ciphertext: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, VaultError> {
    key.decrypt(&Aad { table, column, row }, ciphertext)
}

fn new_kek_id() -> KekId {
    KekId::dated(now_ms() / 1000)
}

fn parse_kek_id(text: &str) -> anyhow::Result<KekId> {
    KekId::parse(text).map_err(|error| anyhow::anyhow!("stored key-encryption key id: {error}"))
}

fn kek_names(counts: &[(String, i64)]) -> String {
    counts
        .iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}
