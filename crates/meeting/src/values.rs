//! The values the meeting core speaks in, each parsed once at the edge: time, ids, the texts people
//! type, and the facts other parts of Trygg establish (a verified identity, a device report).
//!
//! Parse, don't validate: a [`DisplayName`] or a [`LobbyText`] that exists is within its length,
//! non-empty and free of control and bidirectional-override characters (which would let a knocking
//! person make their name read as someone else's in the host's lobby list). A
//! [`MaskedPersonalNumber`] can only be made by masking, so the full personal identity number
//! cannot reach the lobby. Types that hold what a person typed have a `Debug` that shows only the
//! length, so a stray `{:?}` in a log line leaks no content.
//!
//! What this module deliberately does not do: generate anything random (a [`MeetingId`] comes in
//! as bytes from the service's random source) or read a clock.

use std::fmt;

/// A point in time: Unix milliseconds, as the service's clock read it. The core never reads a
/// clock; every input carries its `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The time `unix_ms` milliseconds after the Unix epoch.
    pub const fn from_unix_ms(unix_ms: i64) -> Timestamp {
        Timestamp(unix_ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// `self` plus `ms` milliseconds, saturating at the ends of time instead of overflowing.
    pub const fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
}

/// A meeting's id: 128 random bits, shown as 32 lower-case hex digits in the join link.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeetingId([u8; 16]);

impl MeetingId {
    /// The id made of `random`, which must come from a cryptographically secure generator (the
    /// service's; the core has none).
    pub const fn from_random_bytes(random: [u8; 16]) -> MeetingId {
        MeetingId(random)
    }

    /// Parses the 32 lower-case hex digits of a join link. Anything else (upper case, other
    /// lengths, separators) is refused, so one meeting has exactly one spelling.
    pub fn parse(text: &str) -> Result<MeetingId, ParseError> {
        let bytes = text.as_bytes();
        if bytes.len() != 32 {
            return Err(ParseError::MeetingId);
        }
        let mut id = [0u8; 16];
        for (index, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_digit(pair[0]).ok_or(ParseError::MeetingId)?;
            let low = hex_digit(pair[1]).ok_or(ParseError::MeetingId)?;
            id[index] = (high << 4) | low;
        }
        Ok(MeetingId(id))
    }

    /// The raw 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for MeetingId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(formatter, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MeetingId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "MeetingId({self})")
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// One person's presence in one meeting, from arrival at the link to leaving: assigned by the
/// core in arrival order, never reused within a meeting. The service maps its connections (and
/// resume tokens) to it. Not an identity: the same person on two devices is two `PersonId`s, and
/// a removed person who knocks again from scratch gets a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonId(u64);

impl PersonId {
    /// The id with this number; for the service restoring a mapping and for tests.
    pub const fn from_u64(number: u64) -> PersonId {
        PersonId(number)
    }

    /// The number, e.g. for a wire message.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

/// A stable, pseudonymous key for a verified identity: a staff account id, or a customer's
/// identity from a passkey or an e-ID (the service derives it, e.g. a keyed hash of the e-ID
/// subject). Bans and host rights attach to it. 1 to 128 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityKey(String);

impl IdentityKey {
    /// Parses a key; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<IdentityKey, ParseError> {
        if is_token(text, 128) {
            Ok(IdentityKey(text.to_owned()))
        } else {
            Err(ParseError::IdentityKey)
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where attempts come from, as the service throttles them (e.g. `"ip:198.51.100.0/24"`): the
/// core counts passcode failures per source and hands the key back in
/// [`crate::PasscodeFailure`] so the service can throttle the source across meetings. 1 to 128
/// visible ASCII characters. Its `Debug` hides the value: a network address is personal data.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceKey(String);

impl SourceKey {
    /// Parses a key; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<SourceKey, ParseError> {
        if is_token(text, 128) {
            Ok(SourceKey(text.to_owned()))
        } else {
            Err(ParseError::SourceKey)
        }
    }

    /// The key as text, for the service's throttle.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SourceKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SourceKey(..)")
    }
}

/// The version of the privacy notice a person read, e.g. `"2025-03"`. 1 to 64 visible ASCII
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoticeVersion(String);

impl NoticeVersion {
    /// Parses a version; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<NoticeVersion, ParseError> {
        if is_token(text, 64) {
            Ok(NoticeVersion(text.to_owned()))
        } else {
            Err(ParseError::NoticeVersion)
        }
    }

    /// The version as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A purpose a person consents to, e.g. `"meeting"` or `"recording"`. 1 to 64 characters from
/// `a-z`, `0-9`, `_`, `-` and `.`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purpose(String);

impl Purpose {
    /// Parses a purpose; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<Purpose, ParseError> {
        if is_code(text) {
            Ok(Purpose(text.to_owned()))
        } else {
            Err(ParseError::Purpose)
        }
    }

    /// The purpose as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One risk signal the detection part attached to a knock, e.g. `"new_device"`,
/// `"impossible_travel"` or `"tor_exit"`: a code, never a raw value. 1 to 64 characters from
/// `a-z`, `0-9`, `_`, `-` and `.`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RiskSignal(String);

impl RiskSignal {
    /// Parses a signal code; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<RiskSignal, ParseError> {
        if is_code(text) {
            Ok(RiskSignal(text.to_owned()))
        } else {
            Err(ParseError::RiskSignal)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How risky the detection part judged a knock, for the host to weigh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskLevel {
    /// Nothing unusual.
    Low,
    /// Something unusual; the host should check who this is.
    Elevated,
    /// Strong signs of an attack or impersonation.
    High,
}

impl RiskLevel {
    /// A stable name for audit details and wire messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Elevated => "elevated",
            RiskLevel::High => "high",
        }
    }
}

/// What the detection part says about a knock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskAssessment {
    /// The overall judgement.
    pub level: RiskLevel,
    /// The signals behind it, at most [`RiskAssessment::MAX_SIGNALS`].
    signals: Vec<RiskSignal>,
}

impl RiskAssessment {
    /// The most signals one knock carries; the detection part sends its strongest.
    pub const MAX_SIGNALS: usize = 16;

    /// An assessment; refused if it has more than [`RiskAssessment::MAX_SIGNALS`] signals.
    pub fn new(level: RiskLevel, signals: Vec<RiskSignal>) -> Result<RiskAssessment, ParseError> {
        if signals.len() > RiskAssessment::MAX_SIGNALS {
            return Err(ParseError::TooManyRiskSignals);
        }
        Ok(RiskAssessment { level, signals })
    }

    /// No risk seen.
    pub fn low() -> RiskAssessment {
        RiskAssessment {
            level: RiskLevel::Low,
            signals: Vec::new(),
        }
    }

    /// The signals.
    pub fn signals(&self) -> &[RiskSignal] {
        &self.signals
    }
}

/// Text a person typed, of 1 to `MAX` characters after trimming, with no control characters and
/// no bidirectional overrides or isolates. Its `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BoundedText<const MAX: usize>(String);

/// The name a knocking person gives: up to 64 characters.
pub type DisplayName = BoundedText<64>;
/// One lobby message: up to 500 characters.
pub type LobbyText = BoundedText<500>;
/// A reason for a rejection or a hold message, shown to the waiting person: up to 200 characters.
pub type ReasonText = BoundedText<200>;

impl<const MAX: usize> BoundedText<MAX> {
    /// The longest text, in characters.
    pub const MAX_CHARS: usize = MAX;

    /// Parses `text`, trimmed; see the type's documentation for what is accepted.
    pub fn parse(text: &str) -> Result<BoundedText<MAX>, ParseError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ParseError::EmptyText);
        }
        if trimmed.chars().count() > MAX {
            return Err(ParseError::TextTooLong { max_chars: MAX });
        }
        if trimmed.chars().any(is_forbidden_in_text) {
            return Err(ParseError::ForbiddenCharacter);
        }
        Ok(BoundedText(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedText<MAX> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Text({} chars)", self.0.chars().count())
    }
}

/// Control characters garble the host's screen; bidirectional overrides and isolates reorder
/// what is shown (a name that displays as "Bank Support"); zero-width characters make two names
/// that look the same differ.
fn is_forbidden_in_text(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// A Swedish personal identity number (personnummer or samordningsnummer) with its last four
/// digits hidden, e.g. `19850412-****`: the host can match the birth date against their records
/// without the full number being shown in the lobby. It can only be made by
/// [`MaskedPersonalNumber::mask`], so no code path can put a full number in a knock.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MaskedPersonalNumber(String);

impl MaskedPersonalNumber {
    /// Masks a number given as 10 or 12 digits, with or without a `-` or `+` before the last
    /// four. The full number is not kept.
    pub fn mask(full: &str) -> Result<MaskedPersonalNumber, ParseError> {
        let digits: String = full
            .chars()
            .enumerate()
            .filter(|&(index, character)| {
                !(matches!(character, '-' | '+') && index + 5 == full.chars().count())
            })
            .map(|(_, character)| character)
            .collect();
        if !(digits.len() == 10 || digits.len() == 12)
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError::PersonalNumber);
        }
        let birth = &digits[..digits.len() - 4];
        Ok(MaskedPersonalNumber(format!("{birth}-****")))
    }

    /// The masked form, e.g. `19850412-****`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an identity was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProofMethod {
    /// A staff sign-in with multi-factor authentication.
    StaffSession,
    /// A customer's passkey (WebAuthn, user verification required).
    Passkey,
    /// A customer's e-ID through an OpenID Connect broker.
    EId,
}

