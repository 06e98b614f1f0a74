//! [`Meeting`]: one meeting's join flow, lobby and room as a state machine.
//!
//! Inputs are [`Meeting::arrive`], [`Meeting::handle`] (a [`Command`] from a known person) and
//! [`Meeting::handle_timeout`]; each takes `now`. The outputs are the returned [`Effect`]s and
//! [`Meeting::poll_timeout`], the next moment the meeting needs `handle_timeout`. Every refusal
//! is checked before anything changes, so a refused input leaves the meeting exactly as it was
//! (the tests compare the whole state before and after every refusal).
//!
//! Time is judged from `now`, not from whether `handle_timeout` has been called yet: a knock past
//! its expiry cannot be admitted and a resume after the grace period is refused even if the
//! timer has not fired, so a late timer never widens a window.
//!
//! What this module deliberately does not do: read a clock, draw random numbers, hash, store,
//! send, or decide staff authorisation (the service asks the policy engine whether a staff member
//! may open the meeting at all before calling [`Meeting::arrive`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::command::{Arrival, Command, ConsentDecision, Entrant, PasscodeVerdict};
use crate::config::{ConfigError, EntryCredential, LobbyBypass, MeetingConfig};
use crate::effect::{
    AdmittedBy, AuditAction, AuditOutcome, AuditParty, AuditRecord, CloseReason, Departure, Effect,
    IdentityView, JoinStep, KnockOutcome, KnockView, MediaInstruction, MlsInstruction, Notice,
    ParticipantView, PasscodeFailure, Standing,
};
use crate::refusal::Refusal;
use crate::role::{Capability, Role};
use crate::values::{
    DeviceInfo, DisplayName, IdentityKey, LobbyText, MeetingId, NoticeVersion, PersonId,
    ReasonText, RiskAssessment, SourceKey, Timestamp, VerifiedIdentity,
};

/// One meeting. See the module documentation.
///
/// `Clone` and `PartialEq` let a caller (and the tests) compare states; `Debug` shows counts
/// only, because the state holds names and lobby details.
#[derive(Clone, PartialEq, Eq)]
pub struct Meeting {
    id: MeetingId,
    config: MeetingConfig,
    next_person: u64,
    people: BTreeMap<PersonId, Person>,
    /// People the host side removed (or whose identity was banned): their resume is refused
    /// with [`Refusal::Removed`] rather than [`Refusal::NotPresent`].
    removed: BTreeSet<PersonId>,
    bans: BTreeSet<IdentityKey>,
    locked: bool,
    passcode: PasscodeState,
    ended_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PasscodeState {
    /// Failures from all sources since the last reset; at most the configured lock threshold,
    /// because attempts stop at the lock. It also bounds `source_failures`: every source entry
    /// was made by a failure counted here.
    meeting_failures: u32,
    source_failures: BTreeMap<SourceKey, u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Person {
    source: SourceKey,
    identity: Option<VerifiedIdentity>,
    staff: bool,
    link: Link,
    stage: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Up,
    Down { grace_until: Timestamp },
}

/// Where a person is. One enum, so nobody can be in the lobby and the meeting at once.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    Joining {
        progress: Progress,
        expires_at: Timestamp,
    },
    Lobby(Waiting),
    InMeeting(Member),
}

/// The join flow; the device report lives in the last step, so a knock cannot lack it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    Consent,
    Credential,
    Device,
    Ready { device: DeviceInfo },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Waiting {
    name: DisplayName,
    device: DeviceInfo,
    risk: RiskAssessment,
    knocked_at: Timestamp,
    expires_at: Timestamp,
    held: bool,
    messages: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    name: DisplayName,
    role: Role,
    muted_by_host: bool,
    screen_share_allowed: bool,
    sharing: bool,
}

/// Proof that `person` is in the meeting, connected, with a role that has the capability asked
/// for. Only [`Meeting::authorise`] makes one, and the host controls take it.
#[derive(Clone, Copy, Debug)]
struct HostSide {
    person: PersonId,
    role: Role,
}

/// How a person leaves the meeting's books.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Left,
    Removed,
    Banned,
    ConnectionLost,
    Rejected { by: PersonId },
    Expired,
}

impl Meeting {
    /// A meeting with id `id` (128 bits from the service's random source) set up with `config`.
    pub fn new(id: MeetingId, config: MeetingConfig) -> Result<Meeting, ConfigError> {
        config.validate()?;
        Ok(Meeting {
            id,
            config,
            next_person: 1,
            people: BTreeMap::new(),
            removed: BTreeSet::new(),
            bans: BTreeSet::new(),
            locked: false,
            passcode: PasscodeState::default(),
            ended_at: None,
        })
    }

    /// The meeting's id.
    pub fn id(&self) -> MeetingId {
        self.id
    }

    /// How the meeting is set up.
    pub fn config(&self) -> &MeetingConfig {
        &self.config
    }

    /// Whether the meeting takes no knocks.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// When the meeting ended, if it has.
    pub fn ended_at(&self) -> Option<Timestamp> {
        self.ended_at
    }

    /// Whether the passcode is locked after too many wrong attempts.
    pub fn is_passcode_locked(&self) -> bool {
        self.passcode.meeting_failures >= self.config.passcode.lock_after_meeting_failures
    }

    /// Whether `identity` is banned from this meeting.
    pub fn is_banned(&self, identity: &IdentityKey) -> bool {
        self.bans.contains(identity)
    }

    /// Someone opens the link (or a staff member opens the meeting). On success they are a new
    /// person in the join flow, and the id is theirs for every later command.
    pub fn arrive(
        &mut self,
        now: Timestamp,
        arrival: Arrival,
    ) -> Result<(PersonId, Vec<Effect>), Refusal> {
        self.check_open()?;
        if !self.config.window.contains(now) {
            return Err(Refusal::OutsideWindow);
        }
        let (identity, staff, first_step) = match arrival.entrant {
            Entrant::Guest => {
                if self.locked {
                    return Err(Refusal::MeetingLocked);
                }
                (None, false, Progress::Consent)
            }
            Entrant::Staff(identity) => {
                if self.bans.contains(&identity.key) {
                    return Err(Refusal::Banned);
                }
                (Some(identity), true, Progress::Device)
            }
        };
        let is_host = staff && self.is_host_identity(identity.as_ref());
        // Hosts have a reserve of one place per configured host beyond the limit: a flood of
        // half-finished guest joins must not keep out the one person who can admit anybody, and
        // the reserve still bounds memory.
        let limit = if is_host {
            self.config.limits.max_people + self.config.hosts.len()
        } else {
            self.config.limits.max_people
        };
        if self.people.len() >= limit {
            return Err(Refusal::MeetingFull);
        }

        let person = PersonId::from_u64(self.next_person);
        self.next_person += 1;
        let step = progress_step(&first_step);
        self.people.insert(
            person,
            Person {
                source: arrival.source,
                identity,
                staff,
                link: Link::Up,
                stage: Stage::Joining {
                    progress: first_step,
                    expires_at: self.capped_expiry(now, self.config.timeouts.join_ms),
                },
            },
        );
        let mut effects = Vec::new();
        self.notify(&mut effects, vec![person], Notice::JoinStep(step));
        effects.push(self.audit(
            now,
            self.party(person),
            AuditAction::Arrive,
            None,
            AuditOutcome::Success,
            &[("entrant", if staff { "staff" } else { "guest" }.to_owned())],
        ));
        Ok((person, effects))
    }

