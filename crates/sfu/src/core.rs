//! The sans-IO core: every participant's `str0m::Rtc`, the demultiplexing of datagrams to them,
//! the forwarding of RTP packets from publishers to subscribers, key-frame requests the other
//! way, and the SDP offers that add a subscriber's m-line for each new track.
//!
//! No sockets, no clock, no threads: datagrams and the time come in through
//! [`Sfu::handle_datagram`] and [`Sfu::handle_timeout`], signalling through [`Sfu::join`],
//! [`Sfu::accept_answer`] and [`Sfu::remove`], and everything the caller must do comes out of
//! [`Sfu::poll_output`], which is drained until it says [`Output::Timeout`].
//!
//! Every call into a participant's `Rtc` runs under `catch_unwind`: str0m panics on its own bugs
//! by design, and a panic then costs only that participant, who is removed and reported with
//! [`RemovalReason::Panicked`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::CryptoProvider;
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, SeqNo};
use str0m::{Candidate, IceConnectionState, Input, Rtc, RtcConfig};

use crate::error::SfuError;
use crate::ids::{ParticipantId, RoomId, TrackKind};
use crate::limiter::RateLimit;

/// Key-frame requests reaching a publisher, at most one per track per this interval: about two
/// per second, so a subscriber that lost its picture gets it back within half a second.
pub const DEFAULT_KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Time from joining to ICE and DTLS being up before a participant is given up on.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the core behaves; the driver fills it from [`crate::SfuConfig`].
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The address clients send to: the one ICE host candidate in every answer, and the
    /// destination str0m expects on every datagram.
    pub public_addr: SocketAddr,
    /// Sizes that bound memory and work.
    pub limits: Limits,
    /// At most one key-frame request per published video track per this interval reaches the
    /// publisher, however many subscribers ask.
    pub keyframe_request_interval: Duration,
    /// A participant whose ICE and DTLS are not up this long after joining is removed.
    pub connect_timeout: Duration,
}

impl CoreConfig {
    /// Defaults for a server reached at `public_addr`.
    pub fn new(public_addr: SocketAddr) -> CoreConfig {
        CoreConfig {
            public_addr,
            limits: Limits::default(),
            keyframe_request_interval: DEFAULT_KEYFRAME_REQUEST_INTERVAL,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Sizes that bound memory and work.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Participants over all rooms.
    pub max_participants: usize,
    /// Participants in one room.
    pub max_participants_per_room: usize,
    /// Length of an SDP offer or answer, in bytes.
    pub max_sdp_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_participants: 1_000,
            max_participants_per_room: 50,
            max_sdp_bytes: 64 * 1024,
        }
    }
}

/// What the caller must do next.
#[derive(Debug)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Tell the signalling layer.
    Event(Event),
    /// Nothing more to do until this time (or new input): call [`Sfu::handle_timeout`] then.
    Timeout(Instant),
}

/// A datagram to send.
pub struct Transmit {
    /// The address it is sent from (the public address; the driver has one socket).
    pub from: SocketAddr,
    /// Where to send it.
    pub to: SocketAddr,
    /// The datagram (SRTP, SRTCP, DTLS or STUN).
    pub bytes: Vec<u8>,
}

/// Sizes only: the bytes are ciphertext and the addresses are personal data.
impl std::fmt::Debug for Transmit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Transmit")
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Something the signalling layer must relay or know.
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// The SFU offers this participant new (or stopped) m-lines: relay the offer and bring the
    /// answer back through [`Sfu::accept_answer`]. At most one offer per participant is waiting
    /// for an answer at a time; changes made meanwhile go into the next offer.
    Offer {
        /// The room.
        room: RoomId,
        /// Whom to send it to.
        participant: ParticipantId,
        /// The SDP offer.
        sdp: String,
    },
    /// The participant's ICE and DTLS are up: media can flow.
    Connected {
        /// The room.
        room: RoomId,
        /// Who.
        participant: ParticipantId,
    },
    /// The SFU removed this participant on its own (never after [`Sfu::remove`]). Nothing more
    /// is forwarded to or from them.
    Removed {
        /// The room.
        room: RoomId,
        /// Who.
        participant: ParticipantId,
        /// Why.
        reason: RemovalReason,
    },
}

