//! The signalling protocol on the wire: what a client may send ([`ClientMessage`]) and what the
//! server sends ([`ServerMessage`]), as versioned JSON (`{"v": 1, "type": "knock", ...}`). The
//! TypeScript types of the web client (`web/src/generated/signalling.ts`) are generated from these
//! types by `cargo xtask signalling-types`; a test fails when the file is stale, so the two cannot
//! drift.
//!
//! What this module deliberately does not do: decide anything. Messages are parsed here into the
//! meeting core's checked values (names, texts and ids are checked by their own parsers) and the
//! core's notices are turned into wire messages; the meeting decides.

use meeting::{
    Command, ConsentDecision, Departure, DisplayName, IdentityView, JoinStep, KnockOutcome,
    KnockView, LobbyText, Notice, ParticipantView, PersonId, Purpose, ReasonText, Refusal,
    RiskLevel, Role, Standing,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The protocol version this server speaks.
pub const VERSION: u32 = 1;

/// A message from a client, with the protocol version.
#[derive(Debug, Deserialize, TS)]
#[cfg_attr(test, derive(Serialize))]
pub struct ClientEnvelope {
    /// Must be [`VERSION`].
    pub v: u32,
    #[serde(flatten)]
    pub message: ClientMessage,
}

/// One answer on the privacy notice.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ConsentChoice {
    pub purpose: String,
    pub given: bool,
}

/// What a client may ask for. Which of these a person may send depends on where they are and
/// their role in the meeting; the meeting refuses the rest.
#[derive(Debug, Deserialize, TS)]
#[cfg_attr(test, derive(Serialize))]
// Requests without fields are empty struct variants, not unit variants: serde lets unknown fields
// through on unit variants of an internally tagged enum, and this server refuses them.
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Consent {
        notice_version: String,
        decisions: Vec<ConsentChoice>,
    },
    /// The passcode as typed; it is checked against the stored hash and never kept.
    Passcode {
        passcode: String,
    },
    Device {
        browser: String,
        device: String,
        supported: bool,
    },
    Knock {
        name: String,
    },
    Enter {
        name: String,
    },
    MessageToLobby {
        person: u64,
        text: String,
    },
    MessageToHosts {
        text: String,
    },
    Admit {
        person: u64,
    },
    Reject {
        person: u64,
        reason: String,
    },
    Hold {
        person: u64,
        message: String,
    },
    Lock {},
    Unlock {},
    Remove {
        person: u64,
        ban: bool,
    },
    EndForAll {},
    SetMuted {
        person: u64,
        muted: bool,
    },
    SetScreenShareAllowed {
        person: u64,
        allowed: bool,
    },
    StopScreenShare {
        person: u64,
    },
    SetCoHost {
        person: u64,
        co_host: bool,
    },
    ResetPasscodeLock {},
    StartScreenShare {},
    Leave {},
    /// Key packages for others to add this person with (base64 `MLSMessage`s): one-time ones,
    /// and optionally the last-resort one.
    MlsKeyPackages {
        one_time: Vec<String>,
        last_resort: Option<String>,
    },
    /// A host-side client asks for a key package of an admitted `person`, to add them.
    MlsClaim {
        person: u64,
    },
    /// The first host's client created the group: its GroupInfo for epoch 0.
    MlsCreate {
        group_info: String,
    },
    /// A commit for the current epoch, the Welcome if it adds someone, and the new GroupInfo.
    MlsCommit {
        commit: String,
        welcome: Option<String>,
        group_info: String,
    },
    /// An application message (chat, or a member's announcement) for the current epoch.
    MlsMessage {
        message: String,
    },
    /// The client cannot process the commit that started `epoch` and will rejoin.
    MlsCannotProcess {
        epoch: u64,
    },
    /// The client's SDP offer for its connection to the media relay (once, on entering).
    MediaOffer {
        sdp: String,
    },
    /// The client's answer to the media relay's offer of other participants' tracks.
    MediaAnswer {
        sdp: String,
    },
}

/// A media negotiation message, for the media relay.
#[derive(Debug)]
pub enum MediaRequest {
    Offer(String),
    Answer(String),
}

