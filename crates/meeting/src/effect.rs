//! What goes out: the [`Effect`]s the service must carry out after a command or a timeout, in the
//! order given.
//!
//! - [`Effect::Notify`] sends a typed [`Notice`] to the listed people's live connections (the core
//!   lists only people whose connection is up; someone resuming gets [`Notice::Resumed`] with the
//!   whole picture instead of what they missed).
//! - [`Effect::Audit`] is one [`AuditRecord`]: who did what to whom, with stable codes and counts,
//!   never content (no names, no message text, no reasons typed by a host, no source address).
//! - [`Effect::Close`] ends a person's connection after the notices before it were sent.
//! - [`Effect::Mls`] tells the delivery service who may be added to the meeting's MLS group and
//!   who must be removed: the facts it needs to accept only a host-side client's Add for a person
//!   the host side admitted, and to force a Remove (a new epoch) on every departure.
//! - [`Effect::Media`] tells the media relay what to stop or resume forwarding.
//! - [`Effect::RecordConsent`] is a row for the consent register.
//! - [`Effect::PasscodeFailure`] reports a wrong passcode with its counts, for the service's
//!   per-source throttle across meetings.
//!
//! There is no "schedule a timer" effect: like str0m, the core answers
//! [`crate::Meeting::poll_timeout`] with the next moment it needs [`crate::Meeting::handle_timeout`]
//! called, which the service asks after every input.

use std::collections::BTreeMap;

use crate::command::ConsentDecision;
use crate::role::Role;
use crate::values::{
    DeviceInfo, DisplayName, IdentityKey, LobbyText, MaskedPersonalNumber, MeetingId,
    NoticeVersion, PersonId, ProofMethod, ReasonText, RiskAssessment, SourceKey, Timestamp,
};

/// One thing the service must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send `notice` to each of `to` (sorted, no duplicates, possibly empty).
    Notify {
        /// The recipients.
        to: Vec<PersonId>,
        /// What to tell them.
        notice: Notice,
    },
    /// Append this record to the audit trail, in the transaction that persists the change.
    Audit(AuditRecord),
    /// Close this person's connection (after sending the notices before this effect).
    Close {
        /// Whose connection.
        person: PersonId,
        /// Why, for the close frame.
        reason: CloseReason,
    },
    /// Tell the MLS delivery service.
    Mls(MlsInstruction),
    /// Tell the media relay.
    Media(MediaInstruction),
    /// Write this consent to the consent register.
    RecordConsent {
        /// Who consented.
        person: PersonId,
        /// The notice they read.
        notice_version: NoticeVersion,
        /// Their answer per purpose.
        decisions: Vec<ConsentDecision>,
    },
    /// A wrong passcode: feed the service's per-source throttle.
    PasscodeFailure(PasscodeFailure),
}

/// Counts after one wrong passcode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasscodeFailure {
    /// Where it came from.
    pub source: SourceKey,
    /// Consecutive failures from this source in this meeting.
    pub source_failures: u32,
    /// Failures from all sources in this meeting since the last reset.
    pub meeting_failures: u32,
    /// Whether this source may no longer try in this meeting.
    pub source_locked: bool,
    /// Whether the passcode is now locked for everyone.
    pub meeting_locked: bool,
}

/// What the delivery service must know about the MLS group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlsInstruction {
    /// Accept one Add of `person`'s key package, committed by a client whose
    /// [`MlsInstruction::CommitRights`] allow it (or, if the group has no members, `person`
    /// creating it when `person` is a host).
    AcceptAdd {
        /// Who may be added.
        person: PersonId,
        /// On whose decision.
        admitted_by: AdmittedBy,
    },
    /// Whether `person`'s client may commit Adds from now on (hosts and co-hosts may).
    CommitRights {
        /// Whose client.
        person: PersonId,
        /// Whether it may commit Adds.
        may_commit_adds: bool,
    },
    /// `person` is gone: require a Remove commit (a new epoch, new media keys) before relaying
    /// anything else for the group, and accept no more messages from them.
    Remove {
        /// Who is gone.
        person: PersonId,
        /// Why.
        departure: Departure,
    },
    /// The meeting ended: drop the group.
    EndGroup,
}