    /// Whether `person` may try a passcode now. Ask before spending an Argon2 check on it; the
    /// [`Command::Passcode`] verdict is checked the same way again.
    pub fn passcode_attempt_allowed(
        &self,
        now: Timestamp,
        person: PersonId,
    ) -> Result<(), Refusal> {
        self.check_open()?;
        let actor = self.actor(now, person)?;
        self.passcode_gate(actor)
    }

    /// Handles one command from `actor` at `now`. On success, the effects to carry out, in order;
    /// on refusal, nothing has changed.
    pub fn handle(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        command: Command,
    ) -> Result<Vec<Effect>, Refusal> {
        self.check_open()?;
        if command == Command::Resume {
            return self.resume(now, actor);
        }
        self.actor(now, actor)?;
        let mut effects = Vec::new();
        match command {
            Command::GiveConsent {
                notice_version,
                decisions,
            } => self.give_consent(now, actor, notice_version, decisions, &mut effects)?,
            Command::Passcode(verdict) => self.passcode(now, actor, verdict, &mut effects)?,
            Command::ProveIdentity(identity) => {
                self.prove_identity(now, actor, identity, &mut effects)?
            }
            Command::ReportDevice { device, supported } => {
                self.report_device(now, actor, device, supported, &mut effects)?
            }
            Command::Knock { name, risk } => self.knock(now, actor, name, risk, &mut effects)?,
            Command::Enter { name } => self.enter(now, actor, name, &mut effects)?,
            Command::MessageToLobby { person, text } => {
                let host_side = self.authorise(now, actor, Capability::ManageLobby)?;
                self.message_to_lobby(now, host_side, person, text, &mut effects)?
            }
            Command::MessageToHosts { text } => {
                self.message_to_hosts(now, actor, text, &mut effects)?
            }
            Command::Admit { person } => {
                let host_side = self.authorise(now, actor, Capability::ManageLobby)?;
                self.admit(now, host_side, person, &mut effects)?
            }
            Command::Reject { person, reason } => {
                let host_side = self.authorise(now, actor, Capability::ManageLobby)?;
                self.reject(now, host_side, person, reason, &mut effects)?
            }
            Command::Hold { person, message } => {
                let host_side = self.authorise(now, actor, Capability::ManageLobby)?;
                self.hold(now, host_side, person, message, &mut effects)?
            }
            Command::Lock | Command::Unlock => {
                let host_side = self.authorise(now, actor, Capability::Lock)?;
                self.set_locked(now, host_side, command == Command::Lock, &mut effects)?
            }
            Command::Remove { person, ban } => {
                let host_side = self.authorise(now, actor, Capability::Remove)?;
                if ban {
                    self.authorise(now, actor, Capability::Ban)?;
                }
                self.remove(now, host_side, person, ban, &mut effects)?
            }
            Command::EndForAll => {
                let host_side = self.authorise(now, actor, Capability::EndForAll)?;
                self.end(now, host_side, &mut effects)
            }
            Command::SetMuted { person, muted } => {
                let host_side = self.authorise(now, actor, Capability::Mute)?;
                self.set_muted(now, host_side, person, muted, &mut effects)?
            }
            Command::SetScreenShareAllowed { person, allowed } => {
                let host_side = self.authorise(now, actor, Capability::ControlScreenShare)?;
                self.set_screen_share_allowed(now, host_side, person, allowed, &mut effects)?
            }
            Command::StopScreenShare { person } => {
                self.stop_screen_share(now, actor, person, &mut effects)?
            }
            Command::SetCoHost { person, co_host } => {
                let host_side = self.authorise(now, actor, Capability::ManageCoHosts)?;
                self.set_co_host(now, host_side, person, co_host, &mut effects)?
            }
            Command::ResetPasscodeLock => {
                let host_side = self.authorise(now, actor, Capability::ResetPasscodeLock)?;
                self.reset_passcode_lock(now, host_side, &mut effects)?
            }
            Command::StartScreenShare => self.start_screen_share(now, actor, &mut effects)?,
            Command::Leave => {
                effects.push(self.audit(
                    now,
                    self.party(actor),
                    AuditAction::Leave,
                    None,
                    AuditOutcome::Success,
                    &[],
                ));
                self.depart(actor, Exit::Left, &mut effects);
            }
            Command::ConnectionLost => self.connection_lost(now, actor, &mut effects),
            // Handled above, before the connection check.
            Command::Resume => {}
        }
        Ok(effects)
    }

