//! The delivery service against real MLS messages from openmls clients: joins, concurrent
//! commits, planted Adds, departures, Welcome routing, the key-package directory, external
//! rejoin, and bytes that are not MLS at all.
//!
//! Not covered here: a client of another implementation (`tests/interop.rs` runs ts-mls), and
//! the transport (the binary's signalling WebSocket).

mod support;

use delivery::{
    Accepted, DeliveryService, DirectoryError, GroupId, Input, KeyPackageKind, Limits, Outgoing,
    Refusal,
};
use meeting::{AdmittedBy, Departure, MlsInstruction, PersonId};
use support::{person, Client};

const GROUP: &[u8] = b"meeting-0001";
/// Seconds since the Unix epoch inside every test key package's lifetime.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A meeting's group as the service and the clients see it.
struct Room {
    ds: DeliveryService,
    group: GroupId,
}

impl Room {
    fn new() -> Room {
        Room::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> Room {
        Room {
            ds: DeliveryService::new(limits),
            group: GroupId::new(GROUP),
        }
    }

    fn tell(&mut self, instruction: MlsInstruction) {
        self.ds.authorise(&self.group, instruction);
    }

    fn admit(&mut self, person: PersonId, by: PersonId) {
        self.tell(MlsInstruction::AcceptAdd {
            person,
            admitted_by: AdmittedBy::HostSide(by),
        });
    }

    fn host(&mut self, person: PersonId) {
        self.tell(MlsInstruction::AcceptAdd {
            person,
            admitted_by: AdmittedBy::HostIdentity,
        });
        self.tell(MlsInstruction::CommitRights {
            person,
            may_commit_adds: true,
        });
    }

    fn depart(&mut self, person: PersonId) {
        self.tell(MlsInstruction::Remove {
            person,
            departure: Departure::Left,
        });
    }

    fn send(&mut self, from: &Client, input: Input) -> Result<Accepted, Refusal> {
        self.ds.handle(&self.group, from.person, input)
    }

    /// Everything queued for `client`.
    fn drain(&mut self, client: &Client) -> Vec<Outgoing> {
        std::iter::from_fn(|| self.ds.poll_outgoing(client.person)).collect()
    }

    /// A host creates the group and adds each of `guests` (admitted first) one by one; every
    /// member processes every commit.
    fn start(host: &mut Client, guests: &mut [&mut Client]) -> Room {
        Room::start_with(Limits::default(), host, guests)
    }

    fn start_with(limits: Limits, host: &mut Client, guests: &mut [&mut Client]) -> Room {
        let mut room = Room::with_limits(limits);
        room.host(host.person);
        let info = host.create(GROUP);
        assert_eq!(
            room.send(host, Input::Create { group_info: info }),
            Ok(Accepted::Created)
        );
        for index in 0..guests.len() {
            let (joined, rest) = guests.split_at_mut(index);
            let guest = &mut rest[0];
            room.admit(guest.person, host.person);
            let key_package = guest.key_package();
            room.ds
                .upload_key_package(now(), guest.person, KeyPackageKind::OneTime, &key_package)
                .expect("upload");
            let claimed = room
                .ds
                .claim_key_package(now(), &room.group, host.person, guest.person)
                .expect("claim");
            let commit = host.add(&[claimed.key_package]);
            let accepted = room.send(host, commit).expect("add accepted");
            assert!(matches!(accepted, Accepted::Commit { .. }), "{accepted:?}");
            host.merge();
            for member in joined.iter_mut() {
                room.process_all(member);
            }
            room.process_all(guest);
        }
        room
    }

    /// Processes everything queued for `client`: Welcomes, commits, application messages.
    fn process_all(&mut self, client: &mut Client) -> Vec<Vec<u8>> {
        let mut texts = Vec::new();
        for outgoing in self.drain(client) {
            match outgoing {
                Outgoing::Welcome { message, .. } => client.join(&message),
                Outgoing::Handshake { message, .. } => {
                    client.process_commit(&message).expect("process commit")
                }
                Outgoing::Application { message, .. } => texts.push(client.receive(&message)),
                Outgoing::Rejoin { .. } | Outgoing::Replenish { .. } => {}
            }
        }
        texts
    }
}

fn only(mut queued: Vec<Outgoing>) -> Outgoing {
    assert_eq!(queued.len(), 1, "{queued:?}");
    queued.remove(0)
}

fn same_keys(clients: &[&Client]) {
    let first = clients[0].exporter();
    for client in clients {
        assert_eq!(client.exporter(), first, "person {:?}", client.person);
        assert_eq!(client.epoch(), clients[0].epoch());
    }
}

#[test]
fn two_and_three_members_join_and_talk() {
    let (mut host, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    let mut room = Room::start(&mut host, &mut [&mut bob, &mut carol]);
    assert_eq!(room.ds.epoch(&room.group), Some(2));
    assert_eq!(
        room.ds.members(&room.group),
        vec![person(1), person(2), person(3)]
    );
    same_keys(&[&host, &bob, &carol]);

    let message = bob.send(b"hello");
    assert_eq!(
        room.send(&bob, Input::Application { message }),
        Ok(Accepted::Application { recipients: 2 })
    );
    assert_eq!(room.process_all(&mut host), vec![b"hello".to_vec()]);
    assert_eq!(room.process_all(&mut carol), vec![b"hello".to_vec()]);
    assert!(room.drain(&bob).is_empty(), "nothing back to the sender");

    // An update from a non-host member is a commit like any other.
    let update = carol.update();
    assert!(matches!(
        room.send(&carol, update),
        Ok(Accepted::Commit { epoch: 3, .. })
    ));
    carol.merge();
    room.process_all(&mut host);
    room.process_all(&mut bob);
    same_keys(&[&host, &bob, &carol]);
}

#[test]
fn concurrent_commits_the_first_wins_the_other_retries() {
    let (mut host, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    let mut room = Room::start(&mut host, &mut [&mut bob, &mut carol]);
    let from_bob = bob.update();
    let from_carol = carol.update();
    assert!(matches!(
        room.send(&bob, from_bob),
        Ok(Accepted::Commit { epoch: 3, .. })
    ));
    assert_eq!(
        room.send(&carol, from_carol.clone()),
        Err(Refusal::StaleEpoch { current: 3 })
    );
    // The same commit again is just as stale: it never wins twice.
    assert_eq!(
        room.send(&carol, from_carol),
        Err(Refusal::StaleEpoch { current: 3 })
    );
    bob.merge();
    carol.discard();
    room.process_all(&mut host);
    room.process_all(&mut carol);
    same_keys(&[&host, &bob, &carol]);
    // Carol retries at the new epoch and wins it.
    let retry = carol.update();
    assert!(matches!(
        room.send(&carol, retry),
        Ok(Accepted::Commit { epoch: 4, .. })
    ));
    carol.merge();
    room.process_all(&mut host);
    room.process_all(&mut bob);
    same_keys(&[&host, &bob, &carol]);
}

#[test]
fn planted_participants_are_refused() {
    let (mut host, mut bob) = (Client::new(1), Client::new(2));
    let mut room = Room::start(&mut host, &mut [&mut bob]);
    let mallory = Client::new(9);
    let epoch = room.ds.epoch(&room.group);

    // A non-host member adds someone, even someone admitted.
    room.admit(mallory.person, host.person);
    let planted = bob.add(&[mallory.key_package()]);
    assert_eq!(room.send(&bob, planted), Err(Refusal::AddByNonHost));
    bob.discard();
    // And cannot even claim the key package.
    assert_eq!(
        room.ds
            .claim_key_package(now(), &room.group, bob.person, mallory.person),
        Err(Refusal::AddByNonHost)
    );

    // The host adds someone never admitted.
    let stranger = Client::new(10);
    let planted = host.add(&[stranger.key_package()]);
    assert_eq!(
        room.send(&host, planted),
        Err(Refusal::AddNotAdmitted {
            person: stranger.person
        })
    );
    host.discard();

    // A credential that does not name a meeting person.
    let nameless = Client::with_identity(11, b"admin@example.org".to_vec());
    let planted = host.add(&[nameless.key_package()]);
    assert!(matches!(
        room.send(&host, planted),
        Err(Refusal::Framing(_))
    ));
    host.discard();

    // An admitted person is added once; the admission is used up.
    let admitted = host.add(&[mallory.key_package()]);
    assert!(room.send(&host, admitted).is_ok());
    host.merge();
    room.process_all(&mut bob);
    let again = Client::with_identity(12, b"person:9".to_vec());
    let twice = host.add(&[again.key_package()]);
    assert_eq!(
        room.send(&host, twice),
        Err(Refusal::AlreadyMember { person: person(9) })
    );
    host.discard();
    assert_eq!(room.ds.epoch(&room.group), epoch.map(|epoch| epoch + 1));
}

#[test]
fn a_departure_forces_a_remove_before_anything_else() {
    let (mut host, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    let mut room = Room::start(&mut host, &mut [&mut bob, &mut carol]);
    room.depart(carol.person);

    // Nothing else is relayed: no message, no other commit.
    let message = bob.send(b"still there?");
    assert_eq!(
        room.send(&bob, Input::Application { message }),
        Err(Refusal::RemovalPending {
            persons: vec![carol.person]
        })
    );
    let update = bob.update();
    assert_eq!(
        room.send(&bob, update),
        Err(Refusal::RemovalPending {
            persons: vec![carol.person]
        })
    );
    bob.discard();
    // The departed can send nothing.
    let message = carol.send(b"let me in");
    assert_eq!(
        room.send(&carol, Input::Application { message }),
        Err(Refusal::NotMember)
    );
    // A Remove of someone who did not depart is refused.
    let wrong = bob.remove(&[host.person]);
    assert_eq!(
        room.send(&bob, wrong),
        Err(Refusal::RemoveNotAnnounced {
            person: host.person
        })
    );
    bob.discard();

    // Any member may commit the announced Remove.
    let remove = bob.remove(&[carol.person]);
    assert_eq!(
        room.send(&bob, remove),
        Ok(Accepted::Commit {
            epoch: 3,
            added: vec![],
            removed: vec![carol.person]
        })
    );
    bob.merge();
    room.process_all(&mut host);
    assert!(room.drain(&carol).is_empty(), "the departed get nothing");
    same_keys(&[&host, &bob]);
    assert_ne!(carol.exporter(), host.exporter());
    assert_eq!(room.ds.members(&room.group), vec![person(1), person(2)]);

    // Chat flows again.
    let message = bob.send(b"carol left");
    assert!(room.send(&bob, Input::Application { message }).is_ok());
    assert_eq!(room.process_all(&mut host), vec![b"carol left".to_vec()]);
}

#[test]
fn the_welcome_goes_only_to_the_added_person() {
    let (mut host, mut bob) = (Client::new(1), Client::new(2));
    let mut room = Room::start(&mut host, &mut [&mut bob]);
    let mut carol = Client::new(3);
    room.admit(carol.person, host.person);
    let add = host.add(&[carol.key_package()]);
    let Input::Commit {
        welcome: Some(welcome),
        ..
    } = add.clone()
    else {
        panic!("an Add has a Welcome");
    };
    // An Add without its Welcome, or a Welcome that is not one, is refused.
    let Input::Commit {
        commit, group_info, ..
    } = add.clone()
    else {
        unreachable!()
    };
    assert_eq!(
        room.send(
            &host,
            Input::Commit {
                commit: commit.clone(),
                welcome: None,
                group_info: group_info.clone()
            }
        ),
        Err(Refusal::WelcomeMismatch)
    );
    assert!(matches!(
        room.send(
            &host,
            Input::Commit {
                commit,
                welcome: Some(group_info.clone()),
                group_info
            }
        ),
        Err(Refusal::Framing(_))
    ));
    assert!(room.send(&host, add).is_ok());
    host.merge();
    let to_bob = room.drain(&bob);
    assert!(
        matches!(to_bob.as_slice(), [Outgoing::Handshake { .. }]),
        "{to_bob:?}"
    );
    let to_carol = room.drain(&carol);
    assert_eq!(
        to_carol,
        vec![Outgoing::Welcome {
            group: room.group.clone(),
            message: welcome.clone().into()
        }]
    );
    assert!(room.drain(&host).is_empty());
    carol.join(&welcome);
    for outgoing in to_bob {
        if let Outgoing::Handshake { message, .. } = outgoing {
            bob.process_commit(&message).expect("process");
        }
    }
    same_keys(&[&host, &bob, &carol]);
}

#[test]
fn a_losing_add_sends_no_welcome() {
    let (mut host, mut cohost) = (Client::new(1), Client::new(2));
    let mut room = Room::start(&mut host, &mut [&mut cohost]);
    room.tell(MlsInstruction::CommitRights {
        person: cohost.person,
        may_commit_adds: true,
    });
    let (dave, erin) = (Client::new(4), Client::new(5));
    room.admit(dave.person, host.person);
    room.admit(erin.person, cohost.person);
    let first = host.add(&[dave.key_package()]);
    let second = cohost.add(&[erin.key_package()]);
    assert!(room.send(&host, first).is_ok());
    assert_eq!(
        room.send(&cohost, second),
        Err(Refusal::StaleEpoch { current: 2 })
    );
    assert_eq!(room.drain(&dave).len(), 1);
    assert!(
        room.drain(&erin).is_empty(),
        "no Welcome for the losing commit"
    );
}

#[test]
fn key_packages_are_handed_out_once_then_the_last_resort() {
    let mut room = Room::new();
    let (host, guest) = (Client::new(1), Client::new(2));
    room.host(host.person);
    let mut owner = host;
    let info = owner.create(GROUP);
    room.send(&owner, Input::Create { group_info: info })
        .expect("create");
    room.admit(guest.person, owner.person);

    let packages: Vec<Vec<u8>> = (0..5).map(|_| guest.key_package()).collect();
    for (index, package) in packages.iter().enumerate() {
        assert_eq!(
            room.ds
                .upload_key_package(now(), guest.person, KeyPackageKind::OneTime, package),
            Ok(index + 1)
        );
    }
    assert_eq!(
        room.ds
            .upload_key_package(now(), guest.person, KeyPackageKind::OneTime, &packages[0]),
        Err(Refusal::KeyPackage(DirectoryError::Duplicate))
    );
    // Someone else's package, a package from the past or future, a non-package.
    assert_eq!(
        room.ds.upload_key_package(
            now(),
            owner.person,
            KeyPackageKind::OneTime,
            &guest.key_package()
        ),
        Err(Refusal::KeyPackage(DirectoryError::NotYours))
    );
    assert_eq!(
        room.ds.upload_key_package(
            now() + 400 * 24 * 3600,
            guest.person,
            KeyPackageKind::OneTime,
            &guest.key_package()
        ),
        Err(Refusal::KeyPackage(DirectoryError::Lifetime))
    );
    assert!(matches!(
        room.ds
            .upload_key_package(now(), guest.person, KeyPackageKind::OneTime, b"junk"),
        Err(Refusal::KeyPackage(DirectoryError::Framing(_)))
    ));
    let last_resort = guest.key_package_with(true);
    room.ds
        .upload_key_package(
            now(),
            guest.person,
            KeyPackageKind::LastResort,
            &last_resort,
        )
        .expect("last resort");

    // Each one-time package once, in order; the owner is asked to replenish below 4.
    let mut handed = Vec::new();
    for expected_remaining in (0..5).rev() {
        let claimed = room
            .ds
            .claim_key_package(now(), &room.group, owner.person, guest.person)
            .expect("claim");
        assert!(!claimed.last_resort);
        assert_eq!(claimed.remaining, expected_remaining);
        assert_eq!(claimed.replenish, expected_remaining < 4);
        handed.push(claimed.key_package);
    }
    assert_eq!(
        handed, packages,
        "each handed out exactly once, oldest first"
    );
    let replenish: Vec<Outgoing> =
        std::iter::from_fn(|| room.ds.poll_outgoing(guest.person)).collect();
    assert_eq!(
        replenish,
        (0..4)
            .rev()
            .map(|remaining| Outgoing::Replenish { remaining })
            .collect::<Vec<_>>()
    );
    // Then the last resort, as often as needed.
    for _ in 0..3 {
        let claimed = room
            .ds
            .claim_key_package(now(), &room.group, owner.person, guest.person)
            .expect("claim");
        assert!(claimed.last_resort);
        assert_eq!(claimed.key_package, last_resort);
    }
    // Nobody claims for a person who was not admitted.
    assert_eq!(
        room.ds
            .claim_key_package(now(), &room.group, owner.person, person(77)),
        Err(Refusal::AddNotAdmitted { person: person(77) })
    );
    // The stock is bounded.
    let mut limited = DeliveryService::new(Limits::default());
    for _ in 0..16 {
        limited
            .upload_key_package(
                now(),
                guest.person,
                KeyPackageKind::OneTime,
                &guest.key_package(),
            )
            .expect("upload");
    }
    assert_eq!(
        limited.upload_key_package(
            now(),
            guest.person,
            KeyPackageKind::OneTime,
            &guest.key_package()
        ),
        Err(Refusal::KeyPackage(DirectoryError::StockFull { max: 16 }))
    );
}

#[test]
fn a_member_that_cannot_process_a_commit_rejoins_by_external_commit() {
    let (mut host, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    let mut room = Room::start(&mut host, &mut [&mut bob, &mut carol]);
    // Carol's commit wins; Bob's client "cannot process it" (we drop it on the floor).
    let update = carol.update();
    room.send(&carol, update).expect("accepted");
    carol.merge();
    room.process_all(&mut host);
    let lost = room.drain(&bob);
    assert_eq!(lost.len(), 1);

    // Unprompted external commits are refused, also from members.
    let unprompted = bob.rejoin(&room.ds.group_info(&room.group).expect("stored"));
    assert_eq!(room.send(&bob, unprompted), Err(Refusal::RejoinRefused));

    assert_eq!(
        room.send(&bob, Input::CannotProcess { epoch: 3 }),
        Ok(Accepted::Rejoin)
    );
    let Outgoing::Rejoin { group_info, .. } = only(room.drain(&bob)) else {
        panic!("a GroupInfo to rejoin with");
    };
    // Others are not blocked meanwhile: chat and commits go on (Bob is skipped).
    let message = host.send(b"go on");
    assert_eq!(
        room.send(&host, Input::Application { message }),
        Ok(Accepted::Application { recipients: 1 })
    );
    room.process_all(&mut carol);
    let update = host.update();
    room.send(&host, update).expect("accepted");
    host.merge();
    room.process_all(&mut carol);
    // Bob was sent the new GroupInfo; the old one is stale.
    let stale = bob.rejoin(&group_info);
    assert_eq!(
        room.send(&bob, stale),
        Err(Refusal::StaleEpoch { current: 4 })
    );
    let Outgoing::Rejoin { group_info, .. } = only(room.drain(&bob)) else {
        panic!("the new GroupInfo");
    };
    // Someone else's identity cannot ride on the rejoin.
    let impostor = Client::with_identity(2, b"person:3".to_vec());
    let mut impostor = impostor;
    let stolen = impostor.rejoin(&group_info);
    assert_eq!(room.send(&impostor, stolen), Err(Refusal::RejoinRefused));

    let rejoin = bob.rejoin(&group_info);
    let accepted = room.send(&bob, rejoin).expect("rejoin accepted");
    assert_eq!(
        accepted,
        Accepted::Commit {
            epoch: 5,
            added: vec![],
            removed: vec![bob.person]
        }
    );
    bob.merge();
    room.process_all(&mut host);
    room.process_all(&mut carol);
    same_keys(&[&host, &bob, &carol]);
    assert_eq!(
        room.ds.members(&room.group),
        vec![person(1), person(2), person(3)]
    );
    let message = bob.send(b"back");
    assert!(room.send(&bob, Input::Application { message }).is_ok());
    assert_eq!(room.process_all(&mut carol), vec![b"back".to_vec()]);
}

#[test]
fn a_slow_recipient_is_sent_the_group_info_instead_of_holding_the_group() {
    let limits = Limits {
        outbox_messages: 8,
        ..Limits::default()
    };
    let (mut host, mut bob) = (Client::new(1), Client::new(2));
    let mut room = Room::start_with(limits, &mut host, &mut [&mut bob]);
    // Application messages beyond the outbox are dropped and counted.
    for _ in 0..300 {
        let message = host.send(b"spam");
        room.send(&host, Input::Application { message })
            .expect("accepted");
    }
    assert_eq!(room.ds.dropped(bob.person), 300 - 8);
    // A commit that does not fit turns into a rejoin for Bob: what he could not use is dropped
    // and the new epoch's GroupInfo queued; the group went on without waiting for him.
    let update = host.update();
    assert!(matches!(
        room.send(&host, update),
        Ok(Accepted::Commit { epoch: 2, .. })
    ));
    host.merge();
    let Outgoing::Rejoin { group_info, .. } = only(room.drain(&bob)) else {
        panic!("a rejoin");
    };
    let rejoin = bob.rejoin(&group_info);
    assert!(room.send(&bob, rejoin).is_ok());
    bob.merge();
    room.process_all(&mut host);
    same_keys(&[&host, &bob]);
}

#[test]
fn refusals_change_nothing_and_strangers_learn_nothing() {
    let (mut host, mut bob) = (Client::new(1), Client::new(2));
    let mut room = Room::start(&mut host, &mut [&mut bob]);
    let stranger = Client::new(50);
    let message = bob.send(b"hi");
    assert_eq!(
        room.send(
            &stranger,
            Input::Application {
                message: message.clone()
            }
        ),
        Err(Refusal::NotMember)
    );
    assert_eq!(
        room.ds.handle(
            &GroupId::new(b"other".to_vec()),
            bob.person,
            Input::Application { message }
        ),
        Err(Refusal::UnknownGroup)
    );
    let update = bob.update();
    assert_eq!(room.send(&host, update), Err(Refusal::SenderMismatch));
    assert_eq!(room.ds.epoch(&room.group), Some(1));
    assert!(room.drain(&host).is_empty());
    // A second Create, a Create by a guest.
    assert_eq!(
        room.send(
            &host,
            Input::Create {
                group_info: host.group_info()
            }
        ),
        Err(Refusal::AlreadyCreated)
    );
    // The meeting ends: the group is gone.
    room.tell(MlsInstruction::EndGroup);
    assert_eq!(room.ds.epoch(&room.group), None);
}

#[test]
fn malformed_and_truncated_bytes_are_refused_without_panicking() {
    let (mut host, mut bob) = (Client::new(1), Client::new(2));
    let mut room = Room::start(&mut host, &mut [&mut bob]);
    let update = bob.update();
    let Input::Commit {
        commit, group_info, ..
    } = update
    else {
        unreachable!()
    };
    let message = bob.send(b"hello");
    let key_package = bob.key_package();
    let samples = [commit, group_info, message, key_package];

    // Deterministic pseudo-random bytes (xorshift), plus every truncation and single-byte flip
    // of real messages: nothing may panic, and nothing garbled may be accepted as a commit.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for length in [0, 1, 2, 3, 4, 8, 16, 64, 300] {
        for _ in 0..50 {
            inputs.push((0..length).map(|_| next() as u8).collect());
        }
    }
    for sample in &samples {
        for cut in 0..sample.len() {
            inputs.push(sample[..cut].to_vec());
        }
        for index in (0..sample.len()).step_by(3) {
            let mut flipped = sample.clone();
            flipped[index] ^= (next() as u8) | 1;
            inputs.push(flipped);
        }
        let mut longer = sample.clone();
        longer.push(0);
        inputs.push(longer);
    }
    let epoch = room.ds.epoch(&room.group);
    for bytes in &inputs {
        let _ = delivery::framing::framing(bytes);
        let _ = delivery::framing::commit_view(bytes);
        let _ = delivery::framing::key_package(bytes);
        let _ = delivery::framing::group_info(bytes);
        let _ = delivery::framing::welcome(bytes);
        let _ = room.send(
            &bob,
            Input::Application {
                message: bytes.clone(),
            },
        );
        let _ = room
            .ds
            .upload_key_package(now(), bob.person, KeyPackageKind::OneTime, bytes);
        let garbled = Input::Commit {
            commit: bytes.clone(),
            welcome: None,
            group_info: bytes.clone(),
        };
        assert!(room.send(&bob, garbled).is_err());
    }
    assert_eq!(
        room.ds.epoch(&room.group),
        epoch,
        "nothing garbled moved the epoch"
    );
    // Oversized input is refused before parsing.
    let huge = vec![0u8; Limits::default().max_message_bytes + 1];
    assert_eq!(
        room.send(&bob, Input::Application { message: huge }),
        Err(Refusal::TooLarge {
            max: Limits::default().max_message_bytes
        })
    );
}
