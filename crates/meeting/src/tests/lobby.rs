//! The lobby: the conversation between the host side and a waiting person, admit, reject, hold,
//! knocks expiring; and every refused lobby attempt.

use super::*;
use crate::{AuditAction, Capability, CloseReason, KnockOutcome, Standing};

#[test]
fn lobby_transitions() {
    type Check = fn(&mut World);
    let rows: &[(&str, Check)] = &[
        ("admit moves the person into the meeting and lets the host side add them", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            let effects = world.ok(host, Command::Admit { person });
            assert_eq!(world.meeting.role_of(person), Some(Role::Participant));
            assert_eq!(
                mls(&effects),
                vec![MlsInstruction::AcceptAdd { person, admitted_by: AdmittedBy::HostSide(host) }]
            );
            assert!(notices_for(&effects, host).contains(&&Notice::KnockClosed {
                person,
                outcome: KnockOutcome::Admitted { by: host }
            }));
            let mine = notices_for(&effects, person);
            assert!(matches!(mine.as_slice(), [Notice::Admitted(Standing::InMeeting { roster, .. })] if roster.len() == 2));
            assert_eq!(audited(&effects), vec![AuditAction::Admit]);
        }),
        ("reject tells the person why and closes their connection", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            let effects = world.ok(host, Command::Reject { person, reason: reason("Wrong meeting") });
            assert_eq!(world.meeting.people_count(), 1);
            assert_eq!(notices_for(&effects, person), vec![&Notice::Rejected { reason: reason("Wrong meeting") }]);
            assert!(effects.contains(&Effect::Close { person, reason: CloseReason::Rejected }));
            assert!(mls(&effects).is_empty(), "nobody rejected is ever added");
        }),
        ("hold tells the person and starts their knock's time over", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            world.advance(5 * MINUTE);
            let effects = world.ok(host, Command::Hold { person, message: reason("Five minutes") });
            let expires_at = world.now.plus_ms(Timeouts::default().knock_ms);
            assert_eq!(
                notices_for(&effects, person),
                vec![&Notice::Held { message: reason("Five minutes"), expires_at }]
            );
            let lobby = world.meeting.lobby();
            assert!(lobby[0].held);
            assert_eq!(lobby[0].expires_at, expires_at);
        }),
        ("the host side and the waiting person talk; nobody else hears", |world| {
            let host = world.host();
            let bystander = world.guest_in(host, "bystander");
            let person = world.guest_waiting("anna");
            let effects = world.ok(host, Command::MessageToLobby { person, text: text("Customer number?") });
            assert_eq!(notices_for(&effects, person).len(), 1);
            assert_eq!(notices_for(&effects, host).len(), 1);
            assert!(notices_for(&effects, bystander).is_empty());
            let effects = world.ok(person, Command::MessageToHosts { text: text("12345") });
            assert_eq!(notices_for(&effects, host).len(), 1);
            assert!(notices_for(&effects, bystander).is_empty());
        }),
        ("a co-host sees knocks and the conversation", |world| {
            let host = world.host();
            let co_host = world.co_host(host, "staff:colleague");
            let person = world.guest_waiting("anna");
            let effects = world.ok(person, Command::MessageToHosts { text: text("Hello") });
            assert_eq!(notices_for(&effects, co_host).len(), 1);
            world.ok(co_host, Command::Admit { person });
        }),
        ("a new co-host is shown the lobby as it stands", |world| {
            let host = world.host();
            world.guest_waiting("anna");
            let colleague = world.staff_ready("staff:colleague");
            world.ok(colleague, knock("Colleague"));
            world.ok(host, Command::Admit { person: colleague });
            let effects = world.ok(host, Command::SetCoHost { person: colleague, co_host: true });
            assert!(notices_for(&effects, colleague).iter().any(|notice| matches!(notice, Notice::Lobby(lobby) if lobby.len() == 1)));
        }),
        ("a knock nobody answers expires", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            assert_eq!(world.meeting.poll_timeout(), Some(world.now.plus_ms(Timeouts::default().knock_ms)));
            world.advance(Timeouts::default().knock_ms - 1);
            assert!(world.tick().is_empty());
            world.advance(1);
            let effects = world.tick();
            assert!(!world.meeting.is_waiting(person));
            assert_eq!(notices_for(&effects, person), vec![&Notice::Expired]);
            assert!(notices_for(&effects, host).contains(&&Notice::KnockClosed { person, outcome: KnockOutcome::Expired }));
            assert_eq!(audited(&effects), vec![AuditAction::KnockExpired]);
        }),
        ("knocks expire when the window ends", |world| {
            world.now = Timestamp::from_unix_ms(START + WINDOW_MS - MINUTE);
            let person = world.guest_waiting("anna");
            assert_eq!(world.meeting.lobby()[0].expires_at, Timestamp::from_unix_ms(START + WINDOW_MS));
            world.advance(MINUTE);
            world.tick();
            assert!(!world.meeting.is_waiting(person));
        }),
        ("a waiting person may leave", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            let effects = world.ok(person, Command::Leave);
            assert!(notices_for(&effects, host).contains(&&Notice::KnockClosed { person, outcome: KnockOutcome::Withdrawn }));
        }),
        ("a waiting person whose connection drops keeps their place, and resumes without knocking", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            let effects = world.ok(person, Command::ConnectionLost);
            assert!(notices_for(&effects, host).contains(&&Notice::ConnectionChanged { person, connected: false }));
            world.advance(10 * SECOND);
            world.tick();
            let effects = world.ok(person, Command::Resume);
            assert!(matches!(notices_for(&effects, person).as_slice(), [Notice::Resumed(Standing::Waiting { held: false, .. })]));
            world.ok(host, Command::Admit { person });
        }),
        ("a locked meeting keeps its lobby: the host may still admit", |world| {
            let host = world.host();
            let person = world.guest_waiting("anna");
            world.ok(host, Command::Lock);
            world.ok(host, Command::Admit { person });
        }),
    ];
    for (row, check) in rows {
        let mut world = World::new();
        check(&mut world);
        assert!(world.steps > 0, "row {row:?} did nothing");
    }
}