    /// The next moment [`Meeting::handle_timeout`] has work: a join flow, a knock or a grace
    /// period running out. `None` when nothing is pending (or the meeting has ended).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.ended_at.is_some() {
            return None;
        }
        self.people.values().filter_map(deadline).min()
    }

    /// Expires everything due at `now`: join flows and knocks that ran out, and people whose
    /// connection stayed down past the grace period (a participant among them leaves the MLS
    /// group). Safe to call at any time, as often as wanted.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.ended_at.is_some() {
            return effects;
        }
        let due: Vec<PersonId> = self
            .people
            .iter()
            .filter(|(_, person)| deadline(person).is_some_and(|due| due <= now))
            .map(|(&id, _)| id)
            .collect();
        for person_id in due {
            let Some(person) = self.people.get(&person_id) else {
                continue;
            };
            let grace_over =
                matches!(person.link, Link::Down { grace_until } if grace_until <= now);
            if grace_over {
                effects.push(self.audit(
                    now,
                    AuditParty::System,
                    AuditAction::GraceExpired,
                    Some(self.party(person_id)),
                    AuditOutcome::Success,
                    &[],
                ));
                self.depart(person_id, Exit::ConnectionLost, &mut effects);
                continue;
            }
            let action = match person.stage {
                Stage::Joining { .. } => AuditAction::JoinExpired,
                Stage::Lobby(_) => AuditAction::KnockExpired,
                // A member's only deadline is the grace period, handled above.
                Stage::InMeeting(_) => continue,
            };
            self.notify(&mut effects, vec![person_id], Notice::Expired);
            effects.push(self.audit(
                now,
                AuditParty::System,
                action,
                Some(self.party(person_id)),
                AuditOutcome::Success,
                &[],
            ));
            self.depart(person_id, Exit::Expired, &mut effects);
        }
        effects
    }

    /// The audit record for a refused command, so that refusals are audited the same way on
    /// every path: the actor, the action they attempted, its target, and the refusal's code.
    pub fn refusal_record(
        &self,
        now: Timestamp,
        actor: PersonId,
        command: &Command,
        refusal: Refusal,
    ) -> AuditRecord {
        let target = command.target().map(|target| self.party(target));
        self.audit_record(
            now,
            self.party(actor),
            command.audit_action(),
            target,
            AuditOutcome::Denied,
            &[("refusal", refusal.code().to_owned())],
        )
    }

    /// The audit record for a refused arrival.
    pub fn arrival_refusal_record(
        &self,
        now: Timestamp,
        arrival: &Arrival,
        refusal: Refusal,
    ) -> AuditRecord {
        let identity = match &arrival.entrant {
            Entrant::Guest => None,
            Entrant::Staff(identity) => Some(identity.key.clone()),
        };
        self.audit_record(
            now,
            AuditParty::Visitor { identity },
            AuditAction::Arrive,
            None,
            AuditOutcome::Denied,
            &[("refusal", refusal.code().to_owned())],
        )
    }

    /// Where `person` stands now, as [`Notice::Resumed`] would tell them; `None` if they are not
    /// in the meeting's books.
    pub fn standing(&self, person: PersonId) -> Option<Standing> {
        let found = self.people.get(&person)?;
        Some(match &found.stage {
            Stage::Joining { progress, .. } => Standing::Joining(progress_step(progress)),
            Stage::Lobby(waiting) => Standing::Waiting {
                held: waiting.held,
                expires_at: waiting.expires_at,
            },
            Stage::InMeeting(member) => Standing::InMeeting {
                you: self.participant_view(person, found, member),
                roster: self.roster(),
                locked: self.locked,
                lobby: if member.role.is_host_side() {
                    self.lobby()
                } else {
                    Vec::new()
                },
            },
        })
    }

    /// Everyone in the meeting, by person id.
    pub fn roster(&self) -> Vec<ParticipantView> {
        self.people
            .iter()
            .filter_map(|(&id, person)| match &person.stage {
                Stage::InMeeting(member) => Some(self.participant_view(id, person, member)),
                _ => None,
            })
            .collect()
    }

    /// Everyone waiting in the lobby, by person id (expired knocks not yet swept included).
    pub fn lobby(&self) -> Vec<KnockView> {
        self.people
            .iter()
            .filter_map(|(&id, person)| match &person.stage {
                Stage::Lobby(waiting) => Some(knock_view(id, person, waiting)),
                _ => None,
            })
            .collect()
    }

    /// `person`'s role, if they are in the meeting.
    pub fn role_of(&self, person: PersonId) -> Option<Role> {
        match &self.people.get(&person)?.stage {
            Stage::InMeeting(member) => Some(member.role),
            _ => None,
        }
    }

    /// `person`'s step in the join flow, if they are in it.
    pub fn join_step_of(&self, person: PersonId) -> Option<JoinStep> {
        match &self.people.get(&person)?.stage {
            Stage::Joining { progress, .. } => Some(progress_step(progress)),
            _ => None,
        }
    }

    /// Whether `person` is waiting in the lobby.
    pub fn is_waiting(&self, person: PersonId) -> bool {
        matches!(
            self.people.get(&person).map(|found| &found.stage),
            Some(Stage::Lobby(_))
        )
    }

    /// Whether `person`'s connection is up (`None` if they are not in the meeting's books).
    pub fn is_connected(&self, person: PersonId) -> Option<bool> {
        self.people.get(&person).map(|found| found.link == Link::Up)
    }

    /// Where `person` joined from (`None` if they are not in the meeting's books).
    pub fn source_of(&self, person: PersonId) -> Option<&SourceKey> {
        self.people.get(&person).map(|found| &found.source)
    }

    /// How many people are in the meeting's books (joining, waiting or in the meeting).
    pub fn people_count(&self) -> usize {
        self.people.len()
    }

    /// Wrong passcodes counted for the whole meeting since the last reset.
    pub fn passcode_failures(&self) -> u32 {
        self.passcode.meeting_failures
    }
}

