//! Host controls: lock, remove (and ban), end for all, mute, screen-share control, co-hosts; the
//! role table; every refused attempt, including a co-host demoted mid-action.

use super::*;
use crate::{AuditAction, Capability, CloseReason, Departure, MediaInstruction};

#[test]
fn the_role_table() {
    use Capability::*;
    let rows = [
        (ManageLobby, true, true, false),
        (Lock, true, true, false),
        (Remove, true, true, false),
        (Ban, true, false, false),
        (Mute, true, true, false),
        (ControlScreenShare, true, true, false),
        (ManageCoHosts, true, false, false),
        (EndForAll, true, false, false),
        (ResetPasscodeLock, true, false, false),
    ];
    assert_eq!(rows.len(), Capability::ALL.len());
    for (capability, host, co_host, participant) in rows {
        assert_eq!(Role::Host.may(capability), host, "{capability:?}");
        assert_eq!(Role::CoHost.may(capability), co_host, "{capability:?}");
        assert_eq!(
            Role::Participant.may(capability),
            participant,
            "{capability:?}"
        );
    }
}

#[test]
fn host_control_transitions() {
    type Check = fn(&mut World);
    let rows: &[(&str, Check)] = &[
        ("lock and unlock tell everyone", |world| {
            let host = world.host();
            let person = world.guest_in(host, "anna");
            let effects = world.ok(host, Command::Lock);
            assert!(world.meeting.is_locked());
            assert!(notices_for(&effects, person).contains(&&Notice::LockChanged { locked: true }));
            world.ok(host, Command::Unlock);
            assert!(!world.meeting.is_locked());
        }),
        (
            "remove forces an MLS Remove and closes the connection",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                let other = world.guest_in(host, "bea");
                let effects = world.ok(host, Command::Remove { person, ban: false });
                assert_eq!(
                    mls(&effects),
                    vec![MlsInstruction::Remove {
                        person,
                        departure: Departure::Removed
                    }]
                );
                assert_eq!(
                    notices_for(&effects, person),
                    vec![&Notice::Removed { banned: false }]
                );
                assert!(
                    notices_for(&effects, other).contains(&&Notice::ParticipantLeft {
                        person,
                        departure: Departure::Removed
                    })
                );
                assert!(effects.contains(&Effect::Close {
                    person,
                    reason: CloseReason::Removed
                }));
                assert_eq!(audited(&effects), vec![AuditAction::Remove]);
            },
        ),
        (
            "a removed person may knock again from scratch, as a new person",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(host, Command::Remove { person, ban: false });
                let again = world.guest_waiting("anna");
                assert_ne!(again, person);
            },
        ),
        (
            "remove with ban evicts the identity everywhere and keeps it out",
            |world| {
                let host = world.host();
                let person = world.verified_in(host, "eid:mallory");
                let second_device = world.verified_guest_ready("eid:mallory");
                world.ok(second_device, knock("Mallory again"));
                let effects = world.ok(host, Command::Remove { person, ban: true });
                assert_eq!(
                    audited(&effects),
                    vec![AuditAction::Remove, AuditAction::Ban]
                );
                assert!(!world.meeting.is_waiting(second_device));
                assert!(world.meeting.is_banned(&key("eid:mallory")));
                assert!(effects.contains(&Effect::Close {
                    person: second_device,
                    reason: CloseReason::Banned
                }));
                // And cannot get in again.
                let third = world.arrive_guest("ip:mallory");
                world.ok(third, consent(false));
                assert_eq!(
                    world
                        .step(
                            third,
                            Command::ProveIdentity(customer_identity("eid:mallory"))
                        )
                        .err(),
                    Some(Refusal::Banned)
                );
            },
        ),
        (
            "end for all closes everything and ends the group",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                let waiting = world.guest_waiting("bea");
                let joining = world.arrive_guest("ip:c");
                let effects = world.ok(host, Command::EndForAll);
                for someone in [host, person, waiting, joining] {
                    assert_eq!(notices_for(&effects, someone), vec![&Notice::MeetingEnded]);
                    assert!(effects.contains(&Effect::Close {
                        person: someone,
                        reason: CloseReason::Ended
                    }));
                }
                assert_eq!(mls(&effects), vec![MlsInstruction::EndGroup]);
                assert_eq!(media(&effects), vec![MediaInstruction::EndSession]);
                assert_eq!(world.meeting.ended_at(), Some(world.now));
            },
        ),
        (
            "mute stops the relay forwarding audio; lifting it lets the person unmute",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                let effects = world.ok(
                    host,
                    Command::SetMuted {
                        person,
                        muted: true,
                    },
                );
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::Audio {
                        person,
                        forward: false
                    }]
                );
                assert!(world
                    .meeting
                    .roster()
                    .iter()
                    .any(|view| view.person == person && view.muted_by_host));
                let effects = world.ok(
                    host,
                    Command::SetMuted {
                        person,
                        muted: false,
                    },
                );
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::Audio {
                        person,
                        forward: true
                    }]
                );
            },
        ),
        (
            "screen sharing: allow, start, deny stops it at once",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(
                    host,
                    Command::SetScreenShareAllowed {
                        person,
                        allowed: true,
                    },
                );
                let effects = world.ok(person, Command::StartScreenShare);
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::ScreenShare {
                        person,
                        forward: true
                    }]
                );
                let effects = world.ok(
                    host,
                    Command::SetScreenShareAllowed {
                        person,
                        allowed: false,
                    },
                );
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::ScreenShare {
                        person,
                        forward: false
                    }]
                );
                assert!(world.meeting.roster().iter().all(|view| !view.sharing));
            },
        ),
        (
            "the host stops anyone's share; the permission stays",
            |world| {
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(
                    host,
                    Command::SetScreenShareAllowed {
                        person,
                        allowed: true,
                    },
                );
                world.ok(person, Command::StartScreenShare);
                let effects = world.ok(host, Command::StopScreenShare { person });
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::ScreenShare {
                        person,
                        forward: false
                    }]
                );
                world.ok(person, Command::StartScreenShare);
                world.ok(person, Command::StopScreenShare { person });
            },
        ),
        ("hosts may share without a grant", |world| {
            let host = world.host();
            world.ok(host, Command::StartScreenShare);
        }),
        ("promote a co-host: commit rights and the lobby", |world| {
            let host = world.host();
            let colleague = world.staff_ready("staff:colleague");
            world.ok(colleague, knock("Colleague"));
            world.ok(host, Command::Admit { person: colleague });
            let effects = world.ok(
                host,
                Command::SetCoHost {
                    person: colleague,
                    co_host: true,
                },
            );
            assert_eq!(
                mls(&effects),
                vec![MlsInstruction::CommitRights {
                    person: colleague,
                    may_commit_adds: true
                }]
            );
            assert_eq!(world.meeting.role_of(colleague), Some(Role::CoHost));
        }),
        (
            "a co-host demoted while sharing loses the share and commit rights at once",
            |world| {
                let host = world.host();
                let co_host = world.co_host(host, "staff:colleague");
                world.ok(co_host, Command::StartScreenShare);
                let effects = world.ok(
                    host,
                    Command::SetCoHost {
                        person: co_host,
                        co_host: false,
                    },
                );
                assert_eq!(
                    mls(&effects),
                    vec![MlsInstruction::CommitRights {
                        person: co_host,
                        may_commit_adds: false
                    }]
                );
                assert_eq!(
                    media(&effects),
                    vec![MediaInstruction::ScreenShare {
                        person: co_host,
                        forward: false
                    }]
                );
                assert_eq!(world.meeting.role_of(co_host), Some(Role::Participant));
            },
        ),
        ("a co-host runs the room for participants", |world| {
            let host = world.host();
            let co_host = world.co_host(host, "staff:colleague");
            let person = world.guest_in(host, "anna");
            world.ok(
                co_host,
                Command::SetMuted {
                    person,
                    muted: true,
                },
            );
            world.ok(co_host, Command::Lock);
            world.ok(co_host, Command::Remove { person, ban: false });
        }),
        ("a host removes a co-host", |world| {
            let host = world.host();
            let co_host = world.co_host(host, "staff:colleague");
            world.ok(
                host,
                Command::Remove {
                    person: co_host,
                    ban: false,
                },
            );
        }),
        (
            "customers may be co-hosts where the meeting allows it",
            |world| {
                *world = World::with(MeetingConfig {
                    co_hosts_must_be_staff: false,
                    ..config()
                });
                let host = world.host();
                let person = world.guest_in(host, "anna");
                world.ok(
                    host,
                    Command::SetCoHost {
                        person,
                        co_host: true,
                    },
                );
            },
        ),
        ("a participant leaves: MLS Remove", |world| {
            let host = world.host();
            let person = world.guest_in(host, "anna");
            let effects = world.ok(person, Command::Leave);
            assert_eq!(
                mls(&effects),
                vec![MlsInstruction::Remove {
                    person,
                    departure: Departure::Left
                }]
            );
        }),
    ];
    for (row, check) in rows {
        let mut world = World::new();
        check(&mut world);
        assert!(world.steps > 0, "row {row:?} did nothing");
    }
}

