//! Live meetings: one task per running meeting owns its [`meeting::Meeting`] and its connections,
//! feeds it the clock, the messages of its participants and the verdicts of passcode checks, and
//! carries out what it answers: messages to clients, audit events, closed connections, consent
//! records. Nothing else touches a meeting's state, so its rules are enforced in one place, in
//! order.
//!
//! Who is who: a guest joins by link (`join`) and gets a ticket (a random token, only its hash
//! kept here) that names their place; opening the link again with the ticket gives back the same
//! place while it lasts. A signed-in person connects with their session, which is authorised for
//! the meeting by the policy engine (`meeting.read_content`) on every connection. A guest may
//! prove who they are with a customer session ([`IDENTITY_PROOF_MAX_AGE_MS`] fresh, from their
//! e-ID or a passkey): the identity their e-ID verified, its personal identity number masked,
//! is what the host sees in the lobby, and what a ban attaches to.
//! A dropped connection leaves the person's place to the meeting's grace period; connecting
//! again with the same ticket or session resumes it, without knocking again.
//!
//! Bounds: every connection's outgoing queue is bounded and filled without waiting: a client too
//! slow to read is disconnected (never left connected with a message dropped). MLS output waits
//! in the delivery service's bounded outboxes until the queue has room for it. Each meeting takes at most [`MEETING_QUEUE`] pending inputs; a
//! client that sends faster than that is disconnected by the transport. Malformed messages are
//! answered with a refusal and counted; too many close the connection. At most
//! [`MAX_LIVE_MEETINGS`] meetings run at once, and at most [`MAX_TICKETS`] guest places exist.
//!
//! Sessions: a watcher looks every [`SESSION_CHECK`] at the sessions behind open connections and
//! closes the connections of any that was revoked or expired — by this process or any other —
//! so a revoked session loses its WebSockets within a second.
//!
//! MLS: each meeting task also runs the meeting's MLS delivery service (`delivery`, one group
//! per meeting), fed the meeting core's MLS instructions (who may be added, whose client may add,
//! who is gone) and its participants' MLS messages, and delivers its outboxes over the same
//! sockets. It sees only MLS framing and ciphertext.
//!
//! Media: with a media relay (`sfu`), someone in the meeting sends their SDP offer over the same
//! socket and gets the relay's answer; the relay's later offers of other participants' tracks go
//! to them the same way. The meeting core's media instructions are carried out on the relay at
//! once: a departure cuts the person off, a host's mute or screen-share revocation stops that
//! track being forwarded, and nobody's screen is forwarded unless they are sharing with the
//! host's leave.
//!
//! What this module deliberately does not do: log any message content, SDP, name, passcode or
//! ticket.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit::{Event, Outcome};
use delivery::{Accepted, DeliveryService, GroupId, KeyPackageKind};
use edge::identity::{ApiError, RequestContext};
use edge::signalling::{
    close_code, no_place, Connection, Credentials, Inbound, Joined, Outgoing, SignallingApi,
};
use edge::BoxFuture;
use identity::session::SessionToken;
use meeting::{
    Arrival, AuditOutcome, AuditParty, AuditRecord, CloseReason, Command, ConsentDecision,
    DisplayName, Effect, Entrant, EntryCredential, IdentityKey, LobbyBypass, Meeting,
    MeetingConfig, MeetingId, NoticeVersion, PasscodeVerdict, PersonId, ProofMethod, Purpose,
    PurposeRule, Refusal, RiskAssessment, RiskLevel, RiskSignal, SourceKey, Timestamp,
    ValidityWindow, VerifiedIdentity,
};
use policy::{MeetingReadContent, Resource, StaffId};
use store::{ConsentRow, MeetingRow};
use tokio::sync::{mpsc, oneshot};

use super::throttle::SourceThrottle;
use super::wire::{
    self, MediaRequest, MeetingInfo, MlsRequest, PurposeView, Request, ServerMessage,
};
use crate::accounts::{internal, random_id, source_key, AccountService, TEAM};
use crate::clock::now_ms;
use crate::locks::Locked;
use crate::sso::verified_identity_of;
use crate::turn::Turn;
use sfu::{ParticipantId, RoomId, SfuHandle, TrackKind};

/// Inputs a meeting may have waiting before its participants are asked to slow down.
const MEETING_QUEUE: usize = 1024;
/// Messages waiting for one client before it counts as too slow to read.
const CONNECTION_QUEUE: usize = 128;
/// How soon MLS output that found a connection's queue full is offered to it again.
const MLS_BACKLOG_RETRY: Duration = Duration::from_millis(5);
/// Slots of a connection's queue that MLS output leaves free.
const MLS_HEADROOM: usize = 16;
/// Meetings running at once.
const MAX_LIVE_MEETINGS: usize = 10_000;
/// Guest places (tickets) at once.
const MAX_TICKETS: usize = 100_000;
/// Unreadable messages one connection may send before it is closed.
const MAX_MALFORMED: u32 = 20;
/// How often the sessions behind open connections are checked.
const SESSION_CHECK: Duration = Duration::from_millis(400);
/// How recent a customer's sign-in must be to count as an identity proof in a join flow.
pub const IDENTITY_PROOF_MAX_AGE_MS: i64 = 10 * 60_000;
/// The version of the privacy notice the join page shows (see `web/src/join.ts`).
pub const NOTICE_VERSION: &str = "2026-11-1";
/// The purposes on that notice, and whether a meeting needs consent to each.
const PURPOSES: [(&str, bool); 2] = [("meeting", true), ("follow_up", false)];

/// The live meetings of this server.
#[derive(Debug)]
pub struct LiveMeetings {
    accounts: Arc<AccountService>,
    shared: Arc<Shared>,
    turn: Option<Arc<Turn>>,
    media: Option<SfuHandle>,
}

#[derive(Debug, Default)]
struct Shared {
    meetings: Mutex<HashMap<String, MeetingHandle>>,
    /// Guest tickets by the SHA-256 of the ticket.
    tickets: Mutex<HashMap<[u8; 32], Ticket>>,
    /// The session behind each open connection that has one: connection → (session, meeting).
    watched: Mutex<HashMap<u64, (String, MeetingHandle)>>,
    /// Wrong passcodes per source across all meetings.
    passcode_sources: Mutex<SourceThrottle>,
    next_connection: AtomicU64,
}

#[derive(Clone, Debug)]
struct Ticket {
    meeting_id: String,
    person: PersonId,
}

#[derive(Clone, Debug)]
struct MeetingHandle {
    inputs: mpsc::Sender<Input>,
}

