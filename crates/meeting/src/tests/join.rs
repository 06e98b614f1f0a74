//! The join flow: arrival at the link, consent, passcode or identity proof, device check, knock or
//! direct entry; its transitions, its refusals, and passcode guessing.

use super::*;
use crate::{AuditAction, JoinStep, PasscodeFailure};

#[test]
fn join_flow_transitions() {
    type Check = fn(&mut World);
    let rows: &[(&str, Check)] = &[
        ("a guest arrives at the consent step", |world| {
            let person = world.arrive_guest("ip:a");
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Consent));
        }),
        (
            "consent leads to the credential step and into the register",
            |world| {
                let person = world.arrive_guest("ip:a");
                let effects = world.ok(person, consent(true));
                assert_eq!(
                    world.meeting.join_step_of(person),
                    Some(JoinStep::Credential)
                );
                assert!(effects.iter().any(|effect| matches!(
                effect,
                Effect::RecordConsent { person: p, decisions, .. } if *p == person && decisions.len() == 2
            )));
                assert_eq!(audited(&effects), vec![AuditAction::Consent]);
            },
        ),
        ("an optional purpose may be refused", |world| {
            let person = world.arrive_guest("ip:a");
            world.ok(person, consent(false));
        }),
        ("a link-only meeting skips the credential step", |world| {
            *world = World::with(MeetingConfig {
                credential: EntryCredential::LinkOnly,
                ..config()
            });
            let person = world.arrive_guest("ip:a");
            world.ok(person, consent(false));
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Device));
        }),
        ("the right passcode leads to the device check", |world| {
            let person = world.arrive_guest("ip:a");
            world.ok(person, consent(false));
            world.ok(person, Command::Passcode(PasscodeVerdict::Correct));
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Device));
        }),
        ("an identity proof leads to the device check", |world| {
            let person = world.arrive_guest("ip:a");
            world.ok(person, consent(false));
            world.ok(
                person,
                Command::ProveIdentity(customer_identity("eid:anna")),
            );
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Device));
        }),
        ("a supported device makes the person ready", |world| {
            let person = world.guest_ready("ip:a");
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Ready));
        }),
        (
            "a knock puts the person in the lobby and shows the host side who it is",
            |world| {
                let host = world.host();
                let person = world.verified_guest_ready("eid:anna");
                let effects = world.ok(person, knock("Anna"));
                assert!(world.meeting.is_waiting(person));
                let shown = notices_for(&effects, host);
                let [Notice::Knock(view)] = shown.as_slice() else {
                    panic!("the host sees the knock: {shown:?}");
                };
                assert_eq!(view.name_given, name("Anna"));
                let identity = view.identity.as_ref().expect("verified");
                assert_eq!(
                    identity
                        .personal_number
                        .as_ref()
                        .map(|number| number.as_str()),
                    Some("19850412-****")
                );
                assert_eq!(view.device, device());
                assert!(matches!(
                    notices_for(&effects, person).as_slice(),
                    [Notice::Waiting { .. }]
                ));
            },
        ),
        ("staff arrive at the device check", |world| {
            let person = world.arrive_staff("staff:colleague");
            assert_eq!(world.meeting.join_step_of(person), Some(JoinStep::Device));
        }),
        ("a host enters directly and may commit Adds", |world| {
            let host = world.staff_ready(HOST_KEY);
            let effects = world.ok(host, Command::Enter { name: name("Host") });
            assert_eq!(world.meeting.role_of(host), Some(Role::Host));
            assert_eq!(
                mls(&effects),
                vec![
                    MlsInstruction::AcceptAdd {
                        person: host,
                        admitted_by: AdmittedBy::HostIdentity
                    },
                    MlsInstruction::CommitRights {
                        person: host,
                        may_commit_adds: true
                    },
                ]
            );
        }),
        ("a host enters a locked meeting", |world| {
            let host = world.host();
            world.ok(host, Command::Lock);
            let second = world.staff_ready(HOST_KEY);
            world.ok(
                second,
                Command::Enter {
                    name: name("Host again"),
                },
            );
            assert_eq!(world.meeting.role_of(second), Some(Role::Host));
        }),
        ("staff enter directly when the meeting allows it", |world| {
            *world = World::with(MeetingConfig {
                bypass: LobbyBypass::Staff,
                ..config()
            });
            let colleague = world.staff_ready("staff:colleague");
            let effects = world.ok(
                colleague,
                Command::Enter {
                    name: name("Colleague"),
                },
            );
            assert_eq!(world.meeting.role_of(colleague), Some(Role::Participant));
            assert_eq!(
                mls(&effects),
                vec![MlsInstruction::AcceptAdd {
                    person: colleague,
                    admitted_by: AdmittedBy::StaffBypass
                }]
            );
        }),
        ("staff knock like everyone else by default", |world| {
            let colleague = world.staff_ready("staff:colleague");
            world.ok(colleague, knock("Colleague"));
            assert!(world.meeting.is_waiting(colleague));
        }),
        ("a join flow that runs out of time is closed", |world| {
            let person = world.arrive_guest("ip:a");
            world.advance(Timeouts::default().join_ms);
            let effects = world.tick();
            assert_eq!(world.meeting.join_step_of(person), None);
            assert_eq!(audited(&effects), vec![AuditAction::JoinExpired]);
            assert!(effects.contains(&Effect::Close {
                person,
                reason: crate::CloseReason::Expired
            }));
        }),
        ("a guest may leave the join flow", |world| {
            let person = world.arrive_guest("ip:a");
            world.ok(person, Command::Leave);
            assert_eq!(world.meeting.people_count(), 0);
        }),
    ];
    for (row, check) in rows {
        let mut world = World::new();
        check(&mut world);
        assert!(world.steps > 0, "row {row:?} did nothing");
    }
}