/// The longest SDP a client may send.
pub const MAX_SDP: usize = 32 * 1024;

/// An MLS request, decoded: for the delivery service, not the meeting.
#[derive(Debug)]
pub enum MlsRequest {
    KeyPackages {
        one_time: Vec<Vec<u8>>,
        last_resort: Option<Vec<u8>>,
    },
    Claim {
        person: PersonId,
    },
    Input(delivery::Input),
}

impl MlsRequest {
    /// The request's name in `mls_refused`.
    pub fn name(&self) -> &'static str {
        match self {
            MlsRequest::KeyPackages { .. } => "key_packages",
            MlsRequest::Claim { .. } => "claim",
            MlsRequest::Input(delivery::Input::Create { .. }) => "create",
            MlsRequest::Input(delivery::Input::Commit { .. }) => "commit",
            MlsRequest::Input(delivery::Input::Application { .. }) => "message",
            MlsRequest::Input(delivery::Input::CannotProcess { .. }) => "cannot_process",
        }
    }
}

/// A client message the server cannot use, before the meeting sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not JSON, an unknown type, or missing fields.
    Unreadable,
    /// Another protocol version.
    Version,
    /// A value the meeting's parsers refuse (an empty name, a control character, ...).
    Value(&'static str),
}

impl Malformed {
    pub fn code(self) -> &'static str {
        match self {
            Malformed::Unreadable => "unreadable",
            Malformed::Version => "unsupported_version",
            Malformed::Value(code) => code,
        }
    }
}

/// A client message, read: a meeting command, the passcode to check first, or an MLS message
/// for the delivery service.
#[derive(Debug)]
pub enum Request {
    Command(Command),
    /// Checked against the hash outside the meeting (Argon2), then fed in as its verdict.
    Passcode(String),
    Mls(MlsRequest),
    Media(MediaRequest),
}

/// Key packages one client may upload in one message.
const MAX_KEY_PACKAGES_PER_MESSAGE: usize = 16;

fn mls_bytes(text: &str) -> Result<Vec<u8>, Malformed> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| Malformed::Value("invalid_mls"))
}