// The join flow.
impl Meeting {
    fn give_consent(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        notice_version: NoticeVersion,
        decisions: Vec<ConsentDecision>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.expect_step(actor, JoinStep::Consent)?;
        if notice_version != self.config.notice_version {
            return Err(Refusal::StaleNotice);
        }
        let answered: BTreeSet<_> = decisions.iter().map(|decision| &decision.purpose).collect();
        let complete = answered.len() == decisions.len()
            && decisions.len() == self.config.purposes.len()
            && self
                .config
                .purposes
                .iter()
                .all(|rule| answered.contains(&rule.purpose));
        if !complete {
            return Err(Refusal::ConsentIncomplete);
        }
        let required_refused = self.config.purposes.iter().any(|rule| {
            rule.required
                && decisions
                    .iter()
                    .any(|decision| decision.purpose == rule.purpose && !decision.given)
        });
        if required_refused {
            return Err(Refusal::RequiredConsentRefused);
        }

        let next = if self.config.credential == EntryCredential::LinkOnly {
            Progress::Device
        } else {
            Progress::Credential
        };
        let step = progress_step(&next);
        self.set_progress(actor, next);
        let summary = decisions
            .iter()
            .map(|decision| {
                let answer = if decision.given { "given" } else { "refused" };
                format!("{}={answer}", decision.purpose.as_str())
            })
            .collect::<Vec<_>>()
            .join(",");
        effects.push(Effect::RecordConsent {
            person: actor,
            notice_version: notice_version.clone(),
            decisions,
        });
        self.notify(effects, vec![actor], Notice::JoinStep(step));
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::Consent,
            None,
            AuditOutcome::Success,
            &[
                ("notice_version", notice_version.as_str().to_owned()),
                ("purposes", summary),
            ],
        ));
        Ok(())
    }

    fn passcode(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        verdict: PasscodeVerdict,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let person = &self.people[&actor];
        self.passcode_gate(person)?;
        let source = person.source.clone();
        match verdict {
            PasscodeVerdict::Correct => {
                self.passcode.source_failures.remove(&source);
                self.set_progress(actor, Progress::Device);
                self.notify(effects, vec![actor], Notice::JoinStep(JoinStep::Device));
                effects.push(self.audit(
                    now,
                    self.party(actor),
                    AuditAction::Passcode,
                    None,
                    AuditOutcome::Success,
                    &[],
                ));
            }
            // A wrong passcode is not a refusal: it is an attempt that happened and is counted.
            PasscodeVerdict::Wrong => {
                let limits = self.config.passcode;
                self.passcode.meeting_failures = self.passcode.meeting_failures.saturating_add(1);
                let source_count = self
                    .passcode
                    .source_failures
                    .entry(source.clone())
                    .or_insert(0);
                *source_count = source_count.saturating_add(1);
                let source_failures = *source_count;
                let meeting_failures = self.passcode.meeting_failures;
                let source_locked = source_failures >= limits.lock_after_source_failures;
                let meeting_locked = meeting_failures >= limits.lock_after_meeting_failures;
                effects.push(Effect::PasscodeFailure(PasscodeFailure {
                    source,
                    source_failures,
                    meeting_failures,
                    source_locked,
                    meeting_locked,
                }));
                self.notify(
                    effects,
                    vec![actor],
                    Notice::PasscodeWrong {
                        may_retry: !source_locked && !meeting_locked,
                    },
                );
                effects.push(self.audit(
                    now,
                    self.party(actor),
                    AuditAction::Passcode,
                    None,
                    AuditOutcome::Failure,
                    &[
                        ("source_failures", source_failures.to_string()),
                        ("meeting_failures", meeting_failures.to_string()),
                    ],
                ));
                if meeting_locked {
                    self.notify(effects, self.host_side(), Notice::PasscodeLocked);
                    effects.push(self.audit(
                        now,
                        AuditParty::System,
                        AuditAction::PasscodeLocked,
                        None,
                        AuditOutcome::Success,
                        &[("meeting_failures", meeting_failures.to_string())],
                    ));
                }
            }
        }
        Ok(())
    }

    fn prove_identity(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        identity: VerifiedIdentity,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.expect_step(actor, JoinStep::Credential)?;
        if !self.config.credential.accepts_identity_proof() {
            return Err(Refusal::CredentialNotAccepted);
        }
        if self.bans.contains(&identity.key) {
            return Err(Refusal::Banned);
        }
        let method = identity.method.as_str().to_owned();
        if let Some(person) = self.people.get_mut(&actor) {
            person.identity = Some(identity);
        }
        self.set_progress(actor, Progress::Device);
        self.notify(effects, vec![actor], Notice::JoinStep(JoinStep::Device));
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::ProveIdentity,
            None,
            AuditOutcome::Success,
            &[("method", method)],
        ));
        Ok(())
    }

    fn report_device(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        device: DeviceInfo,
        supported: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.expect_step(actor, JoinStep::Device)?;
        if !supported {
            return Err(Refusal::DeviceUnsupported);
        }
        self.set_progress(actor, Progress::Ready { device });
        self.notify(effects, vec![actor], Notice::JoinStep(JoinStep::Ready));
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::DeviceCheck,
            None,
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn knock(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        name: DisplayName,
        risk: RiskAssessment,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let device = self.ready_device(actor)?;
        self.check_entry(now, actor)?;
        if self.locked {
            return Err(Refusal::MeetingLocked);
        }
        let waiting = self
            .people
            .values()
            .filter(|person| matches!(person.stage, Stage::Lobby(_)))
            .count();
        if waiting >= self.config.limits.max_lobby {
            return Err(Refusal::LobbyFull);
        }

        let expires_at = self.capped_expiry(now, self.config.timeouts.knock_ms);
        let risk_level = risk.level.as_str().to_owned();
        let waiting = Waiting {
            name,
            device,
            risk,
            knocked_at: now,
            expires_at,
            held: false,
            messages: 0,
        };
        let person = self
            .people
            .get_mut(&actor)
            .expect("checked by ready_device");
        person.stage = Stage::Lobby(waiting.clone());
        let view = knock_view(actor, person, &waiting);
        self.notify(effects, vec![actor], Notice::Waiting { expires_at });
        self.notify(effects, self.host_side(), Notice::Knock(view));
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::Knock,
            None,
            AuditOutcome::Success,
            &[("risk", risk_level)],
        ));
        Ok(())
    }

    fn enter(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        name: DisplayName,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.ready_device(actor)?;
        self.check_entry(now, actor)?;
        let person = &self.people[&actor];
        let (role, admitted_by) = if person.staff && self.is_host_identity(person.identity.as_ref())
        {
            // Hosts enter even a locked meeting: they are the ones who can unlock it.
            (Role::Host, AdmittedBy::HostIdentity)
        } else if person.staff && self.config.bypass == LobbyBypass::Staff {
            if self.locked {
                return Err(Refusal::MeetingLocked);
            }
            (Role::Participant, AdmittedBy::StaffBypass)
        } else {
            return Err(Refusal::MustKnock);
        };
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::Enter,
            None,
            AuditOutcome::Success,
            &[
                ("role", role.as_str().to_owned()),
                ("admitted_by", admitted_by_code(admitted_by).to_owned()),
            ],
        ));
        self.join_meeting(actor, name, role, admitted_by, effects);
        Ok(())
    }
}

// The lobby.
impl Meeting {
    fn message_to_lobby(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        text: LobbyText,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.waiting(now, target)?;
        self.count_lobby_message(target)?;
        let mut to = self.host_side();
        to.extend(self.connected(target));
        self.notify(
            effects,
            to,
            Notice::LobbyMessage {
                lobby_person: target,
                from: host_side.person,
                text,
            },
        );
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::LobbyMessage,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[("direction", "to_lobby".to_owned())],
        ));
        Ok(())
    }

    fn message_to_hosts(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        text: LobbyText,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.waiting(now, actor)?;
        self.count_lobby_message(actor)?;
        let mut to = self.host_side();
        to.push(actor);
        self.notify(
            effects,
            to,
            Notice::LobbyMessage {
                lobby_person: actor,
                from: actor,
                text,
            },
        );
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::LobbyMessage,
            None,
            AuditOutcome::Success,
            &[("direction", "to_hosts".to_owned())],
        ));
        Ok(())
    }

    fn admit(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let waiting = self.waiting(now, target)?;
        let name = waiting.name.clone();
        if self.identity_banned(target) {
            return Err(Refusal::Banned);
        }
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::Admit,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[("by_role", host_side.role.as_str().to_owned())],
        ));
        self.notify(
            effects,
            self.host_side(),
            Notice::KnockClosed {
                person: target,
                outcome: KnockOutcome::Admitted {
                    by: host_side.person,
                },
            },
        );
        self.join_meeting(
            target,
            name,
            Role::Participant,
            AdmittedBy::HostSide(host_side.person),
            effects,
        );
        Ok(())
    }

    fn reject(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        reason: ReasonText,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.waiting(now, target)?;
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::Reject,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[],
        ));
        self.notify(effects, self.connected(target), Notice::Rejected { reason });
        self.depart(
            target,
            Exit::Rejected {
                by: host_side.person,
            },
            effects,
        );
        Ok(())
    }

    fn hold(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        message: ReasonText,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.waiting(now, target)?;
        let expires_at = self.capped_expiry(now, self.config.timeouts.knock_ms);
        if let Some(Stage::Lobby(waiting)) = self.people.get_mut(&target).map(|p| &mut p.stage) {
            waiting.held = true;
            waiting.expires_at = expires_at;
        }
        self.notify(
            effects,
            self.connected(target),
            Notice::Held {
                message,
                expires_at,
            },
        );
        self.notify(
            effects,
            self.host_side(),
            Notice::KnockHeld {
                person: target,
                by: host_side.person,
                expires_at,
            },
        );
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::Hold,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }
}

