//! The sans-IO meeting core of Trygg: one meeting's join flow, lobby, admission and host controls
//! as a state machine that takes time and events as values and returns what IO must do.
//!
//! A [`Meeting`] is driven by three inputs, each with the time it happened:
//! [`Meeting::arrive`] (someone opens the link), [`Meeting::handle`] (a [`Command`] from a person
//! the meeting knows) and [`Meeting::handle_timeout`]. It answers with [`Effect`]s, in order:
//! typed [`Notice`]s to clients, [`AuditRecord`]s (who did what to whom, no content), connections
//! to close, [`MlsInstruction`]s for the delivery service and [`MediaInstruction`]s for the relay;
//! and, through [`Meeting::poll_timeout`], when it next needs the time. A refused input returns a
//! typed [`Refusal`] and changes nothing.
//!
//! The flow it enforces: a guest consents per purpose to the current notice, shows the passcode or
//! proves an identity, passes the device check, and knocks; the host side (hosts and co-hosts)
//! sees the knock with the name given, the verified identity (personal number masked), device and
//! risk signals, may exchange lobby messages, and admits, rejects with a reason, or holds with a
//! message. Only the configured hosts (and staff, if the meeting allows it) skip the lobby. Knocks
//! expire; a locked meeting takes no knocks; the link lets nobody in outside its validity window;
//! wrong passcodes lock the passcode per source and per meeting. Admission and departure come out
//! as [`MlsInstruction::AcceptAdd`] and [`MlsInstruction::Remove`], the facts the delivery service
//! needs to accept only host-side Adds of admitted people and to force a new epoch on every
//! departure. A dropped connection may resume within a grace period without knocking again.
//!
//! What this crate deliberately does not do: IO of any kind, reading a clock, randomness (the
//! meeting id comes in as bytes), hashing or checking passcodes (Argon2 runs in the service and
//! only its verdict comes in), persisting state, delivering notices, or deciding whether a staff
//! member may open the meeting at all (the policy engine does, before [`Meeting::arrive`]). It
//! trusts its caller to have authenticated every command's actor.

#![forbid(unsafe_code)]

mod command;
mod config;
mod effect;
mod meeting;
mod refusal;
mod role;
mod values;

#[cfg(test)]
mod tests;

pub use command::{Arrival, Command, ConsentDecision, Entrant, PasscodeVerdict};
pub use config::{
    ConfigError, EntryCredential, Limits, LobbyBypass, MeetingConfig, PasscodeLimits, PurposeRule,
    Timeouts, ValidityWindow,
};
pub use effect::{
    AdmittedBy, AuditAction, AuditOutcome, AuditParty, AuditRecord, CloseReason, Departure, Effect,
    IdentityView, JoinStep, KnockOutcome, KnockView, MediaInstruction, MlsInstruction, Notice,
    ParticipantView, PasscodeFailure, Standing,
};
pub use meeting::Meeting;
pub use refusal::Refusal;
pub use role::{Capability, Role};
pub use values::{
    BoundedText, DeviceInfo, DisplayName, IdentityKey, LobbyText, MaskedPersonalNumber, MeetingId,
    NoticeVersion, ParseError, PersonId, ProofMethod, Purpose, ReasonText, RiskAssessment,
    RiskLevel, RiskSignal, SourceKey, Timestamp, VerifiedIdentity,
};