/// Base64 of MLS bytes, as the client reads them.
pub fn mls_text(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads one text frame.
pub fn parse(text: &str) -> Result<Request, Malformed> {
    // The version first, then the message from what is left: serde's `flatten` would let
    // unknown fields through, and a message with fields this server does not know is refused.
    let mut fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| Malformed::Unreadable)?;
    match fields.remove("v").and_then(|v| v.as_u64()) {
        None => return Err(Malformed::Unreadable),
        Some(v) if v != u64::from(VERSION) => return Err(Malformed::Version),
        Some(_) => {}
    }
    let message: ClientMessage = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|_| Malformed::Unreadable)?;
    let person = PersonId::from_u64;
    let name = |text: &str| DisplayName::parse(text).map_err(|_| Malformed::Value("invalid_name"));
    let lobby_text =
        |text: &str| LobbyText::parse(text).map_err(|_| Malformed::Value("invalid_text"));
    let reason = |text: &str| ReasonText::parse(text).map_err(|_| Malformed::Value("invalid_text"));
    let mls = |request| Ok(Request::Mls(request));
    let command = match message {
        ClientMessage::Passcode { passcode } => return Ok(Request::Passcode(passcode)),
        ClientMessage::MlsKeyPackages {
            one_time,
            last_resort,
        } => {
            if one_time.len() > MAX_KEY_PACKAGES_PER_MESSAGE {
                return Err(Malformed::Value("too_many_key_packages"));
            }
            return mls(MlsRequest::KeyPackages {
                one_time: one_time
                    .iter()
                    .map(|text| mls_bytes(text))
                    .collect::<Result<_, _>>()?,
                last_resort: last_resort.as_deref().map(mls_bytes).transpose()?,
            });
        }
        ClientMessage::MlsClaim { person: who } => {
            return mls(MlsRequest::Claim {
                person: person(who),
            })
        }
        ClientMessage::MlsCreate { group_info } => {
            return mls(MlsRequest::Input(delivery::Input::Create {
                group_info: mls_bytes(&group_info)?,
            }))
        }
        ClientMessage::MlsCommit {
            commit,
            welcome,
            group_info,
        } => {
            return mls(MlsRequest::Input(delivery::Input::Commit {
                commit: mls_bytes(&commit)?,
                welcome: welcome.as_deref().map(mls_bytes).transpose()?,
                group_info: mls_bytes(&group_info)?,
            }))
        }
        ClientMessage::MlsMessage { message } => {
            return mls(MlsRequest::Input(delivery::Input::Application {
                message: mls_bytes(&message)?,
            }))
        }
        ClientMessage::MlsCannotProcess { epoch } => {
            return mls(MlsRequest::Input(delivery::Input::CannotProcess { epoch }))
        }
        ClientMessage::MediaOffer { sdp } | ClientMessage::MediaAnswer { sdp }
            if sdp.len() > MAX_SDP =>
        {
            return Err(Malformed::Value("sdp_too_large"))
        }
        ClientMessage::MediaOffer { sdp } => return Ok(Request::Media(MediaRequest::Offer(sdp))),
        ClientMessage::MediaAnswer { sdp } => return Ok(Request::Media(MediaRequest::Answer(sdp))),
        ClientMessage::Consent {
            notice_version,
            decisions,
        } => Command::GiveConsent {
            notice_version: meeting::NoticeVersion::parse(&notice_version)
                .map_err(|_| Malformed::Value("stale_notice"))?,
            decisions: decisions
                .iter()
                .map(|choice| {
                    Ok(ConsentDecision {
                        purpose: Purpose::parse(&choice.purpose)
                            .map_err(|_| Malformed::Value("unknown_purpose"))?,
                        given: choice.given,
                    })
                })
                .collect::<Result<_, Malformed>>()?,
        },
        ClientMessage::Device {
            browser,
            device,
            supported,
        } => {
            let text = |text: &str| {
                meeting::BoundedText::<64>::parse(text)
                    .map_err(|_| Malformed::Value("invalid_text"))
            };
            Command::ReportDevice {
                device: meeting::DeviceInfo {
                    browser: text(&browser)?,
                    device: text(&device)?,
                },
                supported,
            }
        }
        ClientMessage::Knock { name: given } => Command::Knock {
            name: name(&given)?,
            // The service fills in its own judgement before the meeting sees the knock.
            risk: meeting::RiskAssessment::low(),
        },
        ClientMessage::Enter { name: given } => Command::Enter {
            name: name(&given)?,
        },
        ClientMessage::MessageToLobby { person: to, text } => Command::MessageToLobby {
            person: person(to),
            text: lobby_text(&text)?,
        },
        ClientMessage::MessageToHosts { text } => Command::MessageToHosts {
            text: lobby_text(&text)?,
        },
        ClientMessage::Admit { person: who } => Command::Admit {
            person: person(who),
        },
        ClientMessage::Reject {
            person: who,
            reason: why,
        } => Command::Reject {
            person: person(who),
            reason: reason(&why)?,
        },
        ClientMessage::Hold {
            person: who,
            message,
        } => Command::Hold {
            person: person(who),
            message: reason(&message)?,
        },
        ClientMessage::Lock {} => Command::Lock,
        ClientMessage::Unlock {} => Command::Unlock,
        ClientMessage::Remove { person: who, ban } => Command::Remove {
            person: person(who),
            ban,
        },
        ClientMessage::EndForAll {} => Command::EndForAll,
        ClientMessage::SetMuted { person: who, muted } => Command::SetMuted {
            person: person(who),
            muted,
        },
        ClientMessage::SetScreenShareAllowed {
            person: who,
            allowed,
        } => Command::SetScreenShareAllowed {
            person: person(who),
            allowed,
        },
        ClientMessage::StopScreenShare { person: who } => Command::StopScreenShare {
            person: person(who),
        },
        ClientMessage::SetCoHost {
            person: who,
            co_host,
        } => Command::SetCoHost {
            person: person(who),
            co_host,
        },
        ClientMessage::ResetPasscodeLock {} => Command::ResetPasscodeLock,
        ClientMessage::StartScreenShare {} => Command::StartScreenShare,
        ClientMessage::Leave {} => Command::Leave,
    };
    Ok(Request::Command(command))
}