// Host controls.
impl Meeting {
    fn set_locked(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        locked: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if self.locked == locked {
            return Err(Refusal::NothingToChange);
        }
        self.locked = locked;
        self.notify(effects, self.in_meeting(), Notice::LockChanged { locked });
        let action = if locked {
            AuditAction::Lock
        } else {
            AuditAction::Unlock
        };
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            action,
            None,
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn remove(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        ban: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        self.member_target(now, host_side, target)?;
        let banned_key = if ban {
            let identity = self.people[&target]
                .identity
                .as_ref()
                .ok_or(Refusal::BanNeedsIdentity)?;
            if self.config.hosts.contains(&identity.key) {
                return Err(Refusal::TargetProtected);
            }
            Some(identity.key.clone())
        } else {
            None
        };

        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::Remove,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[("ban", ban.to_string())],
        ));
        if ban {
            effects.push(self.audit(
                now,
                self.party(host_side.person),
                AuditAction::Ban,
                Some(self.party(target)),
                AuditOutcome::Success,
                &[],
            ));
        }
        self.notify(
            effects,
            self.connected(target),
            Notice::Removed { banned: ban },
        );
        self.removed.insert(target);
        self.depart(target, Exit::Removed, effects);

        if let Some(key) = banned_key {
            // The same identity on another device, in the lobby or still joining, goes too.
            let others: Vec<PersonId> = self
                .people
                .iter()
                .filter(|(_, person)| {
                    person
                        .identity
                        .as_ref()
                        .is_some_and(|identity| identity.key == key)
                })
                .map(|(&id, _)| id)
                .collect();
            self.bans.insert(key);
            for other in others {
                self.notify(
                    effects,
                    self.connected(other),
                    Notice::Removed { banned: true },
                );
                self.removed.insert(other);
                self.depart(other, Exit::Banned, effects);
            }
        }
        Ok(())
    }

    fn end(&mut self, now: Timestamp, host_side: HostSide, effects: &mut Vec<Effect>) {
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::End,
            None,
            AuditOutcome::Success,
            &[("people", self.people.len().to_string())],
        ));
        let connected: Vec<PersonId> = self
            .people
            .iter()
            .filter(|(_, person)| person.link == Link::Up)
            .map(|(&id, _)| id)
            .collect();
        self.notify(effects, connected, Notice::MeetingEnded);
        for &person in self.people.keys() {
            effects.push(Effect::Close {
                person,
                reason: CloseReason::Ended,
            });
        }
        effects.push(Effect::Media(MediaInstruction::EndSession));
        effects.push(Effect::Mls(MlsInstruction::EndGroup));
        self.people.clear();
        self.ended_at = Some(now);
    }

    fn set_muted(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        muted: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let member = self.member_target(now, host_side, target)?;
        if member.muted_by_host == muted {
            return Err(Refusal::NothingToChange);
        }
        self.member_mut(target).muted_by_host = muted;
        effects.push(Effect::Media(MediaInstruction::Audio {
            person: target,
            forward: !muted,
        }));
        self.notify(
            effects,
            self.in_meeting(),
            Notice::MuteChanged {
                person: target,
                muted_by_host: muted,
            },
        );
        let action = if muted {
            AuditAction::Mute
        } else {
            AuditAction::Unmute
        };
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            action,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn set_screen_share_allowed(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        allowed: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let member = self.member_target(now, host_side, target)?;
        if member.screen_share_allowed == allowed {
            return Err(Refusal::NothingToChange);
        }
        let member = self.member_mut(target);
        member.screen_share_allowed = allowed;
        let stop = member.sharing && !member.may_share();
        if stop {
            member.sharing = false;
            effects.push(Effect::Media(MediaInstruction::ScreenShare {
                person: target,
                forward: false,
            }));
        }
        self.notify_screen_share(target, effects);
        let action = if allowed {
            AuditAction::ScreenShareAllow
        } else {
            AuditAction::ScreenShareDeny
        };
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            action,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[("stopped_share", stop.to_string())],
        ));
        Ok(())
    }

    fn stop_screen_share(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        target: PersonId,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let sharing = if target == actor {
            self.own_member(actor)?.sharing
        } else {
            let host_side = self.authorise(now, actor, Capability::ControlScreenShare)?;
            self.member_target(now, host_side, target)?.sharing
        };
        if !sharing {
            return Err(Refusal::NotSharing);
        }
        self.member_mut(target).sharing = false;
        effects.push(Effect::Media(MediaInstruction::ScreenShare {
            person: target,
            forward: false,
        }));
        self.notify_screen_share(target, effects);
        let target_party = (target != actor).then(|| self.party(target));
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::ScreenShareStop,
            target_party,
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn start_screen_share(
        &mut self,
        now: Timestamp,
        actor: PersonId,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let member = self.own_member(actor)?;
        if member.sharing {
            return Err(Refusal::NothingToChange);
        }
        if !member.may_share() {
            return Err(Refusal::ScreenShareNotAllowed);
        }
        let someone_else_sharing = self
            .people
            .values()
            .any(|person| matches!(&person.stage, Stage::InMeeting(other) if other.sharing));
        if someone_else_sharing {
            return Err(Refusal::ScreenShareInUse);
        }
        self.member_mut(actor).sharing = true;
        effects.push(Effect::Media(MediaInstruction::ScreenShare {
            person: actor,
            forward: true,
        }));
        self.notify_screen_share(actor, effects);
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::ScreenShareStart,
            None,
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn set_co_host(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
        co_host: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let member = self.member_target(now, host_side, target)?;
        let new_role = if co_host {
            Role::CoHost
        } else {
            Role::Participant
        };
        if member.role == new_role {
            return Err(Refusal::NothingToChange);
        }
        if co_host && self.config.co_hosts_must_be_staff && !self.people[&target].staff {
            return Err(Refusal::CoHostMustBeStaff);
        }

        let member = self.member_mut(target);
        member.role = new_role;
        // Losing the role loses its rights at once, including a share only the role allowed.
        let stop = member.sharing && !member.may_share();
        if stop {
            member.sharing = false;
            effects.push(Effect::Media(MediaInstruction::ScreenShare {
                person: target,
                forward: false,
            }));
        }
        effects.push(Effect::Mls(MlsInstruction::CommitRights {
            person: target,
            may_commit_adds: co_host,
        }));
        self.notify(
            effects,
            self.in_meeting(),
            Notice::RoleChanged {
                person: target,
                role: new_role,
            },
        );
        if stop {
            self.notify_screen_share(target, effects);
        }
        if co_host {
            self.notify(effects, self.connected(target), Notice::Lobby(self.lobby()));
        }
        let action = if co_host {
            AuditAction::CoHostPromote
        } else {
            AuditAction::CoHostDemote
        };
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            action,
            Some(self.party(target)),
            AuditOutcome::Success,
            &[],
        ));
        Ok(())
    }

    fn reset_passcode_lock(
        &mut self,
        now: Timestamp,
        host_side: HostSide,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if self.passcode == PasscodeState::default() {
            return Err(Refusal::NothingToChange);
        }
        let failures = self.passcode.meeting_failures;
        let was_locked = self.is_passcode_locked();
        self.passcode = PasscodeState::default();
        if was_locked {
            self.notify(effects, self.host_side(), Notice::PasscodeUnlocked);
        }
        effects.push(self.audit(
            now,
            self.party(host_side.person),
            AuditAction::PasscodeReset,
            None,
            AuditOutcome::Success,
            &[
                ("meeting_failures", failures.to_string()),
                ("was_locked", was_locked.to_string()),
            ],
        ));
        Ok(())
    }
}