/// No SDP in debug output: it carries addresses and fingerprints.
impl std::fmt::Debug for Event {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Offer {
                room, participant, ..
            } => formatter
                .debug_struct("Offer")
                .field("room", room)
                .field("participant", participant)
                .finish_non_exhaustive(),
            Event::Connected { room, participant } => formatter
                .debug_struct("Connected")
                .field("room", room)
                .field("participant", participant)
                .finish(),
            Event::Removed {
                room,
                participant,
                reason,
            } => formatter
                .debug_struct("Removed")
                .field("room", room)
                .field("participant", participant)
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Why the SFU removed a participant on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalReason {
    /// Its connection panicked inside str0m; the others are unaffected.
    Panicked,
    /// ICE lost the participant, or the participant closed DTLS.
    Disconnected,
    /// ICE and DTLS did not come up within [`CoreConfig::connect_timeout`].
    ConnectTimeout,
    /// str0m reported a fatal error on the connection (for example a failed DTLS handshake).
    Failed,
}

/// Counters since the SFU started, for metrics and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams given to [`Sfu::handle_datagram`].
    pub datagrams_received: u64,
    /// Datagrams that no participant accepted (dropped).
    pub datagrams_unclaimed: u64,
    /// [`Output::Transmit`]s handed out.
    pub datagrams_sent: u64,
    /// RTP packets written into a subscriber's stream (one per packet and subscriber).
    pub packets_forwarded: u64,
    /// Key-frame requests passed on to a publisher.
    pub keyframe_requests_relayed: u64,
    /// Key-frame requests dropped by the rate limit.
    pub keyframe_requests_limited: u64,
}

/// The sans-IO SFU. See the module documentation.
pub struct Sfu {
    config: CoreConfig,
    crypto: Arc<CryptoProvider>,
    rooms: HashMap<RoomId, Room>,
    participant_count: usize,
    /// Which participant last accepted a datagram from this source: a cache in front of asking
    /// every `Rtc` whether it accepts. Bounded by [`Sfu::source_cache_limit`].
    by_source: HashMap<SocketAddr, Key>,
    /// Participants written to since they were last polled.
    dirty: Vec<Key>,
    queue: VecDeque<Queued>,
    /// The latest time given; the time at which deferred polls happen.
    now: Instant,
    /// Reused between calls so forwarding does not allocate per datagram.
    happenings: Vec<Happening>,
    stats: Stats,
}

impl std::fmt::Debug for Sfu {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Sfu")
            .field("rooms", &self.rooms.len())
            .field("participants", &self.participant_count)
            .finish_non_exhaustive()
    }
}

impl Sfu {
    /// An SFU with no rooms, at time `now`.
    pub fn new(now: Instant, config: CoreConfig) -> Sfu {
        Sfu {
            config,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            rooms: HashMap::new(),
            participant_count: 0,
            by_source: HashMap::new(),
            dirty: Vec::new(),
            queue: VecDeque::new(),
            now,
            happenings: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Admits `participant` to `room` with the SDP offer its client made, and returns the SDP
    /// answer. The offer's sendonly (or sendrecv) m-lines are what the participant publishes (see
    /// [`TrackKind`] for which is which). The participant's own subscriptions to the room's
    /// earlier tracks come as an [`Event::Offer`] right after: deliver the answer first.
    pub fn join(
        &mut self,
        now: Instant,
        room: RoomId,
        participant: ParticipantId,
        offer: &str,
    ) -> Result<String, SfuError> {
        self.now = now;
        if offer.len() > self.config.limits.max_sdp_bytes {
            return Err(SfuError::SdpTooLong);
        }
        let offer = SdpOffer::from_sdp_string(offer).map_err(|_| SfuError::SdpMalformed)?;
        if self
            .rooms
            .get(&room)
            .is_some_and(|r| r.index(participant).is_some())
        {
            return Err(SfuError::AlreadyJoined(participant));
        }
        if self.participant_count >= self.config.limits.max_participants {
            return Err(SfuError::SfuFull);
        }
        if self
            .rooms
            .get(&room)
            .is_some_and(|r| r.participants.len() >= self.config.limits.max_participants_per_room)
        {
            return Err(SfuError::RoomFull);
        }

        let public_addr = self.config.public_addr;
        let crypto = Arc::clone(&self.crypto);
        let built = catch_unwind(AssertUnwindSafe(move || {
            let mut rtc = RtcConfig::new()
                .set_rtp_mode(true)
                // A server with a public address answers connectivity checks and never starts
                // them: ICE lite. The client, which offers, is the controlling agent.
                .set_ice_lite(true)
                .set_crypto_provider(crypto)
                .build(now);
            let candidate = Candidate::host(public_addr, "udp")
                .map_err(|e| SfuError::SdpRefused(e.to_string()))?;
            rtc.add_local_candidate(candidate);
            let answer = rtc
                .sdp_api()
                .accept_offer(offer)
                .map_err(|e| SfuError::SdpRefused(e.to_string()))?;
            Ok::<_, SfuError>((rtc, answer))
        }));
        let (rtc, answer) = built.map_err(|_| SfuError::Panicked)??;

        let key = Key { room, participant };
        let room_state = self.rooms.entry(room).or_default();
        let mut joined = Participant::new(participant, rtc, now);
        // The newcomer subscribes to every track already published in the room.
        for publisher in &room_state.participants {
            for track in &publisher.published {
                joined.subscribe(publisher.id, track);
            }
        }
        room_state.participants.push(joined);
        self.participant_count += 1;
        tracing::debug!(participant = participant.as_u64(), "joined the SFU");

        // The accepted offer announces the published m-lines (Event::MediaAdded): polling now
        // registers them and adds the subscribers' m-lines.
        self.poll_participant(key, now);
        self.negotiate_room(room);
        Ok(answer.to_sdp_string())
    }

    /// Applies `participant`'s answer to the SFU's last [`Event::Offer`]. The m-lines it
    /// accepted start forwarding at once; a video track asks its publisher for a key frame so
    /// the new subscriber can start decoding.
    pub fn accept_answer(
        &mut self,
        now: Instant,
        room: RoomId,
        participant: ParticipantId,
        answer: &str,
    ) -> Result<(), SfuError> {
        self.now = now;
        if answer.len() > self.config.limits.max_sdp_bytes {
            return Err(SfuError::SdpTooLong);
        }
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|_| SfuError::SdpMalformed)?;
        let key = Key { room, participant };
        let subscriber = self
            .participant_mut(key)
            .ok_or(SfuError::UnknownParticipant(participant))?;
        let pending = subscriber
            .pending_offer
            .take()
            .ok_or(SfuError::NoOfferPending)?;
        let accepted = subscriber.guard(|p| p.rtc.sdp_api().accept_answer(pending, answer));
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(Panicked) => {
                self.remove_key(key, Some(RemovalReason::Panicked));
                return Err(SfuError::Panicked);
            }
        };
        let mut opened = Vec::new();
        for subscription in &mut subscriber.subscriptions {
            subscription.state = match (subscription.state, &accepted) {
                (SubscriptionState::Offered(mid), Ok(())) if subscription.source_gone => {
                    SubscriptionState::ToStop(mid)
                }
                (SubscriptionState::Offered(mid), Ok(())) => {
                    opened.push((subscription.source, subscription.source_mid));
                    SubscriptionState::Open(mid)
                }
                // The m-line str0m offered is gone with the refused answer: offer it again.
                (SubscriptionState::Offered(_), Err(_)) => SubscriptionState::ToOffer,
                (SubscriptionState::Stopping(mid), Err(_)) => SubscriptionState::ToStop(mid),
                (state, _) => state,
            };
        }
        if accepted.is_ok() {
            subscriber
                .subscriptions
                .retain(|s| !matches!(s.state, SubscriptionState::Stopping(_)));
        }
        subscriber
            .subscriptions
            .retain(|s| !(s.source_gone && s.state == SubscriptionState::ToOffer));
        self.mark_dirty(key);

        for (source, source_mid) in opened {
            self.request_keyframe(
                Key {
                    room,
                    participant: source,
                },
                source_mid,
                KeyframeRequestKind::Pli,
                now,
            );
        }
        self.negotiate(key);
        accepted.map_err(|e| SfuError::SdpRefused(e.to_string()))
    }

