//! The selective forwarding unit of Trygg: meeting media relayed through one UDP socket with
//! `str0m` in RTP mode, a sans-IO core and a tokio task that drives it.
//!
//! Each participant has one WebRTC connection to the server (ICE lite, DTLS-SRTP) on which it
//! publishes up to three tracks ([`TrackKind`]: audio, camera, screen share) and receives every
//! other participant's tracks in its room, one sendonly m-line each. The [`Sfu`] core owns one
//! `str0m::Rtc` per participant, finds the one a datagram belongs to, and copies each RTP packet
//! a publisher sends into every subscriber's matching stream (new SSRC, payload type and
//! sequence rollover per subscriber; payload, timestamp and marker unchanged). str0m does RTCP:
//! reports, NACKs towards publishers, and retransmissions (RTX) from a per-stream cache when a
//! subscriber NACKs a video packet. Key-frame requests from subscribers reach the publisher at
//! most once per track per [`CoreConfig::keyframe_request_interval`]. A new track is added to
//! every subscriber with a server-made SDP offer ([`Event::Offer`]); a participant cut off with
//! [`Sfu::remove`] gets and gives no further packet. Every call into a participant's `Rtc` runs
//! under `catch_unwind`, so a panic in one connection removes that one participant only.
//!
//! The [`driver`] owns the socket ([`SfuConfig`]: bind address, public address for the ICE
//! candidate) and exposes the core to the signalling layer as an [`SfuHandle`] and a receiver of
//! [`Event`]s.
//!
//! What this crate deliberately does not do: decrypt, decode or look into media (the payloads
//! are SFrame ciphertext made in the browsers, and the SFU has no key); decide who may join or
//! publish (the meeting core does, and the signalling layer calls [`SfuHandle::join`] only for
//! admitted participants); signalling transport; TURN (a coturn in front); simulcast layer
//! selection and bandwidth estimation. `docs/security/media-relay.md` says what the SFU sees.

#![forbid(unsafe_code)]

mod core;
pub mod driver;
mod error;
mod ids;
mod limiter;

pub use crate::core::{
    CoreConfig, Event, Limits, Output, RemovalReason, Sfu, Stats, Transmit,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEYFRAME_REQUEST_INTERVAL,
};
pub use driver::{spawn, SfuConfig, SfuDriver, SfuHandle};
pub use error::SfuError;
pub use ids::{ParticipantId, RoomId, TrackKind};