// Connections.
impl Meeting {
    fn connection_lost(&mut self, now: Timestamp, actor: PersonId, effects: &mut Vec<Effect>) {
        let grace_until = now.plus_ms(self.config.timeouts.resume_grace_ms);
        let person = self.people.get_mut(&actor).expect("checked by actor()");
        person.link = Link::Down { grace_until };
        let mut share_stopped = false;
        let in_meeting = match &mut person.stage {
            Stage::InMeeting(member) => {
                // Nothing can flow from a dropped connection; a share must be started again.
                share_stopped = member.sharing;
                member.sharing = false;
                true
            }
            _ => false,
        };
        let in_lobby = matches!(person.stage, Stage::Lobby(_));
        if share_stopped {
            effects.push(Effect::Media(MediaInstruction::ScreenShare {
                person: actor,
                forward: false,
            }));
            self.notify_screen_share(actor, effects);
        }
        let notice = Notice::ConnectionChanged {
            person: actor,
            connected: false,
        };
        if in_meeting {
            self.notify(effects, self.in_meeting(), notice);
        } else if in_lobby {
            self.notify(effects, self.host_side(), notice);
        }
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::ConnectionLost,
            None,
            AuditOutcome::Success,
            &[],
        ));
    }

    fn resume(&mut self, now: Timestamp, actor: PersonId) -> Result<Vec<Effect>, Refusal> {
        let person = self.present(now, actor)?;
        if person.link == Link::Up {
            return Err(Refusal::AlreadyConnected);
        }
        let in_meeting = matches!(person.stage, Stage::InMeeting(_));
        let in_lobby = matches!(person.stage, Stage::Lobby(_));
        if let Some(person) = self.people.get_mut(&actor) {
            person.link = Link::Up;
        }
        let mut effects = Vec::new();
        let others_notice = Notice::ConnectionChanged {
            person: actor,
            connected: true,
        };
        if in_meeting {
            let others = self
                .in_meeting()
                .into_iter()
                .filter(|&id| id != actor)
                .collect();
            self.notify(&mut effects, others, others_notice);
        } else if in_lobby {
            self.notify(&mut effects, self.host_side(), others_notice);
        }
        if let Some(standing) = self.standing(actor) {
            self.notify(&mut effects, vec![actor], Notice::Resumed(standing));
        }
        effects.push(self.audit(
            now,
            self.party(actor),
            AuditAction::Resume,
            None,
            AuditOutcome::Success,
            &[],
        ));
        Ok(effects)
    }
}

// Helpers: checks (no changes).
impl Meeting {
    fn check_open(&self) -> Result<(), Refusal> {
        match self.ended_at {
            Some(_) => Err(Refusal::MeetingEnded),
            None => Ok(()),
        }
    }

    /// `id` is in the books and nothing of theirs has run out at `now`.
    fn present(&self, now: Timestamp, id: PersonId) -> Result<&Person, Refusal> {
        if self.removed.contains(&id) {
            return Err(Refusal::Removed);
        }
        let person = self.people.get(&id).ok_or(Refusal::NotPresent)?;
        if let Link::Down { grace_until } = person.link {
            if grace_until <= now {
                return Err(Refusal::GraceExpired);
            }
        }
        match &person.stage {
            Stage::Joining { expires_at, .. } if *expires_at <= now => Err(Refusal::JoinExpired),
            Stage::Lobby(waiting) if waiting.expires_at <= now => Err(Refusal::KnockExpired),
            _ => Ok(person),
        }
    }

    /// `id` is present and connected: they can act.
    fn actor(&self, now: Timestamp, id: PersonId) -> Result<&Person, Refusal> {
        let person = self.present(now, id)?;
        match person.link {
            Link::Up => Ok(person),
            Link::Down { .. } => Err(Refusal::NotConnected),
        }
    }

    /// The proof that `id` may use `capability` now. The role is read now, so a demotion
    /// applies to the very next command.
    fn authorise(
        &self,
        now: Timestamp,
        id: PersonId,
        capability: Capability,
    ) -> Result<HostSide, Refusal> {
        let person = self.actor(now, id)?;
        match &person.stage {
            Stage::InMeeting(member) if member.role.may(capability) => Ok(HostSide {
                person: id,
                role: member.role,
            }),
            _ => Err(Refusal::NotPermitted { capability }),
        }
    }

