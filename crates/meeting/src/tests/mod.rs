//! Tests of the meeting core: a [`World`] drives one [`Meeting`] through its public API and checks,
//! after every single input, that a refusal changed nothing and that the invariants hold (see
//! [`World::step`]). The tables in the submodules name each row; no test reads a clock.

mod connection;
mod host_controls;
mod join;
mod lobby;
mod walk;

use std::collections::BTreeSet;

use crate::{
    AdmittedBy, Arrival, AuditOutcome, Command, ConsentDecision, DeviceInfo, DisplayName, Effect,
    Entrant, EntryCredential, IdentityKey, Limits, LobbyBypass, LobbyText, MaskedPersonalNumber,
    Meeting, MeetingConfig, MeetingId, MlsInstruction, Notice, NoticeVersion, PasscodeLimits,
    PasscodeVerdict, PersonId, ProofMethod, Purpose, PurposeRule, ReasonText, Refusal,
    RiskAssessment, Role, SourceKey, Timeouts, Timestamp, ValidityWindow, VerifiedIdentity,
};

pub(crate) const SECOND: i64 = 1_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
/// The window opens at `START` and lasts two hours.
pub(crate) const START: i64 = 1_700_000_000_000;
pub(crate) const WINDOW_MS: i64 = 120 * MINUTE;
pub(crate) const HOST_KEY: &str = "staff:host";
pub(crate) const OTHER_HOST_KEY: &str = "staff:host2";
/// Every text a person types in these tests contains this, and no audit record may.
pub(crate) const CONTENT_MARKER: &str = "SECRET";

pub(crate) fn config() -> MeetingConfig {
    MeetingConfig {
        hosts: vec![key(HOST_KEY)],
        window: ValidityWindow::new(
            Timestamp::from_unix_ms(START),
            Timestamp::from_unix_ms(START + WINDOW_MS),
        )
        .expect("valid"),
        credential: EntryCredential::PasscodeOrIdentityProof,
        notice_version: notice(),
        purposes: vec![
            PurposeRule {
                purpose: purpose("meeting"),
                required: true,
            },
            PurposeRule {
                purpose: purpose("recording"),
                required: false,
            },
        ],
        bypass: LobbyBypass::Nobody,
        co_hosts_must_be_staff: true,
        passcode: PasscodeLimits::default(),
        timeouts: Timeouts::default(),
        limits: Limits::default(),
    }
}

pub(crate) fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).expect("valid key")
}

pub(crate) fn source(text: &str) -> SourceKey {
    SourceKey::parse(text).expect("valid source")
}

pub(crate) fn notice() -> NoticeVersion {
    NoticeVersion::parse("2025-01").expect("valid")
}

pub(crate) fn purpose(text: &str) -> Purpose {
    Purpose::parse(text).expect("valid")
}

pub(crate) fn name(text: &str) -> DisplayName {
    DisplayName::parse(&format!("{text} {CONTENT_MARKER}")).expect("valid name")
}

pub(crate) fn text(words: &str) -> LobbyText {
    LobbyText::parse(&format!("{words} {CONTENT_MARKER}")).expect("valid text")
}

pub(crate) fn reason(words: &str) -> ReasonText {
    ReasonText::parse(&format!("{words} {CONTENT_MARKER}")).expect("valid reason")
}

pub(crate) fn device() -> DeviceInfo {
    DeviceInfo {
        browser: crate::BoundedText::parse("Firefox 128").expect("valid"),
        device: crate::BoundedText::parse("Windows laptop").expect("valid"),
    }
}

pub(crate) fn consent(recording: bool) -> Command {
    Command::GiveConsent {
        notice_version: notice(),
        decisions: vec![
            ConsentDecision {
                purpose: purpose("meeting"),
                given: true,
            },
            ConsentDecision {
                purpose: purpose("recording"),
                given: recording,
            },
        ],
    }
}

pub(crate) fn customer_identity(identity_key: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        key: key(identity_key),
        method: ProofMethod::EId,
        verified_name: Some(name("Anna Svensson")),
        personal_number: Some(MaskedPersonalNumber::mask("198504121234").expect("valid")),
    }
}

pub(crate) fn staff_identity(identity_key: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        key: key(identity_key),
        method: ProofMethod::StaffSession,
        verified_name: Some(name("Staff")),
        personal_number: None,
    }
}

pub(crate) fn knock(who: &str) -> Command {
    Command::Knock {
        name: name(who),
        risk: RiskAssessment::low(),
    }
}

/// One meeting, a clock the test moves by hand, and every check run after every input.
pub(crate) struct World {
    pub meeting: Meeting,
    pub now: Timestamp,
    /// How many inputs went through [`World::step`], for the property tests' confidence.
    pub steps: usize,
}