/// What a meeting's task is asked to do.
enum Input {
    Arrive {
        entrant: Entrant,
        source: SourceKey,
        reply: oneshot::Sender<Result<PersonId, Refusal>>,
    },
    /// A staff member's connection: their place if they have one, else a new arrival.
    ArriveStaff {
        identity: VerifiedIdentity,
        source: SourceKey,
        reply: oneshot::Sender<Result<PersonId, Refusal>>,
    },
    Attach {
        person: PersonId,
        connection: u64,
        outgoing: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    Text {
        connection: u64,
        text: String,
    },
    Closed {
        connection: u64,
    },
    PasscodeChecked {
        person: PersonId,
        verdict: PasscodeVerdict,
    },
    /// Whether a person still has a place (their ticket is worth giving back).
    HasPlace {
        person: PersonId,
        reply: oneshot::Sender<bool>,
    },
    ProveIdentity {
        person: PersonId,
        identity: VerifiedIdentity,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    SessionEnded {
        connection: u64,
    },
    /// Something the media relay says about this meeting's room.
    Media(sfu::Event),
    Cancelled,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the text of a message.
        formatter.write_str(match self {
            Input::Arrive { .. } => "Arrive",
            Input::ArriveStaff { .. } => "ArriveStaff",
            Input::Attach { .. } => "Attach",
            Input::Text { .. } => "Text",
            Input::Closed { .. } => "Closed",
            Input::PasscodeChecked { .. } => "PasscodeChecked",
            Input::HasPlace { .. } => "HasPlace",
            Input::ProveIdentity { .. } => "ProveIdentity",
            Input::SessionEnded { .. } => "SessionEnded",
            Input::Media(_) => "Media",
            Input::Cancelled => "Cancelled",
        })
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "not_found",
        "This meeting does not exist, or it was cancelled. Check the link you were sent.",
    )
}

fn refused_arrival(refusal: &Refusal) -> ApiError {
    let message = match refusal {
        Refusal::OutsideWindow => {
            "This meeting's link is not valid at this time. Check the time in your invitation."
        }
        Refusal::MeetingLocked => {
            "The meeting is locked and takes nobody new. Contact your adviser."
        }
        Refusal::MeetingFull | Refusal::LobbyFull => {
            "The meeting is full right now. Try again in a few minutes."
        }
        Refusal::Banned => "You cannot join this meeting.",
        Refusal::MeetingEnded => "This meeting has ended.",
        _ => "You cannot join this meeting now.",
    };
    ApiError::new(403, refusal.code(), message)
}

fn busy() -> ApiError {
    ApiError::new(503, "busy", "The server is busy. Try again in a minute.")
        .with("retry_after_secs", 60)
}

impl LiveMeetings {
    /// The live meetings, with the TURN relays and the media relay (its handle and events) if
    /// there are any.
    pub fn new(
        accounts: Arc<AccountService>,
        turn: Option<Turn>,
        media: Option<(SfuHandle, mpsc::Receiver<sfu::Event>)>,
    ) -> Arc<LiveMeetings> {
        let (media, events) = match media {
            Some((handle, events)) => (Some(handle), Some(events)),
            None => (None, None),
        };
        let live = Arc::new(LiveMeetings {
            accounts,
            shared: Arc::new(Shared::default()),
            turn: turn.map(Arc::new),
            media,
        });
        tokio::spawn(watch_sessions(Arc::clone(&live)));
        if let Some(events) = events {
            tokio::spawn(route_media_events(Arc::clone(&live.shared), events));
        }
        live
    }

    /// Ends a meeting that is running because it was cancelled: everyone in it is told and
    /// disconnected. (New joins are refused by the stored status.)
    pub fn cancelled(&self, meeting_id: &str) {
        let handle = self.shared.meetings.locked().remove(meeting_id);
        if let Some(handle) = handle {
            let _ = handle.inputs.try_send(Input::Cancelled);
        }
    }

    /// The running meeting `meeting_id`, started from the store if it is scheduled.
    async fn handle(&self, meeting_id: &str) -> Result<MeetingHandle, ApiError> {
        if let Some(handle) = self.running(meeting_id) {
            return Ok(handle);
        }
        if MeetingId::parse(meeting_id).is_err() {
            return Err(not_found());
        }
        let (store, _, _) = self.accounts.parts();
        let row = store
            .meeting(meeting_id)
            .await
            .map_err(internal)?
            .filter(|row| row.status == "scheduled")
            .ok_or_else(not_found)?;
        let mut meetings = self.shared.meetings.locked();
        // Another request may have started it meanwhile.
        if let Some(handle) = meetings.get(meeting_id).filter(|h| !h.inputs.is_closed()) {
            return Ok(handle.clone());
        }
        meetings.retain(|_, handle| !handle.inputs.is_closed());
        if meetings.len() >= MAX_LIVE_MEETINGS {
            return Err(busy());
        }
        let (meeting, info) = start_meeting(&row).map_err(internal)?;
        // The media relay's room of this meeting: the same 16 bytes as its id.
        let room = RoomId::from_bytes(*meeting.id().as_bytes());
        let (inputs, receiver) = mpsc::channel(MEETING_QUEUE);
        let handle = MeetingHandle { inputs };
        meetings.insert(meeting_id.to_owned(), handle.clone());
        let task = LiveMeeting {
            id: row.id.clone(),
            meeting,
            info,
            passcode_phc: row.passcode_phc.clone(),
            accounts: Arc::clone(&self.accounts),
            shared: Arc::clone(&self.shared),
            inputs: handle.inputs.clone(),
            connections: HashMap::new(),
            people: HashMap::new(),
            staff: HashMap::new(),
            subjects: HashMap::new(),
            checking: HashSet::new(),
            delivery: DeliveryService::new(delivery::Limits::default()),
            group: GroupId::new(row.id.as_bytes().to_vec()),
            turn: self.turn.clone(),
            media: self.media.clone(),
            room,
            mls_backlog: false,
            too_slow: Vec::new(),
        };
        tokio::spawn(task.run(receiver));
        Ok(handle)
    }

    fn running(&self, meeting_id: &str) -> Option<MeetingHandle> {
        self.shared
            .meetings
            .locked()
            .get(meeting_id)
            .filter(|handle| !handle.inputs.is_closed())
            .cloned()
    }

    async fn ask<T>(
        handle: &MeetingHandle,
        input: impl FnOnce(oneshot::Sender<T>) -> Input,
    ) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        handle.inputs.try_send(input(reply)).map_err(|_| busy())?;
        answer.await.map_err(|_| not_found())
    }

    /// A signed-in person's place: authorised for the meeting, arrived as staff.
    async fn staff_place(
        &self,
        handle: &MeetingHandle,
        meeting_id: &str,
        session_token: &str,
        context: &RequestContext,
    ) -> Result<(PersonId, String), ApiError> {
        let (store, _, _) = self.accounts.parts();
        let row = store
            .meeting(meeting_id)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let resource = Resource::meeting(
            row.id.clone(),
            StaffId::new(row.host_account_id.clone()),
            TEAM,
            [],
        );
        let authorised = self
            .accounts
            .authorise::<MeetingReadContent>(session_token, |_, _| resource, context)
            .await
            .map_err(|error| match error.code {
                "forbidden" => not_found(),
                _ => error,
            })?;
        let view = self.accounts.view_of(&authorised.account).await?;
        let identity = VerifiedIdentity {
            key: IdentityKey::parse(&authorised.account.id).map_err(internal)?,
            method: ProofMethod::StaffSession,
            verified_name: DisplayName::parse(&view.display_name).ok(),
            personal_number: None,
        };
        let source = source_of(context);
        let person = Self::ask(handle, |reply| Input::ArriveStaff {
            identity,
            source,
            reply,
        })
        .await?
        .map_err(|refusal| refused_arrival(&refusal))?;
        Ok((person, authorised.session.id))
    }
}