/// Who decided a person may join the MLS group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmittedBy {
    /// A host or co-host admitted them from the lobby.
    HostSide(PersonId),
    /// They are one of the meeting's hosts.
    HostIdentity,
    /// The meeting lets verified staff skip the lobby ([`crate::LobbyBypass::Staff`]).
    StaffBypass,
}

/// What the media relay must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaInstruction {
    /// Forward (or drop) `person`'s audio.
    Audio {
        /// Whose audio.
        person: PersonId,
        /// Whether to forward it.
        forward: bool,
    },
    /// Forward (or drop, at once) `person`'s screen-share track.
    ScreenShare {
        /// Whose screen.
        person: PersonId,
        /// Whether to forward it.
        forward: bool,
    },
    /// Drop every track of `person` and forget their media session.
    Disconnect {
        /// Whose media.
        person: PersonId,
    },
    /// The meeting ended: drop everything.
    EndSession,
}

/// Why a person is no longer in the meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Departure {
    /// They left.
    Left,
    /// The host side removed them.
    Removed,
    /// Their identity was banned (while they were removed, or on another device).
    Banned,
    /// Their connection dropped and they did not resume within the grace period.
    ConnectionLost,
}

impl Departure {
    /// A stable name for audit details and wire messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Departure::Left => "left",
            Departure::Removed => "removed",
            Departure::Banned => "banned",
            Departure::ConnectionLost => "connection_lost",
        }
    }
}

/// Why a connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The person left.
    Left,
    /// The host side turned them away from the lobby.
    Rejected,
    /// Removed from the meeting.
    Removed,
    /// Their identity was banned.
    Banned,
    /// Their join flow or knock ran out of time.
    Expired,
    /// The meeting ended.
    Ended,
}

/// The step of the join flow a person is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JoinStep {
    /// Read the notice and answer each purpose.
    Consent,
    /// Show the passcode or prove an identity.
    Credential,
    /// Have the device checked.
    Device,
    /// Knock (or enter directly, for hosts).
    Ready,
}

/// How a knock ended, for the host side's lobby list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnockOutcome {
    /// Let in, by this host-side member.
    Admitted {
        /// Who admitted.
        by: PersonId,
    },
    /// Turned away, by this host-side member.
    Rejected {
        /// Who rejected.
        by: PersonId,
    },
    /// Nobody answered in time (or the validity window ended).
    Expired,
    /// The person left the lobby.
    Withdrawn,
    /// The person's connection dropped for longer than the grace period.
    ConnectionLost,
    /// The person's identity was banned.
    Banned,
}

/// A verified identity as the host side sees it: no identity key, a masked personal number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityView {
    /// How it was proven.
    pub method: ProofMethod,
    /// The name the identity provider vouches for.
    pub verified_name: Option<DisplayName>,
    /// The masked personal identity number.
    pub personal_number: Option<MaskedPersonalNumber>,
}

/// A knocking person as the host side sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnockView {
    /// Who.
    pub person: PersonId,
    /// The name they gave (compare it with the verified name).
    pub name_given: DisplayName,
    /// Their verified identity, if any.
    pub identity: Option<IdentityView>,
    /// Whether they are signed-in staff.
    pub staff: bool,
    /// Their browser and device.
    pub device: DeviceInfo,
    /// What detection saw.
    pub risk: RiskAssessment,
    /// When they knocked.
    pub knocked_at: Timestamp,
    /// When the knock expires unless answered.
    pub expires_at: Timestamp,
    /// Whether a host-side member has put them on hold.
    pub held: bool,
    /// Whether their connection is up.
    pub connected: bool,
}

/// A participant as everyone in the meeting sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantView {
    /// Who.
    pub person: PersonId,
    /// Their name.
    pub name: DisplayName,
    /// Whether their identity is verified.
    pub verified: bool,
    /// Their role.
    pub role: Role,
    /// Whether the relay drops their audio on a host's order.
    pub muted_by_host: bool,
    /// Whether they may share their screen.
    pub screen_share_allowed: bool,
    /// Whether they are sharing now.
    pub sharing: bool,
    /// Whether their connection is up.
    pub connected: bool,
}

