//! Property-style checks: seeded random walks of arrivals, commands from anyone to anyone, clock
//! moves and timer runs. [`World::step`] checks after every input that a refusal changed nothing
//! and that the invariants hold (nobody in lobby and meeting at once, only admitted people are
//! ever added to the MLS group, every departure from the meeting forces an MLS Remove, lobby
//! chat reaches only the host side and that person, nothing but refusals after the end, every
//! change audited, no content in the audit). Deterministic: a small xorshift, no clock.

use super::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn flip(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn random_command(rng: &mut Rng, people: u64) -> Command {
    let mut person = || PersonId::from_u64(1 + rng.below(people.max(1)));
    let target = person();
    match rng.below(26) {
        0 => consent(true),
        1 => Command::Passcode(PasscodeVerdict::Wrong),
        2 => Command::Passcode(PasscodeVerdict::Correct),
        3 => Command::ProveIdentity(customer_identity(if rng.flip() {
            "eid:a"
        } else {
            "eid:b"
        })),
        4 => Command::ReportDevice {
            device: device(),
            supported: rng.below(8) != 0,
        },
        5 => knock("walker"),
        6 => Command::Enter {
            name: name("walker"),
        },
        7 => Command::MessageToLobby {
            person: target,
            text: text("question"),
        },
        8 => Command::MessageToHosts {
            text: text("answer"),
        },
        9 | 10 => Command::Admit { person: target },
        11 => Command::Reject {
            person: target,
            reason: reason("no"),
        },
        12 => Command::Hold {
            person: target,
            message: reason("wait"),
        },
        13 => {
            if rng.flip() {
                Command::Lock
            } else {
                Command::Unlock
            }
        }
        14 => Command::Remove {
            person: target,
            ban: rng.flip(),
        },
        15 => {
            if rng.below(20) == 0 {
                Command::EndForAll
            } else {
                Command::Leave
            }
        }
        16 => Command::SetMuted {
            person: target,
            muted: rng.flip(),
        },
        17 => Command::SetScreenShareAllowed {
            person: target,
            allowed: rng.flip(),
        },
        18 => Command::StopScreenShare { person: target },
        19 => Command::SetCoHost {
            person: target,
            co_host: rng.flip(),
        },
        20 => Command::ResetPasscodeLock,
        21 => Command::StartScreenShare,
        22 => Command::ConnectionLost,
        23 => Command::Resume,
        _ => knock("again"),
    }
}

#[test]
fn random_walks_keep_every_invariant() {
    let mut total_steps = 0;
    let mut admissions = 0;
    let mut refusals = 0;
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut world = World::with(MeetingConfig {
            bypass: if seed % 2 == 0 {
                LobbyBypass::Staff
            } else {
                LobbyBypass::Nobody
            },
            co_hosts_must_be_staff: seed % 3 != 0,
            limits: Limits {
                max_people: 12,
                max_lobby: 4,
                max_lobby_messages: 3,
            },
            ..config()
        });
        world.host();
        let mut arrived = 1u64;
        for _ in 0..400 {
            match rng.below(10) {
                0 => {
                    let entrant = match rng.below(4) {
                        0 => Entrant::Staff(staff_identity(HOST_KEY)),
                        1 => Entrant::Staff(staff_identity("staff:colleague")),
                        _ => Entrant::Guest,
                    };
                    let from = format!("ip:{}", rng.below(3));
                    if world
                        .arrive(Arrival {
                            source: source(&from),
                            entrant,
                        })
                        .is_ok()
                    {
                        arrived += 1;
                    }
                }
                1 => {
                    world.advance(rng.below(2 * MINUTE as u64) as i64);
                    world.tick();
                }
                _ => {
                    let mut actor = PersonId::from_u64(1 + rng.below(arrived));
                    let mut command = random_command(&mut rng, arrived);
                    // Half the time, push someone along the happy path instead, so that the walk
                    // reaches the lobby and the room, not only refusals.
                    if rng.flip() {
                        if let Some(step) = world.meeting.join_step_of(actor) {
                            command = match step {
                                crate::JoinStep::Consent => consent(rng.flip()),
                                crate::JoinStep::Credential => {
                                    Command::Passcode(PasscodeVerdict::Correct)
                                }
                                crate::JoinStep::Device => Command::ReportDevice {
                                    device: device(),
                                    supported: true,
                                },
                                crate::JoinStep::Ready if rng.flip() => Command::Enter {
                                    name: name("walker"),
                                },
                                crate::JoinStep::Ready => knock("walker"),
                            };
                        } else if let Some(knock) = world.meeting.lobby().first() {
                            let host_side: Vec<_> = world
                                .meeting
                                .roster()
                                .into_iter()
                                .filter(|view| view.role.is_host_side())
                                .collect();
                            if let Some(view) = host_side.first() {
                                actor = view.person;
                                command = Command::Admit {
                                    person: knock.person,
                                };
                            }
                        }
                    }
                    let is_admit = matches!(command, Command::Admit { .. });
                    match world.step(actor, command) {
                        Ok(_) if is_admit => admissions += 1,
                        Ok(_) => {}
                        Err(_) => refusals += 1,
                    }
                }
            }
        }
        total_steps += world.steps;
    }
    // The walks must exercise the interesting paths, not only refusals.
    assert!(total_steps > 4_000, "{total_steps}");
    assert!(
        admissions >= 12,
        "only {admissions} admissions in the walks"
    );
    assert!(refusals > 0);
}