    /// A member of the meeting the host side may act on: present, not the actor, and not
    /// protected by their role (hosts are nobody's target; a co-host is not a co-host's).
    fn member_target(
        &self,
        now: Timestamp,
        host_side: HostSide,
        target: PersonId,
    ) -> Result<&Member, Refusal> {
        if target == host_side.person {
            return Err(Refusal::SelfTarget);
        }
        let person = self.present(now, target)?;
        let Stage::InMeeting(member) = &person.stage else {
            return Err(Refusal::NotInMeeting);
        };
        if member.role == Role::Host
            || (member.role == Role::CoHost && host_side.role != Role::Host)
        {
            return Err(Refusal::TargetProtected);
        }
        Ok(member)
    }

    fn own_member(&self, actor: PersonId) -> Result<&Member, Refusal> {
        match self.people.get(&actor).map(|person| &person.stage) {
            Some(Stage::InMeeting(member)) => Ok(member),
            _ => Err(Refusal::NotInMeeting),
        }
    }

    fn waiting(&self, now: Timestamp, target: PersonId) -> Result<&Waiting, Refusal> {
        match &self.present(now, target)?.stage {
            Stage::Lobby(waiting) => Ok(waiting),
            _ => Err(Refusal::NotInLobby),
        }
    }

    fn count_lobby_message(&mut self, lobby_person: PersonId) -> Result<(), Refusal> {
        let limit = self.config.limits.max_lobby_messages;
        match self
            .people
            .get_mut(&lobby_person)
            .map(|person| &mut person.stage)
        {
            Some(Stage::Lobby(waiting)) if waiting.messages < limit => {
                waiting.messages += 1;
                Ok(())
            }
            Some(Stage::Lobby(_)) => Err(Refusal::LobbyMessageLimit),
            _ => Err(Refusal::NotInLobby),
        }
    }

    fn expect_step(&self, actor: PersonId, expected: JoinStep) -> Result<(), Refusal> {
        match self.people.get(&actor).map(|person| &person.stage) {
            Some(Stage::Joining { progress, .. }) => {
                let at = progress_step(progress);
                if at == expected {
                    Ok(())
                } else {
                    Err(Refusal::WrongStep { at })
                }
            }
            _ => Err(Refusal::NotJoining),
        }
    }

    fn ready_device(&self, actor: PersonId) -> Result<DeviceInfo, Refusal> {
        match self.people.get(&actor).map(|person| &person.stage) {
            Some(Stage::Joining {
                progress: Progress::Ready { device },
                ..
            }) => Ok(device.clone()),
            Some(Stage::Joining { progress, .. }) => Err(Refusal::WrongStep {
                at: progress_step(progress),
            }),
            _ => Err(Refusal::NotJoining),
        }
    }

    /// What every way in (a knock, a direct entry) needs besides its own rules.
    fn check_entry(&self, now: Timestamp, actor: PersonId) -> Result<(), Refusal> {
        if !self.config.window.contains(now) {
            return Err(Refusal::OutsideWindow);
        }
        if self.identity_banned(actor) {
            return Err(Refusal::Banned);
        }
        Ok(())
    }

    fn passcode_gate(&self, person: &Person) -> Result<(), Refusal> {
        match &person.stage {
            Stage::Joining { progress, .. } => {
                let at = progress_step(progress);
                if at != JoinStep::Credential {
                    return Err(Refusal::WrongStep { at });
                }
            }
            _ => return Err(Refusal::NotJoining),
        }
        if !self.config.credential.accepts_passcode() {
            return Err(Refusal::CredentialNotAccepted);
        }
        if self.is_passcode_locked() {
            return Err(Refusal::PasscodeLocked);
        }
        let source_failures = self
            .passcode
            .source_failures
            .get(&person.source)
            .copied()
            .unwrap_or(0);
        if source_failures >= self.config.passcode.lock_after_source_failures {
            return Err(Refusal::SourceLocked);
        }
        Ok(())
    }

    fn identity_banned(&self, person: PersonId) -> bool {
        self.people
            .get(&person)
            .and_then(|found| found.identity.as_ref())
            .is_some_and(|identity| self.bans.contains(&identity.key))
    }

    fn is_host_identity(&self, identity: Option<&VerifiedIdentity>) -> bool {
        identity.is_some_and(|identity| self.config.hosts.contains(&identity.key))
    }

    /// `now + ms`, but never past the end of the window: nothing the link started outlives it.
    fn capped_expiry(&self, now: Timestamp, ms: i64) -> Timestamp {
        now.plus_ms(ms).min(self.config.window.end())
    }
}

// Helpers: changes and outputs.
impl Meeting {
    fn set_progress(&mut self, actor: PersonId, next: Progress) {
        if let Some(Stage::Joining { progress, .. }) =
            self.people.get_mut(&actor).map(|person| &mut person.stage)
        {
            *progress = next;
        }
    }

    fn member_mut(&mut self, id: PersonId) -> &mut Member {
        match self.people.get_mut(&id).map(|person| &mut person.stage) {
            Some(Stage::InMeeting(member)) => member,
            // Every caller checked that `id` is a member in this same call.
            _ => unreachable!("member_mut on a person who is not a member"),
        }
    }

    /// Moves `person` into the meeting and tells everyone, the MLS delivery service included.
    fn join_meeting(
        &mut self,
        person: PersonId,
        name: DisplayName,
        role: Role,
        admitted_by: AdmittedBy,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(found) = self.people.get_mut(&person) {
            found.stage = Stage::InMeeting(Member {
                name,
                role,
                muted_by_host: false,
                screen_share_allowed: false,
                sharing: false,
            });
        }
        effects.push(Effect::Mls(MlsInstruction::AcceptAdd {
            person,
            admitted_by,
        }));
        if role.is_host_side() {
            effects.push(Effect::Mls(MlsInstruction::CommitRights {
                person,
                may_commit_adds: true,
            }));
        }
        if let Some(standing) = self.standing(person) {
            self.notify(effects, self.connected(person), Notice::Admitted(standing));
        }
        let others: Vec<PersonId> = self
            .in_meeting()
            .into_iter()
            .filter(|&id| id != person)
            .collect();
        if let Some(view) = self.roster().into_iter().find(|view| view.person == person) {
            self.notify(effects, others, Notice::ParticipantJoined(view));
        }
    }