#[test]
fn join_flow_refusals() {
    run_refusals(&[
        (
            "consent to an old notice",
            |world| {
                let person = world.arrive_guest("ip:a");
                let command = Command::GiveConsent {
                    notice_version: NoticeVersion::parse("2024-12").expect("valid"),
                    decisions: vec![],
                };
                (person, command)
            },
            Refusal::StaleNotice,
        ),
        (
            "consent with a purpose unanswered",
            |world| {
                let person = world.arrive_guest("ip:a");
                let command = Command::GiveConsent {
                    notice_version: notice(),
                    decisions: vec![ConsentDecision {
                        purpose: purpose("meeting"),
                        given: true,
                    }],
                };
                (person, command)
            },
            Refusal::ConsentIncomplete,
        ),
        (
            "consent answering a purpose twice",
            |world| {
                let person = world.arrive_guest("ip:a");
                let answer = ConsentDecision {
                    purpose: purpose("meeting"),
                    given: true,
                };
                let command = Command::GiveConsent {
                    notice_version: notice(),
                    decisions: vec![answer.clone(), answer],
                };
                (person, command)
            },
            Refusal::ConsentIncomplete,
        ),
        (
            "consent to a purpose not on the notice",
            |world| {
                let person = world.arrive_guest("ip:a");
                let command = Command::GiveConsent {
                    notice_version: notice(),
                    decisions: vec![
                        ConsentDecision {
                            purpose: purpose("meeting"),
                            given: true,
                        },
                        ConsentDecision {
                            purpose: purpose("marketing"),
                            given: true,
                        },
                    ],
                };
                (person, command)
            },
            Refusal::ConsentIncomplete,
        ),
        (
            "consent refusing the required purpose",
            |world| {
                let person = world.arrive_guest("ip:a");
                let command = Command::GiveConsent {
                    notice_version: notice(),
                    decisions: vec![
                        ConsentDecision {
                            purpose: purpose("meeting"),
                            given: false,
                        },
                        ConsentDecision {
                            purpose: purpose("recording"),
                            given: true,
                        },
                    ],
                };
                (person, command)
            },
            Refusal::RequiredConsentRefused,
        ),
        (
            "consent twice",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                (person, consent(true))
            },
            Refusal::WrongStep {
                at: JoinStep::Credential,
            },
        ),
        (
            "a passcode before consent",
            |world| {
                let person = world.arrive_guest("ip:a");
                (person, Command::Passcode(PasscodeVerdict::Correct))
            },
            Refusal::WrongStep {
                at: JoinStep::Consent,
            },
        ),
        (
            "a device report before the credential",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                (
                    person,
                    Command::ReportDevice {
                        device: device(),
                        supported: true,
                    },
                )
            },
            Refusal::WrongStep {
                at: JoinStep::Credential,
            },
        ),
        (
            "a knock before the device check",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                world.ok(person, Command::Passcode(PasscodeVerdict::Correct));
                (person, knock("Anna"))
            },
            Refusal::WrongStep {
                at: JoinStep::Device,
            },
        ),
        (
            "a passcode on an identity-only meeting",
            |world| {
                *world = World::with(MeetingConfig {
                    credential: EntryCredential::IdentityProof,
                    ..config()
                });
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                (person, Command::Passcode(PasscodeVerdict::Correct))
            },
            Refusal::CredentialNotAccepted,
        ),
        (
            "an identity proof on a passcode-only meeting",
            |world| {
                *world = World::with(MeetingConfig {
                    credential: EntryCredential::Passcode,
                    ..config()
                });
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                (
                    person,
                    Command::ProveIdentity(customer_identity("eid:anna")),
                )
            },
            Refusal::CredentialNotAccepted,
        ),
        (
            "an unsupported device",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                world.ok(person, Command::Passcode(PasscodeVerdict::Correct));
                (
                    person,
                    Command::ReportDevice {
                        device: device(),
                        supported: false,
                    },
                )
            },
            Refusal::DeviceUnsupported,
        ),
        (
            "a knock on a locked meeting",
            |world| {
                let host = world.host();
                let person = world.guest_ready("ip:a");
                world.ok(host, Command::Lock);
                (person, knock("Anna"))
            },
            Refusal::MeetingLocked,
        ),
        (
            "a knock on a full lobby",
            |world| {
                *world = World::with(MeetingConfig {
                    limits: Limits {
                        max_lobby: 1,
                        ..Limits::default()
                    },
                    ..config()
                });
                world.guest_waiting("first");
                let person = world.guest_ready("ip:second");
                (person, knock("Second"))
            },
            Refusal::LobbyFull,
        ),
        (
            "knocking twice",
            |world| {
                let person = world.guest_waiting("anna");
                (person, knock("Anna"))
            },
            Refusal::NotJoining,
        ),
        (
            "a guest entering without the lobby",
            |world| {
                let person = world.guest_ready("ip:a");
                (person, Command::Enter { name: name("Anna") })
            },
            Refusal::MustKnock,
        ),
        (
            "another staff member entering without the lobby",
            |world| {
                let person = world.staff_ready("staff:colleague");
                (
                    person,
                    Command::Enter {
                        name: name("Colleague"),
                    },
                )
            },
            Refusal::MustKnock,
        ),
        (
            "a customer whose identity key is a host's entering as host",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                world.ok(person, Command::ProveIdentity(customer_identity(HOST_KEY)));
                world.ok(
                    person,
                    Command::ReportDevice {
                        device: device(),
                        supported: true,
                    },
                );
                (
                    person,
                    Command::Enter {
                        name: name("Host?"),
                    },
                )
            },
            Refusal::MustKnock,
        ),
        (
            "bypassing staff on a locked meeting",
            |world| {
                *world = World::with(MeetingConfig {
                    bypass: LobbyBypass::Staff,
                    ..config()
                });
                let host = world.host();
                world.ok(host, Command::Lock);
                let person = world.staff_ready("staff:colleague");
                (
                    person,
                    Command::Enter {
                        name: name("Colleague"),
                    },
                )
            },
            Refusal::MeetingLocked,
        ),
        (
            "a knock after the join flow ran out (timer not yet run)",
            |world| {
                let person = world.guest_ready("ip:a");
                world.advance(Timeouts::default().join_ms);
                (person, knock("Anna"))
            },
            Refusal::JoinExpired,
        ),
        (
            "a knock once the window has ended",
            |world| {
                let person = world.guest_ready("ip:a");
                world.now = Timestamp::from_unix_ms(START + WINDOW_MS);
                (person, knock("Anna"))
            },
            Refusal::JoinExpired,
        ),
        (
            "a command from someone who never arrived",
            |_| (PersonId::from_u64(99), knock("Nobody")),
            Refusal::NotPresent,
        ),
    ]);
}

