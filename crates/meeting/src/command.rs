//! What comes in: an [`Arrival`] at the meeting's link, and then [`Command`]s from people already
//! known to the meeting, each with the time it happened.
//!
//! Commands arrive authenticated: the service has mapped the connection (or resume token) to the
//! [`crate::PersonId`] it sends as the actor, verified identities and passcodes, and asked the
//! detection part for risk signals. What the core decides is whether *this person, in this
//! meeting, now* may do it: roles inside the meeting are the core's business, staff roles are not.
//!
//! What this module deliberately does not do: carry secrets. A passcode never enters the core,
//! only the verdict of its Argon2 check.

use crate::effect::AuditAction;
use crate::values::{
    DeviceInfo, DisplayName, LobbyText, NoticeVersion, PersonId, Purpose, ReasonText,
    RiskAssessment, SourceKey, VerifiedIdentity,
};

/// Someone opening the meeting's link, or a staff member opening the meeting from their desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Where the attempt comes from, for passcode throttling.
    pub source: SourceKey,
    /// Who arrives.
    pub entrant: Entrant,
}

/// Who arrives, as the service authenticated them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entrant {
    /// A customer or other guest from the link: consent, then a credential, then the device
    /// check, then the lobby.
    Guest,
    /// A signed-in staff member (multi-factor verified): straight to the device check; then a
    /// host enters, anyone else knocks unless [`crate::LobbyBypass::Staff`].
    Staff(VerifiedIdentity),
}

/// A person's answer for one purpose on the privacy notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentDecision {
    /// The purpose.
    pub purpose: Purpose,
    /// Whether consent was given (otherwise refused).
    pub given: bool,
}

/// The result of the service's Argon2 check of a passcode against the stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasscodeVerdict {
    /// The passcode matched.
    Correct,
    /// It did not.
    Wrong,
}

/// What a known person asks for. Which of these a person may send depends on where they are
/// (joining, in the lobby, in the meeting) and their role; the rest are refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    // The join flow, in order.
    /// Answers every purpose of the privacy notice `notice_version`.
    GiveConsent {
        /// The notice the person read; must be the meeting's current one.
        notice_version: NoticeVersion,
        /// One answer per purpose on the notice.
        decisions: Vec<ConsentDecision>,
    },
    /// The verdict on the passcode the person typed. Ask
    /// [`crate::Meeting::passcode_attempt_allowed`] before spending an Argon2 check on it.
    Passcode(PasscodeVerdict),
    /// The person proved an identity (passkey or e-ID).
    ProveIdentity(VerifiedIdentity),
    /// The device check's result.
    ReportDevice {
        /// Browser and device.
        device: DeviceInfo,
        /// Whether the browser can take part (WebRTC, the encryption worker, camera access).
        supported: bool,
    },
    /// Asks to be let in, waiting in the lobby.
    Knock {
        /// The name the person gives.
        name: DisplayName,
        /// The detection part's judgement of this attempt.
        risk: RiskAssessment,
    },
    /// Enters without the lobby: only a host, or staff when the meeting allows it.
    Enter {
        /// The name to show in the meeting.
        name: DisplayName,
    },

    // The lobby conversation.
    /// From the host side to a waiting person.
    MessageToLobby {
        /// The waiting person.
        person: PersonId,
        /// The message.
        text: LobbyText,
    },
    /// From a waiting person to the host side.
    MessageToHosts {
        /// The message.
        text: LobbyText,
    },

    // Lobby decisions (host side).
    /// Lets a waiting person in.
    Admit {
        /// The waiting person.
        person: PersonId,
    },
    /// Turns a waiting person away, telling them why.
    Reject {
        /// The waiting person.
        person: PersonId,
        /// Shown to them.
        reason: ReasonText,
    },
    /// Keeps a waiting person waiting, telling them something; their knock's time starts over.
    Hold {
        /// The waiting person.
        person: PersonId,
        /// Shown to them.
        message: ReasonText,
    },

    // Host controls.
    /// Stops new knocks and direct entries (hosts still enter).
    Lock,
    /// Takes knocks again.
    Unlock,
    /// Removes a participant; with `ban`, their verified identity may not come back either.
    Remove {
        /// The participant.
        person: PersonId,
        /// Whether to ban their identity from this meeting.
        ban: bool,
    },
    /// Ends the meeting for everyone.
    EndForAll,
    /// Mutes a participant at the media relay (`muted: true`), or lifts that (`false`), after
    /// which the participant may unmute themselves; the host cannot turn anyone's microphone on.
    SetMuted {
        /// The participant.
        person: PersonId,
        /// Whether the relay drops their audio.
        muted: bool,
    },
    /// Allows or denies a participant screen sharing; denying stops their share at once.
    SetScreenShareAllowed {
        /// The participant.
        person: PersonId,
        /// Whether they may share.
        allowed: bool,
    },
    /// Stops a screen share now: anyone's for the host side, one's own for everyone.
    StopScreenShare {
        /// Whose share.
        person: PersonId,
    },
    /// Makes a participant a co-host, or a co-host a participant again.
    SetCoHost {
        /// The participant or co-host.
        person: PersonId,
        /// Whether they are to be a co-host.
        co_host: bool,
    },
    /// Lifts the passcode lock after too many wrong passcodes, and forgets the failures.
    ResetPasscodeLock,

    // One's own participation.
    /// Starts sharing one's screen.
    StartScreenShare,
    /// Leaves the meeting (or the lobby, or the join flow).
    Leave,
    /// The transport reports this person's connection dropped.
    ConnectionLost,
    /// The person is back on a new connection, within the grace period.
    Resume,
}