    /// Cuts `participant` off at once: its `Rtc` is dropped, datagrams queued for it are
    /// discarded, nothing it sends is accepted any more, and every subscriber stops receiving its
    /// tracks (their m-lines are stopped in the next offer). Returns whether it was there.
    pub fn remove(&mut self, now: Instant, room: RoomId, participant: ParticipantId) -> bool {
        self.now = now;
        self.remove_key(Key { room, participant }, None)
    }

    /// Removes everyone in `room` (the meeting ended). Returns how many were removed.
    pub fn remove_room(&mut self, now: Instant, room: RoomId) -> usize {
        self.now = now;
        let Some(state) = self.rooms.remove(&room) else {
            return 0;
        };
        let removed = state.participants.len();
        self.participant_count -= removed;
        self.queue
            .retain(|q| q.owner.is_none_or(|k| k.room != room));
        self.by_source.retain(|_, k| k.room != room);
        self.dirty.retain(|k| k.room != room);
        removed
    }

    /// Whether `participant`'s `kind` track is forwarded to the room (the host's mute and
    /// stop-sharing controls). Stopping takes effect with the next packet; the subscribers'
    /// m-lines stay, so forwarding can resume without renegotiation. Returns whether the
    /// participant was there.
    pub fn set_forwarding(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
        kind: TrackKind,
        forward: bool,
    ) -> bool {
        let Some(publisher) = self.participant_mut(Key { room, participant }) else {
            return false;
        };
        publisher.forwarding[kind as usize] = forward;
        true
    }

