//! Opaque session tokens, their lifetime rules and their CSRF tokens. The HTTP edge sets the
//! cookie that carries a token; this module only says what goes in it.
//!
//! A [`SessionToken`] is 256 random bits, sent to the browser as 43 base64url characters in a
//! `__Host-` cookie (`Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/`, no `Domain`: a sibling
//! subdomain cannot set or overwrite it, scripts cannot read it, other sites cannot send it).
//! The server stores only [`SessionToken::lookup_key`], its SHA-256, so a leaked sessions table
//! yields no token that works. [`SessionPolicy::evaluate`] applies NIST AAL2's limits for staff:
//! 30 minutes idle, 12 hours in total. A [`CsrfToken`] is derived from the lookup key, so it
//! needs no storage and changes whenever the session does.
//!
//! What this module deliberately does not do: it stores no sessions and reads no clock (the
//! caller passes `created_at_ms`, `last_seen_ms` and `now_ms`), and it does not decide when to
//! rotate or revoke a session (on privilege change, logout, disable or credential change the
//! service layer issues a new token or deletes the row). It builds `Set-Cookie` header values but
//! does not send them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Length of a token (and of a CSRF token) in base64url without padding: 32 bytes.
pub const TOKEN_CHARS: usize = 43;

/// Timestamps up to this far in the future are taken as "now": nodes' clocks differ by a little.
/// Beyond it the session's record cannot be trusted, and it is treated as expired.
pub const CLOCK_SKEW_TOLERANCE_MS: i64 = 60_000;

/// The HMAC message that derives a session's CSRF token; the version allows a change of scheme.
const CSRF_LABEL: &[u8] = b"trygg-csrf-v1";

/// A session token: 32 random bytes. Not `Clone`, wiped on drop, redacted in `Debug`.
pub struct SessionToken {
    bytes: Zeroizing<[u8; 32]>,
}

/// How long a session may live. Defaults are NIST SP 800-63B's AAL2 limits for staff: 30 minutes
/// without activity, 12 hours in total. Non-positive values expire every session (they fail
/// closed); [`SessionPolicy::validate`] reports them at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Longest time between two requests, in milliseconds.
    pub idle_ms: i64,
    /// Longest time since the session was created (the user authenticated), in milliseconds.
    pub absolute_ms: i64,
}

/// Whether a session may still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    Active,
    /// No request for longer than the idle timeout.
    IdleExpired,
    /// Older than the absolute timeout (or its record lies in the future, so it cannot be
    /// trusted).
    AbsoluteExpired,
}

/// A [`SessionPolicy`] value that makes no sense. Raised at start-up, never on user input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionPolicyError {
    #[error("idle_ms and absolute_ms must be positive")]
    NotPositive,
    #[error("idle_ms must not be longer than absolute_ms")]
    IdleLongerThanAbsolute,
}

/// A per-session token for CSRF protection, in base64url (43 characters), to be echoed in a
/// request header or form field. Redacted in `Debug`, wiped on drop.
pub struct CsrfToken {
    text: Zeroizing<String>,
}

impl SessionToken {
    /// A fresh token from the OS random number generator.
    pub fn generate() -> SessionToken {
        let mut bytes = Zeroizing::new([0u8; 32]);
        crate::fill_random(&mut bytes[..]);
        SessionToken { bytes }
    }

    /// The token in a cookie value: exactly 43 base64url characters whose decoding is canonical
    /// (the two unused bits are zero), or `None`. Anything else, of any length, is refused
    /// without further work.
    pub fn parse(text: &str) -> Option<SessionToken> {
        if text.len() != TOKEN_CHARS {
            return None;
        }
        // Room for the decoder's estimate up front, so the buffer never reallocates and leaves an
        // unwiped copy behind.
        let mut decoded = Zeroizing::new(Vec::with_capacity(TOKEN_CHARS));
        URL_SAFE_NO_PAD.decode_vec(text, &mut decoded).ok()?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        if decoded.len() != bytes.len() {
            return None;
        }
        bytes.copy_from_slice(&decoded);
        Some(SessionToken { bytes })
    }

