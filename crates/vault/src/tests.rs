//! Tests of value encryption, wrapping, rotation, the key file and redaction.
//!
//! Each attack a database-level attacker can mount on ciphertexts (moving them, altering them,
//! truncating them) must end in the same `Decrypt` error, never a panic or a wrong plaintext.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::{random_bytes, Aad, DataKey, Kek, KekId, Keyring, VaultError, WrappedKey};

const PLACE: Aad<'static> = Aad {
    table: "customers",
    column: "email",
    row: "42",
};

#[test]
fn values_round_trip() {
    let key = DataKey::generate();
    for plaintext in [&b""[..], b"a", b"alice@example.com", &[7u8; 70_000]] {
        let ciphertext = key.encrypt(&PLACE, plaintext);
        assert_eq!(ciphertext.len(), 1 + 12 + plaintext.len() + 16);
        assert_eq!(
            key.decrypt(&PLACE, &ciphertext).expect("decrypts")[..],
            *plaintext
        );
    }
}

#[test]
fn encryption_is_randomised() {
    let key = DataKey::generate();
    assert_ne!(key.encrypt(&PLACE, b"same"), key.encrypt(&PLACE, b"same"));
}

#[test]
fn a_ciphertext_moved_to_another_place_does_not_decrypt() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(&PLACE, b"alice@example.com");
    let elsewhere = [
        Aad::new("customers", "email", "43"),
        Aad::new("customers", "phone", "42"),
        Aad::new("staff", "email", "42"),
        // Shifting text between fields must not produce the same associated data.
        Aad::new("customer", "semail", "42"),
        Aad::new("customers", "email4", "2"),
    ];
    for place in elsewhere {
        assert!(
            matches!(key.decrypt(&place, &ciphertext), Err(VaultError::Decrypt)),
            "{place:?}"
        );
    }
}