/// A message from the server, with the protocol version.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ServerEnvelope {
    pub v: u32,
    #[serde(flatten)]
    pub message: ServerMessage,
}

/// One purpose on the privacy notice, and whether the meeting needs consent to it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PurposeView {
    pub purpose: String,
    pub required: bool,
}

/// What a client needs to know of the meeting to take part.
#[derive(Clone, Debug, Serialize, TS)]
pub struct MeetingInfo {
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// `link_only`, `passcode`, `identity_proof` or `passcode_or_identity_proof`.
    pub credential: String,
    pub notice_version: String,
    pub purposes: Vec<PurposeView>,
}

/// A verified identity as the host sees it: the personal identity number only ever masked.
#[derive(Clone, Debug, Serialize, TS)]
pub struct IdentityWire {
    /// `staff_session`, `passkey` or `e_id`.
    pub method: String,
    pub verified_name: Option<String>,
    pub personal_number: Option<String>,
}

/// Someone waiting in the lobby, for the host side.
#[derive(Clone, Debug, Serialize, TS)]
pub struct KnockWire {
    pub person: u64,
    pub name_given: String,
    pub identity: Option<IdentityWire>,
    pub staff: bool,
    pub browser: String,
    pub device: String,
    /// `low`, `elevated` or `high`.
    pub risk_level: String,
    pub risk_signals: Vec<String>,
    pub knocked_at_ms: i64,
    pub expires_at_ms: i64,
    pub held: bool,
    pub connected: bool,
}

/// Someone in the meeting.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ParticipantWire {
    pub person: u64,
    pub name: String,
    pub verified: bool,
    /// `participant`, `co_host` or `host`.
    pub role: String,
    pub muted_by_host: bool,
    pub screen_share_allowed: bool,
    pub sharing: bool,
    pub connected: bool,
}

/// Where a person stands in the meeting.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StandingWire {
    /// In the join flow; `step` is `consent`, `credential`, `device` or `ready`.
    Joining {
        step: String,
    },
    Waiting {
        held: bool,
        expires_at_ms: i64,
    },
    InMeeting {
        you: ParticipantWire,
        roster: Vec<ParticipantWire>,
        locked: bool,
        lobby: Vec<KnockWire>,
    },
}

