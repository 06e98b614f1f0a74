//! The names the SFU gives to what it relays: which meeting ([`RoomId`]), whose connection
//! ([`ParticipantId`]) and which of their published tracks ([`TrackKind`]). Plain values; the
//! signalling layer maps its own ids onto them.

use std::fmt;

use str0m::media::MediaKind;

/// One meeting's media room. Packets are forwarded only between participants of the same room,
/// so two meetings on one server never see each other's media. The signalling layer derives it
/// from the meeting id (16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId([u8; 16]);

impl RoomId {
    /// The room for these 16 bytes (a meeting id).
    pub const fn from_bytes(bytes: [u8; 16]) -> RoomId {
        RoomId(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// Only the first four bytes: a meeting id in a join link is a capability, so logs and panics get
/// enough to tell rooms apart and no more.
impl fmt::Debug for RoomId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(formatter, "RoomId({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

/// One participant's media connection within a room (the meeting core's `PersonId`). Unique
/// within its room only; the SFU keys everything by room and participant together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParticipantId(u64);

impl ParticipantId {
    /// The participant with this number.
    pub const fn from_u64(number: u64) -> ParticipantId {
        ParticipantId(number)
    }

    /// The number.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// The three tracks a participant may publish.
///
/// In the offer a participant joins with, the first audio m-line is [`TrackKind::Audio`], the
/// first video m-line [`TrackKind::Camera`] and the second video m-line
/// [`TrackKind::ScreenShare`]; further m-lines are accepted and ignored. A client that may share
/// its screen later offers the screen's (inactive) transceiver at once and starts sending on it
/// when sharing starts, so sharing needs no renegotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Microphone (Opus, fully SFrame-encrypted).
    Audio,
    /// Camera (VP8; its payload descriptor and first frame bytes stay clear).
    Camera,
    /// Screen share (VP8, as the camera).
    ScreenShare,
}

impl TrackKind {
    /// Audio or video.
    pub fn media_kind(self) -> MediaKind {
        match self {
            TrackKind::Audio => MediaKind::Audio,
            TrackKind::Camera | TrackKind::ScreenShare => MediaKind::Video,
        }
    }

    /// The track id a subscriber sees in `a=msid:<participant> <label>` for this track.
    pub fn label(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Camera => "camera",
            TrackKind::ScreenShare => "screen",
        }
    }
}