    /// The token as the cookie carries it: base64url without padding, 43 characters.
    pub fn to_cookie_value(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(&self.bytes[..]))
    }

    /// SHA-256 of the token: the only form the server stores and looks sessions up by.
    pub fn lookup_key(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes[..]).into()
    }

    /// This session's CSRF token; the same as [`CsrfToken::for_session`] on the lookup key.
    pub fn csrf_token(&self) -> CsrfToken {
        CsrfToken::for_session(&self.lookup_key())
    }
}

// The only field is `Zeroizing`.
impl ZeroizeOnDrop for SessionToken {}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SessionToken")
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 60 * 60 * 1000,
        }
    }
}

impl SessionPolicy {
    /// Whether these limits make sense; call it when loading the configuration.
    pub fn validate(&self) -> Result<(), SessionPolicyError> {
        if self.idle_ms <= 0 || self.absolute_ms <= 0 {
            return Err(SessionPolicyError::NotPositive);
        }
        if self.idle_ms > self.absolute_ms {
            return Err(SessionPolicyError::IdleLongerThanAbsolute);
        }
        Ok(())
    }

    /// The state at `now_ms` of a session created at `created_at_ms` and last used at
    /// `last_seen_ms`. The absolute limit is checked first, so a session past both reports
    /// [`SessionState::AbsoluteExpired`]. A session expires at the limit exactly (a 30-minute
    /// idle limit means the request at 30:00 is refused). Timestamps more than
    /// [`CLOCK_SKEW_TOLERANCE_MS`] in the future mean the record cannot be trusted, and the
    /// session is treated as expired.
    pub fn evaluate(&self, created_at_ms: i64, last_seen_ms: i64, now_ms: i64) -> SessionState {
        let latest_trusted = now_ms.saturating_add(CLOCK_SKEW_TOLERANCE_MS);
        if created_at_ms > latest_trusted || last_seen_ms > latest_trusted {
            return SessionState::AbsoluteExpired;
        }
        if now_ms.saturating_sub(created_at_ms) >= self.absolute_ms {
            return SessionState::AbsoluteExpired;
        }
        // A last-seen time before creation is impossible; creation counts as activity.
        let last_activity = last_seen_ms.max(created_at_ms);
        if now_ms.saturating_sub(last_activity) >= self.idle_ms {
            return SessionState::IdleExpired;
        }
        SessionState::Active
    }

    /// When the session expires if it sees no further activity: the earlier of the idle and the
    /// absolute deadline. Useful for a cookie's `Max-Age` and for deleting expired rows.
    pub fn expires_at_ms(&self, created_at_ms: i64, last_seen_ms: i64) -> i64 {
        let last_activity = last_seen_ms.max(created_at_ms);
        last_activity
            .saturating_add(self.idle_ms)
            .min(created_at_ms.saturating_add(self.absolute_ms))
    }
}

impl CsrfToken {
    /// HMAC-SHA256 keyed with the session's lookup key over `trygg-csrf-v1`, in base64url. The
    /// server can recompute it from the stored session row; an attacker on another site can
    /// neither read the cookie nor compute it.
    pub fn for_session(lookup_key: &[u8; 32]) -> CsrfToken {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(lookup_key)
            .expect("invariant: HMAC accepts keys of any length");
        mac.update(CSRF_LABEL);
        let tag = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        CsrfToken {
            text: Zeroizing::new(URL_SAFE_NO_PAD.encode(&tag[..])),
        }
    }

    /// The token, for the page or response that hands it to the client.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

// The only field is `Zeroizing`.
impl ZeroizeOnDrop for CsrfToken {}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CsrfToken")
            .field("text", &"<redacted>")
            .finish()
    }
}