/// What the server tells a client.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The first message on every connection: who you are here, and where you stand.
    Welcome {
        you: u64,
        meeting: MeetingInfo,
        standing: StandingWire,
    },
    JoinStep {
        step: String,
    },
    PasscodeWrong {
        may_retry: bool,
    },
    Waiting {
        expires_at_ms: i64,
    },
    Held {
        message: String,
        expires_at_ms: i64,
    },
    Rejected {
        reason: String,
    },
    Expired,
    Admitted {
        standing: StandingWire,
    },
    Removed {
        banned: bool,
    },
    Resumed {
        standing: StandingWire,
    },
    LobbyMessage {
        lobby_person: u64,
        from: u64,
        text: String,
    },
    Knock {
        knock: KnockWire,
    },
    KnockHeld {
        person: u64,
        by: u64,
        expires_at_ms: i64,
    },
    KnockClosed {
        person: u64,
        /// `admitted`, `rejected`, `expired`, `withdrawn`, `connection_lost` or `banned`.
        outcome: String,
    },
    Lobby {
        knocks: Vec<KnockWire>,
    },
    PasscodeLocked,
    PasscodeUnlocked,
    ParticipantJoined {
        participant: ParticipantWire,
    },
    ParticipantLeft {
        person: u64,
        /// `left`, `removed`, `banned` or `connection_lost`.
        departure: String,
    },
    RoleChanged {
        person: u64,
        role: String,
    },
    MuteChanged {
        person: u64,
        muted_by_host: bool,
    },
    ScreenShareChanged {
        person: u64,
        allowed: bool,
        sharing: bool,
    },
    LockChanged {
        locked: bool,
    },
    ConnectionChanged {
        person: u64,
        connected: bool,
    },
    MeetingEnded,
    /// The last request was refused; `code` says why (the meeting's refusal codes).
    Refused {
        code: String,
    },
    /// The session behind this connection ended; the connection closes next.
    SessionEnded,
    /// A commit another member made, to process (base64 `MLSMessage`).
    MlsHandshake {
        message: String,
    },
    /// An application message from another member.
    MlsApplication {
        message: String,
    },
    /// The Welcome that adds this person to the meeting's group.
    MlsWelcome {
        message: String,
    },
    /// Rejoin the group by external commit with this GroupInfo.
    MlsRejoin {
        group_info: String,
    },
    /// Upload more key packages; `remaining` one-time ones are left.
    MlsReplenish {
        remaining: u64,
    },
    /// A key package of `person`, to add them with.
    MlsKeyPackage {
        person: u64,
        key_package: String,
    },
    /// This client's create or commit won: the group is at `epoch` (merge the pending commit).
    MlsAccepted {
        epoch: u64,
        added: Vec<u64>,
        removed: Vec<u64>,
    },
    /// This client's application message was queued for `recipients` other members.
    MlsDelivered {
        recipients: u64,
    },
    /// This client's MLS request (`key_packages`, `claim`, `create`, `commit`, `message` or
    /// `cannot_process`) was refused and changed nothing; `current_epoch` is set when another
    /// commit won (process it, then retry).
    MlsRefused {
        request: String,
        code: String,
        current_epoch: Option<u64>,
    },
    /// The group has members who left, or whose browsers lost the group: the next commit must
    /// remove them (a host-side client does, then adds back those still here).
    MlsRemovalPending {
        persons: Vec<u64>,
    },
    /// The group starts afresh (the only host-side member lost it): drop it, stock key packages
    /// again and wait for the Welcome — or, as the meeting's host, create it.
    MlsReset,
    /// Relays for this participant's media connections (TURN REST credentials), sent on
    /// entering the meeting when TURN is configured.
    IceServers {
        servers: Vec<IceServerWire>,
    },
    /// The media relay's answer to this client's offer.
    MediaAnswer {
        sdp: String,
    },
    /// The media relay offers other participants' tracks (or takes some away): answer it.
    MediaOffer {
        sdp: String,
    },
}

/// One relay for `RTCPeerConnection`'s `iceServers`.
#[derive(Clone, Debug, Serialize, TS)]
pub struct IceServerWire {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
    pub expires_at_ms: i64,
}

impl ServerMessage {
    /// The JSON text of this message in its envelope.
    pub fn to_text(&self) -> String {
        serde_json::to_string(&ServerEnvelope {
            v: VERSION,
            message: self.clone(),
        })
        .unwrap_or_else(|_| String::from("{\"v\":1,\"type\":\"refused\",\"code\":\"internal\"}"))
    }

    pub fn refused(refusal: &Refusal) -> ServerMessage {
        ServerMessage::refused_with(refusal.code())
    }

    /// A refusal with a code of the service's own (`busy`, `media_unavailable`, ...).
    pub fn refused_with(code: &str) -> ServerMessage {
        ServerMessage::Refused {
            code: code.to_owned(),
        }
    }
}

fn ms(timestamp: meeting::Timestamp) -> i64 {
    timestamp.unix_ms()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Participant => "participant",
        Role::CoHost => "co_host",
        Role::Host => "host",
    }
}

fn step_name(step: JoinStep) -> &'static str {
    match step {
        JoinStep::Consent => "consent",
        JoinStep::Credential => "credential",
        JoinStep::Device => "device",
        JoinStep::Ready => "ready",
    }
}

fn risk_name(level: RiskLevel) -> &'static str {
    level.as_str()
}

fn identity(view: &IdentityView) -> IdentityWire {
    IdentityWire {
        method: view.method.as_str().to_owned(),
        verified_name: view.verified_name.as_ref().map(|n| n.as_str().to_owned()),
        personal_number: view.personal_number.as_ref().map(|n| n.as_str().to_owned()),
    }
}