#[test]
fn arrival_refusals() {
    type Setup = fn(&mut World) -> Arrival;
    let rows: &[(&str, Setup, Refusal)] = &[
        (
            "a link used before its window",
            |world| {
                world.now = Timestamp::from_unix_ms(START - 1);
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Guest,
                }
            },
            Refusal::OutsideWindow,
        ),
        (
            "a link used at the end of its window",
            |world| {
                world.now = Timestamp::from_unix_ms(START + WINDOW_MS);
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Guest,
                }
            },
            Refusal::OutsideWindow,
        ),
        (
            "a host outside the window",
            |world| {
                world.now = Timestamp::from_unix_ms(START + WINDOW_MS + MINUTE);
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Staff(staff_identity(HOST_KEY)),
                }
            },
            Refusal::OutsideWindow,
        ),
        (
            "a guest at a locked meeting",
            |world| {
                let host = world.host();
                world.ok(host, Command::Lock);
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Guest,
                }
            },
            Refusal::MeetingLocked,
        ),
        (
            "a guest at a full meeting",
            |world| {
                *world = World::with(MeetingConfig {
                    limits: Limits {
                        max_people: 2,
                        max_lobby: 1,
                        ..Limits::default()
                    },
                    ..config()
                });
                world.arrive_guest("ip:1");
                world.arrive_guest("ip:2");
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Guest,
                }
            },
            Refusal::MeetingFull,
        ),
        (
            "a banned staff identity",
            |world| {
                let host = world.host();
                let colleague = world.staff_ready("staff:colleague");
                world.ok(colleague, knock("Colleague"));
                world.ok(host, Command::Admit { person: colleague });
                world.ok(
                    host,
                    Command::Remove {
                        person: colleague,
                        ban: true,
                    },
                );
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Staff(staff_identity("staff:colleague")),
                }
            },
            Refusal::Banned,
        ),
        (
            "after the end",
            |world| {
                let host = world.host();
                world.ok(host, Command::EndForAll);
                Arrival {
                    source: source("ip:a"),
                    entrant: Entrant::Guest,
                }
            },
            Refusal::MeetingEnded,
        ),
    ];
    for (row, setup, expected) in rows {
        let mut world = World::new();
        let arrival = setup(&mut world);
        assert_eq!(world.arrive(arrival).err(), Some(*expected), "row {row:?}");
    }
    // A host is never turned away for size: a flood of joins cannot keep the host out.
    let mut world = World::with(MeetingConfig {
        limits: Limits {
            max_people: 2,
            max_lobby: 1,
            ..Limits::default()
        },
        ..config()
    });
    let flood = Arrival {
        source: source("ip:flood"),
        entrant: Entrant::Guest,
    };
    world.arrive(flood.clone()).expect("first");
    world.arrive(flood.clone()).expect("second");
    assert_eq!(world.arrive(flood).err(), Some(Refusal::MeetingFull));
    world.host();
}

