//! The tokio driver: one task owns the UDP socket and the [`Sfu`] core, reads datagrams into it,
//! sends what it says, wakes it when it asks, and takes commands from [`SfuHandle`]s over a
//! bounded channel. Events for the signalling layer leave through another bounded channel.
//!
//! The task never blocks on the signalling layer: events that do not fit in the channel wait in
//! the task until they do, and there are few of them (an offer per participant waits for its
//! answer before the next; a connection and a removal happen once), so media keeps flowing while
//! a slow consumer catches up. Nothing read from the network can stop the task; only dropping
//! every [`SfuHandle`] does.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::core::{
    CoreConfig, Event, Limits, Output, Sfu, Stats, Transmit, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEYFRAME_REQUEST_INTERVAL,
};
use crate::error::SfuError;
use crate::ids::{ParticipantId, RoomId, TrackKind};

/// Where the SFU listens and what it tells clients.
#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// The UDP address to bind, e.g. `0.0.0.0:3478`. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// The address clients reach the server at. With the bound port it is the one ICE host
    /// candidate of every answer, so behind a 1:1 NAT give the public address here. Must not
    /// be unspecified (`0.0.0.0`).
    pub public_ip: IpAddr,
    /// Sizes that bound memory and work.
    pub limits: Limits,
    /// At most one key-frame request per published video track per this interval.
    pub keyframe_request_interval: Duration,
    /// A participant not connected this long after joining is removed.
    pub connect_timeout: Duration,
    /// Commands waiting for the task.
    pub command_capacity: usize,
    /// Events waiting for the signalling layer in the channel.
    pub event_capacity: usize,
}

impl SfuConfig {
    /// Defaults for binding `bind` and announcing `public_ip`.
    pub fn new(bind: SocketAddr, public_ip: IpAddr) -> SfuConfig {
        SfuConfig {
            bind,
            public_ip,
            limits: Limits::default(),
            keyframe_request_interval: DEFAULT_KEYFRAME_REQUEST_INTERVAL,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_capacity: 256,
            event_capacity: 256,
        }
    }
}

/// Binds the socket and spawns the driver task on the current tokio runtime. Returns the handle
/// to command it and the receiver of its events.
pub async fn spawn(config: SfuConfig) -> io::Result<(SfuHandle, mpsc::Receiver<Event>)> {
    let (driver, handle, events) = SfuDriver::bind(config).await?;
    tokio::spawn(driver.run());
    Ok((handle, events))
}

/// The task's state, for callers that want to run it themselves (on a runtime of its own, for
/// instance); [`spawn`] is the usual way.
pub struct SfuDriver {
    socket: UdpSocket,
    public_addr: SocketAddr,
    core: Sfu,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    backlog: VecDeque<Event>,
}

impl std::fmt::Debug for SfuDriver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SfuDriver")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// Datagrams read per wake-up before the core's output is drained: the forwarded packets of a
/// batch go out after one poll of each subscriber instead of one poll per packet.
const RECEIVE_BATCH: usize = 64;

/// Larger than any datagram str0m sends or expects (its MTU is below 1500).
const RECEIVE_BUFFER: usize = 2048;

