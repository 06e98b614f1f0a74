//! [`MfaVerified`]: proof, checked by the compiler, that a second factor was verified.
//!
//! Staff sessions must always have multi-factor authentication. Instead of a flag that a handler
//! can forget to check, the function that issues a staff session takes an `MfaVerified` by value,
//! and this module makes sure the only ways to get one are a successful check:
//! [`crate::totp::Totp::verify_for_login`], [`crate::recovery::find_for_login`],
//! [`MfaVerified::from_passkey_assertion`] (user verification required) and
//! [`MfaVerified::from_idp_assertion`] (the identity provider must report multi-factor). Its
//! fields are private and it is neither `Clone` nor `Default`, so it cannot be built, copied or
//! reused elsewhere:
//!
//! ```compile_fail,E0451
//! use identity::{MfaMethod, MfaVerified};
//! // Error: the fields are private, so a proof cannot be forged outside this crate.
//! let forged = MfaVerified { method: MfaMethod::Totp, verified_at_ms: 0 };
//! ```
//!
//! ```compile_fail,E0624
//! use identity::{MfaMethod, MfaVerified};
//! // Error: the crate's own constructor is private too.
//! let forged = MfaVerified::new(MfaMethod::Totp, 0);
//! ```
//!
//! ```compile_fail,E0277
//! use identity::MfaVerified;
//! fn reuse(proof: &MfaVerified) -> MfaVerified {
//!     // Error: a proof is not `Clone`, so one verification makes one proof.
//!     Clone::clone(proof)
//! }
//! ```
//!
//! (Each snippet above was checked to fail with exactly the error code it names; rustdoc on
//! stable does not check the codes itself.)
//!
//! ```
//! use identity::{MfaMethod, MfaVerified};
//! // A verified ID token whose `amr` says password and one-time password.
//! let proof = MfaVerified::from_idp_assertion(&["pwd", "otp"], 1_700_000_000_000)
//!     .expect("password and OTP are two factors");
//! assert_eq!(proof.method(), MfaMethod::IdentityProvider);
//! assert!(MfaVerified::from_idp_assertion(&["pwd"], 1_700_000_000_000).is_err());
//! ```
//!
//! What this module deliberately does not do: it does not verify passkey assertions or ID tokens
//! (webauthn-rs and openidconnect do, elsewhere); the two public constructors trust their caller
//! to pass the result of such a verification, and only decide whether that result counts as
//! multi-factor. It does not decide how recent a proof must be for an action (policy does, from
//! [`MfaVerified::verified_at_ms`]).

/// How the second factor was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MfaMethod {
    /// A TOTP code, on top of the password.
    Totp,
    /// A single-use recovery code, on top of the password.
    RecoveryCode,
    /// A passkey (WebAuthn) assertion with user verification: something held (the
    /// authenticator) plus a PIN or biometric checked on it.
    Passkey,
    /// An OpenID Connect identity provider that reported multi-factor authentication.
    IdentityProvider,
}

/// Proof that a second factor (or a multi-factor authenticator) was verified at
/// `verified_at_ms`. See the module documentation for how one can be made.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a proof of MFA exists to be handed to whatever issues the session"]
pub struct MfaVerified {
    method: MfaMethod,
    verified_at_ms: i64,
}

/// Why an assertion does not count as multi-factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotMultiFactor {
    #[error("the passkey did not verify the user (no PIN or biometric), so it is a single factor")]
    PasskeyWithoutUserVerification,
    #[error("the identity provider did not report multi-factor authentication")]
    IdentityProviderSingleFactor,
}

/// RFC 8176 `amr` values that are something the user knows.
pub const AMR_KNOWLEDGE: &[&str] = &["pwd", "pin", "kba"];
/// RFC 8176 `amr` values that are something the user has: a one-time password, a hardware or
/// software key, an SMS or phone call, a smart card, proof of possession of a key.
pub const AMR_POSSESSION: &[&str] = &["otp", "hwk", "swk", "sms", "tel", "sc", "pop"];
/// RFC 8176 `amr` values that are something the user is.
pub const AMR_INHERENCE: &[&str] = &["fpt", "face", "iris", "retina", "vbm"];

impl MfaVerified {
    /// A proof from a passkey (WebAuthn) assertion that the caller has already verified
    /// (signature, challenge, origin, counter). It counts as multi-factor only if the
    /// authenticator reported user verification (the UV flag: a PIN or biometric was checked on
    /// the device), because then it combines possession of the key with knowledge or inherence.
    pub fn from_passkey_assertion(
        user_verified: bool,
        now_ms: i64,
    ) -> Result<MfaVerified, NotMultiFactor> {
        if user_verified {
            Ok(MfaVerified::new(MfaMethod::Passkey, now_ms))
        } else {
            Err(NotMultiFactor::PasskeyWithoutUserVerification)
        }
    }