impl World {
    pub fn new() -> World {
        World::with(config())
    }

    pub fn with(config: MeetingConfig) -> World {
        let meeting = Meeting::new(MeetingId::from_random_bytes([7; 16]), config).expect("valid");
        World {
            meeting,
            now: Timestamp::from_unix_ms(START + MINUTE),
            steps: 0,
        }
    }

    /// Moves the clock; no timer runs until [`World::tick`].
    pub fn advance(&mut self, ms: i64) {
        self.now = self.now.plus_ms(ms);
    }

    /// Runs the timers due now, with the checks.
    pub fn tick(&mut self) -> Vec<Effect> {
        let before = self.meeting.clone();
        let effects = self.meeting.handle_timeout(self.now);
        check_step(&before, &self.meeting, None, &Ok(effects.clone()));
        if let Some(next) = self.meeting.poll_timeout() {
            assert!(next > self.now, "a due timer survived handle_timeout");
        }
        effects
    }

    /// One command, with every check: a refusal changes nothing; the invariants hold.
    pub fn step(&mut self, actor: PersonId, command: Command) -> Result<Vec<Effect>, Refusal> {
        self.steps += 1;
        let before = self.meeting.clone();
        let result = self.meeting.handle(self.now, actor, command.clone());
        if let Err(refusal) = &result {
            assert!(
                self.meeting == before,
                "refused {command:?} ({refusal:?}) changed the meeting"
            );
            let record = self
                .meeting
                .refusal_record(self.now, actor, &command, *refusal);
            assert_eq!(record.outcome, AuditOutcome::Denied);
            assert_eq!(record.action, command.audit_action());
        }
        check_step(&before, &self.meeting, Some((actor, &command)), &result);
        result
    }

    /// A command that must succeed.
    pub fn ok(&mut self, actor: PersonId, command: Command) -> Vec<Effect> {
        let shown = format!("{command:?}");
        self.step(actor, command)
            .unwrap_or_else(|refusal| panic!("{shown} by {actor:?} refused: {refusal:?}"))
    }

    pub fn arrive(&mut self, arrival: Arrival) -> Result<(PersonId, Vec<Effect>), Refusal> {
        self.steps += 1;
        let before = self.meeting.clone();
        let result = self.meeting.arrive(self.now, arrival.clone());
        match &result {
            Err(refusal) => {
                assert!(
                    self.meeting == before,
                    "refused arrival changed the meeting"
                );
                let record = self
                    .meeting
                    .arrival_refusal_record(self.now, &arrival, *refusal);
                assert_eq!(record.outcome, AuditOutcome::Denied);
            }
            Ok((person, effects)) => {
                assert!(self.meeting.join_step_of(*person).is_some());
                check_step(&before, &self.meeting, None, &Ok(effects.clone()));
            }
        }
        result
    }

    pub fn arrive_guest(&mut self, from: &str) -> PersonId {
        self.arrive(Arrival {
            source: source(from),
            entrant: Entrant::Guest,
        })
        .expect("guest arrives")
        .0
    }

    pub fn arrive_staff(&mut self, identity_key: &str) -> PersonId {
        self.arrive(Arrival {
            source: source("ip:staff-net"),
            entrant: Entrant::Staff(staff_identity(identity_key)),
        })
        .expect("staff arrives")
        .0
    }

    /// A guest through consent, passcode and device check.
    pub fn guest_ready(&mut self, from: &str) -> PersonId {
        let person = self.arrive_guest(from);
        self.ok(person, consent(false));
        self.ok(person, Command::Passcode(PasscodeVerdict::Correct));
        self.ok(
            person,
            Command::ReportDevice {
                device: device(),
                supported: true,
            },
        );
        person
    }

    /// A guest with a verified e-ID through to the device check.
    pub fn verified_guest_ready(&mut self, identity_key: &str) -> PersonId {
        let person = self.arrive_guest("ip:verified");
        self.ok(person, consent(true));
        self.ok(
            person,
            Command::ProveIdentity(customer_identity(identity_key)),
        );
        self.ok(
            person,
            Command::ReportDevice {
                device: device(),
                supported: true,
            },
        );
        person
    }

    pub fn guest_waiting(&mut self, who: &str) -> PersonId {
        let person = self.guest_ready(&format!("ip:{who}"));
        self.ok(person, knock(who));
        person
    }

    /// A staff member through the device check.
    pub fn staff_ready(&mut self, identity_key: &str) -> PersonId {
        let person = self.arrive_staff(identity_key);
        self.ok(
            person,
            Command::ReportDevice {
                device: device(),
                supported: true,
            },
        );
        person
    }

