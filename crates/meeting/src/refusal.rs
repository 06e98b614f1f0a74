//! Why the core refused an arrival or a command. A refused input changes nothing in the meeting.
//!
//! Each [`Refusal`] has a stable [`Refusal::code`] for the API error and the audit entry (see
//! [`crate::Meeting::refusal_record`]) and a `Display` text for developers. What to tell the
//! person is the service's choice: it should keep refusals that reveal something to an outsider
//! vague (a banned identity and a locked meeting can both read "you cannot join this meeting
//! now").

use crate::effect::JoinStep;
use crate::role::Capability;

/// A refused arrival or command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // The meeting as a whole.
    #[error("the meeting has ended")]
    MeetingEnded,
    #[error("the meeting's link is not valid at this time")]
    OutsideWindow,
    #[error("the meeting is locked")]
    MeetingLocked,
    #[error("the meeting is full")]
    MeetingFull,
    #[error("the lobby is full")]
    LobbyFull,
    #[error("this identity is banned from the meeting")]
    Banned,

    // The actor or target.
    #[error("no such person in the meeting")]
    NotPresent,
    #[error("this person was removed from the meeting")]
    Removed,
    #[error("this person's connection is down; resume first")]
    NotConnected,
    #[error("this person's connection is up; nothing to resume")]
    AlreadyConnected,
    #[error("the grace period for resuming has passed; join again")]
    GraceExpired,
    #[error("the join flow ran out of time; join again")]
    JoinExpired,
    #[error("the knock ran out of time")]
    KnockExpired,

    // The join flow.
    #[error("not at this step of the join flow (at {at:?})")]
    WrongStep { at: JoinStep },
    #[error("only for people in the join flow")]
    NotJoining,
    #[error("the privacy notice has changed; read the current one")]
    StaleNotice,
    #[error("every purpose on the notice must be answered exactly once, and only those")]
    ConsentIncomplete,
    #[error("consent to a required purpose was refused")]
    RequiredConsentRefused,
    #[error("this meeting does not take this credential")]
    CredentialNotAccepted,
    #[error("too many wrong passcodes for this meeting; the host can reset the lock")]
    PasscodeLocked,
    #[error("too many wrong passcodes from this source")]
    SourceLocked,
    #[error("this browser or device cannot take part")]
    DeviceUnsupported,
    #[error("this person must knock and wait in the lobby")]
    MustKnock,

    // Roles and targets.
    #[error("the actor's meeting role does not allow {capability:?}")]
    NotPermitted { capability: Capability },
    #[error("only for people waiting in the lobby")]
    NotInLobby,
    #[error("only for people in the meeting")]
    NotInMeeting,
    #[error("the target's role protects them from this action")]
    TargetProtected,
    #[error("use Leave to act on oneself")]
    SelfTarget,
    #[error("a ban needs the person's verified identity")]
    BanNeedsIdentity,
    #[error("only verified staff can be co-hosts in this meeting")]
    CoHostMustBeStaff,
    #[error("already so; nothing to change")]
    NothingToChange,

    // Media and chat.
    #[error("screen sharing is not allowed for this participant")]
    ScreenShareNotAllowed,
    #[error("someone else is sharing their screen")]
    ScreenShareInUse,
    #[error("this participant is not sharing their screen")]
    NotSharing,
    #[error("this lobby conversation has reached its message limit")]
    LobbyMessageLimit,
}

impl Refusal {
    /// A stable snake-case code for API errors and audit details.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::MeetingEnded => "meeting_ended",
            Refusal::OutsideWindow => "outside_window",
            Refusal::MeetingLocked => "meeting_locked",
            Refusal::MeetingFull => "meeting_full",
            Refusal::LobbyFull => "lobby_full",
            Refusal::Banned => "banned",
            Refusal::NotPresent => "not_present",
            Refusal::Removed => "removed",
            Refusal::NotConnected => "not_connected",
            Refusal::AlreadyConnected => "already_connected",
            Refusal::GraceExpired => "grace_expired",
            Refusal::JoinExpired => "join_expired",
            Refusal::KnockExpired => "knock_expired",
            Refusal::WrongStep { .. } => "wrong_step",
            Refusal::NotJoining => "not_joining",
            Refusal::StaleNotice => "stale_notice",
            Refusal::ConsentIncomplete => "consent_incomplete",
            Refusal::RequiredConsentRefused => "required_consent_refused",
            Refusal::CredentialNotAccepted => "credential_not_accepted",
            Refusal::PasscodeLocked => "passcode_locked",
            Refusal::SourceLocked => "source_locked",
            Refusal::DeviceUnsupported => "device_unsupported",
            Refusal::MustKnock => "must_knock",
            Refusal::NotPermitted { .. } => "not_permitted",
            Refusal::NotInLobby => "not_in_lobby",
            Refusal::NotInMeeting => "not_in_meeting",
            Refusal::TargetProtected => "target_protected",
            Refusal::SelfTarget => "self_target",
            Refusal::BanNeedsIdentity => "ban_needs_identity",
            Refusal::CoHostMustBeStaff => "co_host_must_be_staff",
            Refusal::NothingToChange => "nothing_to_change",
            Refusal::ScreenShareNotAllowed => "screen_share_not_allowed",
            Refusal::ScreenShareInUse => "screen_share_in_use",
            Refusal::NotSharing => "not_sharing",
            Refusal::LobbyMessageLimit => "lobby_message_limit",
        }
    }
}