impl ProofMethod {
    /// A stable name for audit details and wire messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofMethod::StaffSession => "staff_session",
            ProofMethod::Passkey => "passkey",
            ProofMethod::EId => "e_id",
        }
    }
}

/// An identity the service has verified (a staff session, a passkey or an e-ID), as the host will
/// see it in the lobby.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The key bans and host rights attach to.
    pub key: IdentityKey,
    /// How it was proven.
    pub method: ProofMethod,
    /// The name the identity provider vouches for, if it gives one.
    pub verified_name: Option<DisplayName>,
    /// The personal identity number, masked, if the provider gives one.
    pub personal_number: Option<MaskedPersonalNumber>,
}

/// The browser and device a person joins from, as the device check reported them (e.g.
/// `"Firefox 128"`, `"Windows laptop"`), shown to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Browser name and version.
    pub browser: BoundedText<64>,
    /// Kind of device and operating system.
    pub device: BoundedText<64>,
}

/// A value from outside that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("a meeting id is 32 lower-case hex digits")]
    MeetingId,
    #[error("an identity key is 1 to 128 visible ASCII characters")]
    IdentityKey,
    #[error("a source key is 1 to 128 visible ASCII characters")]
    SourceKey,
    #[error("a notice version is 1 to 64 visible ASCII characters")]
    NoticeVersion,
    #[error("a purpose is 1 to 64 characters from a-z, 0-9, '_', '-' and '.'")]
    Purpose,
    #[error("a risk signal is 1 to 64 characters from a-z, 0-9, '_', '-' and '.'")]
    RiskSignal,
    #[error("a knock carries at most {} risk signals", RiskAssessment::MAX_SIGNALS)]
    TooManyRiskSignals,
    #[error("the text is empty")]
    EmptyText,
    #[error("the text is longer than {max_chars} characters")]
    TextTooLong { max_chars: usize },
    #[error("the text contains a control, zero-width or bidirectional-override character")]
    ForbiddenCharacter,
    #[error("a personal identity number is 10 or 12 digits")]
    PersonalNumber,
}