    /// Feeds a datagram that arrived at `to` (the public address) from `from`. Datagrams that
    /// no participant accepts are dropped without a word.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        bytes: &[u8],
    ) {
        self.now = now;
        self.stats.datagrams_received += 1;
        let Ok(contents) = DatagramRecv::try_from(bytes) else {
            self.stats.datagrams_unclaimed += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: to,
                contents,
            },
        );
        let Some(key) = self.demultiplex(from, &input) else {
            self.stats.datagrams_unclaimed += 1;
            return;
        };
        let Some(participant) = self.participant_mut(key) else {
            return;
        };
        match participant.guard(|p| p.rtc.handle_input(input)) {
            Ok(Ok(())) => self.poll_participant(key, now),
            Ok(Err(error)) => {
                tracing::debug!(participant = key.participant.as_u64(), %error, "connection failed");
                self.remove_key(key, Some(RemovalReason::Failed));
            }
            Err(Panicked) => {
                self.remove_key(key, Some(RemovalReason::Panicked));
            }
        }
    }

    /// Drives time: retransmissions, RTCP reports, ICE consent, timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let mut due = Vec::new();
        let mut late = Vec::new();
        for (room, state) in &self.rooms {
            for participant in &state.participants {
                let key = Key {
                    room: *room,
                    participant: participant.id,
                };
                if !participant.connected
                    && now >= participant.joined_at + self.config.connect_timeout
                {
                    late.push(key);
                } else if participant.next_timeout <= now {
                    due.push(key);
                }
            }
        }
        for key in late {
            tracing::debug!(
                participant = key.participant.as_u64(),
                "did not connect in time"
            );
            self.remove_key(key, Some(RemovalReason::ConnectTimeout));
        }
        for key in due {
            self.timeout_participant(key, now);
        }
    }

    /// The next thing to do. Drain it until it returns [`Output::Timeout`] after every call
    /// above.
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(queued) = self.queue.pop_front() {
                if matches!(queued.output, Output::Transmit(_)) {
                    self.stats.datagrams_sent += 1;
                }
                return queued.output;
            }
            // Subscribers that were written to are polled once per batch of input rather than
            // once per forwarded packet: str0m must be told the time before it sends what was
            // written, and doing that once for many packets is where the batching pays.
            let Some(key) = self.dirty.pop() else {
                return Output::Timeout(self.next_timeout());
            };
            if let Some(participant) = self.participant_mut(key) {
                participant.dirty = false;
                self.timeout_participant(key, self.now);
            }
        }
    }

    /// Participants over all rooms.
    pub fn participant_count(&self) -> usize {
        self.participant_count
    }

    /// Counters since the start.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Makes the next call into `participant`'s `Rtc` panic, to test that a panicking
    /// connection is removed and the others keep flowing. Returns whether the participant was
    /// there. Never call it outside tests.
    pub fn danger_panic_on_next_call_for_tests(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
    ) -> bool {
        let Some(target) = self.participant_mut(Key { room, participant }) else {
            return false;
        };
        target.panic_on_next_call = true;
        true
    }

    fn participant_mut(&mut self, key: Key) -> Option<&mut Participant> {
        let room = self.rooms.get_mut(&key.room)?;
        let index = room.index(key.participant)?;
        Some(&mut room.participants[index])
    }

    /// Which participant a datagram belongs to: the one that last took datagrams from this
    /// source if it still accepts them, else the first whose `Rtc` accepts it (ICE credentials
    /// for STUN, a nominated or viable remote candidate for the rest).
    fn demultiplex(&mut self, from: SocketAddr, input: &Input<'_>) -> Option<Key> {
        if let Some(&key) = self.by_source.get(&from) {
            if let Some(participant) = self.participant_mut(key) {
                if participant.guard(|p| p.rtc.accepts(input)) == Ok(true) {
                    return Some(key);
                }
            }
        }
        let mut found = None;
        'rooms: for (room, state) in &mut self.rooms {
            for participant in &mut state.participants {
                if participant.guard(|p| p.rtc.accepts(input)) == Ok(true) {
                    found = Some(Key {
                        room: *room,
                        participant: participant.id,
                    });
                    break 'rooms;
                }
            }
        }
        let key = found?;
        if self.by_source.len() >= self.source_cache_limit() {
            // A participant can make str0m accept many sources (STUN with its credentials from
            // spoofed addresses); the cache only saves work, so start it afresh.
            self.by_source.clear();
        }
        self.by_source.insert(from, key);
        Some(key)
    }

    fn source_cache_limit(&self) -> usize {
        4 * self.participant_count + 64
    }

    fn mark_dirty(&mut self, key: Key) {
        if let Some(participant) = self.participant_mut(key) {
            if !participant.dirty {
                participant.dirty = true;
                self.dirty.push(key);
            }
        }
    }

    /// Tells a participant the time, then polls it.
    fn timeout_participant(&mut self, key: Key, now: Instant) {
        let Some(participant) = self.participant_mut(key) else {
            return;
        };
        match participant.guard(|p| p.rtc.handle_input(Input::Timeout(now))) {
            Ok(Ok(())) => self.poll_participant(key, now),
            Ok(Err(error)) => {
                tracing::debug!(participant = key.participant.as_u64(), %error, "connection failed");
                self.remove_key(key, Some(RemovalReason::Failed));
            }
            Err(Panicked) => {
                self.remove_key(key, Some(RemovalReason::Panicked));
            }
        }
    }

    /// Drains one participant's `Rtc` until its timeout, then acts on what it said: forwards
    /// RTP, relays key-frame requests, registers published tracks.
    fn poll_participant(&mut self, key: Key, now: Instant) {
        let mut happenings = std::mem::take(&mut self.happenings);
        happenings.clear();
        let Some(participant) = self.participant_mut(key) else {
            self.happenings = happenings;
            return;
        };
        let polled = participant.guard(|p| p.drain(&mut happenings));
        let outcome = match polled {
            Ok(Ok(transmits)) => Ok(transmits),
            Ok(Err(error)) => {
                tracing::debug!(participant = key.participant.as_u64(), %error, "connection failed");
                Err(RemovalReason::Failed)
            }
            Err(Panicked) => Err(RemovalReason::Panicked),
        };
        match outcome {
            Ok(transmits) => {
                let from = self.config.public_addr;
                for transmit in transmits {
                    self.queue.push_back(Queued {
                        owner: Some(key),
                        output: Output::Transmit(Transmit {
                            from,
                            to: transmit.destination,
                            bytes: transmit.contents.into(),
                        }),
                    });
                }
            }
            Err(reason) => {
                self.remove_key(key, Some(reason));
                self.happenings = happenings;
                return;
            }
        }

        let mut renegotiate = false;
        for happening in happenings.drain(..) {
            match happening {
                Happening::Rtp {
                    mid,
                    params,
                    packet,
                } => {
                    self.forward(key, mid, params, &packet);
                }
                Happening::KeyframeRequest { mid, kind } => {
                    self.relay_keyframe_request(key, mid, kind, now);
                }
                Happening::Published { mid, kind } => {
                    renegotiate |= self.publish(key, mid, kind);
                }
                Happening::Connected => {
                    if let Some(participant) = self.participant_mut(key) {
                        participant.connected = true;
                    }
                    self.queue.push_back(Queued {
                        owner: Some(key),
                        output: Output::Event(Event::Connected {
                            room: key.room,
                            participant: key.participant,
                        }),
                    });
                }
                Happening::Disconnected => {
                    self.remove_key(key, Some(RemovalReason::Disconnected));
                    break;
                }
            }
        }
        self.happenings = happenings;
        if renegotiate {
            self.negotiate_room(key.room);
        }
    }

    /// Registers a track `key` publishes on `mid` and subscribes the rest of the room to it.
    /// Returns whether anyone got a new subscription.
    fn publish(&mut self, key: Key, mid: Mid, media_kind: MediaKind) -> bool {
        let Some(room) = self.rooms.get_mut(&key.room) else {
            return false;
        };
        let Some(index) = room.index(key.participant) else {
            return false;
        };
        let publisher = &mut room.participants[index];
        let kind = match media_kind {
            MediaKind::Audio => TrackKind::Audio,
            MediaKind::Video => TrackKind::Camera,
        };
        let taken = |kind: TrackKind| publisher.published.iter().any(|t| t.kind == kind);
        let kind = match kind {
            TrackKind::Camera if taken(TrackKind::Camera) => TrackKind::ScreenShare,
            other => other,
        };
        if taken(kind) {
            // A fourth m-line, a second audio: accepted in SDP, never forwarded.
            return false;
        }
        let track = Published {
            mid,
            kind,
            keyframe_requests: RateLimit::new(self.config.keyframe_request_interval),
            params: None,
        };
        let publisher_id = publisher.id;
        for (other_index, other) in room.participants.iter_mut().enumerate() {
            if other_index != index {
                other.subscribe(publisher_id, &track);
            }
        }
        room.participants[index].published.push(track);
        room.participants.len() > 1
    }

    /// Writes one packet from `key`'s track `mid` into every subscriber's matching stream.
    fn forward(&mut self, key: Key, mid: Mid, params: PayloadParams, packet: &RtpPacket) {
        let Some(room) = self.rooms.get_mut(&key.room) else {
            return;
        };
        let Some(index) = room.index(key.participant) else {
            return;
        };
        let publisher = &room.participants[index];
        let Some(track) = publisher.published.iter().find(|t| t.mid == mid) else {
            return;
        };
        if !publisher.forwarding[track.kind as usize] {
            return;
        }
        let kind = track.kind;
        let publisher_id = publisher.id;
        let mut panicked = Vec::new();
        for (subscriber_index, subscriber) in room.participants.iter_mut().enumerate() {
            if subscriber_index == index {
                continue;
            }
            let Some(position) = subscriber
                .subscriptions
                .iter()
                .position(|s| s.source == publisher_id && s.source_mid == mid && !s.source_gone)
            else {
                continue;
            };
            let SubscriptionState::Open(out_mid) = subscriber.subscriptions[position].state else {
                continue;
            };
            let written = subscriber.guard(|s| {
                let subscription = &mut s.subscriptions[position];
                write_forwarded(&mut s.rtc, subscription, out_mid, kind, params, packet)
            });
            match written {
                Ok(true) => {
                    self.stats.packets_forwarded += 1;
                    if !subscriber.dirty {
                        subscriber.dirty = true;
                        self.dirty.push(Key {
                            room: key.room,
                            participant: subscriber.id,
                        });
                    }
                }
                Ok(false) => {}
                Err(Panicked) => panicked.push(subscriber.id),
            }
        }
        for participant in panicked {
            self.remove_key(
                Key {
                    room: key.room,
                    participant,
                },
                Some(RemovalReason::Panicked),
            );
        }
    }

    /// A subscriber asked for a key frame on one of its outgoing m-lines: pass it to the
    /// publisher of that track, at most once per interval per track.
    fn relay_keyframe_request(
        &mut self,
        key: Key,
        out_mid: Mid,
        kind: KeyframeRequestKind,
        now: Instant,
    ) {
        let Some(subscriber) = self.participant_mut(key) else {
            return;
        };
        let Some(subscription) = subscriber
            .subscriptions
            .iter()
            .find(|s| s.state == SubscriptionState::Open(out_mid) && !s.source_gone)
        else {
            return;
        };
        let source = Key {
            room: key.room,
            participant: subscription.source,
        };
        let source_mid = subscription.source_mid;
        self.request_keyframe(source, source_mid, kind, now);
    }

    /// Asks `key` for a key frame on its track `mid`, unless one was asked for within the
    /// interval.
    fn request_keyframe(&mut self, key: Key, mid: Mid, kind: KeyframeRequestKind, now: Instant) {
        let Some(publisher) = self.participant_mut(key) else {
            return;
        };
        let Some(track) = publisher.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        if track.kind.media_kind() != MediaKind::Video {
            return;
        }
        if !track.keyframe_requests.allow(now) {
            self.stats.keyframe_requests_limited += 1;
            return;
        }
        let requested = publisher.guard(|p| {
            let mut direct = p.rtc.direct_api();
            // No stream yet means no packet yet: the first packets of a stream start with a key
            // frame anyway.
            if let Some(stream) = direct.stream_rx_by_mid(mid, None) {
                stream.request_keyframe(kind);
            }
        });
        match requested {
            Ok(()) => {
                self.stats.keyframe_requests_relayed += 1;
                self.mark_dirty(key);
            }
            Err(Panicked) => {
                self.remove_key(key, Some(RemovalReason::Panicked));
            }
        }
    }

    fn negotiate_room(&mut self, room: RoomId) {
        let Some(state) = self.rooms.get(&room) else {
            return;
        };
        let keys: Vec<Key> = state
            .participants
            .iter()
            .map(|p| Key {
                room,
                participant: p.id,
            })
            .collect();
        for key in keys {
            self.negotiate(key);
        }
    }

    /// Offers a participant the m-lines its subscriptions need (new ones sendonly, stopped ones
    /// rejected), unless an offer is already waiting for its answer.
    fn negotiate(&mut self, key: Key) {
        let Some(participant) = self.participant_mut(key) else {
            return;
        };
        if participant.pending_offer.is_some()
            || !participant.subscriptions.iter().any(|s| {
                matches!(
                    s.state,
                    SubscriptionState::ToOffer | SubscriptionState::ToStop(_)
                )
            })
        {
            return;
        }
        let applied = participant.guard(|p| {
            let mut changes = p.rtc.sdp_api();
            for subscription in &mut p.subscriptions {
                match subscription.state {
                    SubscriptionState::ToOffer => {
                        // The msid tells the client whose track this is and which: stream id =
                        // the publisher's participant number, track id = the kind.
                        let mid = changes.add_media(
                            subscription.kind.media_kind(),
                            Direction::SendOnly,
                            Some(subscription.source.to_string()),
                            Some(subscription.kind.label().to_string()),
                            None,
                        );
                        subscription.state = SubscriptionState::Offered(mid);
                    }
                    SubscriptionState::ToStop(mid) => {
                        changes.stop_media(mid);
                        subscription.state = SubscriptionState::Stopping(mid);
                    }
                    _ => {}
                }
            }
            changes.apply()
        });
        match applied {
            Ok(Some((offer, pending))) => {
                participant.pending_offer = Some(pending);
                self.queue.push_back(Queued {
                    owner: Some(key),
                    output: Output::Event(Event::Offer {
                        room: key.room,
                        participant: key.participant,
                        sdp: offer.to_sdp_string(),
                    }),
                });
                self.mark_dirty(key);
            }
            Ok(None) => {}
            Err(Panicked) => {
                self.remove_key(key, Some(RemovalReason::Panicked));
            }
        }
    }

    /// Removes a participant and everything that points at it; `reason` is `Some` when the SFU
    /// decided this itself, which the signalling layer is told.
    fn remove_key(&mut self, key: Key, reason: Option<RemovalReason>) -> bool {
        let Some(room) = self.rooms.get_mut(&key.room) else {
            return false;
        };
        let Some(index) = room.index(key.participant) else {
            return false;
        };
        // Dropping the Rtc is the cut-off: nothing it would still send is ever polled.
        drop(room.participants.swap_remove(index));
        self.participant_count -= 1;
        for other in &mut room.participants {
            for subscription in &mut other.subscriptions {
                if subscription.source == key.participant && !subscription.source_gone {
                    subscription.source_gone = true;
                    if let SubscriptionState::Open(mid) = subscription.state {
                        subscription.state = SubscriptionState::ToStop(mid);
                    }
                }
            }
            other
                .subscriptions
                .retain(|s| !(s.source_gone && s.state == SubscriptionState::ToOffer));
        }
        let room_empty = room.participants.is_empty();
        if room_empty {
            self.rooms.remove(&key.room);
        }
        self.queue.retain(|q| q.owner != Some(key));
        self.by_source.retain(|_, k| *k != key);
        self.dirty.retain(|k| *k != key);
        if let Some(reason) = reason {
            tracing::info!(
                participant = key.participant.as_u64(),
                ?reason,
                "removed from the SFU"
            );
            self.queue.push_back(Queued {
                owner: None,
                output: Output::Event(Event::Removed {
                    room: key.room,
                    participant: key.participant,
                    reason,
                }),
            });
        } else {
            tracing::debug!(
                participant = key.participant.as_u64(),
                "removed from the SFU"
            );
        }
        if !room_empty {
            self.negotiate_room(key.room);
        }
        true
    }

    fn next_timeout(&self) -> Instant {
        let mut next = self.now + Duration::from_secs(1);
        for state in self.rooms.values() {
            for participant in &state.participants {
                next = next.min(participant.next_timeout);
                if !participant.connected {
                    next = next.min(participant.joined_at + self.config.connect_timeout);
                }
            }
        }
        next
    }
}