impl Command {
    /// The person the command acts on, if it acts on someone other than the actor.
    pub fn target(&self) -> Option<PersonId> {
        match self {
            Command::MessageToLobby { person, .. }
            | Command::Admit { person }
            | Command::Reject { person, .. }
            | Command::Hold { person, .. }
            | Command::Remove { person, .. }
            | Command::SetMuted { person, .. }
            | Command::SetScreenShareAllowed { person, .. }
            | Command::StopScreenShare { person }
            | Command::SetCoHost { person, .. } => Some(*person),
            _ => None,
        }
    }

    /// The audit action this command attempts (for auditing a refusal).
    pub fn audit_action(&self) -> AuditAction {
        match self {
            Command::GiveConsent { .. } => AuditAction::Consent,
            Command::Passcode(_) => AuditAction::Passcode,
            Command::ProveIdentity(_) => AuditAction::ProveIdentity,
            Command::ReportDevice { .. } => AuditAction::DeviceCheck,
            Command::Knock { .. } => AuditAction::Knock,
            Command::Enter { .. } => AuditAction::Enter,
            Command::MessageToLobby { .. } | Command::MessageToHosts { .. } => {
                AuditAction::LobbyMessage
            }
            Command::Admit { .. } => AuditAction::Admit,
            Command::Reject { .. } => AuditAction::Reject,
            Command::Hold { .. } => AuditAction::Hold,
            Command::Lock => AuditAction::Lock,
            Command::Unlock => AuditAction::Unlock,
            Command::Remove { ban: false, .. } => AuditAction::Remove,
            Command::Remove { ban: true, .. } => AuditAction::Ban,
            Command::EndForAll => AuditAction::End,
            Command::SetMuted { muted: true, .. } => AuditAction::Mute,
            Command::SetMuted { muted: false, .. } => AuditAction::Unmute,
            Command::SetScreenShareAllowed { allowed: true, .. } => AuditAction::ScreenShareAllow,
            Command::SetScreenShareAllowed { allowed: false, .. } => AuditAction::ScreenShareDeny,
            Command::StopScreenShare { .. } => AuditAction::ScreenShareStop,
            Command::SetCoHost { co_host: true, .. } => AuditAction::CoHostPromote,
            Command::SetCoHost { co_host: false, .. } => AuditAction::CoHostDemote,
            Command::ResetPasscodeLock => AuditAction::PasscodeReset,
            Command::StartScreenShare => AuditAction::ScreenShareStart,
            Command::Leave => AuditAction::Leave,
            Command::ConnectionLost => AuditAction::ConnectionLost,
            Command::Resume => AuditAction::Resume,
        }
    }
}