/// Passcode guessing, step by step: per source, per meeting, the identity path stays open, and
/// a host can reset.
#[test]
fn passcode_guessing() {
    #[derive(Debug)]
    enum Expect {
        Failure {
            source_failures: u32,
            meeting_failures: u32,
            source_locked: bool,
            meeting_locked: bool,
        },
        Refused(Refusal),
    }
    use Expect::*;
    let mut world = World::new();
    let host = world.host();
    let at_credential = |world: &mut World, from: &str| {
        let person = world.arrive_guest(from);
        world.ok(person, consent(false));
        person
    };
    let attacker = at_credential(&mut world, "ip:attacker");
    let second = at_credential(&mut world, "ip:second");
    let customer = at_credential(&mut world, "ip:customer");
    let steps: Vec<(&str, PersonId, PasscodeVerdict, Expect)> = vec![
        (
            "1st wrong",
            attacker,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 1,
                meeting_failures: 1,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "2nd wrong",
            attacker,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 2,
                meeting_failures: 2,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "3rd wrong",
            attacker,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 3,
                meeting_failures: 3,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "4th wrong",
            attacker,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 4,
                meeting_failures: 4,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "5th wrong locks the source",
            attacker,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 5,
                meeting_failures: 5,
                source_locked: true,
                meeting_locked: false,
            },
        ),
        (
            "the locked source is refused",
            attacker,
            PasscodeVerdict::Wrong,
            Refused(Refusal::SourceLocked),
        ),
        (
            "even with the right passcode",
            attacker,
            PasscodeVerdict::Correct,
            Refused(Refusal::SourceLocked),
        ),
        (
            "another source still may try",
            second,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 1,
                meeting_failures: 6,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "7th for the meeting",
            second,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 2,
                meeting_failures: 7,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "8th for the meeting",
            second,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 3,
                meeting_failures: 8,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "9th for the meeting",
            customer,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 1,
                meeting_failures: 9,
                source_locked: false,
                meeting_locked: false,
            },
        ),
        (
            "10th locks the meeting's passcode",
            second,
            PasscodeVerdict::Wrong,
            Failure {
                source_failures: 4,
                meeting_failures: 10,
                source_locked: false,
                meeting_locked: true,
            },
        ),
        (
            "the right passcode is refused while locked",
            customer,
            PasscodeVerdict::Correct,
            Refused(Refusal::PasscodeLocked),
        ),
    ];
    for (row, person, verdict, expected) in steps {
        let allowed = world.meeting.passcode_attempt_allowed(world.now, person);
        let result = world.step(person, Command::Passcode(verdict));
        match expected {
            Failure {
                source_failures,
                meeting_failures,
                source_locked,
                meeting_locked,
            } => {
                assert_eq!(allowed, Ok(()), "row {row:?}");
                let effects = result.unwrap_or_else(|refusal| panic!("row {row:?}: {refusal:?}"));
                let report = effects.iter().find_map(|effect| match effect {
                    Effect::PasscodeFailure(report) => Some(report.clone()),
                    _ => None,
                });
                let PasscodeFailure {
                    source_failures: s,
                    meeting_failures: m,
                    source_locked: sl,
                    meeting_locked: ml,
                    ..
                } = report.unwrap_or_else(|| panic!("row {row:?}: no failure report"));
                assert_eq!(
                    (s, m, sl, ml),
                    (
                        source_failures,
                        meeting_failures,
                        source_locked,
                        meeting_locked
                    ),
                    "row {row:?}"
                );
                assert!(
                    audited(&effects).contains(&AuditAction::Passcode),
                    "row {row:?}"
                );
                if meeting_locked {
                    assert!(audited(&effects).contains(&AuditAction::PasscodeLocked));
                    assert!(notices_for(&effects, host).contains(&&Notice::PasscodeLocked));
                }
            }
            Refused(refusal) => {
                assert_eq!(allowed, Err(refusal), "row {row:?}");
                assert_eq!(result.err(), Some(refusal), "row {row:?}");
            }
        }
    }
    assert!(world.meeting.is_passcode_locked());
    // The identity path stays open while the passcode is locked.
    world.ok(
        customer,
        Command::ProveIdentity(customer_identity("eid:customer")),
    );
    // A co-host may not lift the lock; the host may.
    let co_host = world.co_host(host, "staff:colleague");
    assert_eq!(
        world.step(co_host, Command::ResetPasscodeLock).err(),
        Some(Refusal::NotPermitted {
            capability: crate::Capability::ResetPasscodeLock
        })
    );
    let effects = world.ok(host, Command::ResetPasscodeLock);
    assert!(notices_for(&effects, host).contains(&&Notice::PasscodeUnlocked));
    assert!(!world.meeting.is_passcode_locked());
    assert_eq!(
        world.step(host, Command::ResetPasscodeLock).err(),
        Some(Refusal::NothingToChange)
    );
    // After the reset the attacker's source may try again, and a success ends its streak.
    world.ok(attacker, Command::Passcode(PasscodeVerdict::Wrong));
    world.ok(attacker, Command::Passcode(PasscodeVerdict::Correct));
    assert_eq!(world.meeting.join_step_of(attacker), Some(JoinStep::Device));
}
