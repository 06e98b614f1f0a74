//! The key file: the keyring's KEKs at rest, and loading KEKs from the environment.
//!
//! The format is small, versioned text that an operator can inspect and back up:
//!
//! ```text
//! trygg-keyring v1
//! # comments and blank lines are ignored
//! active kek-20261127T110000Z-3fa9 <32 bytes, standard base64>
//! retired kek-20260301T090000Z-0b7e <32 bytes, standard base64>
//! ```
//!
//! Exactly one line is `active`; ids are unique. The file must not be readable or writable by
//! group or others, and it is written atomically (temp file with mode 0600, fsync, rename, fsync
//! the directory) so a crash never leaves a half-written keyring — losing it would make every
//! encrypted value unreadable. Error messages name line numbers, never line contents, so a
//! message can be shared without leaking a key.
//!
//! This module deliberately does not encrypt the file itself (that would need another key kept
//! somewhere; file permissions and disk encryption are the protection) nor back it up.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use zeroize::Zeroizing;

use crate::{Kek, KekId, Keyring, VaultError};

const HEADER: &str = "trygg-keyring v1";
const HEADER_PREFIX: &str = "trygg-keyring ";
/// A key file is a few hundred bytes; refusing large files avoids reading a wrong path whole.
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;
/// Standard base64 of 32 bytes, with padding.
const ENCODED_KEY_LEN: usize = 44;

