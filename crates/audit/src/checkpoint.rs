//! Ed25519-signed checkpoints of the audit log's head.
//!
//! A hash chain alone only shows that the stored rows are consistent with each other: someone
//! with write access to the database can rewrite an entry and recompute every later hash. A
//! checkpoint is a signature over (seq, hash, signed_at_ms) made with a key kept outside the
//! database, so such a rewrite no longer matches the signed hash at the checkpoint's sequence
//! number. The signed message is domain-separated so a checkpoint signature can never be replayed
//! as a signature over anything else.
//!
//! This module deliberately does not decide when to sign, where the signing key lives or how it is
//! stored on disk: the caller passes the time in and persists [`CheckpointSigner::to_bytes`].

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{AuditError, Hash, Head};

/// Domain tag for checkpoint signatures; the version changes whenever the layout does.
const CHECKPOINT_DOMAIN: &[u8] = b"trygg-audit-checkpoint-v1\0";

/// A signed statement that the log's entry `seq` had hash `hash` at time `signed_at_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: Hash,
    /// Unix time in milliseconds when the checkpoint was signed, as supplied by the caller.
    pub signed_at_ms: i64,
    /// Ed25519 signature over the domain-separated (seq, hash, signed_at_ms).
    pub signature: [u8; 64],
}

/// Ed25519 signing key for checkpoints. Redacted Debug; the secret is zeroized on drop (by
/// `ed25519_dalek::SigningKey`, built with its `zeroize` feature).
pub struct CheckpointSigner {
    signing_key: SigningKey,
}

impl CheckpointSigner {
    /// A fresh key from the operating system's random number generator.
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide randomness, in which case no key can be made
    /// safely and continuing would be worse.
    pub fn generate() -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut secret[..])
            .expect("invariant: the OS random number generator is available");
        Self::from_bytes(&secret)
    }

    /// Rebuilds the signer from the 32-byte secret previously returned by [`Self::to_bytes`].
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        CheckpointSigner {
            signing_key: SigningKey::from_bytes(secret),
        }
    }

    /// The 32-byte secret, for the caller to persist. Zeroized when the returned value drops.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing_key.to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing_key.verifying_key())
    }

    /// Signs the head `head` as seen at `signed_at_ms`.
    pub fn sign(&self, head: Head, signed_at_ms: i64) -> Checkpoint {
        let message = checkpoint_message(head.seq, &head.hash, signed_at_ms);
        let signature = self.signing_key.sign(&message);
        Checkpoint {
            seq: head.seq,
            hash: head.hash,
            signed_at_ms,
            signature: signature.to_bytes(),
        }
    }
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CheckpointSigner")
            .field("public_key", &self.public_key().to_hex())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The Ed25519 public key that verifies checkpoints. Safe to print, log and publish.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a compressed Ed25519 point, refusing invalid and small-order ("weak") keys, under
    /// which forged signatures could verify.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, AuditError> {
        let verifying_key =
            VerifyingKey::from_bytes(bytes).map_err(|_| AuditError::InvalidPublicKey)?;
        if verifying_key.is_weak() {
            return Err(AuditError::InvalidPublicKey);
        }
        Ok(PublicKey(verifying_key))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lower-case hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hexadecimal characters (either case), ignoring surrounding whitespace so that a
    /// key pasted from a file with a trailing newline works.
    pub fn from_hex(text: &str) -> Result<Self, AuditError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| AuditError::InvalidPublicKey)?;
        Self::from_bytes(&bytes)
    }

    /// Whether `checkpoint` carries a valid signature by this key. Uses strict verification, which
    /// rejects non-canonical and malleable signatures.
    pub fn verify(&self, checkpoint: &Checkpoint) -> bool {
        let message = checkpoint_message(checkpoint.seq, &checkpoint.hash, checkpoint.signed_at_ms);
        let signature = Signature::from_bytes(&checkpoint.signature);
        self.0.verify_strict(&message, &signature).is_ok()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "PublicKey({})", self.to_hex())
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

/// `domain | seq u64 BE | hash [32] | signed_at_ms i64 BE`: fixed-size fields after a fixed
/// domain tag, so the encoding is unambiguous without length prefixes.
fn checkpoint_message(seq: u64, hash: &Hash, signed_at_ms: i64) -> Vec<u8> {
    let mut message = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32 + 8);
    message.extend_from_slice(CHECKPOINT_DOMAIN);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message.extend_from_slice(&signed_at_ms.to_be_bytes());
    message
}
