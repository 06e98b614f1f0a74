//! The sans-IO core of identity for Trygg: the decisions and the cryptography behind logging in
//! and staying logged in, with no SQL, no HTTP and no clock of its own.
//!
//! Each module answers one question and defends against one family of attacks:
//!
//! - [`password`]: is this a password we accept (NIST SP 800-63B: length, a blocklist of common
//!   passwords, context words, no composition rules), and how is it stored (Argon2id behind a
//!   concurrency limit, so a flood of logins cannot exhaust memory, with a dummy verification so
//!   an unknown user costs as much time as a wrong password). Defends against guessing, offline
//!   cracking after a database leak, user enumeration by timing, and memory exhaustion.
//! - [`totp`]: time-based one-time passwords (RFC 6238), each code accepted once. Defends against
//!   a stolen password on its own and against replaying an observed code.
//! - [`recovery`]: single-use recovery codes, stored only as hashes. Defends against lock-out
//!   without handing a database reader usable codes.
//! - [`session`]: opaque 256-bit session tokens of which the server stores only a hash, their
//!   idle and absolute timeouts (the edge carries them in a `__Host-` cookie), and per-session
//!   CSRF tokens. Defends against session theft from a database leak, session fixation through a
//!   sibling domain, cross-site request forgery and sessions that live forever.
//! - [`throttle`]: exponential back-off and temporary locks per account or per source. Defends
//!   against online guessing of passwords, TOTP codes and recovery codes.
//! - [`proof`]: [`proof::MfaVerified`], a value that only a successful second-factor check can
//!   make, so that "every staff session has MFA" is checked by the compiler where the session is
//!   issued.
//! - [`turn`]: time-limited TURN relay credentials (the TURN REST scheme). Defends against relay
//!   credentials that are stored, shared or valid forever.
//!
//! What this crate deliberately does not do: it stores nothing (the store persists hashes, PHC
//! strings, encrypted TOTP secrets and counters), speaks no protocol (the edge sets cookies and
//! reads forms), reads no clock (time comes in as `now_ms: i64` Unix milliseconds, or `u64` Unix
//! seconds for TOTP as the RFC counts them) and writes no audit or security events (it returns
//! what happened, e.g. [`throttle::Event::Locked`], and the service layer records it). Its only
//! system calls are the operating system's random number generator and, in
//! [`password::PasswordHasher`], tokio's blocking thread pool. No secret (password, code, token or
//! key) ever appears in a `Debug` or `Display` output or in an error message, and types that hold
//! one wipe it when dropped.

#![forbid(unsafe_code)]

pub mod password;
pub mod proof;
pub mod recovery;
pub mod session;
pub mod throttle;
pub mod totp;
pub mod turn;

pub use proof::{MfaMethod, MfaVerified};

/// Fills `buffer` from the operating system's random number generator.
///
/// # Panics
///
/// Only if the operating system cannot provide randomness. Nothing here can continue safely
/// without it (tokens, salts and secrets depend on it), and it does not fail on any supported
/// system once booted, so this is treated like running out of memory rather than returned as an
/// error (the same choice as `vault::random_bytes`).
pub(crate) fn fill_random(buffer: &mut [u8]) {
    getrandom::getrandom(buffer).expect("invariant: the OS random number generator is available");
}
