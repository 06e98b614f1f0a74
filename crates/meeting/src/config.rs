//! What a meeting is set up with: its hosts, its validity window, how people prove they may
//! enter, the consent they must give, and the limits that keep one meeting's memory bounded.
//!
//! [`MeetingConfig::validate`] refuses settings that make no sense or that would weaken a
//! guarantee (a window that ends before it starts, a passcode lock that never triggers, a meeting
//! with no host). The core takes a validated config only: [`crate::Meeting::new`] checks it.
//!
//! What this module deliberately does not do: hold the passcode or its hash. Argon2 verification
//! happens in the service; the core learns only the verdict ([`crate::PasscodeVerdict`]).

use crate::values::{IdentityKey, NoticeVersion, Purpose, Timestamp};

/// The time during which the meeting's link lets people in: from `start` (inclusive) to `end`
/// (exclusive). A meeting already under way when the window ends goes on, but nobody new enters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityWindow {
    start: Timestamp,
    end: Timestamp,
}

impl ValidityWindow {
    /// A window from `start` to `end`; refused unless `start < end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<ValidityWindow, ConfigError> {
        if start < end {
            Ok(ValidityWindow { start, end })
        } else {
            Err(ConfigError::EmptyWindow)
        }
    }

    /// When the link starts to let people in.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// When the link stops letting people in.
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// Whether `now` is inside the window.
    pub fn contains(&self, now: Timestamp) -> bool {
        self.start <= now && now < self.end
    }
}

/// What a customer must show after consenting, before the device check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryCredential {
    /// Nothing: the link alone (the lobby still applies).
    LinkOnly,
    /// The meeting's passcode.
    Passcode,
    /// A verified identity (passkey or e-ID).
    IdentityProof,
    /// Either the passcode or a verified identity.
    PasscodeOrIdentityProof,
}

impl EntryCredential {
    /// Whether the passcode is one way in.
    pub fn accepts_passcode(self) -> bool {
        matches!(
            self,
            EntryCredential::Passcode | EntryCredential::PasscodeOrIdentityProof
        )
    }

    /// Whether a verified identity is one way in.
    pub fn accepts_identity_proof(self) -> bool {
        matches!(
            self,
            EntryCredential::IdentityProof | EntryCredential::PasscodeOrIdentityProof
        )
    }
}

/// One purpose on the privacy notice, and whether joining needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurposeRule {
    /// The purpose.
    pub purpose: Purpose,
    /// Whether refusing it means the person cannot join (e.g. `"meeting"`, the processing the
    /// meeting itself needs); optional purposes (e.g. `"recording"`) may be refused.
    pub required: bool,
}

/// Who may skip the lobby. The meeting's hosts always enter directly: somebody has to admit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LobbyBypass {
    /// Nobody else: every other person, staff included, knocks.
    Nobody,
    /// Verified staff of the organisation enter directly (when the organisation's policy allows
    /// it for this meeting; the service decides and sets this).
    Staff,
}

/// The limits of passcode guessing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasscodeLimits {
    /// Wrong passcodes, over the meeting's life and from all sources together, after which the
    /// passcode stops being accepted until a host resets it. 1 to 100.
    pub lock_after_meeting_failures: u32,
    /// Consecutive wrong passcodes from one source after which that source may not try again in
    /// this meeting (a success from it ends its streak). 1 to `lock_after_meeting_failures`.
    pub lock_after_source_failures: u32,
}

/// How long things last, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From arriving at the link to knocking (consent, passcode, device check).
    pub join_ms: i64,
    /// From knocking (or being held) to being answered; then the knock expires.
    pub knock_ms: i64,
    /// After a dropped connection, how long a person may resume without knocking again.
    pub resume_grace_ms: i64,
}

/// The most a meeting holds, so that one meeting's memory stays bounded whatever people send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// People present in any stage (joining, in the lobby, in the meeting) at once.
    pub max_people: usize,
    /// People waiting in the lobby at once.
    pub max_lobby: usize,
    /// Lobby messages in one knock's conversation, both directions together.
    pub max_lobby_messages: u32,
}

/// Everything a meeting is set up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingConfig {
    /// The identities that enter as hosts: the adviser who booked the meeting, and any staff
    /// they named as fellow hosts. At least one.
    pub hosts: Vec<IdentityKey>,
    /// When the link lets people in.
    pub window: ValidityWindow,
    /// What a customer must show.
    pub credential: EntryCredential,
    /// The privacy notice a person must have read.
    pub notice_version: NoticeVersion,
    /// The purposes on that notice; every one must be answered, the required ones given.
    pub purposes: Vec<PurposeRule>,
    /// Who may skip the lobby besides the hosts.
    pub bypass: LobbyBypass,
    /// Whether only verified staff may be made co-hosts (a co-host admits people, so a customer
    /// co-host could let anyone in).
    pub co_hosts_must_be_staff: bool,
    /// Passcode guessing limits.
    pub passcode: PasscodeLimits,
    /// How long things last.
    pub timeouts: Timeouts,
    /// Size limits.
    pub limits: Limits,
}

impl Default for PasscodeLimits {
    fn default() -> PasscodeLimits {
        PasscodeLimits {
            lock_after_meeting_failures: 10,
            lock_after_source_failures: 5,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            join_ms: 15 * 60_000,
            knock_ms: 10 * 60_000,
            resume_grace_ms: 30_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_people: 64,
            max_lobby: 16,
            max_lobby_messages: 40,
        }
    }
}

impl MeetingConfig {
    /// Whether this configuration can be used.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hosts.is_empty() {
            return Err(ConfigError::NoHost);
        }
        let passcode = self.passcode;
        if !(1..=100).contains(&passcode.lock_after_meeting_failures)
            || passcode.lock_after_source_failures == 0
            || passcode.lock_after_source_failures > passcode.lock_after_meeting_failures
        {
            return Err(ConfigError::PasscodeLimits);
        }
        let timeouts = self.timeouts;
        if timeouts.join_ms <= 0 || timeouts.knock_ms <= 0 || timeouts.resume_grace_ms <= 0 {
            return Err(ConfigError::Timeouts);
        }
        let limits = self.limits;
        if limits.max_people == 0
            || limits.max_lobby == 0
            || limits.max_lobby > limits.max_people
            || limits.max_lobby_messages == 0
        {
            return Err(ConfigError::Limits);
        }
        for (index, rule) in self.purposes.iter().enumerate() {
            if self.purposes[..index]
                .iter()
                .any(|earlier| earlier.purpose == rule.purpose)
            {
                return Err(ConfigError::DuplicatePurpose);
            }
        }
        Ok(())
    }
}

/// A [`MeetingConfig`] that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("a meeting needs at least one host")]
    NoHost,
    #[error("the validity window must end after it starts")]
    EmptyWindow,
    #[error("passcode limits: 1 to 100 meeting failures, 1 to that many source failures")]
    PasscodeLimits,
    #[error("every timeout must be positive")]
    Timeouts,
    #[error("limits must be positive, and the lobby no larger than the meeting")]
    Limits,
    #[error("a purpose is listed twice")]
    DuplicatePurpose,
}