pub fn knock(view: &KnockView) -> KnockWire {
    KnockWire {
        person: view.person.as_u64(),
        name_given: view.name_given.as_str().to_owned(),
        identity: view.identity.as_ref().map(identity),
        staff: view.staff,
        browser: view.device.browser.as_str().to_owned(),
        device: view.device.device.as_str().to_owned(),
        risk_level: risk_name(view.risk.level).to_owned(),
        risk_signals: view
            .risk
            .signals()
            .iter()
            .map(|signal| signal.as_str().to_owned())
            .collect(),
        knocked_at_ms: ms(view.knocked_at),
        expires_at_ms: ms(view.expires_at),
        held: view.held,
        connected: view.connected,
    }
}

pub fn participant(view: &ParticipantView) -> ParticipantWire {
    ParticipantWire {
        person: view.person.as_u64(),
        name: view.name.as_str().to_owned(),
        verified: view.verified,
        role: role_name(view.role).to_owned(),
        muted_by_host: view.muted_by_host,
        screen_share_allowed: view.screen_share_allowed,
        sharing: view.sharing,
        connected: view.connected,
    }
}

pub fn standing(standing: &Standing) -> StandingWire {
    match standing {
        Standing::Joining(step) => StandingWire::Joining {
            step: step_name(*step).to_owned(),
        },
        Standing::Waiting { held, expires_at } => StandingWire::Waiting {
            held: *held,
            expires_at_ms: ms(*expires_at),
        },
        Standing::InMeeting {
            you,
            roster,
            locked,
            lobby,
        } => StandingWire::InMeeting {
            you: participant(you),
            roster: roster.iter().map(participant).collect(),
            locked: *locked,
            lobby: lobby.iter().map(knock).collect(),
        },
    }
}

fn outcome_name(outcome: &KnockOutcome) -> &'static str {
    match outcome {
        KnockOutcome::Admitted { .. } => "admitted",
        KnockOutcome::Rejected { .. } => "rejected",
        KnockOutcome::Expired => "expired",
        KnockOutcome::Withdrawn => "withdrawn",
        KnockOutcome::ConnectionLost => "connection_lost",
        KnockOutcome::Banned => "banned",
    }
}

fn departure_name(departure: Departure) -> &'static str {
    departure.as_str()
}

/// The wire message for a notice of the meeting core.
pub fn notice(notice: &Notice) -> ServerMessage {
    match notice {
        Notice::JoinStep(step) => ServerMessage::JoinStep {
            step: step_name(*step).to_owned(),
        },
        Notice::PasscodeWrong { may_retry } => ServerMessage::PasscodeWrong {
            may_retry: *may_retry,
        },
        Notice::Waiting { expires_at } => ServerMessage::Waiting {
            expires_at_ms: ms(*expires_at),
        },
        Notice::Held {
            message,
            expires_at,
        } => ServerMessage::Held {
            message: message.as_str().to_owned(),
            expires_at_ms: ms(*expires_at),
        },
        Notice::Rejected { reason } => ServerMessage::Rejected {
            reason: reason.as_str().to_owned(),
        },
        Notice::Expired => ServerMessage::Expired,
        Notice::Admitted(standing_now) => ServerMessage::Admitted {
            standing: standing(standing_now),
        },
        Notice::Removed { banned } => ServerMessage::Removed { banned: *banned },
        Notice::Resumed(standing_now) => ServerMessage::Resumed {
            standing: standing(standing_now),
        },
        Notice::LobbyMessage {
            lobby_person,
            from,
            text,
        } => ServerMessage::LobbyMessage {
            lobby_person: lobby_person.as_u64(),
            from: from.as_u64(),
            text: text.as_str().to_owned(),
        },
        Notice::Knock(view) => ServerMessage::Knock { knock: knock(view) },
        Notice::KnockHeld {
            person,
            by,
            expires_at,
        } => ServerMessage::KnockHeld {
            person: person.as_u64(),
            by: by.as_u64(),
            expires_at_ms: ms(*expires_at),
        },
        Notice::KnockClosed { person, outcome } => ServerMessage::KnockClosed {
            person: person.as_u64(),
            outcome: outcome_name(outcome).to_owned(),
        },
        Notice::Lobby(knocks) => ServerMessage::Lobby {
            knocks: knocks.iter().map(knock).collect(),
        },
        Notice::PasscodeLocked => ServerMessage::PasscodeLocked,
        Notice::PasscodeUnlocked => ServerMessage::PasscodeUnlocked,
        Notice::ParticipantJoined(view) => ServerMessage::ParticipantJoined {
            participant: participant(view),
        },
        Notice::ParticipantLeft { person, departure } => ServerMessage::ParticipantLeft {
            person: person.as_u64(),
            departure: departure_name(*departure).to_owned(),
        },
        Notice::RoleChanged { person, role } => ServerMessage::RoleChanged {
            person: person.as_u64(),
            role: role_name(*role).to_owned(),
        },
        Notice::MuteChanged {
            person,
            muted_by_host,
        } => ServerMessage::MuteChanged {
            person: person.as_u64(),
            muted_by_host: *muted_by_host,
        },
        Notice::ScreenShareChanged {
            person,
            allowed,
            sharing,
        } => ServerMessage::ScreenShareChanged {
            person: person.as_u64(),
            allowed: *allowed,
            sharing: *sharing,
        },
        Notice::LockChanged { locked } => ServerMessage::LockChanged { locked: *locked },
        Notice::ConnectionChanged { person, connected } => ServerMessage::ConnectionChanged {
            person: person.as_u64(),
            connected: *connected,
        },
        Notice::MeetingEnded => ServerMessage::MeetingEnded,
    }
}