fn is_token(text: &str, max_len: usize) -> bool {
    !text.is_empty() && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_graphic())
}

fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_ids_round_trip_and_have_one_spelling() {
        let id = MeetingId::from_random_bytes([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(MeetingId::parse(&id.to_string()), Ok(id));
        let cases = [
            ("AB".repeat(16), Err(ParseError::MeetingId)),
            ("ab".repeat(15), Err(ParseError::MeetingId)),
            ("ab".repeat(17), Err(ParseError::MeetingId)),
            (format!("{}g", "a".repeat(31)), Err(ParseError::MeetingId)),
            (String::new(), Err(ParseError::MeetingId)),
            (
                "0123456789abcdef".repeat(2),
                Ok(MeetingId::from_random_bytes([
                    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
                    0xab, 0xcd, 0xef,
                ])),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(MeetingId::parse(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn texts_are_bounded_and_cannot_spoof() {
        let cases: [(&str, &str, Result<&str, ParseError>); 9] = [
            ("plain", "Anna Svensson", Ok("Anna Svensson")),
            ("trimmed", "  Anna  ", Ok("Anna")),
            ("empty", "", Err(ParseError::EmptyText)),
            ("only spaces", "   ", Err(ParseError::EmptyText)),
            ("64 characters", &"å".repeat(64), Ok(&"å".repeat(64))),
            (
                "65 characters",
                &"å".repeat(65),
                Err(ParseError::TextTooLong { max_chars: 64 }),
            ),
            (
                "right-to-left override",
                "Anna\u{202E}troppuS knaB",
                Err(ParseError::ForbiddenCharacter),
            ),
            (
                "zero width",
                "Ann\u{200B}a",
                Err(ParseError::ForbiddenCharacter),
            ),
            ("newline", "Anna\nBank", Err(ParseError::ForbiddenCharacter)),
        ];
        for (name, input, expected) in cases {
            let parsed = DisplayName::parse(input);
            assert_eq!(
                parsed
                    .as_ref()
                    .map(|text| text.as_str())
                    .map_err(|error| *error),
                expected,
                "{name}"
            );
        }
        let name = DisplayName::parse("Anna Svensson").expect("valid");
        assert_eq!(format!("{name:?}"), "Text(13 chars)");
    }

    #[test]
    fn personal_numbers_are_only_ever_masked() {
        let cases = [
            ("198504121234", Ok("19850412-****")),
            ("19850412-1234", Ok("19850412-****")),
            ("850412-1234", Ok("850412-****")),
            ("850412+1234", Ok("850412-****")),
            ("8504121234", Ok("850412-****")),
            ("85041212345", Err(ParseError::PersonalNumber)),
            ("8504-121234", Err(ParseError::PersonalNumber)),
            ("19850412-12a4", Err(ParseError::PersonalNumber)),
            ("", Err(ParseError::PersonalNumber)),
        ];
        for (full, expected) in cases {
            let masked = MaskedPersonalNumber::mask(full);
            assert_eq!(
                masked
                    .as_ref()
                    .map(|masked| masked.as_str())
                    .map_err(|error| *error),
                expected,
                "{full:?}"
            );
            if let Ok(masked) = masked {
                assert!(!format!("{masked:?}").contains("1234"));
            }
        }
    }

    #[test]
    fn keys_and_codes() {
        assert!(IdentityKey::parse("staff:7f3a").is_ok());
        assert_eq!(IdentityKey::parse("a b"), Err(ParseError::IdentityKey));
        assert_eq!(
            IdentityKey::parse(&"k".repeat(129)),
            Err(ParseError::IdentityKey)
        );
        assert!(Purpose::parse("recording").is_ok());
        assert_eq!(Purpose::parse("Recording"), Err(ParseError::Purpose));
        assert_eq!(RiskSignal::parse(""), Err(ParseError::RiskSignal));
        let source = SourceKey::parse("ip:198.51.100.0/24").expect("valid");
        assert_eq!(format!("{source:?}"), "SourceKey(..)");
        let too_many = vec![RiskSignal::parse("x").expect("valid"); 17];
        assert_eq!(
            RiskAssessment::new(RiskLevel::High, too_many),
            Err(ParseError::TooManyRiskSignals)
        );
        assert_eq!(
            Timestamp::from_unix_ms(i64::MAX).plus_ms(1).unix_ms(),
            i64::MAX
        );
    }
}