/// Where a resuming person stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Still in the join flow, at this step.
    Joining(JoinStep),
    /// Waiting in the lobby.
    Waiting {
        /// Whether on hold.
        held: bool,
        /// When the knock expires.
        expires_at: Timestamp,
    },
    /// In the meeting.
    InMeeting {
        /// Themselves.
        you: ParticipantView,
        /// Everyone in the meeting, themselves included, by person id.
        roster: Vec<ParticipantView>,
        /// Whether the meeting is locked.
        locked: bool,
        /// The lobby, if they are on the host side (empty otherwise).
        lobby: Vec<KnockView>,
    },
}

/// A typed message to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    // To the person in the join flow or lobby.
    /// Go on with this step.
    JoinStep(JoinStep),
    /// The passcode was wrong; whether this source may try again.
    PasscodeWrong {
        /// Whether another attempt will be taken.
        may_retry: bool,
    },
    /// You are waiting in the lobby until `expires_at`.
    Waiting {
        /// When the knock expires.
        expires_at: Timestamp,
    },
    /// The host asks you to keep waiting.
    Held {
        /// The host's message.
        message: ReasonText,
        /// When the knock now expires.
        expires_at: Timestamp,
    },
    /// The host turned you away.
    Rejected {
        /// Why.
        reason: ReasonText,
    },
    /// Your knock or join flow ran out of time.
    Expired,
    /// You are in; this is the meeting as it stands.
    Admitted(Standing),
    /// You were removed (and, if `banned`, may not come back).
    Removed {
        /// Whether your identity was banned.
        banned: bool,
    },
    /// You are back; this is where you stand.
    Resumed(Standing),

    // The lobby conversation, to the waiting person and the host side.
    /// A lobby message in `lobby_person`'s conversation.
    LobbyMessage {
        /// The waiting person whose conversation this is.
        lobby_person: PersonId,
        /// Who wrote it.
        from: PersonId,
        /// What they wrote.
        text: LobbyText,
    },

    // To the host side.
    /// Someone knocked.
    Knock(KnockView),
    /// A knock was put on hold.
    KnockHeld {
        /// Who is waiting.
        person: PersonId,
        /// Who held it.
        by: PersonId,
        /// When it now expires.
        expires_at: Timestamp,
    },
    /// A knock is over.
    KnockClosed {
        /// Who was waiting.
        person: PersonId,
        /// How it ended.
        outcome: KnockOutcome,
    },
    /// The whole lobby, for someone who just joined the host side.
    Lobby(Vec<KnockView>),
    /// Too many wrong passcodes: the passcode is locked until a host resets it.
    PasscodeLocked,
    /// A host lifted the passcode lock.
    PasscodeUnlocked,

    // To everyone in the meeting.
    /// Someone joined.
    ParticipantJoined(ParticipantView),
    /// Someone is gone.
    ParticipantLeft {
        /// Who.
        person: PersonId,
        /// Why.
        departure: Departure,
    },
    /// Someone's role changed.
    RoleChanged {
        /// Whose.
        person: PersonId,
        /// The new role.
        role: Role,
    },
    /// A host muted someone at the relay, or lifted it.
    MuteChanged {
        /// Whom.
        person: PersonId,
        /// Whether the relay drops their audio.
        muted_by_host: bool,
    },
    /// Someone's screen-share permission or state changed.
    ScreenShareChanged {
        /// Whose.
        person: PersonId,
        /// Whether they may share.
        allowed: bool,
        /// Whether they share now.
        sharing: bool,
    },
    /// The meeting was locked or unlocked.
    LockChanged {
        /// Whether it is locked now.
        locked: bool,
    },
    /// Someone's connection dropped, or came back (also sent to the host side for lobby people).
    ConnectionChanged {
        /// Whose.
        person: PersonId,
        /// Whether it is up.
        connected: bool,
    },
    /// The meeting is over.
    MeetingEnded,
}

