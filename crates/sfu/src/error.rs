//! What the SFU refuses, as one enum: the signalling layer maps each to a message for its client.
//! A refused call changes nothing, except where a variant says otherwise.

use crate::ids::ParticipantId;

/// A refused call.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SfuError {
    /// The SDP is longer than [`crate::Limits::max_sdp_bytes`].
    #[error("the SDP is too long")]
    SdpTooLong,
    /// The SDP does not parse.
    #[error("the SDP does not parse")]
    SdpMalformed,
    /// str0m refused the offer or answer (no media, no fingerprint, wrong order, ...). For an
    /// answer the SFU forgets its offer and makes a new one, which comes out as an event.
    #[error("the SDP was refused: {0}")]
    SdpRefused(String),
    /// This participant already has a connection in the room.
    #[error("participant {0} has already joined")]
    AlreadyJoined(ParticipantId),
    /// No such participant in the room.
    #[error("participant {0} is not in the room")]
    UnknownParticipant(ParticipantId),
    /// An answer came but no offer of ours is waiting for one.
    #[error("no offer is waiting for an answer")]
    NoOfferPending,
    /// The room is full ([`crate::Limits::max_participants_per_room`]).
    #[error("the room is full")]
    RoomFull,
    /// The SFU is full ([`crate::Limits::max_participants`]).
    #[error("the SFU is full")]
    SfuFull,
    /// The participant's connection panicked while handling the call and has been removed.
    #[error("the connection failed and was removed")]
    Panicked,
    /// The driver task has stopped.
    #[error("the SFU has stopped")]
    Stopped,
}
