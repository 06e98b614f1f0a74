//! Tamper-evident audit trail for Trygg.
//!
//! Every security-relevant event becomes an [`Entry`] in a hash chain: each entry's SHA-256
//! [`entry_hash`] covers its sequence number, the previous entry's hash and a canonical encoding
//! of the [`Event`], so editing, deleting, inserting or reordering stored rows breaks the chain
//! at a place the [`verify()`] function can name. A rewrite that recomputes every later hash keeps
//! the chain consistent, which is why the head is periodically signed as an Ed25519
//! [`Checkpoint`] whose key lives outside the database.
//!
//! This crate deliberately does no IO: it does not store entries, read clocks or pick the moment
//! to sign. The store crate persists the fields of [`Entry`] and [`Checkpoint`] and records the
//! [`Head`]; the caller passes the current time in as `at_ms` / `signed_at_ms`. Events carry
//! pseudonymous ids only — never message content, secrets or tokens — and this crate cannot check
//! that for you.

#![forbid(unsafe_code)]

mod checkpoint;
mod encoding;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use checkpoint::{Checkpoint, CheckpointSigner, PublicKey};
pub use encoding::entry_hash;
pub use verify::{verify, Report, Tamper, Verifier};

/// A SHA-256 digest: the hash of one entry, or the hash a checkpoint vouches for.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry. Together with sequence number 0 it stands for the empty log.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// How an audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The action was carried out.
    Success,
    /// The action was attempted and failed (bad input, an error on our side).
    Failure,
    /// The action was refused by an access-control decision.
    Denied,
}

impl Outcome {
    /// The stable lower-case name stored in the database and hashed into entries.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    /// The inverse of [`Outcome::as_str`]; `None` for anything else (no case folding, because the
    /// stored form is canonical).
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What happened. Pseudonymous ids only: never content, secrets or tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unix time in milliseconds, as supplied by the caller's clock.
    pub at_ms: i64,
    /// Pseudonymous id of whoever acted, e.g. `"system"` or `"user:7f3a..."`.
    pub actor: String,
    /// Dotted action name, e.g. `"server.started"` or `"keys.rotated"`.
    pub action: String,
    /// Pseudonymous id of what was acted on, if anything.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// Small, non-secret facts. A `BTreeMap` so that the hashed order is the key order, whatever
    /// order the caller inserted them in.
    pub details: BTreeMap<String, String>,
}

impl Event {
    pub fn new(
        at_ms: i64,
        actor: impl Into<String>,
        action: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        Event {
            at_ms,
            actor: actor.into(),
            action: action.into(),
            target: None,
            outcome,
            details: BTreeMap::new(),
        }
    }

    /// Sets the pseudonymous id of what was acted on.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Adds one small, non-secret fact; a repeated key replaces the earlier value.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

/// One link of the chain, exactly as the store persists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1 for the first entry, then consecutive.
    pub seq: u64,
    /// The previous entry's `hash`, or [`GENESIS_HASH`] for the first entry.
    pub prev_hash: Hash,
    /// [`entry_hash`] of (`seq`, `prev_hash`, `event`).
    pub hash: Hash,
    pub event: Event,
}

impl Entry {
    /// The head of a log that ends with this entry.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// The end of a log: the last entry's sequence number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

impl Head {
    /// The head of the empty log: sequence number 0 and [`GENESIS_HASH`].
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: GENESIS_HASH,
    };
}

/// Errors from parsing key material given to this crate. Verification results are [`Tamper`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error(
        "the audit checkpoint public key is not valid: expected 64 hexadecimal characters \
         encoding an Ed25519 public key"
    )]
    InvalidPublicKey,
}

/// Chains `events` after `head`, returning the new entries (sequence numbers `head.seq + 1`
/// onwards) and the new head.
///
/// The caller persists the entries and the new head in one transaction, so that the recorded
/// head never disagrees with the stored rows except through tampering.
pub fn chain(head: Head, events: impl IntoIterator<Item = Event>) -> (Vec<Entry>, Head) {
    let events = events.into_iter();
    let mut entries = Vec::with_capacity(events.size_hint().0);
    let mut current = head;
    for event in events {
        // Appending cannot realistically reach 2^64 entries; a head that claims to be there was
        // tampered with, and wrapping (instead of panicking) leaves entries the verifier flags.
        let seq = current.seq.wrapping_add(1);
        let hash = entry_hash(seq, &current.hash, &event);
        entries.push(Entry {
            seq,
            prev_hash: current.hash,
            hash,
            event,
        });
        current = Head { seq, hash };
    }
    (entries, current)
}