/// Who did something, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditParty {
    /// The core itself (a timeout).
    System,
    /// Someone not yet in the meeting's books (a refused arrival), with the staff identity they
    /// arrived with, if any.
    Visitor {
        /// Their identity key.
        identity: Option<IdentityKey>,
    },
    /// A person, and their verified identity if any (a pseudonymous key).
    Person {
        /// Who, in this meeting.
        person: PersonId,
        /// Their identity key.
        identity: Option<IdentityKey>,
    },
}

/// How an audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Done.
    Success,
    /// Attempted and failed (a wrong passcode).
    Failure,
    /// Refused by the meeting's rules.
    Denied,
}

/// The audited actions; [`AuditAction::as_str`] gives each its stable dotted name, which is
/// also its documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum AuditAction {
    Arrive,
    Consent,
    Passcode,
    PasscodeLocked,
    PasscodeReset,
    ProveIdentity,
    DeviceCheck,
    Knock,
    Enter,
    LobbyMessage,
    Admit,
    Reject,
    Hold,
    KnockExpired,
    JoinExpired,
    Lock,
    Unlock,
    Remove,
    Ban,
    End,
    Mute,
    Unmute,
    ScreenShareAllow,
    ScreenShareDeny,
    ScreenShareStart,
    ScreenShareStop,
    CoHostPromote,
    CoHostDemote,
    Leave,
    ConnectionLost,
    Resume,
    GraceExpired,
}

impl AuditAction {
    /// The stable dotted name, e.g. `"meeting.lobby.admit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Arrive => "meeting.join.arrive",
            AuditAction::Consent => "meeting.join.consent",
            AuditAction::Passcode => "meeting.join.passcode",
            AuditAction::PasscodeLocked => "meeting.passcode.locked",
            AuditAction::PasscodeReset => "meeting.passcode.reset",
            AuditAction::ProveIdentity => "meeting.join.identity",
            AuditAction::DeviceCheck => "meeting.join.device",
            AuditAction::Knock => "meeting.lobby.knock",
            AuditAction::Enter => "meeting.enter",
            AuditAction::LobbyMessage => "meeting.lobby.message",
            AuditAction::Admit => "meeting.lobby.admit",
            AuditAction::Reject => "meeting.lobby.reject",
            AuditAction::Hold => "meeting.lobby.hold",
            AuditAction::KnockExpired => "meeting.lobby.expired",
            AuditAction::JoinExpired => "meeting.join.expired",
            AuditAction::Lock => "meeting.lock",
            AuditAction::Unlock => "meeting.unlock",
            AuditAction::Remove => "meeting.participant.remove",
            AuditAction::Ban => "meeting.identity.ban",
            AuditAction::End => "meeting.end",
            AuditAction::Mute => "meeting.participant.mute",
            AuditAction::Unmute => "meeting.participant.unmute",
            AuditAction::ScreenShareAllow => "meeting.screen_share.allow",
            AuditAction::ScreenShareDeny => "meeting.screen_share.deny",
            AuditAction::ScreenShareStart => "meeting.screen_share.start",
            AuditAction::ScreenShareStop => "meeting.screen_share.stop",
            AuditAction::CoHostPromote => "meeting.co_host.promote",
            AuditAction::CoHostDemote => "meeting.co_host.demote",
            AuditAction::Leave => "meeting.leave",
            AuditAction::ConnectionLost => "meeting.connection.lost",
            AuditAction::Resume => "meeting.connection.resume",
            AuditAction::GraceExpired => "meeting.connection.expired",
        }
    }
}

/// One audit entry: who did what to whom, when, and how it ended. Details are stable codes and
/// counts only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// When.
    pub at: Timestamp,
    /// In which meeting.
    pub meeting: MeetingId,
    /// Who acted.
    pub actor: AuditParty,
    /// What they did.
    pub action: AuditAction,
    /// To whom, if anyone else.
    pub target: Option<AuditParty>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Small facts: codes and counts, never content.
    pub details: BTreeMap<&'static str, String>,
}
