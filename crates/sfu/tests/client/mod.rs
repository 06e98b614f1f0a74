//! Synthetic browsers for the SFU's tests and benchmark: str0m clients in RTP mode, each on its
//! own UDP socket on loopback, that publish numbered opaque payloads (as SFrame ciphertext is to
//! the SFU), record what they receive, and can drop a chosen packet or ask for key frames. A
//! [`Mesh`] joins them to a real SFU driver and relays the SFU's offers and their answers, as the
//! signalling layer will.

#![allow(dead_code)] // The tests and the benchmark each use part of it.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sfu::{Event, ParticipantId, RemovalReason, RoomId, SfuConfig, SfuHandle, TrackKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Candidate, Input, Output, Rtc, RtcConfig};
use tokio::sync::mpsc;

/// The instant every payload's send time is measured from (one process, one clock).
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Payload layout: sender (8 bytes), kind (1), counter (8), send time in ns since [`epoch`] (8),
/// then filler derived from the counter, so a receiver can check every byte.
pub const HEADER_BYTES: usize = 25;

pub fn payload(sender: u64, kind: TrackKind, counter: u64, length: usize) -> Vec<u8> {
    let sent_ns = epoch().elapsed().as_nanos() as u64;
    let mut bytes = Vec::with_capacity(length.max(HEADER_BYTES));
    bytes.extend_from_slice(&sender.to_le_bytes());
    bytes.push(kind_byte(kind));
    bytes.extend_from_slice(&counter.to_le_bytes());
    bytes.extend_from_slice(&sent_ns.to_le_bytes());
    while bytes.len() < length {
        bytes.push((counter as usize).wrapping_add(bytes.len()) as u8);
    }
    bytes
}

/// What a payload says, if every byte is as [`payload`] made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub sender: u64,
    pub kind: u8,
    pub counter: u64,
    pub sent_ns: u64,
}

