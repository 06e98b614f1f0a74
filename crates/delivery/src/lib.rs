//! The MLS delivery service (RFC 9420 §4, the "DS"), sans IO: it orders each group's handshake
//! messages, routes Welcomes, keeps the key-package directory and the latest GroupInfo, and fans
//! out application messages, holding no group secret at all.
//!
//! Inputs (a client's message for a group, a fact from the meeting core, a key-package upload or
//! claim, the time in seconds) come in as values; decisions come out as values: an
//! [`Accepted`] or a typed [`Refusal`] that changed nothing, and per-person outboxes drained
//! with [`DeliveryService::poll_outgoing`]. The service reads only what RFC 9420 leaves in the
//! clear ([`framing`]), using openmls to parse.
//!
//! Deliberately not here: sockets, clocks, persistence, async (the binary drives it), and any
//! way to decrypt: this crate has no crypto provider, so it could not derive a key if it tried.
//! `docs/security/mls.md` explains what the service sees and decides.

#![forbid(unsafe_code)]

pub mod directory;
pub mod framing;
pub mod identity;
pub mod service;

pub use directory::{Claimed, DirectoryError, DirectoryLimits, KeyPackageKind};
pub use framing::{FramingError, CIPHERSUITE};
pub use identity::MemberIdentity;
pub use service::{Accepted, DeliveryService, GroupId, Input, Limits, Outgoing, Refusal};
