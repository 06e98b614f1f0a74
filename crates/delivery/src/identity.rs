//! Which meeting person an MLS leaf belongs to: the identity in a basic credential.
//!
//! Every Trygg client puts a basic credential (RFC 9420 §5.3) in its key packages and leaf whose
//! identity is `person:` followed by its meeting `PersonId` in canonical decimal (no sign, no
//! leading zeros), e.g. `person:42`. The service issues the `PersonId` when the person arrives,
//! so the credential names exactly the party the meeting core admitted, and the service can
//! check every Add against the admissions it was told about. A `PersonId` is per meeting and per
//! device and says nothing about who the person is, so the identity leaks nothing to the group
//! that the roster does not already show.
//!
//! Deliberately not here: binding the credential's signature key to the person (the service
//! relays key packages only to members of the same meeting, and every client shows the roster
//! and the safety code); parsing any other credential type.

use meeting::PersonId;

/// The meeting person an MLS credential names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberIdentity(PersonId);

const PREFIX: &[u8] = b"person:";

impl MemberIdentity {
    /// The identity of this person.
    pub const fn of(person: PersonId) -> MemberIdentity {
        MemberIdentity(person)
    }

    /// The person.
    pub const fn person(self) -> PersonId {
        self.0
    }

    /// The bytes a client puts in its basic credential.
    pub fn to_credential_identity(self) -> Vec<u8> {
        format!("person:{}", self.0.as_u64()).into_bytes()
    }

    /// Parses credential identity bytes; `None` unless canonical `person:<decimal u64>`.
    pub fn parse(bytes: &[u8]) -> Option<MemberIdentity> {
        let digits = bytes.strip_prefix(PREFIX)?;
        let canonical = !digits.is_empty()
            && digits.len() <= 20
            && digits.iter().all(u8::is_ascii_digit)
            && (digits == b"0" || digits[0] != b'0');
        if !canonical {
            return None;
        }
        let text = std::str::from_utf8(digits).ok()?;
        let number = text.parse::<u64>().ok()?;
        Some(MemberIdentity(PersonId::from_u64(number)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_canonical() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"person:0", Some(0)),
            (b"person:42", Some(42)),
            (b"person:18446744073709551615", Some(u64::MAX)),
            (b"person:18446744073709551616", None),
            (b"person:042", None),
            (b"person:", None),
            (b"person:-1", None),
            (b"person:+1", None),
            (b"person:4 2", None),
            (b"Person:42", None),
            (b"42", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                MemberIdentity::parse(bytes).map(|id| id.person().as_u64()),
                *expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let identity = MemberIdentity::of(PersonId::from_u64(7));
        assert_eq!(
            MemberIdentity::parse(&identity.to_credential_identity()),
            Some(identity)
        );
    }
}