impl SfuDriver {
    /// Binds the socket. Must run inside a tokio runtime.
    pub async fn bind(
        config: SfuConfig,
    ) -> io::Result<(SfuDriver, SfuHandle, mpsc::Receiver<Event>)> {
        if config.public_ip.is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the SFU's public address must be a real address, not 0.0.0.0 or ::",
            ));
        }
        let socket = UdpSocket::bind(config.bind).await?;
        let local_addr = socket.local_addr()?;
        let public_addr = SocketAddr::new(config.public_ip, local_addr.port());
        let core = Sfu::new(
            Instant::now(),
            CoreConfig {
                public_addr,
                limits: config.limits,
                keyframe_request_interval: config.keyframe_request_interval,
                connect_timeout: config.connect_timeout,
            },
        );
        let (command_sender, commands) = mpsc::channel(config.command_capacity.max(1));
        let (events, event_receiver) = mpsc::channel(config.event_capacity.max(1));
        let driver = SfuDriver {
            socket,
            public_addr,
            core,
            commands,
            events,
            backlog: VecDeque::new(),
        };
        let handle = SfuHandle {
            commands: command_sender,
            local_addr,
            public_addr,
        };
        Ok((driver, handle, event_receiver))
    }

    /// Runs until every [`SfuHandle`] is dropped.
    pub async fn run(mut self) {
        let mut buffer = vec![0; RECEIVE_BUFFER];
        let mut deadline = Instant::now();
        loop {
            // Under a steady stream of datagrams the timer branch below may never be chosen, so
            // the time is checked here as well: retransmissions and RTCP must not starve.
            let now = Instant::now();
            if now >= deadline {
                self.core.handle_timeout(now);
            }
            deadline = self.flush().await;
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
            // The branches only say what woke the task; acting on it happens after, when the
            // futures (and their borrows of the task's state) are gone.
            let woke = tokio::select! {
                biased;
                command = self.commands.recv() => Woke::Command(command),
                received = self.socket.recv_from(&mut buffer) => Woke::Datagram(received),
                () = sleep => Woke::Timer,
                permit = self.events.reserve(), if !self.backlog.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.backlog.pop_front() {
                                permit.send(event);
                            }
                        }
                        // Nobody listens any more; the commands channel decides when to stop.
                        Err(_) => self.backlog.clear(),
                    }
                    Woke::EventSent
                }
            };
            match woke {
                Woke::Command(Some(command)) => self.execute(command),
                Woke::Command(None) => break,
                Woke::Datagram(Ok((length, from))) => {
                    self.core.handle_datagram(
                        Instant::now(),
                        from,
                        self.public_addr,
                        &buffer[..length],
                    );
                    for _ in 1..RECEIVE_BATCH {
                        let Ok((length, from)) = self.socket.try_recv_from(&mut buffer) else {
                            break;
                        };
                        self.core.handle_datagram(
                            Instant::now(),
                            from,
                            self.public_addr,
                            &buffer[..length],
                        );
                    }
                }
                // Errors a peer can provoke (an ICMP unreachable surfacing on some systems) must
                // not stop the relay.
                Woke::Datagram(Err(error)) => {
                    tracing::debug!(kind = ?error.kind(), "UDP receive failed");
                }
                // The deadline has passed: the check at the top of the loop handles it.
                Woke::Timer | Woke::EventSent => {}
            }
        }
        tracing::debug!("SFU driver stopped");
    }

    /// Sends and queues everything the core has to say; returns when it next wants the time.
    async fn flush(&mut self) -> Instant {
        loop {
            match self.core.poll_output() {
                Output::Transmit(transmit) => self.send(transmit).await,
                Output::Event(event) => {
                    if let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event)
                    {
                        self.backlog.push_back(event);
                    }
                }
                Output::Timeout(at) => return at,
            }
        }
    }

    async fn send(&self, transmit: Transmit) {
        let sent = match self.socket.try_send_to(&transmit.bytes, transmit.to) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.socket.send_to(&transmit.bytes, transmit.to).await
            }
            other => other,
        };
        if let Err(error) = sent {
            tracing::debug!(kind = ?error.kind(), "UDP send failed");
        }
    }

    fn execute(&mut self, command: Command) {
        let now = Instant::now();
        // A reply nobody waits for any more is not an error.
        match command {
            Command::Join {
                room,
                participant,
                offer,
                reply,
            } => {
                let _ = reply.send(self.core.join(now, room, participant, &offer));
            }
            Command::AcceptAnswer {
                room,
                participant,
                answer,
                reply,
            } => {
                let _ = reply.send(self.core.accept_answer(now, room, participant, &answer));
            }
            Command::Remove {
                room,
                participant,
                reply,
            } => {
                let _ = reply.send(self.core.remove(now, room, participant));
            }
            Command::RemoveRoom { room, reply } => {
                let _ = reply.send(self.core.remove_room(now, room));
            }
            Command::SetForwarding {
                room,
                participant,
                kind,
                forward,
                reply,
            } => {
                let _ = reply.send(self.core.set_forwarding(room, participant, kind, forward));
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.core.stats());
            }
            Command::DangerPanic {
                room,
                participant,
                reply,
            } => {
                let _ = reply.send(
                    self.core
                        .danger_panic_on_next_call_for_tests(room, participant),
                );
            }
        }
    }
}