/// A host, a co-host (staff) and a participant (customer, verified) in the meeting, one waiting.
fn room(world: &mut World) -> (PersonId, PersonId, PersonId, PersonId) {
    let host = world.host();
    let co_host = world.co_host(host, "staff:colleague");
    let participant = world.verified_in(host, "eid:anna");
    let waiting = world.guest_waiting("bea");
    (host, co_host, participant, waiting)
}

#[test]
fn host_control_refusals() {
    use Capability::*;
    run_refusals(&[
        // A participant trying host actions.
        (
            "participant locks",
            |w| {
                let (_, _, p, _) = room(w);
                (p, Command::Lock)
            },
            Refusal::NotPermitted { capability: Lock },
        ),
        (
            "participant unlocks",
            |w| {
                let (h, _, p, _) = room(w);
                w.ok(h, Command::Lock);
                (p, Command::Unlock)
            },
            Refusal::NotPermitted { capability: Lock },
        ),
        (
            "participant removes",
            |w| {
                let (_, c, p, _) = room(w);
                (
                    p,
                    Command::Remove {
                        person: c,
                        ban: false,
                    },
                )
            },
            Refusal::NotPermitted { capability: Remove },
        ),
        (
            "participant ends for all",
            |w| {
                let (_, _, p, _) = room(w);
                (p, Command::EndForAll)
            },
            Refusal::NotPermitted {
                capability: EndForAll,
            },
        ),
        (
            "participant mutes",
            |w| {
                let (h, _, p, _) = room(w);
                (
                    p,
                    Command::SetMuted {
                        person: h,
                        muted: true,
                    },
                )
            },
            Refusal::NotPermitted { capability: Mute },
        ),
        (
            "participant grants themselves screen sharing",
            |w| {
                let (_, _, p, _) = room(w);
                (
                    p,
                    Command::SetScreenShareAllowed {
                        person: p,
                        allowed: true,
                    },
                )
            },
            Refusal::NotPermitted {
                capability: ControlScreenShare,
            },
        ),
        (
            "participant stops the host's share",
            |w| {
                let (h, _, p, _) = room(w);
                w.ok(h, Command::StartScreenShare);
                (p, Command::StopScreenShare { person: h })
            },
            Refusal::NotPermitted {
                capability: ControlScreenShare,
            },
        ),
        (
            "participant promotes themselves",
            |w| {
                let (_, _, p, _) = room(w);
                (
                    p,
                    Command::SetCoHost {
                        person: p,
                        co_host: true,
                    },
                )
            },
            Refusal::NotPermitted {
                capability: ManageCoHosts,
            },
        ),
        (
            "participant resets the passcode lock",
            |w| {
                let (_, _, p, _) = room(w);
                (p, Command::ResetPasscodeLock)
            },
            Refusal::NotPermitted {
                capability: ResetPasscodeLock,
            },
        ),
        (
            "waiting person locks",
            |w| {
                let (_, _, _, l) = room(w);
                (l, Command::Lock)
            },
            Refusal::NotPermitted { capability: Lock },
        ),
        (
            "waiting person ends for all",
            |w| {
                let (_, _, _, l) = room(w);
                (l, Command::EndForAll)
            },
            Refusal::NotPermitted {
                capability: EndForAll,
            },
        ),
        // A co-host trying what only hosts may.
        (
            "co-host ends for all",
            |w| {
                let (_, c, _, _) = room(w);
                (c, Command::EndForAll)
            },
            Refusal::NotPermitted {
                capability: EndForAll,
            },
        ),
        (
            "co-host names a co-host",
            |w| {
                let (_, c, p, _) = room(w);
                (
                    c,
                    Command::SetCoHost {
                        person: p,
                        co_host: true,
                    },
                )
            },
            Refusal::NotPermitted {
                capability: ManageCoHosts,
            },
        ),
        (
            "co-host bans",
            |w| {
                let (_, c, p, _) = room(w);
                (
                    c,
                    Command::Remove {
                        person: p,
                        ban: true,
                    },
                )
            },
            Refusal::NotPermitted { capability: Ban },
        ),
        (
            "co-host resets the passcode lock",
            |w| {
                let (_, c, _, _) = room(w);
                (c, Command::ResetPasscodeLock)
            },
            Refusal::NotPermitted {
                capability: ResetPasscodeLock,
            },
        ),
        // Protected targets.
        (
            "co-host removes the host",
            |w| {
                let (h, c, _, _) = room(w);
                (
                    c,
                    Command::Remove {
                        person: h,
                        ban: false,
                    },
                )
            },
            Refusal::TargetProtected,
        ),
        (
            "co-host mutes the host",
            |w| {
                let (h, c, _, _) = room(w);
                (
                    c,
                    Command::SetMuted {
                        person: h,
                        muted: true,
                    },
                )
            },
            Refusal::TargetProtected,
        ),
        (
            "co-host stops the host's share",
            |w| {
                let (h, c, _, _) = room(w);
                w.ok(h, Command::StartScreenShare);
                (c, Command::StopScreenShare { person: h })
            },
            Refusal::TargetProtected,
        ),
        (
            "co-host removes another co-host",
            |w| {
                let (h, c, _, _) = room(w);
                let other = w.co_host(h, "staff:other");
                (
                    c,
                    Command::Remove {
                        person: other,
                        ban: false,
                    },
                )
            },
            Refusal::TargetProtected,
        ),
        (
            "a host removes another host",
            |w| {
                let mut config = config();
                config.hosts.push(key(OTHER_HOST_KEY));
                *w = World::with(config);
                let host = w.host();
                let other = w.staff_ready(OTHER_HOST_KEY);
                w.ok(
                    other,
                    Command::Enter {
                        name: name("Other host"),
                    },
                );
                (
                    host,
                    Command::Remove {
                        person: other,
                        ban: false,
                    },
                )
            },
            Refusal::TargetProtected,
        ),
        (
            "a host demotes a host",
            |w| {
                let mut config = config();
                config.hosts.push(key(OTHER_HOST_KEY));
                *w = World::with(config);
                let host = w.host();
                let other = w.staff_ready(OTHER_HOST_KEY);
                w.ok(
                    other,
                    Command::Enter {
                        name: name("Other host"),
                    },
                );
                (
                    host,
                    Command::SetCoHost {
                        person: other,
                        co_host: false,
                    },
                )
            },
            Refusal::TargetProtected,
        ),
        (
            "host removes themselves",
            |w| {
                let (h, _, _, _) = room(w);
                (
                    h,
                    Command::Remove {
                        person: h,
                        ban: false,
                    },
                )
            },
            Refusal::SelfTarget,
        ),
        (
            "host mutes themselves",
            |w| {
                let (h, _, _, _) = room(w);
                (
                    h,
                    Command::SetMuted {
                        person: h,
                        muted: true,
                    },
                )
            },
            Refusal::SelfTarget,
        ),
        // Targets that are not in the meeting.
        (
            "remove someone waiting",
            |w| {
                let (h, _, _, l) = room(w);
                (
                    h,
                    Command::Remove {
                        person: l,
                        ban: false,
                    },
                )
            },
            Refusal::NotInMeeting,
        ),
        (
            "mute someone waiting",
            |w| {
                let (h, _, _, l) = room(w);
                (
                    h,
                    Command::SetMuted {
                        person: l,
                        muted: true,
                    },
                )
            },
            Refusal::NotInMeeting,
        ),
        (
            "remove someone already removed",
            |w| {
                let (h, _, p, _) = room(w);
                w.ok(
                    h,
                    Command::Remove {
                        person: p,
                        ban: false,
                    },
                );
                (
                    h,
                    Command::Remove {
                        person: p,
                        ban: false,
                    },
                )
            },
            Refusal::Removed,
        ),
        (
            "ban someone without a verified identity",
            |w| {
                let (h, _, _, _) = room(w);
                let guest = w.guest_in(h, "guest");
                (
                    h,
                    Command::Remove {
                        person: guest,
                        ban: true,
                    },
                )
            },
            Refusal::BanNeedsIdentity,
        ),
        (
            "promote a customer where co-hosts must be staff",
            |w| {
                let (h, _, p, _) = room(w);
                (
                    h,
                    Command::SetCoHost {
                        person: p,
                        co_host: true,
                    },
                )
            },
            Refusal::CoHostMustBeStaff,
        ),
        // Nothing to change.
        (
            "lock a locked meeting",
            |w| {
                let (h, _, _, _) = room(w);
                w.ok(h, Command::Lock);
                (h, Command::Lock)
            },
            Refusal::NothingToChange,
        ),
        (
            "unlock an unlocked meeting",
            |w| {
                let (h, _, _, _) = room(w);
                (h, Command::Unlock)
            },
            Refusal::NothingToChange,
        ),
        (
            "mute a muted participant",
            |w| {
                let (h, _, p, _) = room(w);
                w.ok(
                    h,
                    Command::SetMuted {
                        person: p,
                        muted: true,
                    },
                );
                (
                    h,
                    Command::SetMuted {
                        person: p,
                        muted: true,
                    },
                )
            },
            Refusal::NothingToChange,
        ),
        (
            "promote a co-host",
            |w| {
                let (h, c, _, _) = room(w);
                (
                    h,
                    Command::SetCoHost {
                        person: c,
                        co_host: true,
                    },
                )
            },
            Refusal::NothingToChange,
        ),
        (
            "demote a participant",
            |w| {
                let (h, _, p, _) = room(w);
                (
                    h,
                    Command::SetCoHost {
                        person: p,
                        co_host: false,
                    },
                )
            },
            Refusal::NothingToChange,
        ),
        (
            "deny sharing already denied",
            |w| {
                let (h, _, p, _) = room(w);
                (
                    h,
                    Command::SetScreenShareAllowed {
                        person: p,
                        allowed: false,
                    },
                )
            },
            Refusal::NothingToChange,
        ),
        (
            "reset an unlocked passcode",
            |w| {
                let (h, _, _, _) = room(w);
                (h, Command::ResetPasscodeLock)
            },
            Refusal::NothingToChange,
        ),
        // Screen sharing.
        (
            "share without a grant",
            |w| {
                let (_, _, p, _) = room(w);
                (p, Command::StartScreenShare)
            },
            Refusal::ScreenShareNotAllowed,
        ),
        (
            "share while someone else shares",
            |w| {
                let (h, _, p, _) = room(w);
                w.ok(
                    h,
                    Command::SetScreenShareAllowed {
                        person: p,
                        allowed: true,
                    },
                );
                w.ok(h, Command::StartScreenShare);
                (p, Command::StartScreenShare)
            },
            Refusal::ScreenShareInUse,
        ),
        (
            "share twice",
            |w| {
                let (h, _, _, _) = room(w);
                w.ok(h, Command::StartScreenShare);
                (h, Command::StartScreenShare)
            },
            Refusal::NothingToChange,
        ),
        (
            "stop a share that is not running",
            |w| {
                let (h, _, p, _) = room(w);
                (h, Command::StopScreenShare { person: p })
            },
            Refusal::NotSharing,
        ),
        (
            "a waiting person shares",
            |w| {
                let (_, _, _, l) = room(w);
                (l, Command::StartScreenShare)
            },
            Refusal::NotInMeeting,
        ),
        // A co-host demoted mid-action loses the right for the very next command.
        (
            "demoted co-host removes",
            |w| {
                let (h, c, p, _) = room(w);
                w.ok(
                    c,
                    Command::SetMuted {
                        person: p,
                        muted: true,
                    },
                );
                w.ok(
                    h,
                    Command::SetCoHost {
                        person: c,
                        co_host: false,
                    },
                );
                (
                    c,
                    Command::Remove {
                        person: p,
                        ban: false,
                    },
                )
            },
            Refusal::NotPermitted { capability: Remove },
        ),
        (
            "demoted co-host unmutes what they muted",
            |w| {
                let (h, c, p, _) = room(w);
                w.ok(
                    c,
                    Command::SetMuted {
                        person: p,
                        muted: true,
                    },
                );
                w.ok(
                    h,
                    Command::SetCoHost {
                        person: c,
                        co_host: false,
                    },
                );
                (
                    c,
                    Command::SetMuted {
                        person: p,
                        muted: false,
                    },
                )
            },
            Refusal::NotPermitted { capability: Mute },
        ),
        (
            "demoted co-host locks",
            |w| {
                let (h, c, _, _) = room(w);
                w.ok(
                    h,
                    Command::SetCoHost {
                        person: c,
                        co_host: false,
                    },
                );
                (c, Command::Lock)
            },
            Refusal::NotPermitted { capability: Lock },
        ),
        (
            "demoted co-host shares again",
            |w| {
                let (h, c, _, _) = room(w);
                w.ok(c, Command::StartScreenShare);
                w.ok(
                    h,
                    Command::SetCoHost {
                        person: c,
                        co_host: false,
                    },
                );
                (c, Command::StartScreenShare)
            },
            Refusal::ScreenShareNotAllowed,
        ),
        (
            "removed co-host acts",
            |w| {
                let (h, c, _, _) = room(w);
                w.ok(
                    h,
                    Command::Remove {
                        person: c,
                        ban: false,
                    },
                );
                (c, Command::Lock)
            },
            Refusal::Removed,
        ),
    ]);
}