/// Writes one forwarded packet into a subscriber's stream. Returns whether it wrote.
fn write_forwarded(
    rtc: &mut Rtc,
    subscription: &mut Subscription,
    out_mid: Mid,
    kind: TrackKind,
    params: PayloadParams,
    packet: &RtpPacket,
) -> bool {
    // Payload types are per connection: find the subscriber's number for the publisher's codec.
    let pt = match subscription.pt_map {
        Some((from, to)) if from == params.pt() => to,
        _ => {
            let Some(to) = rtc.codec_config().match_params(params).map(|p| p.pt()) else {
                return false;
            };
            subscription.pt_map = Some((params.pt(), to));
            to
        }
    };
    // Sequence numbers keep their low 16 bits but start this subscriber's stream in rollover
    // 0: a receiver assumes ROC 0 for the first packet, and a publisher that has been sending
    // for a while is past it.
    let incoming = *packet.seq_no;
    let offset = *subscription.seq_offset.get_or_insert(incoming & !0xffff);
    let Some(outgoing) = incoming.checked_sub(offset) else {
        // Older than the first packet this subscriber got: of no use to it.
        return false;
    };
    let mut direct = rtc.direct_api();
    let Some(stream) = direct.stream_tx_by_mid(out_mid, None) else {
        return false;
    };
    let header = &packet.header;
    let extensions = ExtensionValues {
        audio_level: header.ext_vals.audio_level,
        voice_activity: header.ext_vals.voice_activity,
        video_orientation: header.ext_vals.video_orientation,
        ..ExtensionValues::default()
    };
    stream.write_rtp(
        RtpWrite::new(
            pt,
            SeqNo::from(outgoing),
            header.timestamp,
            packet.timestamp,
            Arc::clone(&packet.payload),
        )
        .marker(header.marker)
        .ext_vals(extensions)
        // Video is kept for retransmission when the subscriber NACKs a loss; audio is not
        // (Opus conceals a lost packet better than a late one arrives).
        .nackable(kind.media_kind() == MediaKind::Video),
    );
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    room: RoomId,
    participant: ParticipantId,
}