pub fn read_payload(bytes: &[u8]) -> Option<Stamp> {
    if bytes.len() < HEADER_BYTES {
        return None;
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let stamp = Stamp {
        sender: word(0),
        kind: bytes[8],
        counter: word(9),
        sent_ns: word(17),
    };
    let filler_intact = bytes
        .iter()
        .enumerate()
        .skip(HEADER_BYTES)
        .all(|(index, &byte)| byte == (stamp.counter as usize).wrapping_add(index) as u8);
    filler_intact.then_some(stamp)
}

pub fn kind_byte(kind: TrackKind) -> u8 {
    match kind {
        TrackKind::Audio => 0,
        TrackKind::Camera => 1,
        TrackKind::ScreenShare => 2,
    }
}

/// One packet a client received.
#[derive(Clone, Debug)]
pub struct Received {
    pub mid: Mid,
    /// Low 16 bits of the RTP sequence number.
    pub seq: u16,
    pub stamp: Option<Stamp>,
    pub at: Instant,
}

/// A synthetic browser.
pub struct Client {
    pub id: u64,
    pub rtc: Rtc,
    socket: UdpSocket,
    pending: Option<SdpPendingOffer>,
    /// What this client publishes, in offer order.
    pub published: Vec<(TrackKind, Mid)>,
    counters: HashMap<Mid, u64>,
    pub received: Vec<Received>,
    pub keyframe_requests: Vec<(Instant, Mid)>,
    pub connected: bool,
    /// Datagrams of any kind that reached the socket.
    pub datagrams: u64,
    /// Drop the first incoming RTP packet with this SSRC and sequence number (before str0m
    /// sees it), to make the client NACK.
    pub drop_rule: Option<(Ssrc, u16)>,
    pub dropped: u64,
    next_timeout: Instant,
    buffer: Vec<u8>,
}

impl Client {
    /// A client that will publish `tracks`, and its offer.
    pub fn new(id: u64, tracks: &[TrackKind]) -> (Client, String) {
        let mut client = Client::answerer(id);
        let mut changes = client.rtc.sdp_api();
        for &kind in tracks {
            let mid = changes.add_media(
                kind.media_kind(),
                Direction::SendOnly,
                Some(format!("client-{id}")),
                Some(kind.label().to_string()),
                None,
            );
            client.published.push((kind, mid));
        }
        let (offer, pending) = changes.apply().unwrap();
        client.pending = Some(pending);
        (client, offer.to_sdp_string())
    }

    /// A client that publishes nothing and only answers offers (the benchmark's direct peer).
    pub fn answerer(id: u64) -> Client {
        let now = Instant::now();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = RtcConfig::new().set_rtp_mode(true).build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Client {
            id,
            rtc,
            socket,
            pending: None,
            published: Vec::new(),
            counters: HashMap::new(),
            received: Vec::new(),
            keyframe_requests: Vec::new(),
            connected: false,
            datagrams: 0,
            drop_rule: None,
            dropped: 0,
            next_timeout: now,
            buffer: vec![0; 2048],
        }
    }

    pub fn accept_answer(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.drain();
    }

    /// Applies one of the SFU's offers and returns the answer.
    pub fn accept_offer(&mut self, offer: &str) -> String {
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        self.drain();
        answer.to_sdp_string()
    }

    pub fn mid_of(&self, kind: TrackKind) -> Mid {
        self.published.iter().find(|(k, _)| *k == kind).unwrap().1
    }

    /// Sends the next packet on this client's `kind` track: `length` bytes of payload.
    pub fn send(&mut self, kind: TrackKind, length: usize) {
        let mid = self.mid_of(kind);
        let counter = self.counters.entry(mid).or_insert(0);
        *counter += 1;
        let counter = *counter;
        let now = Instant::now();
        let bytes = payload(self.id, kind, counter, length);
        let params = *self
            .rtc
            .codec_config()
            .find(|p| match kind.media_kind() {
                MediaKind::Audio => p.spec().codec == str0m::format::Codec::Opus,
                MediaKind::Video => p.spec().codec == str0m::format::Codec::Vp8,
            })
            .unwrap();
        let clock = if kind.media_kind() == MediaKind::Audio {
            960
        } else {
            3000
        };
        let mut direct = self.rtc.direct_api();
        let stream = direct.stream_tx_by_mid(mid, None).unwrap();
        stream.write_rtp(
            RtpWrite::new(
                params.pt(),
                counter.into(),
                (counter as u32).wrapping_mul(clock),
                now,
                bytes,
            )
            .marker(kind.media_kind() == MediaKind::Video)
            .nackable(kind.media_kind() == MediaKind::Video),
        );
        self.rtc.handle_input(Input::Timeout(now)).unwrap();
        self.drain();
    }

    /// Asks the SFU for a key frame on the incoming m-line `mid`.
    pub fn request_keyframe(&mut self, mid: Mid) {
        if let Some(stream) = self.rtc.direct_api().stream_rx_by_mid(mid, None) {
            stream.request_keyframe(KeyframeRequestKind::Pli);
        }
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .unwrap();
        self.drain();
    }

    /// The SSRC the SFU uses towards this client on the incoming m-line `mid`.
    pub fn incoming_ssrc(&mut self, mid: Mid) -> Option<Ssrc> {
        self.rtc
            .direct_api()
            .stream_rx_by_mid(mid, None)
            .map(|s| s.ssrc())
    }

    /// Everything that can be done without waiting: due timers, arrived datagrams.
    pub fn poll(&mut self) {
        loop {
            let now = Instant::now();
            if now >= self.next_timeout {
                self.rtc.handle_input(Input::Timeout(now)).unwrap();
                self.drain();
            }
            match self.socket.recv_from(&mut self.buffer) {
                Ok((length, from)) => self.receive(from, length),
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => panic!("client socket: {error}"),
            }
        }
        self.drain();
    }

    /// Like [`Client::poll`], but first waits up to `wait` for a datagram.
    pub fn poll_wait(&mut self, wait: Duration) {
        let wait = wait
            .min(self.next_timeout.saturating_duration_since(Instant::now()))
            .max(Duration::from_micros(100));
        self.socket.set_nonblocking(false).unwrap();
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let first = self.socket.recv_from(&mut self.buffer);
        self.socket.set_nonblocking(true).unwrap();
        match first {
            Ok((length, from)) => self.receive(from, length),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("client socket: {error}"),
        }
        self.poll();
    }

    fn receive(&mut self, from: SocketAddr, length: usize) {
        self.datagrams += 1;
        let bytes = &self.buffer[..length];
        if let Some((ssrc, seq)) = self.drop_rule {
            if is_rtp(bytes)
                && u32::from_be_bytes(bytes[8..12].try_into().unwrap()) == *ssrc
                && u16::from_be_bytes([bytes[2], bytes[3]]) == seq
            {
                self.drop_rule = None;
                self.dropped += 1;
                return;
            }
        }
        let now = Instant::now();
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.socket.local_addr().unwrap(),
                contents: bytes.try_into().unwrap(),
            },
        );
        self.rtc.handle_input(input).unwrap();
        self.drain();
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(at) => {
                    self.next_timeout = at;
                    return;
                }
                Output::Transmit(transmit) => {
                    // Loopback send buffers can fill under the benchmark's load; a lost
                    // datagram is what UDP is for.
                    let _ = self
                        .socket
                        .send_to(&transmit.contents, transmit.destination);
                }
                Output::Event(event) => match event {
                    str0m::Event::Connected => self.connected = true,
                    str0m::Event::RtpPacket(packet) => {
                        let Some(mid) = self
                            .rtc
                            .direct_api()
                            .stream_rx(&packet.header.ssrc)
                            .map(|s| s.mid())
                        else {
                            continue;
                        };
                        self.received.push(Received {
                            mid,
                            seq: *packet.seq_no as u16,
                            stamp: read_payload(&packet.payload),
                            at: Instant::now(),
                        });
                    }
                    str0m::Event::KeyframeRequest(request) => {
                        self.keyframe_requests.push((Instant::now(), request.mid));
                    }
                    _ => {}
                },
            }
        }
    }

    /// Packets received from `sender`'s `kind` track with every payload byte intact.
    pub fn intact_from(&self, sender: u64, kind: TrackKind) -> usize {
        self.received
            .iter()
            .filter(|r| {
                r.stamp
                    .is_some_and(|s| s.sender == sender && s.kind == kind_byte(kind))
            })
            .count()
    }

    /// The incoming m-line that carries `sender`'s `kind` track, once a packet came on it.
    pub fn incoming_mid(&self, sender: u64, kind: TrackKind) -> Option<Mid> {
        self.received
            .iter()
            .find(|r| {
                r.stamp
                    .is_some_and(|s| s.sender == sender && s.kind == kind_byte(kind))
            })
            .map(|r| r.mid)
    }
}