/// A guided walk: people really go through the flow, so that admissions, removals, bans, drops
/// and resumes happen often, with the same checks.
#[test]
fn guided_walks_keep_every_invariant() {
    for seed in 1..=8u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let mut world = World::new();
        let host = world.host();
        let mut members = Vec::new();
        for round in 0..30 {
            match rng.below(7) {
                0 | 1 => {
                    if world.meeting.is_locked() {
                        world.ok(host, Command::Unlock);
                    }
                    let person = world.arrive_guest(&format!("ip:{round}"));
                    world.ok(person, consent(false));
                    let credential = if rng.flip() {
                        Command::Passcode(PasscodeVerdict::Correct)
                    } else {
                        Command::ProveIdentity(customer_identity(&format!("eid:{}", rng.below(4))))
                    };
                    let flow = [
                        credential,
                        Command::ReportDevice {
                            device: device(),
                            supported: true,
                        },
                        knock("walker"),
                    ];
                    if flow
                        .into_iter()
                        .any(|command| world.step(person, command).is_err())
                    {
                        continue;
                    }
                    if rng.below(4) != 0 && world.step(host, Command::Admit { person }).is_ok() {
                        members.push(person);
                    }
                }
                2 => {
                    if let Some(&person) =
                        members.get(rng.below(members.len().max(1) as u64) as usize)
                    {
                        let _ = world.step(
                            host,
                            Command::Remove {
                                person,
                                ban: rng.flip(),
                            },
                        );
                    }
                }
                3 => {
                    if let Some(&person) = members.last() {
                        let _ = world.step(person, Command::ConnectionLost);
                        world.advance(rng.below(60 * SECOND as u64) as i64);
                        world.tick();
                        let _ = world.step(person, Command::Resume);
                    }
                }
                4 => {
                    if let Some(&person) = members.first() {
                        let _ = world.step(
                            host,
                            Command::SetScreenShareAllowed {
                                person,
                                allowed: true,
                            },
                        );
                        let _ = world.step(person, Command::StartScreenShare);
                        let _ = world.step(
                            host,
                            Command::SetScreenShareAllowed {
                                person,
                                allowed: false,
                            },
                        );
                    }
                }
                5 => {
                    world.advance(rng.below(3 * MINUTE as u64) as i64);
                    world.tick();
                }
                _ => {
                    let _ = world.step(
                        host,
                        if rng.flip() {
                            Command::Lock
                        } else {
                            Command::Unlock
                        },
                    );
                }
            }
            // The host never drops in this walk, so the host is always there to admit.
            assert_eq!(world.meeting.role_of(host), Some(Role::Host));
        }
        world.ok(host, Command::EndForAll);
    }
}