    /// The host, in the meeting.
    pub fn host(&mut self) -> PersonId {
        let host = self.staff_ready(HOST_KEY);
        self.ok(host, Command::Enter { name: name("Host") });
        host
    }

    /// A guest admitted by `host`.
    pub fn guest_in(&mut self, host: PersonId, who: &str) -> PersonId {
        let person = self.guest_waiting(who);
        self.ok(host, Command::Admit { person });
        person
    }

    /// A verified customer admitted by `host`.
    pub fn verified_in(&mut self, host: PersonId, identity_key: &str) -> PersonId {
        let person = self.verified_guest_ready(identity_key);
        self.ok(person, knock("Verified"));
        self.ok(host, Command::Admit { person });
        person
    }

    /// A staff member who knocked and was admitted, then made co-host.
    pub fn co_host(&mut self, host: PersonId, identity_key: &str) -> PersonId {
        let person = self.staff_ready(identity_key);
        self.ok(person, knock("Colleague"));
        self.ok(host, Command::Admit { person });
        self.ok(
            host,
            Command::SetCoHost {
                person,
                co_host: true,
            },
        );
        person
    }
}

/// Where a person stands, from the public accessors only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Joining,
    Waiting,
    Member(Role),
    Gone,
}

fn place(meeting: &Meeting, person: PersonId) -> Place {
    if let Some(role) = meeting.role_of(person) {
        Place::Member(role)
    } else if meeting.is_waiting(person) {
        Place::Waiting
    } else if meeting.join_step_of(person).is_some() {
        Place::Joining
    } else {
        Place::Gone
    }
}

fn known(meeting: &Meeting) -> BTreeSet<PersonId> {
    // Ids are handed out from 1 in order; this is enough for the tests' meetings.
    (1..=200)
        .map(PersonId::from_u64)
        .filter(|&person| place(meeting, person) != Place::Gone)
        .collect()
}

/// The checks after every input. `command` is `None` for an arrival or a timeout.
fn check_step(
    before: &Meeting,
    after: &Meeting,
    command: Option<(PersonId, &Command)>,
    result: &Result<Vec<Effect>, Refusal>,
) {
    check_state(after);
    if before.ended_at().is_some() {
        match (command, result) {
            (Some(_), result) => assert_eq!(result, &Err(Refusal::MeetingEnded)),
            (None, Ok(effects)) => assert!(effects.is_empty(), "effects after the end"),
            (None, Err(_)) => {}
        }
    }
    let Ok(effects) = result else {
        return;
    };

    let people_before = known(before);
    let people_after = known(after);
    let added: BTreeSet<PersonId> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mls(MlsInstruction::AcceptAdd { person, .. }) => Some(*person),
            _ => None,
        })
        .collect();
    let mls_removed: BTreeSet<PersonId> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mls(MlsInstruction::Remove { person, .. }) => Some(*person),
            _ => None,
        })
        .collect();
    let group_ended = effects
        .iter()
        .any(|effect| matches!(effect, Effect::Mls(MlsInstruction::EndGroup)));

    for effect in effects {
        match effect {
            // Only admitted people are ever added to the MLS group: by the host side from the
            // lobby, or a host (or bypassing staff) entering themselves.
            Effect::Mls(MlsInstruction::AcceptAdd {
                person,
                admitted_by,
            }) => {
                let (actor, command) = command.expect("only commands admit");
                match (command, admitted_by) {
                    (Command::Admit { person: admitted }, AdmittedBy::HostSide(by)) => {
                        assert_eq!(admitted, person);
                        assert_eq!(*by, actor);
                        assert_eq!(place(before, *person), Place::Waiting);
                        assert!(
                            matches!(place(before, actor), Place::Member(role) if role.is_host_side()),
                            "admitted by someone not on the host side"
                        );
                    }
                    (Command::Enter { .. }, AdmittedBy::HostIdentity) => {
                        assert_eq!(*person, actor);
                        assert_eq!(place(after, actor), Place::Member(Role::Host));
                    }
                    (Command::Enter { .. }, AdmittedBy::StaffBypass) => {
                        assert_eq!(*person, actor);
                        assert_eq!(before.config().bypass, LobbyBypass::Staff);
                    }
                    other => panic!("unexpected admission {other:?}"),
                }
                assert!(matches!(place(after, *person), Place::Member(_)));
            }
            Effect::Notify { to, notice } => {
                assert!(!to.is_empty());
                for recipient in to {
                    assert!(
                        people_before.contains(recipient) || people_after.contains(recipient),
                        "{notice:?} to a stranger"
                    );
                }
                let host_side_before: BTreeSet<PersonId> = host_side(before);
                let host_side_after: BTreeSet<PersonId> = host_side(after);
                match notice {
                    // Lobby chat is only between the host side and that waiting person.
                    Notice::LobbyMessage { lobby_person, .. } => {
                        for recipient in to {
                            assert!(
                                recipient == lobby_person || host_side_before.contains(recipient),
                                "lobby message to an outsider"
                            );
                        }
                    }
                    // Who is knocking is for the host side only.
                    Notice::Knock(_) | Notice::KnockHeld { .. } | Notice::Lobby(_) => {
                        for recipient in to {
                            assert!(
                                host_side_after.contains(recipient),
                                "lobby shown to {recipient:?}"
                            );
                        }
                    }
                    _ => {}
                }
            }
            Effect::Audit(record) => {
                let shown = format!("{record:?}");
                assert!(!shown.contains(CONTENT_MARKER), "content in audit: {shown}");
                assert!(!shown.contains("ip:"), "source in audit: {shown}");
            }
            _ => {}
        }
    }

    // Whoever leaves the meeting leaves the MLS group (a new epoch), and only they do.
    for &person in &people_before {
        let was_member = matches!(place(before, person), Place::Member(_));
        let is_member = matches!(place(after, person), Place::Member(_));
        if was_member && !is_member {
            assert!(
                mls_removed.contains(&person) || group_ended,
                "{person:?} left without an MLS Remove"
            );
        }
        if !was_member && is_member {
            assert!(
                added.contains(&person),
                "{person:?} joined without AcceptAdd"
            );
        }
    }
    for person in &mls_removed {
        assert!(matches!(place(before, *person), Place::Member(_)));
        assert!(!matches!(place(after, *person), Place::Member(_)));
    }

    // Every change is audited.
    if before != after {
        assert!(
            effects
                .iter()
                .any(|effect| matches!(effect, Effect::Audit(_))),
            "a change without an audit record"
        );
    }
}