#[derive(Debug)]
struct Queued {
    /// The participant the output is for, so it can be discarded when they are removed.
    owner: Option<Key>,
    output: Output,
}

#[derive(Default)]
struct Room {
    participants: Vec<Participant>,
}

impl Room {
    fn index(&self, participant: ParticipantId) -> Option<usize> {
        self.participants.iter().position(|p| p.id == participant)
    }
}

struct Participant {
    id: ParticipantId,
    rtc: Rtc,
    joined_at: Instant,
    connected: bool,
    next_timeout: Instant,
    published: Vec<Published>,
    /// Indexed by `TrackKind as usize`.
    forwarding: [bool; 3],
    subscriptions: Vec<Subscription>,
    pending_offer: Option<SdpPendingOffer>,
    /// In [`Sfu::dirty`].
    dirty: bool,
    panic_on_next_call: bool,
}

impl Participant {
    fn new(id: ParticipantId, rtc: Rtc, now: Instant) -> Participant {
        Participant {
            id,
            rtc,
            joined_at: now,
            connected: false,
            next_timeout: now,
            published: Vec::new(),
            forwarding: [true; 3],
            subscriptions: Vec::new(),
            pending_offer: None,
            dirty: false,
            panic_on_next_call: false,
        }
    }

    fn subscribe(&mut self, source: ParticipantId, track: &Published) {
        self.subscriptions.push(Subscription {
            source,
            source_mid: track.mid,
            kind: track.kind,
            state: SubscriptionState::ToOffer,
            source_gone: false,
            seq_offset: None,
            pt_map: None,
        });
    }