enum Woke {
    Command(Option<Command>),
    Datagram(io::Result<(usize, SocketAddr)>),
    Timer,
    EventSent,
}

/// Commands the SFU task; cheap to clone. Calls are answered in order, after the task has done
/// them: when [`SfuHandle::remove`] returns, the participant is cut off.
#[derive(Clone, Debug)]
pub struct SfuHandle {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    public_addr: SocketAddr,
}

impl SfuHandle {
    /// Admits `participant` to `room` with its client's SDP offer; returns the SDP answer. See
    /// [`Sfu::join`].
    pub async fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    ) -> Result<String, SfuError> {
        self.ask(|reply| Command::Join {
            room,
            participant,
            offer,
            reply,
        })
        .await?
    }

    /// Brings back the client's answer to an [`Event::Offer`]. See [`Sfu::accept_answer`].
    pub async fn accept_answer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        answer: String,
    ) -> Result<(), SfuError> {
        self.ask(|reply| Command::AcceptAnswer {
            room,
            participant,
            answer,
            reply,
        })
        .await?
    }

    /// Cuts `participant` off; when this returns, no further packet goes to or from it. Returns
    /// whether it was there. See [`Sfu::remove`].
    pub async fn remove(&self, room: RoomId, participant: ParticipantId) -> Result<bool, SfuError> {
        self.ask(|reply| Command::Remove {
            room,
            participant,
            reply,
        })
        .await
    }

    /// Cuts everyone in `room` off (the meeting ended). Returns how many.
    pub async fn remove_room(&self, room: RoomId) -> Result<usize, SfuError> {
        self.ask(|reply| Command::RemoveRoom { room, reply }).await
    }

    /// Starts or stops forwarding one of `participant`'s tracks (mute, stop a screen share).
    /// See [`Sfu::set_forwarding`].
    pub async fn set_forwarding(
        &self,
        room: RoomId,
        participant: ParticipantId,
        kind: TrackKind,
        forward: bool,
    ) -> Result<bool, SfuError> {
        self.ask(|reply| Command::SetForwarding {
            room,
            participant,
            kind,
            forward,
            reply,
        })
        .await
    }

    /// The core's counters.
    pub async fn stats(&self) -> Result<Stats, SfuError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Test hook: the next call into `participant`'s connection panics. See
    /// [`Sfu::danger_panic_on_next_call_for_tests`].
    pub async fn danger_panic_on_next_call_for_tests(
        &self,
        room: RoomId,
        participant: ParticipantId,
    ) -> Result<bool, SfuError> {
        self.ask(|reply| Command::DangerPanic {
            room,
            participant,
            reply,
        })
        .await
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address clients are told to send to.
    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| SfuError::Stopped)?;
        answer.await.map_err(|_| SfuError::Stopped)
    }
}

enum Command {
    Join {
        room: RoomId,
        participant: ParticipantId,
        offer: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    AcceptAnswer {
        room: RoomId,
        participant: ParticipantId,
        answer: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Remove {
        room: RoomId,
        participant: ParticipantId,
        reply: oneshot::Sender<bool>,
    },
    RemoveRoom {
        room: RoomId,
        reply: oneshot::Sender<usize>,
    },
    SetForwarding {
        room: RoomId,
        participant: ParticipantId,
        kind: TrackKind,
        forward: bool,
        reply: oneshot::Sender<bool>,
    },
    Stats {
        reply: oneshot::Sender<Stats>,
    },
    DangerPanic {
        room: RoomId,
        participant: ParticipantId,
        reply: oneshot::Sender<bool>,
    },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No SDP.
        let name = match self {
            Command::Join { .. } => "Join",
            Command::AcceptAnswer { .. } => "AcceptAnswer",
            Command::Remove { .. } => "Remove",
            Command::RemoveRoom { .. } => "RemoveRoom",
            Command::SetForwarding { .. } => "SetForwarding",
            Command::Stats { .. } => "Stats",
            Command::DangerPanic { .. } => "DangerPanic",
        };
        formatter.write_str(name)
    }
}