fn host_side(meeting: &Meeting) -> BTreeSet<PersonId> {
    meeting
        .roster()
        .into_iter()
        .filter(|view| view.role.is_host_side())
        .map(|view| view.person)
        .collect()
}

/// What must hold in every state.
fn check_state(meeting: &Meeting) {
    let roster = meeting.roster();
    let lobby = meeting.lobby();
    // Nobody is in the lobby and the meeting at once.
    for view in &roster {
        assert!(!lobby.iter().any(|knock| knock.person == view.person));
    }
    // At most one screen share, and only by someone allowed to share.
    let sharing: Vec<_> = roster.iter().filter(|view| view.sharing).collect();
    assert!(sharing.len() <= 1, "two shares at once");
    for view in &sharing {
        assert!(view.screen_share_allowed && view.connected);
    }
    // Knocks never outlive the window; the lobby stays within its limit.
    let config = meeting.config();
    for knock in &lobby {
        assert!(knock.expires_at <= config.window.end());
    }
    assert!(lobby.len() <= config.limits.max_lobby);
    assert!(meeting.people_count() <= config.limits.max_people + config.hosts.len());
    // An ended meeting holds nobody and waits for nothing.
    if meeting.ended_at().is_some() {
        assert_eq!(meeting.people_count(), 0);
        assert_eq!(meeting.poll_timeout(), None);
    }
    assert!(meeting.passcode_failures() <= config.passcode.lock_after_meeting_failures);
}

/// The notices in `effects` for `person`.
pub(crate) fn notices_for(effects: &[Effect], person: PersonId) -> Vec<&Notice> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Notify { to, notice } if to.contains(&person) => Some(notice),
            _ => None,
        })
        .collect()
}

/// The MLS instructions in `effects`.
pub(crate) fn mls(effects: &[Effect]) -> Vec<MlsInstruction> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mls(instruction) => Some(*instruction),
            _ => None,
        })
        .collect()
}

/// The media instructions in `effects`.
pub(crate) fn media(effects: &[Effect]) -> Vec<crate::MediaInstruction> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Media(instruction) => Some(*instruction),
            _ => None,
        })
        .collect()
}

/// The audit actions in `effects`, in order.
pub(crate) fn audited(effects: &[Effect]) -> Vec<crate::AuditAction> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Audit(record) => Some(record.action),
            _ => None,
        })
        .collect()
}

/// Runs a table of refusals: each row sets up a fresh world, then its command must be refused
/// with the expected reason (and, by [`World::step`], change nothing).
/// Sets up a world and returns who attempts what.
pub(crate) type RefusalSetup = fn(&mut World) -> (PersonId, Command);

pub(crate) fn run_refusals(rows: &[(&str, RefusalSetup, Refusal)]) {
    for (row, setup, expected) in rows {
        let mut world = World::new();
        let (actor, command) = setup(&mut world);
        let result = world.step(actor, command);
        assert_eq!(result.err(), Some(*expected), "row {row:?}");
    }
}
