//! The canonical byte encoding of an entry and its SHA-256 hash.
//!
//! The encoding is what makes the chain meaningful: two different entries must never encode to
//! the same bytes, or an attacker could move text between fields (actor `"ab"` + action `"c"`
//! versus `"a"` + `"bc"`) without changing the hash. So every variable-length field is prefixed
//! with its length, the optional target carries a presence tag, details are written in key order
//! with a count, and the whole is prefixed with a version-bearing domain tag so these bytes can
//! never be confused with anything else Trygg hashes or signs.
//!
//! Layout (integers big-endian, `str` = u64 byte length then UTF-8 bytes):
//!
//! ```text
//! "trygg-audit-v1\0" | seq u64 | prev_hash [32] | at_ms i64 | actor str | action str
//! | target (0x00 | 0x01 str) | outcome str | detail count u64 | (key str, value str)*
//! ```
//!
//! This module deliberately streams the fields into the hasher rather than building a buffer:
//! verification hashes every entry of a possibly large log, and an allocation per entry would
//! cost more than the hashing. Changing the layout breaks every stored chain, so a known-answer
//! test pins it.

use sha2::{Digest, Sha256};

use crate::{Event, Hash};

/// Domain tag for entry hashes; the version changes whenever the layout does.
const ENTRY_DOMAIN: &[u8] = b"trygg-audit-v1\0";

/// SHA-256 over the canonical, unambiguous encoding of (`seq`, `prev_hash`, `event`).
pub fn entry_hash(seq: u64, prev_hash: &Hash, event: &Event) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(ENTRY_DOMAIN);
    hasher.update(seq.to_be_bytes());
    hasher.update(prev_hash);
    hasher.update(event.at_ms.to_be_bytes());
    update_with_field(&mut hasher, event.actor.as_bytes());
    update_with_field(&mut hasher, event.action.as_bytes());
    match &event.target {
        None => hasher.update([0u8]),
        Some(target) => {
            hasher.update([1u8]);
            update_with_field(&mut hasher, target.as_bytes());
        }
    }
    update_with_field(&mut hasher, event.outcome.as_str().as_bytes());
    hasher.update(length_prefix(event.details.len()));
    // BTreeMap iterates in key order, which is what makes the encoding independent of the order
    // in which the caller added the details.
    for (key, value) in &event.details {
        update_with_field(&mut hasher, key.as_bytes());
        update_with_field(&mut hasher, value.as_bytes());
    }
    hasher.finalize().into()
}

fn update_with_field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update(length_prefix(bytes.len()));
    hasher.update(bytes);
}

fn length_prefix(length: usize) -> [u8; 8] {
    // usize is at most 64 bits on every platform Rust supports, so this widening is lossless.
    (length as u64).to_be_bytes()
}
