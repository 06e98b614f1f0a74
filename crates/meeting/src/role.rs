//! Roles inside one meeting and what each may do, as one table ([`Role::may`]).
//!
//! These roles are not staff roles: a staff member's organisation role (adviser, supervisor)
//! decides through the policy engine whether they may open the meeting at all; inside it, what
//! they may do follows from their meeting role only, as it stands when each command is handled.
//! A co-host demoted between two commands has lost the right for the second one.
//!
//! Waiting in the lobby or still joining is not a role: such a person is not in the meeting and
//! may do none of these things.

/// A person's role in a meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Takes part: sees, hears, chats; shares a screen only if allowed.
    Participant,
    /// Runs the lobby and the room with the host, but cannot end the meeting, name co-hosts, ban,
    /// or lift the passcode lock; cannot act on a host or another co-host.
    CoHost,
    /// One of the meeting's configured hosts: every control.
    Host,
}

/// Something only some roles may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Message waiting people, admit, reject, hold.
    ManageLobby,
    /// Lock and unlock the meeting.
    Lock,
    /// Remove a participant.
    Remove,
    /// Ban a removed participant's identity (outlives the session, so the host only).
    Ban,
    /// Mute a participant at the relay, or lift that.
    Mute,
    /// Allow or deny screen sharing, and stop someone else's share.
    ControlScreenShare,
    /// Make or unmake co-hosts.
    ManageCoHosts,
    /// End the meeting for everyone.
    EndForAll,
    /// Lift the passcode lock (it defends against guessing, so the host only).
    ResetPasscodeLock,
}

impl Capability {
    /// Every capability, for tables and tests.
    pub const ALL: [Capability; 9] = [
        Capability::ManageLobby,
        Capability::Lock,
        Capability::Remove,
        Capability::Ban,
        Capability::Mute,
        Capability::ControlScreenShare,
        Capability::ManageCoHosts,
        Capability::EndForAll,
        Capability::ResetPasscodeLock,
    ];

    /// A stable name for audit details and API errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ManageLobby => "manage_lobby",
            Capability::Lock => "lock",
            Capability::Remove => "remove",
            Capability::Ban => "ban",
            Capability::Mute => "mute",
            Capability::ControlScreenShare => "control_screen_share",
            Capability::ManageCoHosts => "manage_co_hosts",
            Capability::EndForAll => "end_for_all",
            Capability::ResetPasscodeLock => "reset_passcode_lock",
        }
    }
}

impl Role {
    /// Whether this role has `capability`: the one table of meeting rights.
    pub fn may(self, capability: Capability) -> bool {
        match self {
            Role::Host => true,
            Role::CoHost => matches!(
                capability,
                Capability::ManageLobby
                    | Capability::Lock
                    | Capability::Remove
                    | Capability::Mute
                    | Capability::ControlScreenShare
            ),
            Role::Participant => false,
        }
    }

    /// Whether this role runs the meeting (host or co-host): it sees the lobby and may always
    /// share its screen.
    pub fn is_host_side(self) -> bool {
        matches!(self, Role::Host | Role::CoHost)
    }

    /// A stable name for audit details and wire messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::CoHost => "co_host",
            Role::Host => "host",
        }
    }
}