#[test]
fn lobby_refusals() {
    let manage = Refusal::NotPermitted {
        capability: Capability::ManageLobby,
    };
    run_refusals(&[
        (
            "a participant admits",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "bea");
                let person = world.guest_waiting("anna");
                (participant, Command::Admit { person })
            },
            manage,
        ),
        (
            "a participant rejects",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "bea");
                let person = world.guest_waiting("anna");
                (
                    participant,
                    Command::Reject {
                        person,
                        reason: reason("No"),
                    },
                )
            },
            manage,
        ),
        (
            "a participant holds",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "bea");
                let person = world.guest_waiting("anna");
                (
                    participant,
                    Command::Hold {
                        person,
                        message: reason("Wait"),
                    },
                )
            },
            manage,
        ),
        (
            "a participant writes into someone's lobby conversation",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "bea");
                let person = world.guest_waiting("anna");
                (
                    participant,
                    Command::MessageToLobby {
                        person,
                        text: text("Psst"),
                    },
                )
            },
            manage,
        ),
        (
            "a waiting person admits themselves",
            |world| {
                world.host();
                let person = world.guest_waiting("anna");
                (person, Command::Admit { person })
            },
            manage,
        ),
        (
            "a waiting person admits another",
            |world| {
                world.host();
                let accomplice = world.guest_waiting("anna");
                let person = world.guest_waiting("bea");
                (person, Command::Admit { person: accomplice })
            },
            manage,
        ),
        (
            "a person still joining admits someone",
            |world| {
                world.host();
                let person = world.guest_waiting("anna");
                let joining = world.arrive_guest("ip:x");
                (joining, Command::Admit { person })
            },
            manage,
        ),
        (
            "admitting someone not in the lobby",
            |world| {
                let host = world.host();
                let joining = world.guest_ready("ip:a");
                (host, Command::Admit { person: joining })
            },
            Refusal::NotInLobby,
        ),
        (
            "admitting a participant again",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "anna");
                (
                    host,
                    Command::Admit {
                        person: participant,
                    },
                )
            },
            Refusal::NotInLobby,
        ),
        (
            "admitting an expired knock before the timer ran",
            |world| {
                let host = world.host();
                let person = world.guest_waiting("anna");
                world.advance(Timeouts::default().knock_ms);
                (host, Command::Admit { person })
            },
            Refusal::KnockExpired,
        ),
        (
            "admitting a rejected person",
            |world| {
                let host = world.host();
                let person = world.guest_waiting("anna");
                world.ok(
                    host,
                    Command::Reject {
                        person,
                        reason: reason("No"),
                    },
                );
                (host, Command::Admit { person })
            },
            Refusal::NotPresent,
        ),
        (
            "a waiting person writing to the hosts past the limit",
            |world| {
                *world = World::with(MeetingConfig {
                    limits: Limits {
                        max_lobby_messages: 2,
                        ..Limits::default()
                    },
                    ..config()
                });
                let host = world.host();
                let person = world.guest_waiting("anna");
                world.ok(
                    host,
                    Command::MessageToLobby {
                        person,
                        text: text("Number?"),
                    },
                );
                world.ok(person, Command::MessageToHosts { text: text("42") });
                (
                    person,
                    Command::MessageToHosts {
                        text: text("Hello?"),
                    },
                )
            },
            Refusal::LobbyMessageLimit,
        ),
        (
            "the host writing past the limit",
            |world| {
                *world = World::with(MeetingConfig {
                    limits: Limits {
                        max_lobby_messages: 1,
                        ..Limits::default()
                    },
                    ..config()
                });
                let host = world.host();
                let person = world.guest_waiting("anna");
                world.ok(person, Command::MessageToHosts { text: text("Hi") });
                (
                    host,
                    Command::MessageToLobby {
                        person,
                        text: text("Number?"),
                    },
                )
            },
            Refusal::LobbyMessageLimit,
        ),
        (
            "a participant writing as if from the lobby",
            |world| {
                let host = world.host();
                let participant = world.guest_in(host, "anna");
                (participant, Command::MessageToHosts { text: text("Hi") })
            },
            Refusal::NotInLobby,
        ),
        (
            "a co-host demoted after their lobby challenge admits",
            |world| {
                let host = world.host();
                let co_host = world.co_host(host, "staff:colleague");
                let person = world.guest_waiting("anna");
                world.ok(
                    co_host,
                    Command::MessageToLobby {
                        person,
                        text: text("Customer number?"),
                    },
                );
                world.ok(
                    person,
                    Command::MessageToHosts {
                        text: text("12345"),
                    },
                );
                world.ok(
                    host,
                    Command::SetCoHost {
                        person: co_host,
                        co_host: false,
                    },
                );
                (co_host, Command::Admit { person })
            },
            manage,
        ),
        (
            "a co-host demoted mid-conversation writes again",
            |world| {
                let host = world.host();
                let co_host = world.co_host(host, "staff:colleague");
                let person = world.guest_waiting("anna");
                world.ok(
                    co_host,
                    Command::MessageToLobby {
                        person,
                        text: text("Number?"),
                    },
                );
                world.ok(
                    host,
                    Command::SetCoHost {
                        person: co_host,
                        co_host: false,
                    },
                );
                (
                    co_host,
                    Command::MessageToLobby {
                        person,
                        text: text("Well?"),
                    },
                )
            },
            manage,
        ),
    ]);
    // Over-long or spoofing text never becomes a command at all.
    assert!(LobbyText::parse(&"x".repeat(501)).is_err());
    assert!(ReasonText::parse("ok\u{202E}").is_err());
}