    /// Runs `call` on this participant under `catch_unwind`. After `Err(Panicked)` the
    /// participant's state is not to be trusted: remove it.
    fn guard<R>(&mut self, call: impl FnOnce(&mut Participant) -> R) -> Result<R, Panicked> {
        catch_unwind(AssertUnwindSafe(|| {
            if std::mem::take(&mut self.panic_on_next_call) {
                panic!("panic injected by danger_panic_on_next_call_for_tests");
            }
            call(self)
        }))
        .map_err(|_| Panicked)
    }

    /// Polls the `Rtc` until its timeout: transmits come back, events go to `happenings`.
    fn drain(
        &mut self,
        happenings: &mut Vec<Happening>,
    ) -> Result<Vec<str0m::net::Transmit>, str0m::RtcError> {
        let mut transmits = Vec::new();
        loop {
            match self.rtc.poll_output()? {
                str0m::Output::Timeout(at) => {
                    self.next_timeout = at;
                    break;
                }
                str0m::Output::Transmit(transmit) => transmits.push(transmit),
                str0m::Output::Event(event) => {
                    if let Some(happening) = self.understand(event) {
                        happenings.push(happening);
                    }
                }
            }
        }
        if !self.rtc.is_alive() {
            happenings.push(Happening::Disconnected);
        }
        Ok(transmits)
    }