/// Whether `presented` is the CSRF token of the session with `lookup_key`, compared in constant
/// time (only the length, which is public, can end the comparison early).
pub fn verify_csrf(lookup_key: &[u8; 32], presented: &str) -> bool {
    if presented.len() != TOKEN_CHARS {
        return false;
    }
    let expected = CsrfToken::for_session(lookup_key);
    expected.text.as_bytes().ct_eq(presented.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;

    #[test]
    fn tokens_round_trip_as_43_base64url_characters() {
        for _ in 0..100 {
            let token = SessionToken::generate();
            let text = token.to_cookie_value();
            assert_eq!(text.len(), 43);
            assert!(text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
            let parsed = SessionToken::parse(&text).expect("parses");
            assert_eq!(parsed.lookup_key(), token.lookup_key());
        }
        assert_ne!(
            SessionToken::generate().lookup_key(),
            SessionToken::generate().lookup_key()
        );
    }

    #[test]
    fn anything_but_a_canonical_token_is_refused() {
        let valid = "A".repeat(43);
        assert!(SessionToken::parse(&valid).is_some());
        let cases = [
            String::new(),
            "A".repeat(42),
            "A".repeat(44),
            format!("{}=", "A".repeat(42)),
            format!("{}=", "A".repeat(43)),
            format!("{}+", "A".repeat(42)),
            format!("{}/", "A".repeat(42)),
            format!("{} ", "A".repeat(42)),
            format!("{}é", "A".repeat(41)),
            // The last character carries two unused bits, which must be zero.
            format!("{}B", "A".repeat(42)),
            format!("{}_", "A".repeat(42)),
            "A".repeat(100_000),
        ];
        for text in cases {
            assert!(SessionToken::parse(&text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn the_lookup_key_is_the_sha256_of_the_token() {
        // "A" × 43 decodes to 32 zero bytes; their SHA-256 is a well-known value.
        let token = SessionToken::parse(&"A".repeat(43)).expect("parses");
        let expected = "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925";
        let actual: String = token
            .lookup_key()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn session_timeouts() {
        let policy = SessionPolicy::default();
        assert_eq!(policy.idle_ms, 30 * MINUTE);
        assert_eq!(policy.absolute_ms, 12 * HOUR);
        let created = 1_700_000_000_000;
        let cases = [
            // (last seen after creation, now after creation, expected)
            (0, 0, SessionState::Active),
            (0, 29 * MINUTE, SessionState::Active),
            (0, 30 * MINUTE - 1, SessionState::Active),
            (0, 30 * MINUTE, SessionState::IdleExpired),
            (10 * MINUTE, 39 * MINUTE, SessionState::Active),
            (10 * MINUTE, 40 * MINUTE, SessionState::IdleExpired),
            (12 * HOUR - MINUTE, 12 * HOUR - 1, SessionState::Active),
            (12 * HOUR - MINUTE, 12 * HOUR, SessionState::AbsoluteExpired),
            // Past both limits, absolute wins.
            (0, 13 * HOUR, SessionState::AbsoluteExpired),
            // A last-seen before creation counts from creation.
            (-HOUR, 10 * MINUTE, SessionState::Active),
            // Small clock differences between nodes are tolerated...
            (0, -30_000, SessionState::Active),
            (MINUTE, 0, SessionState::Active),
            // ...large ones are not trusted.
            (0, -2 * MINUTE, SessionState::AbsoluteExpired),
            (2 * MINUTE, 0, SessionState::AbsoluteExpired),
        ];
        for (last_seen_offset, now_offset, expected) in cases {
            assert_eq!(
                policy.evaluate(created, created + last_seen_offset, created + now_offset),
                expected,
                "last seen +{last_seen_offset}, now +{now_offset}"
            );
        }
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let policy = SessionPolicy::default();
        assert_eq!(
            policy.evaluate(i64::MIN, i64::MIN, i64::MAX),
            SessionState::AbsoluteExpired
        );
        assert_eq!(
            policy.evaluate(i64::MAX, i64::MAX, i64::MIN),
            SessionState::AbsoluteExpired
        );
        assert_eq!(
            policy.evaluate(i64::MAX, i64::MAX, i64::MAX),
            SessionState::Active
        );
        assert_eq!(policy.expires_at_ms(i64::MAX, i64::MAX), i64::MAX);
    }

    #[test]
    fn bad_policies_fail_closed_and_are_reported() {
        let cases = [
            (
                SessionPolicy {
                    idle_ms: 0,
                    absolute_ms: HOUR,
                },
                Err(SessionPolicyError::NotPositive),
            ),
            (
                SessionPolicy {
                    idle_ms: MINUTE,
                    absolute_ms: -1,
                },
                Err(SessionPolicyError::NotPositive),
            ),
            (
                SessionPolicy {
                    idle_ms: 2 * HOUR,
                    absolute_ms: HOUR,
                },
                Err(SessionPolicyError::IdleLongerThanAbsolute),
            ),
            (SessionPolicy::default(), Ok(())),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.validate(), expected, "{policy:?}");
        }
        let zero = SessionPolicy {
            idle_ms: 0,
            absolute_ms: 0,
        };
        assert_eq!(zero.evaluate(0, 0, 0), SessionState::AbsoluteExpired);
        let negative = SessionPolicy {
            idle_ms: -5,
            absolute_ms: HOUR,
        };
        assert_eq!(negative.evaluate(0, 0, 0), SessionState::IdleExpired);
    }

    #[test]
    fn expiry_is_the_earlier_deadline() {
        let policy = SessionPolicy::default();
        assert_eq!(policy.expires_at_ms(0, 0), 30 * MINUTE);
        assert_eq!(policy.expires_at_ms(0, 2 * HOUR), 2 * HOUR + 30 * MINUTE);
        assert_eq!(policy.expires_at_ms(0, 12 * HOUR - MINUTE), 12 * HOUR);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let first = SessionToken::generate();
        let second = SessionToken::generate();
        let csrf = first.csrf_token();
        assert_eq!(csrf.expose().len(), 43);
        assert!(verify_csrf(&first.lookup_key(), csrf.expose()));
        assert!(!verify_csrf(&second.lookup_key(), csrf.expose()));
        assert_eq!(
            CsrfToken::for_session(&first.lookup_key()).expose(),
            csrf.expose(),
            "derived, so stable for the session"
        );
        let mut altered = csrf.expose().to_owned();
        let replacement = if altered.starts_with('A') { "B" } else { "A" };
        altered.replace_range(0..1, replacement);
        for presented in [
            altered.as_str(),
            "",
            &csrf.expose()[..42],
            &format!("{}A", csrf.expose()),
            &"A".repeat(10_000),
        ] {
            assert!(
                !verify_csrf(&first.lookup_key(), presented),
                "{presented:?}"
            );
        }
    }

    #[test]
    fn the_csrf_derivation_is_hmac_sha256() {
        // Computed independently (Python's hmac module): HMAC-SHA256 with a key of 32 zero bytes
        // over "trygg-csrf-v1", base64url without padding.
        assert_eq!(
            CsrfToken::for_session(&[0u8; 32]).expose(),
            "6Iqva8-gbEYDNlh0_ipfQdU0dtdwMLOVz73Vf2HVyu4"
        );
    }

    #[test]
    fn nothing_secret_is_printed() {
        let token = SessionToken::generate();
        let value = token.to_cookie_value();
        let csrf = token.csrf_token();
        for debug in [format!("{token:?}"), format!("{csrf:?}")] {
            assert!(debug.contains("<redacted>"), "{debug}");
            assert!(!debug.contains(value.as_str()));
            assert!(!debug.contains(csrf.expose()));
        }
    }
}