fn source_of(context: &RequestContext) -> SourceKey {
    SourceKey::parse(&source_key(context))
        .unwrap_or_else(|_| SourceKey::parse("unknown").expect("a constant key"))
}

/// The meeting core for a stored meeting, and what clients are told about it.
fn start_meeting(row: &MeetingRow) -> anyhow::Result<(Meeting, MeetingInfo)> {
    let id = MeetingId::parse(&row.id).map_err(|e| anyhow::anyhow!("meeting id: {e}"))?;
    let credential = match (row.passcode_phc.is_some(), row.identity_proof) {
        (false, false) => EntryCredential::LinkOnly,
        (true, false) => EntryCredential::Passcode,
        (false, true) => EntryCredential::IdentityProof,
        (true, true) => EntryCredential::PasscodeOrIdentityProof,
    };
    let purposes = PURPOSES
        .iter()
        .map(|(purpose, required)| {
            Ok(PurposeRule {
                purpose: Purpose::parse(purpose).map_err(|e| anyhow::anyhow!("{e}"))?,
                required: *required,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = MeetingConfig {
        hosts: vec![IdentityKey::parse(&row.host_account_id).map_err(|e| anyhow::anyhow!("{e}"))?],
        window: ValidityWindow::new(
            Timestamp::from_unix_ms(row.starts_at_ms),
            Timestamp::from_unix_ms(row.ends_at_ms),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        credential,
        notice_version: NoticeVersion::parse(NOTICE_VERSION).map_err(|e| anyhow::anyhow!("{e}"))?,
        purposes,
        bypass: LobbyBypass::Nobody,
        co_hosts_must_be_staff: true,
        passcode: Default::default(),
        timeouts: Default::default(),
        limits: Default::default(),
    };
    let info = MeetingInfo {
        starts_at_ms: row.starts_at_ms,
        ends_at_ms: row.ends_at_ms,
        credential: match credential {
            EntryCredential::LinkOnly => "link_only",
            EntryCredential::Passcode => "passcode",
            EntryCredential::IdentityProof => "identity_proof",
            EntryCredential::PasscodeOrIdentityProof => "passcode_or_identity_proof",
        }
        .to_owned(),
        notice_version: NOTICE_VERSION.to_owned(),
        purposes: PURPOSES
            .iter()
            .map(|(purpose, required)| PurposeView {
                purpose: (*purpose).to_owned(),
                required: *required,
            })
            .collect(),
    };
    let meeting = Meeting::new(id, config).map_err(|e| anyhow::anyhow!("meeting: {e}"))?;
    Ok((meeting, info))
}

impl SignallingApi for LiveMeetings {
    fn join<'a>(
        &'a self,
        meeting_id: &'a str,
        ticket: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Joined, ApiError>> {
        Box::pin(async move {
            let handle = self.handle(meeting_id).await?;
            if let Some((text, place)) = ticket.and_then(|t| Some((t, self.ticket(t, meeting_id)?)))
            {
                let person = place.person;
                if Self::ask(&handle, |reply| Input::HasPlace { person, reply }).await? {
                    return Ok(Joined {
                        ticket: text.to_owned(),
                        body: serde_json::json!({ "person": person.as_u64(), "resumed": true }),
                    });
                }
            }
            let person = Self::ask(&handle, |reply| Input::Arrive {
                entrant: Entrant::Guest,
                source: source_of(context),
                reply,
            })
            .await?
            .map_err(|refusal| refused_arrival(&refusal))?;
            let ticket = SessionToken::generate();
            {
                let mut tickets = self.shared.tickets.locked();
                if tickets.len() >= MAX_TICKETS {
                    // Tickets of meetings no longer running are worthless: drop them first.
                    let running = self
                        .shared
                        .meetings
                        .locked()
                        .keys()
                        .cloned()
                        .collect::<HashSet<_>>();
                    tickets.retain(|_, ticket| running.contains(&ticket.meeting_id));
                }
                if tickets.len() >= MAX_TICKETS {
                    return Err(busy());
                }
                tickets.insert(
                    ticket.lookup_key(),
                    Ticket {
                        meeting_id: meeting_id.to_owned(),
                        person,
                    },
                );
            }
            Ok(Joined {
                ticket: ticket.to_cookie_value().to_string(),
                body: serde_json::json!({ "person": person.as_u64() }),
            })
        })
    }

    fn connect<'a>(
        &'a self,
        meeting_id: &'a str,
        credentials: Credentials<'a>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Connection, ApiError>> {
        Box::pin(async move {
            let handle = self.handle(meeting_id).await?;
            let (person, session) = match credentials {
                Credentials::Guest(text) => {
                    let ticket = self.ticket(text, meeting_id).ok_or_else(no_place)?;
                    (ticket.person, None)
                }
                Credentials::Session(token) => {
                    let (person, session) = self
                        .staff_place(&handle, meeting_id, token, context)
                        .await?;
                    (person, Some(session))
                }
            };
            let connection = self.shared.next_connection.fetch_add(1, Ordering::Relaxed);
            let (outgoing, queue) = mpsc::channel(CONNECTION_QUEUE);
            Self::ask(&handle, |reply| Input::Attach {
                person,
                connection,
                outgoing,
                reply,
            })
            .await?
            .map_err(|refusal| {
                ApiError::new(
                    403,
                    refusal.code(),
                    "You cannot rejoin this meeting. Open the link again to start over.",
                )
            })?;
            if let Some(session) = session {
                self.shared
                    .watched
                    .locked()
                    .insert(connection, (session, handle.clone()));
            }
            let inputs = handle.inputs.clone();
            let shared = Arc::clone(&self.shared);
            Ok(Connection {
                outgoing: queue,
                inbound: Box::new(move |inbound| match inbound {
                    Inbound::Text(text) => {
                        inputs.try_send(Input::Text { connection, text }).is_ok()
                    }
                    Inbound::Closed => {
                        shared.watched.locked().remove(&connection);
                        // The end of a connection must arrive even when the queue is full.
                        let inputs = inputs.clone();
                        tokio::spawn(async move {
                            let _ = inputs.send(Input::Closed { connection }).await;
                        });
                        true
                    }
                }),
            })
        })
    }

    fn prove_identity<'a>(
        &'a self,
        meeting_id: &'a str,
        ticket: &'a str,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, ApiError>> {
        Box::pin(self.prove_identity_inner(meeting_id, ticket, session_token, context))
    }
}

impl LiveMeetings {
    /// The place a guest ticket names in `meeting_id`.
    fn ticket(&self, text: &str, meeting_id: &str) -> Option<Ticket> {
        let token = SessionToken::parse(text)?;
        self.shared
            .tickets
            .locked()
            .get(&token.lookup_key())
            .filter(|ticket| ticket.meeting_id == meeting_id)
            .cloned()
    }

    async fn prove_identity_inner(
        &self,
        meeting_id: &str,
        ticket: &str,
        session_token: &str,
        context: &RequestContext,
    ) -> Result<serde_json::Value, ApiError> {
        let handle = self.handle(meeting_id).await?;
        let person = self.ticket(ticket, meeting_id).ok_or_else(no_place)?.person;
        let proven = verified_identity_of(&self.accounts, session_token, context).await?;
        let refused =
            |code: &'static str, message: &'static str| Err(ApiError::new(403, code, message));
        if proven.account.kind != "customer" {
            return refused(
                "not_a_customer",
                "Only a customer's e-ID proves identity here. Staff sign in to join.",
            );
        }
        // The first factor of the sign-in: `eid+identity_provider`, or `passkey` (both at once).
        let first_factor = proven.session.auth_method.split('+').next().unwrap_or("");
        let method = match first_factor {
            "eid" => ProofMethod::EId,
            "passkey" => ProofMethod::Passkey,
            _ => {
                return refused(
                    "identity_proof_method",
                    "Prove who you are with your e-ID or your passkey.",
                )
            }
        };
        let fresh = proven
            .session
            .mfa_at_ms
            .is_some_and(|at| now_ms() - at <= IDENTITY_PROOF_MAX_AGE_MS);
        if !fresh {
            return refused(
                "identity_proof_stale",
                "Your sign-in is too old to prove who you are. Identify yourself again with \
                 your e-ID or your passkey.",
            );
        }
        let identity = VerifiedIdentity {
            key: IdentityKey::parse(&proven.account.id).map_err(internal)?,
            method,
            verified_name: DisplayName::parse(&proven.name).ok(),
            personal_number: Some(proven.personal_number.clone()),
        };
        Self::ask(&handle, |reply| Input::ProveIdentity {
            person,
            identity,
            reply,
        })
        .await?
        .map_err(|refusal| {
            let message = match refusal {
                Refusal::Banned => "You cannot join this meeting.",
                Refusal::CredentialNotAccepted => {
                    "This meeting does not take an identity proof. Use the passcode you were given."
                }
                _ => "Your identity cannot be taken at this step. Reload the page.",
            };
            ApiError::new(403, refusal.code(), message)
        })?;
        Ok(serde_json::json!({
            "method": method.as_str(),
            "name": proven.name,
            "personal_number_masked": proven.personal_number.as_str(),
        }))
    }
}

/// Hands each of the media relay's events to the meeting whose room it is about.
async fn route_media_events(shared: Arc<Shared>, mut events: mpsc::Receiver<sfu::Event>) {
    while let Some(event) = events.recv().await {
        let room = match &event {
            sfu::Event::Offer { room, .. }
            | sfu::Event::Connected { room, .. }
            | sfu::Event::Removed { room, .. } => *room,
        };
        let meeting_id = hex::encode(room.as_bytes());
        let handle = shared.meetings.locked().get(&meeting_id).cloned();
        if let Some(handle) = handle {
            // A meeting too busy to take it loses a relay event, never blocks the relay.
            let _ = handle.inputs.try_send(Input::Media(event));
        }
    }
}

/// Closes, within [`SESSION_CHECK`], the connections whose session was revoked or expired.
async fn watch_sessions(live: Arc<LiveMeetings>) {
    let mut interval = tokio::time::interval(SESSION_CHECK);
    loop {
        interval.tick().await;
        if Arc::strong_count(&live) == 1 {
            return;
        }
        let watched: Vec<(u64, String, MeetingHandle)> = live
            .shared
            .watched
            .locked()
            .iter()
            .map(|(connection, (session, handle))| (*connection, session.clone(), handle.clone()))
            .collect();
        if watched.is_empty() {
            continue;
        }
        let sessions: Vec<String> = watched
            .iter()
            .map(|(_, session, _)| session.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let ended = match live.accounts.ended_sessions_among(&sessions).await {
            Ok(ended) => ended,
            Err(error) => {
                tracing::error!(%error, "cannot check the sessions of open meeting connections");
                continue;
            }
        };
        for (connection, session, handle) in watched {
            if ended.contains(&session) {
                live.shared.watched.locked().remove(&connection);
                let _ = handle.inputs.try_send(Input::SessionEnded { connection });
            }
        }
    }
}

/// One open connection of a meeting.
#[derive(Debug)]
struct Open {
    person: PersonId,
    outgoing: mpsc::Sender<Outgoing>,
    malformed: u32,
}

/// The task of one running meeting.
struct LiveMeeting {
    id: String,
    meeting: Meeting,
    info: MeetingInfo,
    passcode_phc: Option<String>,
    accounts: Arc<AccountService>,
    shared: Arc<Shared>,
    inputs: mpsc::Sender<Input>,
    connections: HashMap<u64, Open>,
    /// The open connection of each person.
    people: HashMap<PersonId, u64>,
    /// The place of each staff member (by account id), so that reconnecting resumes it.
    staff: HashMap<String, PersonId>,
    /// The consent register's pseudonymous subject of each person.
    subjects: HashMap<PersonId, String>,
    /// People whose passcode is being checked (one check at a time each).
    checking: HashSet<PersonId>,
    /// The meeting's MLS delivery service and its one group.
    delivery: DeliveryService,
    group: GroupId,
    /// The TURN relays, if configured.
    turn: Option<Arc<Turn>>,
    /// The media relay, and this meeting's room on it.
    media: Option<SfuHandle>,
    room: RoomId,
    /// Some MLS output waits for room in a connection's queue.
    mls_backlog: bool,
    /// Connections whose queue was full: dropped after the current input.
    too_slow: Vec<u64>,
}

impl LiveMeeting {
    async fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        loop {
            let deadline = self.meeting.poll_timeout().map(|at| {
                Duration::from_millis(u64::try_from(at.unix_ms() - now_ms()).unwrap_or(0))
            });
            let input = tokio::select! {
                input = inputs.recv() => input,
                () = tokio::time::sleep(deadline.unwrap_or_default()), if deadline.is_some() => {
                    let effects = self.meeting.handle_timeout(now());
                    self.apply(effects).await;
                    continue;
                }
                () = tokio::time::sleep(MLS_BACKLOG_RETRY), if self.mls_backlog => {
                    self.flush_mls();
                    continue;
                }
            };
            let Some(input) = input else { return };
            let go_on = self.step(input).await;
            self.drop_too_slow().await;
            if !go_on {
                break;
            }
        }
        self.shared
            .meetings
            .locked()
            .retain(|_, handle| !handle.inputs.same_channel(&self.inputs));
        self.shared
            .tickets
            .locked()
            .retain(|_, ticket| ticket.meeting_id != self.id);
    }

    /// Handles one input; `false` ends the task.
    async fn step(&mut self, input: Input) -> bool {
        match input {
            Input::Arrive {
                entrant,
                source,
                reply,
            } => {
                let result = self.arrive(entrant, source).await;
                let _ = reply.send(result);
            }
            Input::ArriveStaff {
                identity,
                source,
                reply,
            } => {
                let account = identity.key.as_str().to_owned();
                let known = self
                    .staff
                    .get(&account)
                    .copied()
                    .filter(|person| self.meeting.is_connected(*person).is_some());
                let result = match known {
                    Some(person) => Ok(person),
                    None => self.arrive(Entrant::Staff(identity), source).await,
                };
                if let Ok(person) = result {
                    self.staff.insert(account.clone(), person);
                    self.subjects.insert(person, format!("account:{account}"));
                }
                let _ = reply.send(result);
            }
            Input::Attach {
                person,
                connection,
                outgoing,
                reply,
            } => {
                let result = self.attach(person, connection, outgoing).await;
                let _ = reply.send(result);
            }
            Input::Text { connection, text } => self.text(connection, &text).await,
            Input::Closed { connection } => self.closed(connection).await,
            Input::PasscodeChecked { person, verdict } => {
                self.checking.remove(&person);
                let _ = self.command(person, Command::Passcode(verdict)).await;
            }
            Input::Media(event) => self.media_event(event),
            Input::HasPlace { person, reply } => {
                let _ = reply.send(self.meeting.is_connected(person).is_some());
            }
            Input::ProveIdentity {
                person,
                identity,
                reply,
            } => {
                let result = self.command(person, Command::ProveIdentity(identity)).await;
                let _ = reply.send(result);
            }
            Input::SessionEnded { connection } => {
                if let Some(open) = self.connections.get(&connection) {
                    let _ = open
                        .outgoing
                        .try_send(Outgoing::Text(ServerMessage::SessionEnded.to_text()));
                    let _ = open.outgoing.try_send(Outgoing::Close {
                        code: close_code::SESSION_ENDED,
                        reason: "session ended",
                    });
                }
                self.closed(connection).await;
            }
            Input::Cancelled => {
                for open in self.connections.values() {
                    let _ = open
                        .outgoing
                        .try_send(Outgoing::Text(ServerMessage::MeetingEnded.to_text()));
                    let _ = open.outgoing.try_send(Outgoing::Close {
                        code: close_code::DONE,
                        reason: "cancelled",
                    });
                }
                return false;
            }
        }
        // A meeting that has ended and has nobody connected is finished.
        !(self.meeting.ended_at().is_some() && self.connections.is_empty())
    }

    async fn arrive(&mut self, entrant: Entrant, source: SourceKey) -> Result<PersonId, Refusal> {
        let now = now();
        let arrival = Arrival { source, entrant };
        match self.meeting.arrive(now, arrival.clone()) {
            Ok((person, effects)) => {
                self.subjects
                    .entry(person)
                    .or_insert_with(|| format!("guest:{}", random_id()));
                self.apply(effects).await;
                Ok(person)
            }
            Err(refusal) => {
                let record = self.meeting.arrival_refusal_record(now, &arrival, refusal);
                self.audit(record).await;
                Err(refusal)
            }
        }
    }

    async fn attach(
        &mut self,
        person: PersonId,
        connection: u64,
        outgoing: mpsc::Sender<Outgoing>,
    ) -> Result<(), Refusal> {
        // A newer connection of the same person replaces the older one.
        if let Some(old) = self.people.remove(&person) {
            if let Some(open) = self.connections.remove(&old) {
                let _ = open.outgoing.try_send(Outgoing::Close {
                    code: close_code::DONE,
                    reason: "replaced",
                });
            }
        }
        // Someone whose connection dropped resumes their place; anyone else must still have one.
        let resumed = if self.meeting.is_connected(person) == Some(false) {
            match self.meeting.handle(now(), person, Command::Resume) {
                Ok(effects) => effects,
                Err(refusal) => {
                    let record =
                        self.meeting
                            .refusal_record(now(), person, &Command::Resume, refusal);
                    self.audit(record).await;
                    return Err(refusal);
                }
            }
        } else if self.meeting.is_connected(person).is_some() {
            Vec::new()
        } else {
            return Err(Refusal::NotPresent);
        };
        self.connections.insert(
            connection,
            Open {
                person,
                outgoing,
                malformed: 0,
            },
        );
        self.people.insert(person, connection);
        self.welcome(person, connection);
        // Applying (even nothing) hands over what the delivery service kept for them meanwhile.
        self.apply(resumed).await;
        Ok(())
    }

    fn welcome(&mut self, person: PersonId, connection: u64) {
        let Some(standing) = self.meeting.standing(person) else {
            return;
        };
        let in_meeting = matches!(standing, meeting::Standing::InMeeting { .. });
        let message = ServerMessage::Welcome {
            you: person.as_u64(),
            meeting: self.info.clone(),
            standing: wire::standing(&standing),
        };
        self.send(connection, &message);
        if in_meeting {
            self.send_ice_servers(person);
        }
    }

    /// Relay credentials for someone in the meeting (on entering, and on every connection).
    fn send_ice_servers(&mut self, person: PersonId) {
        let Some(turn) = self.turn.clone() else {
            return;
        };
        let Some(connection) = self.people.get(&person).copied() else {
            return;
        };
        let message = ServerMessage::IceServers {
            servers: vec![turn.credentials(now_ms(), &format!("p{}", person.as_u64()))],
        };
        self.send(connection, &message);
    }

    async fn text(&mut self, connection: u64, text: &str) {
        let Some(open) = self.connections.get_mut(&connection) else {
            return;
        };
        let person = open.person;
        match wire::parse(text) {
            Err(malformed) => {
                open.malformed += 1;
                let too_many = open.malformed > MAX_MALFORMED;
                self.send(connection, &ServerMessage::refused_with(malformed.code()));
                if too_many {
                    self.close(
                        connection,
                        close_code::POLICY,
                        "too many unreadable messages",
                    );
                    self.closed(connection).await;
                }
            }
            Ok(Request::Passcode(passcode)) => self.passcode(person, connection, passcode).await,
            Ok(Request::Mls(request)) => self.mls(person, connection, request).await,
            Ok(Request::Media(request)) => self.media_request(person, connection, request).await,
            Ok(Request::Command(command)) => {
                let command = match command {
                    Command::Knock { name, .. } => Command::Knock {
                        name,
                        risk: self.risk_of(person),
                    },
                    other => other,
                };
                let _ = self.command(person, command).await;
            }
        }
    }

    /// The service's judgement of a knock: what the meeting saw of this person so far.
    fn risk_of(&self, _person: PersonId) -> RiskAssessment {
        let failures = self.meeting.passcode_failures();
        if failures == 0 {
            return RiskAssessment::low();
        }
        let signal = RiskSignal::parse("wrong_passcodes_in_meeting").expect("a constant signal");
        RiskAssessment::new(RiskLevel::Elevated, vec![signal])
            .unwrap_or_else(|_| RiskAssessment::low())
    }

    async fn passcode(&mut self, person: PersonId, connection: u64, passcode: String) {
        if let Err(refusal) = self.meeting.passcode_attempt_allowed(now(), person) {
            self.send(connection, &ServerMessage::refused(&refusal));
            return;
        }
        // Beyond this meeting's own limits: the source's wrong passcodes in all meetings.
        let source_allowed = self.meeting.source_of(person).is_none_or(|source| {
            self.shared
                .passcode_sources
                .locked()
                .allows(source.as_str(), now_ms())
        });
        if !source_allowed {
            let event = self
                .person_event(person, "meeting.join.passcode", Outcome::Denied)
                .detail("refusal", "source_throttled");
            self.accounts.record(event).await;
            self.send(connection, &ServerMessage::refused_with("source_throttled"));
            return;
        }
        let Some(phc) = self.passcode_phc.clone() else {
            self.send(
                connection,
                &ServerMessage::refused_with("credential_not_accepted"),
            );
            return;
        };
        if !self.checking.insert(person) {
            self.send(connection, &ServerMessage::refused_with("busy"));
            return;
        }
        let accounts = Arc::clone(&self.accounts);
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let right = accounts
                .hasher()
                .verify(&phc, &passcode)
                .await
                .unwrap_or(false);
            let verdict = if right {
                PasscodeVerdict::Correct
            } else {
                PasscodeVerdict::Wrong
            };
            let _ = inputs
                .send(Input::PasscodeChecked { person, verdict })
                .await;
        });
    }

    async fn command(&mut self, person: PersonId, command: Command) -> Result<(), Refusal> {
        let now = now();
        match self.meeting.handle(now, person, command.clone()) {
            Ok(effects) => {
                self.apply(effects).await;
                Ok(())
            }
            Err(refusal) => {
                if let Some(connection) = self.people.get(&person).copied() {
                    self.send(connection, &ServerMessage::refused(&refusal));
                }
                let record = self.meeting.refusal_record(now, person, &command, refusal);
                self.audit(record).await;
                Err(refusal)
            }
        }
    }

    /// One MLS message from `person`'s client, for the delivery service. Key packages may be
    /// stocked from the join flow on (so that admitting someone needs no round trip to them);
    /// everything else only by someone in the meeting. A refusal changes nothing and is
    /// answered with its code; commits, accepted or refused, are audited (epochs and who was
    /// added or removed, never content).
    async fn mls(&mut self, person: PersonId, connection: u64, request: MlsRequest) {
        let now_s = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let in_meeting = self.meeting.role_of(person).is_some();
        let is_commit = matches!(
            request,
            MlsRequest::Input(delivery::Input::Commit { .. } | delivery::Input::Create { .. })
        );
        let request_name = request.name();
        let answer: Result<Option<ServerMessage>, delivery::Refusal> =
            match request {
                MlsRequest::KeyPackages {
                    one_time,
                    last_resort,
                } => {
                    let uploads = one_time
                        .iter()
                        .map(|bytes| (KeyPackageKind::OneTime, bytes))
                        .chain(
                            last_resort
                                .iter()
                                .map(|bytes| (KeyPackageKind::LastResort, bytes)),
                        );
                    let mut result = Ok(None);
                    for (kind, bytes) in uploads {
                        if let Err(refusal) =
                            self.delivery.upload_key_package(now_s, person, kind, bytes)
                        {
                            result = Err(refusal);
                            break;
                        }
                    }
                    result
                }
                _ if !in_meeting => Err(delivery::Refusal::NotMember),
                MlsRequest::Input(delivery::Input::CannotProcess { .. })
                    if self.delivery.members(&self.group).contains(&person) =>
                {
                    self.mls_recover(person).await;
                    return;
                }
                MlsRequest::Claim { person: whom } => self
                    .delivery
                    .claim_key_package(now_s, &self.group, person, whom)
                    .map(|claimed| {
                        Some(ServerMessage::MlsKeyPackage {
                            person: whom.as_u64(),
                            key_package: wire::mls_text(&claimed.key_package),
                        })
                    }),
                MlsRequest::Input(input) => self.delivery.handle(&self.group, person, input).map(
                    |accepted| match accepted {
                        Accepted::Created => Some(ServerMessage::MlsAccepted {
                            epoch: 0,
                            added: Vec::new(),
                            removed: Vec::new(),
                        }),
                        Accepted::Commit {
                            epoch,
                            added,
                            removed,
                        } => Some(ServerMessage::MlsAccepted {
                            epoch,
                            added: added.iter().map(|p| p.as_u64()).collect(),
                            removed: removed.iter().map(|p| p.as_u64()).collect(),
                        }),
                        Accepted::Application { recipients } => Some(ServerMessage::MlsDelivered {
                            recipients: recipients as u64,
                        }),
                        Accepted::Rejoin => None,
                    },
                ),
            };
        match answer {
            Ok(reply) => {
                if let (
                    true,
                    Some(ServerMessage::MlsAccepted {
                        epoch,
                        added,
                        removed,
                    }),
                ) = (is_commit, &reply)
                {
                    let event = self
                        .person_event(person, "meeting.mls.commit", Outcome::Success)
                        .detail("epoch", epoch.to_string())
                        .detail("added", join_ids(added))
                        .detail("removed", join_ids(removed));
                    self.accounts.record(event).await;
                }
                if let Some(reply) = reply {
                    self.send(connection, &reply);
                }
            }
            Err(refusal) => {
                if is_commit {
                    let event = self
                        .person_event(person, "meeting.mls.commit", Outcome::Denied)
                        .detail("refusal", refusal.code());
                    self.accounts.record(event).await;
                }
                let current_epoch = match refusal {
                    delivery::Refusal::StaleEpoch { current }
                    | delivery::Refusal::FutureEpoch { current } => Some(current),
                    _ => None,
                };
                if let delivery::Refusal::RemovalPending { persons } = &refusal {
                    let persons = persons.iter().map(|p| p.as_u64()).collect();
                    self.send(connection, &ServerMessage::MlsRemovalPending { persons });
                }
                self.send(
                    connection,
                    &ServerMessage::MlsRefused {
                        request: request_name.to_owned(),
                        code: refusal.code().to_owned(),
                        current_epoch,
                    },
                );
            }
        }
        self.flush_mls();
    }

    /// An SDP offer or answer from `person`'s client, for the media relay: only from someone in
    /// the meeting, and only where there is a relay.
    async fn media_request(&mut self, person: PersonId, connection: u64, request: MediaRequest) {
        let Some(media) = self.media.clone() else {
            self.send(
                connection,
                &ServerMessage::refused_with("media_unavailable"),
            );
            return;
        };
        let Some(meeting::Standing::InMeeting { you, .. }) = self.meeting.standing(person) else {
            self.send(connection, &ServerMessage::refused_with("not_in_meeting"));
            return;
        };
        let participant = ParticipantId::from_u64(person.as_u64());
        match request {
            MediaRequest::Offer(sdp) => match media.join(self.room, participant, sdp).await {
                Ok(answer) => {
                    // The answer goes out before any offer the relay makes this person.
                    self.send(connection, &ServerMessage::MediaAnswer { sdp: answer });
                    // What the host decided holds on the relay from the first packet.
                    let _ = media
                        .set_forwarding(
                            self.room,
                            participant,
                            TrackKind::Audio,
                            !you.muted_by_host,
                        )
                        .await;
                    let _ = media
                        .set_forwarding(self.room, participant, TrackKind::ScreenShare, you.sharing)
                        .await;
                }
                Err(error) => {
                    tracing::warn!(%error, "the media relay refused an offer");
                    self.send(connection, &ServerMessage::refused_with("media_refused"));
                }
            },
            MediaRequest::Answer(sdp) => {
                if let Err(error) = media.accept_answer(self.room, participant, sdp).await {
                    tracing::warn!(%error, "the media relay refused an answer");
                    self.send(connection, &ServerMessage::refused_with("media_refused"));
                }
            }
        }
    }

    /// What the media relay says about someone in this meeting.
    fn media_event(&mut self, event: sfu::Event) {
        if let sfu::Event::Offer {
            participant, sdp, ..
        } = event
        {
            let person = PersonId::from_u64(participant.as_u64());
            if let Some(connection) = self.people.get(&person).copied() {
                self.send(connection, &ServerMessage::MediaOffer { sdp });
            }
        }
    }

    /// Carries out one of the meeting core's media decisions on the relay, before anyone is
    /// told of it.
    async fn media_instruction(&mut self, instruction: meeting::MediaInstruction) {
        let Some(media) = self.media.clone() else {
            return;
        };
        let participant = |person: PersonId| ParticipantId::from_u64(person.as_u64());
        let result = match instruction {
            meeting::MediaInstruction::Audio { person, forward } => media
                .set_forwarding(self.room, participant(person), TrackKind::Audio, forward)
                .await
                .map(drop),
            meeting::MediaInstruction::ScreenShare { person, forward } => media
                .set_forwarding(
                    self.room,
                    participant(person),
                    TrackKind::ScreenShare,
                    forward,
                )
                .await
                .map(drop),
            meeting::MediaInstruction::Disconnect { person } => {
                media.remove(self.room, participant(person)).await.map(drop)
            }
            meeting::MediaInstruction::EndSession => media.remove_room(self.room).await.map(drop),
        };
        if let Err(error) = result {
            tracing::error!(%error, "the media relay did not take a meeting's decision");
        }
    }

    /// A member's browser cannot go on in the group (it lost the group on a reload, or refused a
    /// commit). ts-mls cannot rejoin by external commit with the GroupInfos Trygg keeps (its
    /// `external_pub` reading; see docs/security/mls.md), so recovery is remove and re-add: the
    /// person's leaf must be removed by the next commit and the person may be added again, by a
    /// host-side member, who is told. If nobody else on the host side is in the group, nobody
    /// could do that: the group starts afresh, created again by the meeting's host, and everyone
    /// in the meeting is admitted to it again. Either way the group moves to new keys.
    async fn mls_recover(&mut self, person: PersonId) {
        use meeting::{AdmittedBy, MlsInstruction};
        let members = self.delivery.members(&self.group);
        let roster = self.meeting.roster();
        let host_side = |view: &meeting::ParticipantView| view.role.is_host_side();
        let helpers: Vec<PersonId> = roster
            .iter()
            .filter(|view| view.person != person && host_side(view) && view.connected)
            .map(|view| view.person)
            .filter(|helper| members.contains(helper))
            .collect();
        let mode = if helpers.is_empty() {
            self.delivery
                .authorise(&self.group, MlsInstruction::EndGroup);
            for view in &roster {
                self.delivery.authorise(
                    &self.group,
                    MlsInstruction::AcceptAdd {
                        person: view.person,
                        admitted_by: AdmittedBy::HostIdentity,
                    },
                );
                if host_side(view) {
                    self.delivery.authorise(
                        &self.group,
                        MlsInstruction::CommitRights {
                            person: view.person,
                            may_commit_adds: true,
                        },
                    );
                }
            }
            for view in &roster {
                if let Some(connection) = self.people.get(&view.person).copied() {
                    self.send(connection, &ServerMessage::MlsReset);
                }
            }
            "new_group"
        } else {
            self.delivery.authorise(
                &self.group,
                MlsInstruction::Remove {
                    person,
                    departure: meeting::Departure::ConnectionLost,
                },
            );
            self.delivery.authorise(
                &self.group,
                MlsInstruction::AcceptAdd {
                    person,
                    admitted_by: AdmittedBy::HostIdentity,
                },
            );
            if roster
                .iter()
                .any(|view| view.person == person && host_side(view))
            {
                self.delivery.authorise(
                    &self.group,
                    MlsInstruction::CommitRights {
                        person,
                        may_commit_adds: true,
                    },
                );
            }
            for helper in helpers {
                if let Some(connection) = self.people.get(&helper).copied() {
                    self.send(
                        connection,
                        &ServerMessage::MlsRemovalPending {
                            persons: vec![person.as_u64()],
                        },
                    );
                }
            }
            if let Some(connection) = self.people.get(&person).copied() {
                // Its key packages went with its leaf: it stocks new ones to be added with.
                self.send(connection, &ServerMessage::MlsReplenish { remaining: 0 });
            }
            "re_add"
        };
        let event = self
            .person_event(person, "meeting.mls.recovered", Outcome::Success)
            .detail("mode", mode);
        self.accounts.record(event).await;
        self.flush_mls();
    }

    /// Hands every connected person what the delivery service has waiting for them, as far as
    /// their connection's queue has room; the rest waits in the service's bounded outboxes
    /// until the queue drains (retried every [`MLS_BACKLOG_RETRY`]) or they connect again. A
    /// message is taken out of an outbox only once its slot in the queue is reserved, so a
    /// burst never loses one: an outbox that overflows is the delivery service's to handle
    /// (the sender learns who missed an application message; a handshake makes the client
    /// rejoin).
    fn flush_mls(&mut self) {
        self.mls_backlog = false;
        for person in self.delivery.waiting() {
            let Some(open) = self
                .people
                .get(&person)
                .and_then(|connection| self.connections.get(connection))
            else {
                continue;
            };
            loop {
                // Room is kept for the meeting's own messages (answers, notices), which are
                // not held back: a queue they find full marks the client as too slow.
                let reserved = if open.outgoing.capacity() > MLS_HEADROOM {
                    open.outgoing.try_reserve().ok()
                } else {
                    None
                };
                let Some(reserved) = reserved else {
                    // Full (or closing): the rest waits in the outbox.
                    self.mls_backlog = true;
                    break;
                };
                let Some(outgoing) = self.delivery.poll_outgoing(person) else {
                    break;
                };
                let message = match outgoing {
                    delivery::Outgoing::Handshake { message, .. } => ServerMessage::MlsHandshake {
                        message: wire::mls_text(&message),
                    },
                    delivery::Outgoing::Application { message, .. } => {
                        ServerMessage::MlsApplication {
                            message: wire::mls_text(&message),
                        }
                    }
                    delivery::Outgoing::Welcome { message, .. } => ServerMessage::MlsWelcome {
                        message: wire::mls_text(&message),
                    },
                    delivery::Outgoing::Rejoin { group_info, .. } => ServerMessage::MlsRejoin {
                        group_info: wire::mls_text(&group_info),
                    },
                    delivery::Outgoing::Replenish { remaining } => ServerMessage::MlsReplenish {
                        remaining: remaining as u64,
                    },
                };
                // Into the reserved slot. Should the connection be closing meanwhile, the
                // message goes with it, as everything else in its queue does.
                reserved.send(Outgoing::Text(message.to_text()));
            }
        }
    }

    async fn closed(&mut self, connection: u64) {
        let Some(open) = self.connections.remove(&connection) else {
            return;
        };
        if self.people.get(&open.person) == Some(&connection) {
            self.people.remove(&open.person);
            if self.meeting.is_connected(open.person) == Some(true) {
                let effects = self
                    .meeting
                    .handle(now(), open.person, Command::ConnectionLost);
                if let Ok(effects) = effects {
                    Box::pin(self.apply(effects)).await;
                }
            }
        }
    }

    /// Queues `message` for `connection`. A connection whose queue is full is too slow to read
    /// and is dropped once the current input is handled (never a message silently lost from
    /// a connection that stays open: a client could wait for it forever).
    fn send(&mut self, connection: u64, message: &ServerMessage) -> bool {
        let Some(open) = self.connections.get(&connection) else {
            return false;
        };
        let sent = open
            .outgoing
            .try_send(Outgoing::Text(message.to_text()))
            .is_ok();
        if !sent {
            self.too_slow.push(connection);
        }
        sent
    }

    /// Drops the connections found too slow to read: the queue's sender goes, so the transport
    /// closes the socket as too slow; for the meeting it is a lost connection like any other.
    async fn drop_too_slow(&mut self) {
        for connection in std::mem::take(&mut self.too_slow) {
            Box::pin(self.closed(connection)).await;
        }
    }

    fn close(&mut self, connection: u64, code: u16, reason: &'static str) {
        if let Some(open) = self.connections.get(&connection) {
            let _ = open.outgoing.try_send(Outgoing::Close { code, reason });
        }
    }

    /// Carries out the meeting's effects: first every audit record, durably, then the rest in
    /// order. Nobody is told of a change that the audit trail could still lose.
    async fn apply(&mut self, effects: Vec<Effect>) {
        let (audits, effects): (Vec<Effect>, Vec<Effect>) = effects
            .into_iter()
            .partition(|effect| matches!(effect, Effect::Audit(_)));
        for effect in audits {
            if let Effect::Audit(record) = effect {
                self.audit(record).await;
            }
        }
        for effect in effects {
            match effect {
                Effect::Notify { to, notice } => {
                    let entered = matches!(notice, meeting::Notice::Admitted(_));
                    let text = wire::notice(&notice).to_text();
                    for person in to {
                        let Some(connection) = self.people.get(&person).copied() else {
                            continue;
                        };
                        let Some(open) = self.connections.get(&connection) else {
                            continue;
                        };
                        if open
                            .outgoing
                            .try_send(Outgoing::Text(text.clone()))
                            .is_err()
                        {
                            self.too_slow.push(connection);
                        } else if entered {
                            self.send_ice_servers(person);
                        }
                    }
                }
                Effect::Audit(_) => {}
                Effect::Close { person, reason } => {
                    if let Some(connection) = self.people.remove(&person) {
                        if let Some(open) = self.connections.remove(&connection) {
                            let _ = open.outgoing.try_send(Outgoing::Close {
                                code: close_code::DONE,
                                reason: close_reason(reason),
                            });
                        }
                    }
                }
                Effect::RecordConsent {
                    person,
                    notice_version,
                    decisions,
                } => {
                    self.record_consent(person, &notice_version, &decisions)
                        .await
                }
                Effect::PasscodeFailure(failure) => {
                    let across_meetings = self
                        .shared
                        .passcode_sources
                        .locked()
                        .failed(failure.source.as_str(), now_ms());
                    tracing::warn!(
                        target: "trygg::security",
                        across_meetings,
                        source_failures = failure.source_failures,
                        meeting_failures = failure.meeting_failures,
                        source_locked = failure.source_locked,
                        meeting_locked = failure.meeting_locked,
                        "wrong meeting passcode"
                    );
                }
                Effect::Mls(instruction) => self.delivery.authorise(&self.group, instruction),
                Effect::Media(instruction) => self.media_instruction(instruction).await,
            }
        }
        self.flush_mls();
        self.drop_too_slow().await;
        if self.meeting.ended_at().is_some() {
            self.finish().await;
        }
    }

    async fn finish(&mut self) {
        let (store, _, _) = self.accounts.parts();
        let result = async {
            let mut tx = store.begin().await?;
            tx.finish_meeting(&self.id, "ended", now_ms()).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "cannot record that a meeting ended");
        }
    }

    async fn record_consent(
        &mut self,
        person: PersonId,
        notice_version: &NoticeVersion,
        decisions: &[ConsentDecision],
    ) {
        let subject = self
            .subjects
            .entry(person)
            .or_insert_with(|| format!("guest:{}", random_id()))
            .clone();
        let (store, _, _) = self.accounts.parts();
        let now = now_ms();
        let result = async {
            let mut tx = store.begin().await?;
            for decision in decisions {
                tx.insert_consent(&ConsentRow {
                    id: random_id(),
                    subject: subject.clone(),
                    meeting_id: Some(self.id.clone()),
                    purpose: decision.purpose.as_str().to_owned(),
                    notice_version: notice_version.as_str().to_owned(),
                    choice: if decision.given { "given" } else { "refused" }.to_owned(),
                    at_ms: now,
                })
                .await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "cannot record consent");
        }
    }

    /// An audit event of this meeting by `person`, for what the service decides outside the
    /// meeting core (throttling, MLS); the core's own records go through [`Self::audit`].
    fn person_event(&self, person: PersonId, action: &str, outcome: Outcome) -> Event {
        let actor = party(
            &self.id,
            &AuditParty::Person {
                person,
                identity: None,
            },
        );
        Event::new(now_ms(), actor, action, outcome).detail("meeting", self.id.clone())
    }

    async fn audit(&self, record: AuditRecord) {
        self.accounts.record(audit_event(&self.id, record)).await;
    }
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn close_reason(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Left => "left",
        CloseReason::Rejected => "rejected",
        CloseReason::Removed => "removed",
        CloseReason::Banned => "banned",
        CloseReason::Expired => "expired",
        CloseReason::Ended => "ended",
    }
}