    fn understand(&mut self, event: str0m::Event) -> Option<Happening> {
        match event {
            str0m::Event::Connected => Some(Happening::Connected),
            str0m::Event::IceConnectionStateChange(IceConnectionState::Disconnected)
            | str0m::Event::Closed => Some(Happening::Disconnected),
            str0m::Event::MediaAdded(added) if added.direction.is_receiving() => {
                Some(Happening::Published {
                    mid: added.mid,
                    kind: added.kind,
                })
            }
            str0m::Event::RtpPacket(packet) => {
                let mid = self
                    .rtc
                    .direct_api()
                    .stream_rx(&packet.header.ssrc)
                    .map(|s| s.mid())?;
                let track = self.published.iter_mut().find(|t| t.mid == mid)?;
                let pt = packet.header.payload_type;
                let params = match track.params {
                    Some(params) if params.pt() == pt => params,
                    _ => {
                        let params = *self.rtc.codec_config().find(|p| p.pt() == pt)?;
                        track.params = Some(params);
                        params
                    }
                };
                Some(Happening::Rtp {
                    mid,
                    params,
                    packet,
                })
            }
            str0m::Event::KeyframeRequest(request) => Some(Happening::KeyframeRequest {
                mid: request.mid,
                kind: request.kind,
            }),
            _ => None,
        }
    }
}

struct Published {
    mid: Mid,
    kind: TrackKind,
    keyframe_requests: RateLimit,
    /// The codec of the last packet, to skip the lookup while it does not change.
    params: Option<PayloadParams>,
}

struct Subscription {
    source: ParticipantId,
    source_mid: Mid,
    kind: TrackKind,
    state: SubscriptionState,
    /// The publisher has left; never forward, stop the m-line.
    source_gone: bool,
    /// Subtracted from the publisher's extended sequence numbers, set by the first packet.
    seq_offset: Option<u64>,
    /// The last payload-type translation, publisher's to subscriber's.
    pt_map: Option<(str0m::media::Pt, str0m::media::Pt)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubscriptionState {
    /// Needs an m-line in the next offer.
    ToOffer,
    /// In the offer waiting for its answer.
    Offered(Mid),
    /// Negotiated: packets are forwarded on this m-line.
    Open(Mid),
    /// Needs stopping in the next offer.
    ToStop(Mid),
    /// Stopped in the offer waiting for its answer.
    Stopping(Mid),
}

/// What a participant's `Rtc` said that the SFU acts on.
// Nearly every happening is a packet, and they live in one reused Vec: boxing the large variant
// would only add an allocation per packet.
#[allow(clippy::large_enum_variant)]
enum Happening {
    Rtp {
        mid: Mid,
        params: PayloadParams,
        packet: RtpPacket,
    },
    KeyframeRequest {
        mid: Mid,
        kind: KeyframeRequestKind,
    },
    Published {
        mid: Mid,
        kind: MediaKind,
    },
    Connected,
    Disconnected,
}

/// A participant's connection panicked.
#[derive(Debug, PartialEq, Eq)]
struct Panicked;