/// The TypeScript declarations of the protocol, as `web/src/generated/signalling.ts` holds them.
pub fn typescript() -> String {
    let config = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from crates/trygg/src/meetings/wire.rs by `cargo xtask signalling-types`.\n\
         // Do not edit: change the Rust types and generate again (a test fails when this is stale).\n\n",
    );
    out.push_str(&format!("export const PROTOCOL_VERSION = {VERSION};\n\n"));
    let declarations = [
        ClientEnvelope::decl(&config),
        ConsentChoice::decl(&config),
        ClientMessage::decl(&config),
        ServerEnvelope::decl(&config),
        PurposeView::decl(&config),
        MeetingInfo::decl(&config),
        IdentityWire::decl(&config),
        KnockWire::decl(&config),
        ParticipantWire::decl(&config),
        IceServerWire::decl(&config),
        StandingWire::decl(&config),
        ServerMessage::decl(&config),
    ];
    for declaration in declarations {
        out.push_str("export ");
        out.push_str(&declaration);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_typescript_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/src/generated/signalling.ts"
        );
        // `cargo xtask signalling-types` runs this test with the variable set to write the file.
        if std::env::var_os("TRYGG_WRITE_GENERATED").is_some() {
            std::fs::write(path, typescript()).expect("web/src/generated is writable");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == typescript(),
            "web/src/generated/signalling.ts is stale: run `cargo xtask signalling-types`"
        );
    }

    #[test]
    fn client_messages_are_read_or_refused() {
        let knock = parse(r#"{"v":1,"type":"knock","name":"Karin"}"#).unwrap();
        assert!(matches!(knock, Request::Command(Command::Knock { .. })));
        let passcode = parse(r#"{"v":1,"type":"passcode","passcode":"123456"}"#).unwrap();
        assert!(matches!(passcode, Request::Passcode(p) if p == "123456"));
        for (text, expected) in [
            ("not json", Malformed::Unreadable),
            (r#"{"v":1,"type":"fly"}"#, Malformed::Unreadable),
            (r#"{"v":1,"type":"lock","extra":1}"#, Malformed::Unreadable),
            (r#"{"v":2,"type":"lock"}"#, Malformed::Version),
            (r#"{"type":"lock"}"#, Malformed::Unreadable),
            (
                r#"{"v":1,"type":"knock","name":"   "}"#,
                Malformed::Value("invalid_name"),
            ),
            (
                r#"{"v":1,"type":"message_to_hosts","text":"a\u202eb"}"#,
                Malformed::Value("invalid_text"),
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn server_messages_carry_the_version() {
        let text = ServerMessage::LockChanged { locked: true }.to_text();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({ "v": 1, "type": "lock_changed", "locked": true })
        );
    }
}