#[test]
fn altered_or_malformed_ciphertexts_do_not_decrypt() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(&PLACE, b"alice@example.com");
    let last = ciphertext.len() - 1;
    // Version byte, nonce, body and tag.
    for position in [0, 1, 12, 13, 20, last - 15, last] {
        let mut altered = ciphertext.clone();
        altered[position] ^= 0x01;
        assert!(
            matches!(key.decrypt(&PLACE, &altered), Err(VaultError::Decrypt)),
            "byte {position}"
        );
    }
    for length in 0..ciphertext.len() {
        assert!(
            matches!(
                key.decrypt(&PLACE, &ciphertext[..length]),
                Err(VaultError::Decrypt)
            ),
            "truncated to {length}"
        );
    }
    let mut extended = ciphertext.clone();
    extended.push(0);
    assert!(matches!(
        key.decrypt(&PLACE, &extended),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn another_key_does_not_decrypt() {
    let ciphertext = DataKey::generate().encrypt(&PLACE, b"alice@example.com");
    assert!(matches!(
        DataKey::generate().decrypt(&PLACE, &ciphertext),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn wrapped_keys_unwrap_only_for_their_own_reference() {
    let keyring = keyring("kek-1");
    let data_key = DataKey::generate();
    let ciphertext = data_key.encrypt(&PLACE, b"alice@example.com");
    let wrapped = keyring.wrap(&data_key, "subject:42");
    assert_eq!(wrapped.kek_id.as_str(), "kek-1");
    assert_eq!(wrapped.blob.len(), 1 + 12 + 32 + 16);

    let unwrapped = keyring.unwrap(&wrapped, "subject:42").expect("unwraps");
    assert_eq!(
        unwrapped.decrypt(&PLACE, &ciphertext).expect("same key")[..],
        b"alice@example.com"[..]
    );
    // Swapping two subjects' wrapped keys in the database must not exchange their data.
    assert!(matches!(
        keyring.unwrap(&wrapped, "subject:43"),
        Err(VaultError::Decrypt)
    ));
    let mut altered = wrapped.clone();
    altered.blob[20] ^= 1;
    assert!(matches!(
        keyring.unwrap(&altered, "subject:42"),
        Err(VaultError::Decrypt)
    ));
    // Another keyring's KEK of the same name cannot unwrap it.
    assert!(matches!(
        self::keyring("kek-1").unwrap(&wrapped, "subject:42"),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn rotation_rewrap_and_retirement() {
    let mut keyring = keyring("kek-old");
    let references: Vec<String> = (0..5).map(|i| format!("subject:{i}")).collect();
    let data_keys: Vec<DataKey> = references.iter().map(|_| DataKey::generate()).collect();
    let ciphertexts: Vec<Vec<u8>> = data_keys
        .iter()
        .map(|key| key.encrypt(&PLACE, b"secret"))
        .collect();
    let wrapped_before: Vec<WrappedKey> = data_keys
        .iter()
        .zip(&references)
        .map(|(key, key_ref)| keyring.wrap(key, key_ref))
        .collect();

    let new_id = id("kek-new");
    assert_eq!(keyring.rotate(new_id.clone()).expect("new id"), &new_id);
    assert_eq!(keyring.ids(), vec![id("kek-new"), id("kek-old")]);
    assert!(keyring.contains(&id("kek-old")));
    assert!(matches!(
        keyring.rotate(id("kek-old")),
        Err(VaultError::DuplicateKek(_))
    ));

    // Before re-wrapping, old wrapped keys still work through the retired KEK.
    let rewrapped: Vec<WrappedKey> = wrapped_before
        .iter()
        .zip(&references)
        .map(|(wrapped, key_ref)| {
            assert!(keyring.unwrap(wrapped, key_ref).is_ok());
            keyring.rewrap(wrapped, key_ref).expect("rewraps")
        })
        .collect();
    assert!(rewrapped.iter().all(|wrapped| wrapped.kek_id == new_id));

    keyring.retire_all_but_active();
    assert_eq!(keyring.ids(), vec![new_id.clone()]);
    for ((old, new), (key_ref, ciphertext)) in wrapped_before
        .iter()
        .zip(&rewrapped)
        .zip(references.iter().zip(&ciphertexts))
    {
        match keyring.unwrap(old, key_ref) {
            Err(VaultError::UnknownKek(missing)) => assert_eq!(missing, id("kek-old")),
            other => panic!("expected UnknownKek, got {other:?}"),
        }
        let data_key = keyring.unwrap(new, key_ref).expect("rewrapped key unwraps");
        assert_eq!(
            data_key.decrypt(&PLACE, ciphertext).expect("decrypts")[..],
            b"secret"[..]
        );
    }
}

#[test]
fn key_file_round_trips() {
    let mut keyring = keyring("kek-a");
    let data_key = DataKey::generate();
    let wrapped_under_a = keyring.wrap(&data_key, "subject:1");
    keyring.rotate(id("kek-b")).expect("new id");
    keyring.rotate(id("kek-c")).expect("new id");

    let text = keyring.encode();
    assert!(text.starts_with("trygg-keyring v1\n"));
    let decoded = Keyring::decode(&text).expect("decodes");
    assert_eq!(decoded.active_id(), &id("kek-c"));
    assert_eq!(decoded.ids(), vec![id("kek-c"), id("kek-b"), id("kek-a")]);
    assert!(decoded.unwrap(&wrapped_under_a, "subject:1").is_ok());
    let wrapped_under_c = decoded.wrap(&data_key, "subject:1");
    assert!(keyring.unwrap(&wrapped_under_c, "subject:1").is_ok());
    assert_eq!(*decoded.encode(), *text);
}

#[test]
fn key_file_tolerates_comments_blank_lines_and_crlf() {
    let key = STANDARD.encode([3u8; 32]);
    let unpadded = key.trim_end_matches('=');
    let text = format!(
        "trygg-keyring v1\r\n\r\n# note\r\n  retired old {unpadded}\r\nactive new {key}\r\n"
    );
    let keyring = Keyring::decode(&text).expect("decodes");
    assert_eq!(keyring.ids(), vec![id("new"), id("old")]);
}

#[test]
fn malformed_key_files_are_refused_without_echoing_their_content() {
    let key = STANDARD.encode([5u8; 32]);
    let short_key = STANDARD.encode([5u8; 31]);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "line 1 must be"),
        ("SECRETGARBAGE\nactive a b".into(), "line 1 must be"),
        (
            format!("trygg-keyring v2\nactive a {key}"),
            "unsupported version",
        ),
        ("trygg-keyring v1\n".into(), "no 'active"),
        (format!("trygg-keyring v1\nretired a {key}"), "no 'active"),
        ("trygg-keyring v1\nSECRETGARBAGE".into(), "line 2: expected"),
        (
            format!("trygg-keyring v1\nactive a {key} SECRETGARBAGE"),
            "line 2: expected",
        ),
        (
            format!("trygg-keyring v1\nSECRETGARBAGE a {key}"),
            "line 2: expected 'active'",
        ),
        (
            format!("trygg-keyring v1\nactive SECRET/GARBAGE {key}"),
            "line 2: not a valid key id",
        ),
        (
            "trygg-keyring v1\nactive a SECRETGARBAGE".into(),
            "line 2: not a valid key",
        ),
        (
            format!("trygg-keyring v1\nactive a {short_key}"),
            "line 2: not a valid key",
        ),
        (
            format!("trygg-keyring v1\nactive a {}", "!".repeat(44)),
            "line 2: not a valid key",
        ),
        (
            format!("trygg-keyring v1\nactive a {key}\n\nactive b {key}"),
            "line 4: a second 'active'",
        ),
        (
            format!("trygg-keyring v1\nactive a {key}\nretired a {key}"),
            "line 3: the key id a appears more than once",
        ),
    ];
    for (text, expected) in cases {
        match Keyring::decode(&text) {
            Err(error @ VaultError::KeyFileFormat(_)) => {
                let message = error.to_string();
                assert!(message.contains(expected), "{message:?} for {text:?}");
                assert!(!message.contains("SECRET"), "{message:?} echoes the input");
                assert!(!message.contains(&key[..20]), "{message:?} echoes a key");
                assert!(!message.contains('\n'), "{message:?} is not one line");
            }
            other => panic!("expected KeyFileFormat for {text:?}, got {other:?}"),
        }
    }
}

#[test]
fn base64_key_from_the_environment() {
    let key_bytes: [u8; 32] = random_bytes();
    let encoded = STANDARD.encode(key_bytes);
    let from_env = Keyring::from_base64_key(id("env"), &format!("{encoded}\n")).expect("valid");
    let from_bytes = Keyring::new(Kek::from_bytes(id("env"), key_bytes));
    let wrapped = from_env.wrap(&DataKey::generate(), "subject:1");
    assert!(from_bytes.unwrap(&wrapped, "subject:1").is_ok());
    for invalid in ["", "short", &STANDARD.encode([1u8; 16]), &"A".repeat(45)] {
        match Keyring::from_base64_key(id("env"), invalid) {
            Err(error @ VaultError::InvalidKey) => {
                assert!(!error.to_string().contains(invalid) || invalid.is_empty())
            }
            other => panic!("expected InvalidKey for {invalid:?}, got {other:?}"),
        }
    }
}

#[test]
fn debug_output_never_contains_key_bytes() {
    let key_bytes: [u8; 32] = random_bytes();
    let kek = Kek::from_bytes(id("kek-debug"), key_bytes);
    let data_key = DataKey::generate();
    let data_key_bytes = *data_key.key_bytes();
    let keyring = Keyring::new(Kek::from_bytes(id("kek-ring"), key_bytes));
    let outputs = [
        format!("{kek:?}"),
        format!("{kek:#?}"),
        format!("{keyring:?}"),
        format!("{keyring:#?}"),
        format!("{data_key:?}"),
    ];
    for output in &outputs {
        for secret in [&key_bytes, &data_key_bytes] {
            assert!(!output.contains(&STANDARD.encode(secret)), "{output}");
            assert!(!output.contains(&hex(secret)), "{output}");
            assert!(!output.contains(&format!("{secret:?}")), "{output}");
            assert!(
                !output.contains(&format!("{:?}", secret[0..4].to_vec())),
                "{output}"
            );
        }
        assert!(
            output.contains("redacted") || output.contains("Keyring"),
            "{output}"
        );
    }
    assert!(outputs[2].contains("kek-ring"));
}

#[cfg(unix)]
mod files {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::{id, keyring};
    use crate::{DataKey, Keyring, VaultError};

    #[test]
    fn save_writes_mode_0600_and_load_reads_it_back() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keyring");
        let original = keyring("kek-saved");
        original.save(&path).expect("saves");
        assert_eq!(mode(&path), 0o600);
        let loaded = Keyring::load(&path).expect("loads");
        assert_eq!(loaded.ids(), original.ids());
        let wrapped = original.wrap(&DataKey::generate(), "subject:1");
        assert!(loaded.unwrap(&wrapped, "subject:1").is_ok());
        // Saving again replaces the file atomically and leaves no temp file behind.
        original.save(&path).expect("saves again");
        let names: Vec<_> = fs::read_dir(directory.path())
            .expect("lists")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["keyring"]);
    }

    #[test]
    fn load_refuses_files_others_can_read_or_write() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keyring");
        keyring("kek-1").save(&path).expect("saves");
        for loose_mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(loose_mode)).expect("chmod");
            match Keyring::load(&path) {
                Err(error @ VaultError::KeyFilePermissions { .. }) => {
                    let message = error.to_string();
                    assert!(message.contains("chmod 600"), "{message}");
                    assert!(message.contains(&format!("{loose_mode:o}")), "{message}");
                }
                other => panic!("mode {loose_mode:o}: expected refusal, got {other:?}"),
            }
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
        assert!(Keyring::load(&path).is_ok());
    }

    #[test]
    fn load_or_create_creates_once_then_loads_the_same_keys() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("secrets").join("keyring");
        let (created, was_created) =
            Keyring::load_or_create(&path, id("kek-first")).expect("creates");
        assert!(was_created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("has a parent")), 0o700);
        let (loaded, was_created) =
            Keyring::load_or_create(&path, id("kek-second")).expect("loads");
        assert!(!was_created);
        assert_eq!(loaded.ids(), vec![id("kek-first")]);
        let wrapped = created.wrap(&DataKey::generate(), "subject:1");
        assert!(loaded.unwrap(&wrapped, "subject:1").is_ok());
    }

    #[test]
    fn load_reports_missing_and_malformed_files_clearly() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keyring");
        assert!(matches!(
            Keyring::load(&path),
            Err(VaultError::Io { action: "read", .. })
        ));
        fs::write(&path, "SECRETGARBAGE\n").expect("writes");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        let message = Keyring::load(&path).expect_err("garbage").to_string();
        assert!(message.contains("line 1 must be"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains("SECRET"), "{message}");
        assert!(matches!(
            Keyring::load(directory.path()),
            Err(VaultError::KeyFileFormat(_))
        ));
    }

    fn mode(path: &std::path::Path) -> u32 {
        fs::metadata(path).expect("exists").permissions().mode() & 0o7777
    }
}

// Helpers below.

fn id(text: &str) -> KekId {
    KekId::parse(text).expect("valid test id")
}

fn keyring(active_id: &str) -> Keyring {
    Keyring::new(Kek::generate(id(active_id)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn blind_indexes_are_keyed_stable_and_separated_by_purpose() {
    let key = DataKey::generate();
    let other = DataKey::generate();
    let email = b"alice@example.se";
    assert_eq!(
        key.blind_index("email", email),
        key.blind_index("email", email)
    );
    assert_ne!(
        key.blind_index("email", email),
        key.blind_index("email", b"bob@example.se")
    );
    assert_ne!(
        key.blind_index("email", email),
        key.blind_index("phone", email)
    );
    assert_ne!(
        key.blind_index("email", email),
        other.blind_index("email", email)
    );
    // Purpose and value are not concatenated ambiguously.
    assert_ne!(key.blind_index("ab", b"c"), key.blind_index("a", b"bc"));
}