/// RTP, not RTCP (RFC 5761 §4: RTCP packet types 192–223 sit where RTP's marker and PT are).
fn is_rtp(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes[0] >> 6 == 2 && !(192..=223).contains(&bytes[1])
}

/// An SFU driver and the clients joined to it, with the signalling relayed in between.
pub struct Mesh {
    pub sfu: SfuHandle,
    pub events: mpsc::Receiver<Event>,
    pub room: RoomId,
    pub clients: Vec<Client>,
    pub removed: Vec<(ParticipantId, RemovalReason)>,
    pub offers: u64,
}

impl Mesh {
    /// A fresh SFU on loopback, driven by a task on the current runtime.
    pub async fn start() -> Mesh {
        let config = SfuConfig::new("127.0.0.1:0".parse().unwrap(), [127, 0, 0, 1].into());
        let (sfu, events) = sfu::spawn(config).await.unwrap();
        Mesh::with(sfu, events)
    }

    pub fn with(sfu: SfuHandle, events: mpsc::Receiver<Event>) -> Mesh {
        Mesh {
            sfu,
            events,
            room: RoomId::from_bytes([7; 16]),
            clients: Vec::new(),
            removed: Vec::new(),
            offers: 0,
        }
    }

    /// Joins a new client that publishes `tracks`.
    pub async fn join(&mut self, id: u64, tracks: &[TrackKind]) {
        let (mut client, offer) = Client::new(id, tracks);
        let answer = self
            .sfu
            .join(self.room, ParticipantId::from_u64(id), offer)
            .await
            .unwrap();
        client.accept_answer(&answer);
        self.clients.push(client);
    }

    pub fn client(&mut self, id: u64) -> &mut Client {
        self.clients.iter_mut().find(|c| c.id == id).unwrap()
    }

    /// One round: every client polls, every SFU event is handled.
    pub async fn step(&mut self) {
        for client in &mut self.clients {
            client.poll();
        }
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Offer {
                    participant, sdp, ..
                } => {
                    self.offers += 1;
                    let Some(client) = self
                        .clients
                        .iter_mut()
                        .find(|c| c.id == participant.as_u64())
                    else {
                        continue;
                    };
                    let answer = client.accept_offer(&sdp);
                    self.sfu
                        .accept_answer(self.room, participant, answer)
                        .await
                        .unwrap();
                }
                Event::Removed {
                    participant,
                    reason,
                    ..
                } => self.removed.push((participant, reason)),
                Event::Connected { .. } => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    pub async fn run_for(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            self.step().await;
        }
    }

    /// Steps until `done` holds; false if `timeout` passed first.
    pub async fn run_until(&mut self, timeout: Duration, done: impl Fn(&Mesh) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if done(self) {
                return true;
            }
            self.step().await;
        }
        done(self)
    }

    /// Every client sends one packet on each track it publishes (audio 160 bytes, video 1000).
    pub fn send_round(&mut self) {
        for client in &mut self.clients {
            let tracks: Vec<TrackKind> = client.published.iter().map(|(k, _)| *k).collect();
            for kind in tracks {
                let length = if kind == TrackKind::Audio { 160 } else { 1000 };
                client.send(kind, length);
            }
        }
    }

    /// `rounds` send rounds, 20 ms apart (50 packets per second per track).
    pub async fn stream(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.send_round();
            self.run_for(Duration::from_millis(20)).await;
        }
    }
}