fn now() -> Timestamp {
    Timestamp::from_unix_ms(now_ms())
}

/// A party of the meeting as the audit trail names it: an account for staff (their identity key
/// is their account id), a pseudonymous person number in the meeting otherwise.
fn party(meeting_id: &str, party: &AuditParty) -> String {
    match party {
        AuditParty::System => "system".to_owned(),
        AuditParty::Visitor {
            identity: Some(key),
        } => format!("account:{}", key.as_str()),
        AuditParty::Visitor { identity: None } => format!("meeting:{meeting_id}/visitor"),
        AuditParty::Person {
            person,
            identity: Some(key),
        } => format!("account:{}/person:{}", key.as_str(), person.as_u64()),
        AuditParty::Person {
            person,
            identity: None,
        } => format!("meeting:{meeting_id}/person:{}", person.as_u64()),
    }
}

fn audit_event(meeting_id: &str, record: AuditRecord) -> Event {
    let outcome = match record.outcome {
        AuditOutcome::Success => Outcome::Success,
        AuditOutcome::Failure => Outcome::Failure,
        AuditOutcome::Denied => Outcome::Denied,
    };
    let mut event = Event::new(
        record.at.unix_ms(),
        party(meeting_id, &record.actor),
        record.action.as_str(),
        outcome,
    )
    .detail("meeting", meeting_id.to_owned());
    if let Some(target) = &record.target {
        event = event.target(party(meeting_id, target));
    }
    for (key, value) in record.details {
        event = event.detail(key, value);
    }
    event
}