    /// A proof from the `amr` (authentication methods references, RFC 8176) claim of an ID token
    /// that the caller has already verified (signature, issuer, audience, nonce, expiry).
    ///
    /// Accepted as multi-factor: `amr` contains `"mfa"`, or it contains values from at least
    /// two different kinds of factor:
    ///
    /// | kind | values |
    /// |---|---|
    /// | knowledge | `pwd`, `pin`, `kba` |
    /// | possession | `otp`, `hwk`, `swk`, `sms`, `tel`, `sc`, `pop` |
    /// | inherence | `fpt`, `face`, `iris`, `retina`, `vbm` |
    ///
    /// So `["pwd", "otp"]`, `["pwd", "hwk"]`, `["pwd", "sms"]` and `["hwk", "fpt"]` are accepted;
    /// `["pwd"]`, `["otp", "sms"]` (two of one kind) and values that do not say which factor was
    /// used (`"mca"`, `"rba"`, `"user"`, `"wia"`, `"geo"`, anything unknown) are not. Values are
    /// compared exactly, as RFC 8176 defines them in lower case.
    pub fn from_idp_assertion(amr: &[&str], now_ms: i64) -> Result<MfaVerified, NotMultiFactor> {
        let has = |kind: &[&str]| amr.iter().any(|value| kind.contains(value));
        let kinds = [AMR_KNOWLEDGE, AMR_POSSESSION, AMR_INHERENCE]
            .into_iter()
            .filter(|kind| has(kind))
            .count();
        if amr.contains(&"mfa") || kinds >= 2 {
            Ok(MfaVerified::new(MfaMethod::IdentityProvider, now_ms))
        } else {
            Err(NotMultiFactor::IdentityProviderSingleFactor)
        }
    }

    pub fn method(&self) -> MfaMethod {
        self.method
    }

    /// When the factor was verified, in Unix milliseconds; policy uses it for "MFA within the
    /// last N minutes" before sensitive actions.
    pub fn verified_at_ms(&self) -> i64 {
        self.verified_at_ms
    }

    /// For the checks in this crate only; see the module documentation.
    pub(crate) fn new(method: MfaMethod, verified_at_ms: i64) -> MfaVerified {
        MfaVerified {
            method,
            verified_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkeys_count_only_with_user_verification() {
        let proof = MfaVerified::from_passkey_assertion(true, 42).expect("UV is two factors");
        assert_eq!(proof.method(), MfaMethod::Passkey);
        assert_eq!(proof.verified_at_ms(), 42);
        assert_eq!(
            MfaVerified::from_passkey_assertion(false, 42),
            Err(NotMultiFactor::PasskeyWithoutUserVerification)
        );
    }

    #[test]
    fn identity_provider_amr_values() {
        let cases: &[(&[&str], bool)] = &[
            (&["mfa"], true),
            (&["pwd", "mfa"], true),
            (&["pwd", "otp"], true),
            (&["pwd", "hwk"], true),
            (&["pwd", "sms"], true),
            (&["pwd", "swk"], true),
            (&["pin", "sc"], true),
            (&["hwk", "fpt"], true),
            (&["face", "pwd"], true),
            (&["otp", "pwd", "rba"], true),
            (&[], false),
            (&["pwd"], false),
            (&["otp"], false),
            (&["hwk"], false),
            (&["pwd", "pin", "kba"], false),
            (&["otp", "sms"], false),
            (&["fpt", "face"], false),
            (&["pwd", "mca"], false),
            (&["pwd", "rba"], false),
            (&["pwd", "user"], false),
            (&["wia"], false),
            (&["geo", "pwd"], false),
            // RFC 8176 values are case-sensitive; we do not guess.
            (&["MFA"], false),
            (&["PWD", "OTP"], false),
            (&["pwd otp"], false),
        ];
        for (amr, expected) in cases {
            let outcome = MfaVerified::from_idp_assertion(amr, 7);
            assert_eq!(outcome.is_ok(), *expected, "{amr:?}");
            match outcome {
                Ok(proof) => {
                    assert_eq!(proof.method(), MfaMethod::IdentityProvider);
                    assert_eq!(proof.verified_at_ms(), 7);
                }
                Err(error) => assert_eq!(error, NotMultiFactor::IdentityProviderSingleFactor),
            }
        }
    }
}