/// Accepts keys with or without the trailing `=`, as tools differ in whether they pad.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Keyring {
    /// The key file's text. Zeroized when dropped, since it holds every KEK.
    pub fn encode(&self) -> Zeroizing<String> {
        let comment = "# Trygg key-encryption keys. Keep this file secret (mode 0600) and backed \
                       up: without it every encrypted value is unreadable.\n";
        let line_len = "retired ".len() + 64 + 1 + ENCODED_KEY_LEN + 1;
        let capacity = HEADER.len() + 1 + comment.len() + line_len * self.keks().count();
        // Reserved up front so the String never reallocates and leaves key copies behind.
        let mut text = Zeroizing::new(String::with_capacity(capacity));
        text.push_str(HEADER);
        text.push('\n');
        text.push_str(comment);
        for (idx, kek) in self.keks().enumerate() {
            text.push_str(if idx == 0 { "active " } else { "retired " });
            text.push_str(kek.id().as_str());
            text.push(' ');
            STANDARD.encode_string(kek.key_bytes(), &mut text);
            text.push('\n');
        }
        text
    }

    /// Parses the key file's text. Errors name the line, never its content.
    pub fn decode(text: &str) -> Result<Keyring, VaultError> {
        let format_error = |message: String| VaultError::KeyFileFormat(message);
        let mut lines = text.lines().enumerate();
        match lines.next().map(|(_, line)| line.trim_end()) {
            Some(HEADER) => {}
            Some(line) if line.starts_with(HEADER_PREFIX) => {
                return Err(format_error(format!(
                    "line 1: unsupported version; this Trygg reads '{HEADER}' files"
                )));
            }
            _ => {
                return Err(format_error(format!(
                    "line 1 must be '{HEADER}'; is this the right file?"
                )));
            }
        }
        let mut active: Option<Kek> = None;
        let mut retired: Vec<Kek> = Vec::new();
        for (idx, line) in lines {
            let line_number = idx + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(role), Some(id), Some(key), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(format_error(format!(
                    "line {line_number}: expected 'active <id> <base64 key>' or \
                     'retired <id> <base64 key>'"
                )));
            };
            let is_active = match role {
                "active" => true,
                "retired" => false,
                _ => {
                    return Err(format_error(format!(
                        "line {line_number}: expected 'active' or 'retired' at the start"
                    )));
                }
            };
            let id = KekId::parse(id)
                .map_err(|error| format_error(format!("line {line_number}: {error}")))?;
            let key = decode_key(key)
                .map_err(|error| format_error(format!("line {line_number}: {error}")))?;
            let duplicate = active.iter().chain(&retired).any(|kek| *kek.id() == id);
            if duplicate {
                return Err(format_error(format!(
                    "line {line_number}: the key id {id} appears more than once"
                )));
            }
            let kek = Kek::from_zeroizing(id, key);
            if !is_active {
                retired.push(kek);
            } else if active.is_none() {
                active = Some(kek);
            } else {
                return Err(format_error(format!(
                    "line {line_number}: a second 'active' key; exactly one key is active"
                )));
            }
        }
        let active = active.ok_or_else(|| {
            format_error("there is no 'active <id> <base64 key>' line".to_owned())
        })?;
        Ok(Keyring::from_parts(active, retired))
    }

    /// Reads the key file; refuses ([`VaultError::KeyFilePermissions`]) a file readable or
    /// writable by group or others on unix.
    pub fn load(path: &Path) -> Result<Keyring, VaultError> {
        let file = File::open(path).map_err(VaultError::io("read", path))?;
        // The checks use the opened file's metadata, so the file checked is the file read.
        let metadata = file.metadata().map_err(VaultError::io("read", path))?;
        let with_path =
            |message: String| VaultError::KeyFileFormat(format!("{}: {message}", path.display()));
        if !metadata.is_file() {
            return Err(with_path("not a regular file".to_owned()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(VaultError::KeyFilePermissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        if metadata.len() > MAX_KEY_FILE_LEN {
            return Err(with_path(format!(
                "larger than {} KiB; is this the right file?",
                MAX_KEY_FILE_LEN / 1024
            )));
        }
        // Reserved beyond the file's size so that reading never reallocates (which would leave
        // an unzeroized copy of the keys behind), even if the file grew a little meanwhile.
        let capacity = usize::try_from(MAX_KEY_FILE_LEN + 1).unwrap_or(usize::MAX);
        let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(VaultError::io("read", path))?;
        if bytes.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(with_path("it grew while being read".to_owned()));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| with_path("it is not UTF-8 text".to_owned()))?;
        Keyring::decode(text).map_err(|error| match error {
            VaultError::KeyFileFormat(message) => with_path(message),
            other => other,
        })
    }

    /// Writes atomically: a temp file in the same directory created with mode 0600, write,
    /// fsync, rename over `path`, fsync the directory.
    pub fn save(&self, path: &Path) -> Result<(), VaultError> {
        let temp_path = write_temp_file(path, &self.encode())?;
        let renamed = fs::rename(&temp_path, path).map_err(VaultError::io("replace", path));
        if renamed.is_err() {
            // Best effort: the temp file holds keys, so it should not linger.
            let _ = fs::remove_file(&temp_path);
        }
        renamed?;
        sync_directory(path)
    }

    /// Loads the file if present, else generates a new keyring whose active KEK is `new_id`,
    /// saves it (0600) and returns it; `created` says which happened.
    ///
    /// Creation never replaces a file: if another process created one meanwhile, that one is
    /// loaded, so two starting servers cannot end up with different keys.
    pub fn load_or_create(path: &Path, new_id: KekId) -> Result<(Keyring, bool), VaultError> {
        match Keyring::load(path) {
            Ok(keyring) => return Ok((keyring, false)),
            Err(VaultError::Io { io_error, .. })
                if io_error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        create_private_directory_for(path)?;
        let keyring = Keyring::new(Kek::generate(new_id));
        let temp_path = write_temp_file(path, &keyring.encode())?;
        // A hard link, unlike a rename, fails if the target exists: atomic create-if-absent.
        let linked = fs::hard_link(&temp_path, path);
        let _ = fs::remove_file(&temp_path);
        match linked {
            Ok(()) => {
                sync_directory(path)?;
                Ok((keyring, true))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Keyring::load(path)?, false))
            }
            Err(error) => Err(VaultError::io("create", path)(error)),
        }
    }

    /// From a single base64 32-byte key given in the environment or a `*_FILE` (id given by the
    /// caller). Surrounding whitespace, such as a file's final newline, is ignored.
    pub fn from_base64_key(id: KekId, base64_key: &str) -> Result<Keyring, VaultError> {
        let key = decode_key(base64_key.trim())?;
        Ok(Keyring::new(Kek::from_zeroizing(id, key)))
    }
}

/// Decodes one base64 key straight into a zeroizing buffer.
fn decode_key(encoded: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    // 43 or 44 characters (with or without padding); checking first keeps the decoder's output
    // within the buffer below.
    if !(ENCODED_KEY_LEN - 1..=ENCODED_KEY_LEN).contains(&encoded.len()) {
        return Err(VaultError::InvalidKey);
    }
    let mut buffer = Zeroizing::new([0u8; 48]);
    let decoded_len = LENIENT_BASE64
        .decode_slice(encoded, &mut buffer[..])
        .map_err(|_| VaultError::InvalidKey)?;
    if decoded_len != 32 {
        return Err(VaultError::InvalidKey);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&buffer[..32]);
    Ok(key)
}

/// Creates `.<name>.tmp-<random>` next to `path` with mode 0600, writes `contents` and fsyncs.
fn write_temp_file(path: &Path, contents: &str) -> Result<PathBuf, VaultError> {
    let file_name = path.file_name().ok_or_else(|| {
        VaultError::KeyFileFormat(format!("{} does not name a file", path.display()))
    })?;
    let suffix: [u8; 8] = crate::random_bytes();
    let temp_name = format!(
        ".{}.tmp-{:016x}",
        file_name.to_string_lossy(),
        u64::from_le_bytes(suffix)
    );
    let temp_path = match parent_directory(path) {
        Some(directory) => directory.join(temp_name),
        None => PathBuf::from(temp_name),
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // Errors name the key file rather than the temp file, which the operator never asked for.
    let mut file = options
        .open(&temp_path)
        .map_err(VaultError::io("write", path))?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(VaultError::io("write", path));
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(&temp_path);
    }
    written.map(|()| temp_path)
}

/// Makes a rename or link in `path`'s directory durable.
fn sync_directory(path: &Path) -> Result<(), VaultError> {
    #[cfg(unix)]
    {
        let directory = parent_directory(path).unwrap_or(Path::new("."));
        File::open(directory)
            .and_then(|directory| directory.sync_all())
            .map_err(VaultError::io("sync the directory of", path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates the directory that will hold the key file, if missing, readable by its owner only.
fn create_private_directory_for(path: &Path) -> Result<(), VaultError> {
    let Some(directory) = parent_directory(path) else {
        return Ok(());
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(directory)
        .map_err(VaultError::io("create the directory of", path))
}

/// The directory part of `path`, or `None` for a bare file name (the current directory).
fn parent_directory(path: &Path) -> Option<&Path> {
    path.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
}
