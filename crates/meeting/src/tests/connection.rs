//! Connections: a short drop resumes without knocking, a long one takes the person out (and out
//! of the MLS group); removed and banned people cannot come back by resuming.

use super::*;
use crate::{AuditAction, Departure, MediaInstruction, Standing};

const GRACE: i64 = 30 * SECOND;

#[test]
fn connection_transitions() {
    type Check = fn(&mut World);
    let rows: &[(&str, Check)] = &[
        (
            "a participant resumes within the grace period: no knock, no MLS change",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                let effects = world.ok(person, Command::ConnectionLost);
                assert!(
                    notices_for(&effects, host).contains(&&Notice::ConnectionChanged {
                        person,
                        connected: false
                    })
                );
                assert_eq!(world.meeting.poll_timeout(), Some(world.now.plus_ms(GRACE)));
                world.advance(GRACE - 1);
                assert!(world.tick().is_empty());
                let effects = world.ok(person, Command::Resume);
                assert!(mls(&effects).is_empty());
                assert!(matches!(
                    notices_for(&effects, person).as_slice(),
                    [Notice::Resumed(Standing::InMeeting { you, .. })] if you.role == Role::Participant
                ));
                assert!(
                    notices_for(&effects, host).contains(&&Notice::ConnectionChanged {
                        person,
                        connected: true
                    })
                );
                assert_eq!(world.meeting.is_connected(person), Some(true));
            },
        ),
        ("a host resumes and sees the lobby again", |world| {
            let host = world.host();
            world.guest_waiting("anna");
            world.ok(host, Command::ConnectionLost);
            let effects = world.ok(host, Command::Resume);
            assert!(matches!(
                notices_for(&effects, host).as_slice(),
                [Notice::Resumed(Standing::InMeeting { lobby, .. })] if lobby.len() == 1
            ));
        }),
        (
            "a drop longer than the grace period takes the participant out of the group",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(person, Command::ConnectionLost);
                world.advance(GRACE);
                let effects = world.tick();
                assert_eq!(
                    mls(&effects),
                    vec![MlsInstruction::Remove {
                        person,
                        departure: Departure::ConnectionLost
                    }]
                );
                assert_eq!(audited(&effects), vec![AuditAction::GraceExpired]);
                assert_eq!(world.meeting.role_of(person), None);
            },
        ),
        ("a drop stops a running screen share", |world| {
            let host = world.host();
            world.ok(host, Command::StartScreenShare);
            let effects = world.ok(host, Command::ConnectionLost);
            assert_eq!(
                media(&effects),
                vec![MediaInstruction::ScreenShare {
                    person: host,
                    forward: false
                }]
            );
            world.ok(host, Command::Resume);
            world.ok(host, Command::StartScreenShare);
        }),
        (
            "a person in the join flow resumes where they were",
            |world| {
                let person = world.arrive_guest("ip:a");
                world.ok(person, consent(true));
                world.ok(person, Command::ConnectionLost);
                let effects = world.ok(person, Command::Resume);
                assert_eq!(
                    notices_for(&effects, person),
                    vec![&Notice::Resumed(Standing::Joining(
                        crate::JoinStep::Credential
                    ))]
                );
            },
        ),
        (
            "the host side may act on a disconnected participant",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(person, Command::ConnectionLost);
                world.ok(
                    host,
                    Command::SetMuted {
                        person,
                        muted: true,
                    },
                );
                world.ok(host, Command::Remove { person, ban: false });
            },
        ),
        (
            "a disconnected waiting person may still be admitted, and learns it on resume",
            |world| {
                let host = world.host();
                let person = world.guest_waiting("anna");
                world.ok(person, Command::ConnectionLost);
                let effects = world.ok(host, Command::Admit { person });
                assert!(
                    notices_for(&effects, person).is_empty(),
                    "nothing to a dropped connection"
                );
                let effects = world.ok(person, Command::Resume);
                assert!(matches!(
                    notices_for(&effects, person).as_slice(),
                    [Notice::Resumed(Standing::InMeeting { .. })]
                ));
            },
        ),
    ];
    for (row, check) in rows {
        let mut world = World::new();
        check(&mut world);
        assert!(world.steps > 0, "row {row:?} did nothing");
    }
}

#[test]
fn connection_refusals() {
    run_refusals(&[
        (
            "a removed participant reconnects",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(person, Command::ConnectionLost);
                world.ok(host, Command::Remove { person, ban: false });
                (person, Command::Resume)
            },
            Refusal::Removed,
        ),
        (
            "a removed participant's old connection keeps talking",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(host, Command::Remove { person, ban: false });
                (person, Command::StartScreenShare)
            },
            Refusal::Removed,
        ),
        (
            "a banned identity's other device reconnects",
            |world| {
                let host = world.host();
                let person = world.verified_in(host, "eid:mallory");
                let other = world.verified_guest_ready("eid:mallory");
                world.ok(other, Command::ConnectionLost);
                world.ok(host, Command::Remove { person, ban: true });
                (other, Command::Resume)
            },
            Refusal::Removed,
        ),
        (
            "a banned identity knocks again after proving it",
            |world| {
                let host = world.host();
                let person = world.verified_in(host, "eid:mallory");
                let again = world.arrive_guest("ip:elsewhere");
                world.ok(again, consent(false));
                world.ok(host, Command::Remove { person, ban: true });
                (
                    again,
                    Command::ProveIdentity(customer_identity("eid:mallory")),
                )
            },
            Refusal::Banned,
        ),
        (
            "a resume after the grace period, before the timer ran",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(person, Command::ConnectionLost);
                world.advance(GRACE);
                (person, Command::Resume)
            },
            Refusal::GraceExpired,
        ),
        (
            "a resume after the grace period, after the timer ran: knock again",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(person, Command::ConnectionLost);
                world.advance(GRACE);
                world.tick();
                (person, Command::Resume)
            },
            Refusal::NotPresent,
        ),
        (
            "a resume on a live connection",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                (person, Command::Resume)
            },
            Refusal::AlreadyConnected,
        ),
        (
            "a command from a dropped connection",
            |world| {
                let host = world.host();
                world.ok(host, Command::ConnectionLost);
                (host, Command::Lock)
            },
            Refusal::NotConnected,
        ),
        (
            "a second drop report",
            |world| {
                let host = world.host();
                world.ok(host, Command::ConnectionLost);
                (host, Command::ConnectionLost)
            },
            Refusal::NotConnected,
        ),
        (
            "a waiting person resumes after their knock expired",
            |world| {
                world.host();
                let person = world.guest_waiting("anna");
                world.ok(person, Command::ConnectionLost);
                world.advance(Timeouts::default().knock_ms);
                (person, Command::Resume)
            },
            Refusal::GraceExpired,
        ),
    ]);
}