    /// Takes `person` off the books, with what their going means for everyone else. Notices to
    /// the person themselves are the caller's, sent before this.
    fn depart(&mut self, person: PersonId, exit: Exit, effects: &mut Vec<Effect>) {
        let Some(found) = self.people.remove(&person) else {
            return;
        };
        match found.stage {
            Stage::InMeeting(_) => {
                let departure = match exit {
                    Exit::Left => Departure::Left,
                    Exit::Removed => Departure::Removed,
                    Exit::Banned => Departure::Banned,
                    Exit::ConnectionLost | Exit::Rejected { .. } | Exit::Expired => {
                        Departure::ConnectionLost
                    }
                };
                effects.push(Effect::Media(MediaInstruction::Disconnect { person }));
                effects.push(Effect::Mls(MlsInstruction::Remove { person, departure }));
                self.notify(
                    effects,
                    self.in_meeting(),
                    Notice::ParticipantLeft { person, departure },
                );
            }
            Stage::Lobby(_) => {
                let outcome = match exit {
                    Exit::Left | Exit::Removed => KnockOutcome::Withdrawn,
                    Exit::Banned => KnockOutcome::Banned,
                    Exit::ConnectionLost => KnockOutcome::ConnectionLost,
                    Exit::Rejected { by } => KnockOutcome::Rejected { by },
                    Exit::Expired => KnockOutcome::Expired,
                };
                self.notify(
                    effects,
                    self.host_side(),
                    Notice::KnockClosed { person, outcome },
                );
            }
            Stage::Joining { .. } => {}
        }
        let reason = match exit {
            Exit::Left => CloseReason::Left,
            Exit::Removed => CloseReason::Removed,
            Exit::Banned => CloseReason::Banned,
            Exit::ConnectionLost | Exit::Expired => CloseReason::Expired,
            Exit::Rejected { .. } => CloseReason::Rejected,
        };
        effects.push(Effect::Close { person, reason });
    }

    fn notify_screen_share(&self, person: PersonId, effects: &mut Vec<Effect>) {
        if let Some(Stage::InMeeting(member)) = self.people.get(&person).map(|p| &p.stage) {
            let notice = Notice::ScreenShareChanged {
                person,
                allowed: member.may_share(),
                sharing: member.sharing,
            };
            self.notify(effects, self.in_meeting(), notice);
        }
    }

    /// Pushes a notice for `to` (deduplicated and sorted); nothing if nobody is to hear it.
    fn notify(&self, effects: &mut Vec<Effect>, mut to: Vec<PersonId>, notice: Notice) {
        to.sort_unstable();
        to.dedup();
        if !to.is_empty() {
            effects.push(Effect::Notify { to, notice });
        }
    }

    /// Connected members of the meeting.
    fn in_meeting(&self) -> Vec<PersonId> {
        self.people
            .iter()
            .filter(|(_, person)| {
                person.link == Link::Up && matches!(person.stage, Stage::InMeeting(_))
            })
            .map(|(&id, _)| id)
            .collect()
    }

    /// Connected hosts and co-hosts: who sees the lobby.
    fn host_side(&self) -> Vec<PersonId> {
        self.people
            .iter()
            .filter(|(_, person)| {
                person.link == Link::Up
                    && matches!(&person.stage, Stage::InMeeting(member) if member.role.is_host_side())
            })
            .map(|(&id, _)| id)
            .collect()
    }

    /// `[id]` if their connection is up, else nobody.
    fn connected(&self, id: PersonId) -> Vec<PersonId> {
        match self.people.get(&id) {
            Some(person) if person.link == Link::Up => vec![id],
            _ => Vec::new(),
        }
    }

    fn party(&self, id: PersonId) -> AuditParty {
        AuditParty::Person {
            person: id,
            identity: self
                .people
                .get(&id)
                .and_then(|person| person.identity.as_ref())
                .map(|identity| identity.key.clone()),
        }
    }

    fn audit(
        &self,
        now: Timestamp,
        actor: AuditParty,
        action: AuditAction,
        target: Option<AuditParty>,
        outcome: AuditOutcome,
        details: &[(&'static str, String)],
    ) -> Effect {
        Effect::Audit(self.audit_record(now, actor, action, target, outcome, details))
    }

    fn audit_record(
        &self,
        now: Timestamp,
        actor: AuditParty,
        action: AuditAction,
        target: Option<AuditParty>,
        outcome: AuditOutcome,
        details: &[(&'static str, String)],
    ) -> AuditRecord {
        AuditRecord {
            at: now,
            meeting: self.id,
            actor,
            action,
            target,
            outcome,
            details: details.iter().cloned().collect(),
        }
    }

    fn participant_view(&self, id: PersonId, person: &Person, member: &Member) -> ParticipantView {
        ParticipantView {
            person: id,
            name: member.name.clone(),
            verified: person.identity.is_some(),
            role: member.role,
            muted_by_host: member.muted_by_host,
            screen_share_allowed: member.may_share(),
            sharing: member.sharing,
            connected: person.link == Link::Up,
        }
    }
}

impl Member {
    /// Host-side roles may always share; participants when allowed.
    fn may_share(&self) -> bool {
        self.role.is_host_side() || self.screen_share_allowed
    }
}

impl fmt::Debug for Meeting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Meeting")
            .field("id", &self.id)
            .field("people", &self.people.len())
            .field("locked", &self.locked)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

fn progress_step(progress: &Progress) -> JoinStep {
    match progress {
        Progress::Consent => JoinStep::Consent,
        Progress::Credential => JoinStep::Credential,
        Progress::Device => JoinStep::Device,
        Progress::Ready { .. } => JoinStep::Ready,
    }
}

/// The earliest moment something of `person`'s runs out, if anything can.
fn deadline(person: &Person) -> Option<Timestamp> {
    let stage_deadline = match &person.stage {
        Stage::Joining { expires_at, .. } => Some(*expires_at),
        Stage::Lobby(waiting) => Some(waiting.expires_at),
        Stage::InMeeting(_) => None,
    };
    let link_deadline = match person.link {
        Link::Up => None,
        Link::Down { grace_until } => Some(grace_until),
    };
    match (stage_deadline, link_deadline) {
        (Some(stage), Some(link)) => Some(stage.min(link)),
        (only, None) | (None, only) => only,
    }
}

fn knock_view(id: PersonId, person: &Person, waiting: &Waiting) -> KnockView {
    KnockView {
        person: id,
        name_given: waiting.name.clone(),
        identity: person.identity.as_ref().map(|identity| IdentityView {
            method: identity.method,
            verified_name: identity.verified_name.clone(),
            personal_number: identity.personal_number.clone(),
        }),
        staff: person.staff,
        device: waiting.device.clone(),
        risk: waiting.risk.clone(),
        knocked_at: waiting.knocked_at,
        expires_at: waiting.expires_at,
        held: waiting.held,
        connected: person.link == Link::Up,
    }
}

fn admitted_by_code(admitted_by: AdmittedBy) -> &'static str {
    match admitted_by {
        AdmittedBy::HostSide(_) => "host_side",
        AdmittedBy::HostIdentity => "host_identity",
        AdmittedBy::StaffBypass => "staff_bypass",
    }
}