/// After the end, every command of every kind is refused and timers do nothing.
#[test]
fn everything_is_refused_after_the_end() {
    let mut world = World::new();
    let (host, co_host, participant, waiting) = room(&mut world);
    let joining = world.arrive_guest("ip:late");
    world.ok(participant, Command::ConnectionLost);
    world.ok(host, Command::EndForAll);
    assert_eq!(world.meeting.poll_timeout(), None);
    let commands = vec![
        consent(true),
        Command::Passcode(PasscodeVerdict::Correct),
        Command::ProveIdentity(customer_identity("eid:x")),
        Command::ReportDevice {
            device: device(),
            supported: true,
        },
        knock("x"),
        Command::Enter { name: name("x") },
        Command::MessageToLobby {
            person: waiting,
            text: text("x"),
        },
        Command::MessageToHosts { text: text("x") },
        Command::Admit { person: waiting },
        Command::Reject {
            person: waiting,
            reason: reason("x"),
        },
        Command::Hold {
            person: waiting,
            message: reason("x"),
        },
        Command::Lock,
        Command::Unlock,
        Command::Remove {
            person: participant,
            ban: true,
        },
        Command::EndForAll,
        Command::SetMuted {
            person: participant,
            muted: true,
        },
        Command::SetScreenShareAllowed {
            person: participant,
            allowed: true,
        },
        Command::StopScreenShare {
            person: participant,
        },
        Command::SetCoHost {
            person: participant,
            co_host: true,
        },
        Command::ResetPasscodeLock,
        Command::StartScreenShare,
        Command::Leave,
        Command::ConnectionLost,
        Command::Resume,
    ];
    for actor in [host, co_host, participant, waiting, joining] {
        for command in &commands {
            // World::step asserts MeetingEnded and an unchanged meeting for each.
            assert_eq!(
                world.step(actor, command.clone()).err(),
                Some(Refusal::MeetingEnded)
            );
        }
    }
    world.advance(WINDOW_MS);
    assert!(world.tick().is_empty());
}
