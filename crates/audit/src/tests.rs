//! Tests of the encoding, chaining, checkpoints and the verifier's verdicts.
//!
//! The tamper tests apply each attack of someone editing the database rows directly at every
//! position of a small log and require the verifier to name exactly the entry that was attacked,
//! because a verifier that only says "something is wrong" leaves an incident responder to search.

use crate::{
    chain, entry_hash, verify, Checkpoint, CheckpointSigner, Entry, Event, Head, Outcome,
    PublicKey, Report, Tamper, Verifier, GENESIS_HASH,
};

/// Length of the log the tamper tests attack at every position.
const LOG_LEN: u64 = 24;

#[test]
fn entry_hash_known_answer() {
    // Pins the canonical encoding: if this changes, every stored chain stops verifying. The value
    // was also computed independently from the layout documented in encoding.rs.
    let event = Event::new(
        1_764_241_200_000,
        "user:7f3a",
        "keys.rotated",
        Outcome::Success,
    )
    .target("kek:20261127")
    .detail("reason", "scheduled")
    .detail("kind", "kek");
    let hash = entry_hash(42, &[0x11; 32], &event);
    assert_eq!(
        hex::encode(hash),
        "363c19550d99f41aeacb0bde907e05e95a4010f914036971aa30c039dc4ffeaa"
    );
}

#[test]
fn encoding_is_unambiguous() {
    let base = |actor: &str, action: &str| Event::new(0, actor, action, Outcome::Success);
    let hash = |event: &Event| entry_hash(1, &GENESIS_HASH, event);
    let pairs = [
        (base("ab", "c"), base("a", "bc")),
        (base("", "ab"), base("ab", "")),
        (base("a", "b"), base("a", "b").target("")),
        (base("a", "b").target("c"), base("a", "b").detail("c", "")),
        (
            base("a", "b").detail("ab", "c"),
            base("a", "b").detail("a", "bc"),
        ),
        (
            base("a", "b").detail("k", "v"),
            base("a", "b").detail("k", "v").detail("", ""),
        ),
        (base("a", "b"), Event::new(0, "a", "b", Outcome::Failure)),
        (base("a", "b"), Event::new(1, "a", "b", Outcome::Success)),
    ];
    for (left, right) in &pairs {
        assert_ne!(hash(left), hash(right), "{left:?} and {right:?} collide");
    }
}

#[test]
fn encoding_covers_seq_and_prev_hash() {
    let event = sample_event(1);
    let hash = entry_hash(1, &GENESIS_HASH, &event);
    assert_ne!(hash, entry_hash(2, &GENESIS_HASH, &event));
    assert_ne!(hash, entry_hash(1, &[1; 32], &event));
}

#[test]
fn details_order_does_not_depend_on_insertion_order() {
    let forwards = Event::new(5, "system", "server.started", Outcome::Success)
        .detail("version", "1.2.3")
        .detail("listen", "443")
        .detail("mode", "production");
    let backwards = Event::new(5, "system", "server.started", Outcome::Success)
        .detail("mode", "production")
        .detail("listen", "443")
        .detail("version", "1.2.3");
    assert_eq!(
        entry_hash(1, &GENESIS_HASH, &forwards),
        entry_hash(1, &GENESIS_HASH, &backwards)
    );
}

#[test]
fn outcome_names_round_trip() {
    for outcome in [Outcome::Success, Outcome::Failure, Outcome::Denied] {
        assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        assert_eq!(outcome.to_string(), outcome.as_str());
    }
    assert_eq!(Outcome::parse("Success"), None);
    assert_eq!(Outcome::parse(""), None);
}

#[test]
fn chain_continues_from_a_head() {
    let (all_at_once, head_at_once) = chain(Head::EMPTY, (1..=10).map(sample_event));
    let (first, middle_head) = chain(Head::EMPTY, (1..=4).map(sample_event));
    let (second, head_in_two_steps) = chain(middle_head, (5..=10).map(sample_event));
    assert_eq!([first, second].concat(), all_at_once);
    assert_eq!(head_in_two_steps, head_at_once);
    assert_eq!(head_at_once, all_at_once[9].head());
    assert_eq!(all_at_once[0].prev_hash, GENESIS_HASH);
    assert_eq!(chain(Head::EMPTY, []), (Vec::new(), Head::EMPTY));
}

#[test]
fn intact_logs_verify() {
    for length in [0, 1, 2, 1000] {
        let log = sample_log(length);
        let head = head_of(&log);
        let report = check(&log, &[], Some(head)).expect("intact log verifies");
        assert_eq!(
            report,
            Report {
                entries: length,
                checkpoints: 0,
                head
            }
        );
        // Without the recorded head, too.
        assert_eq!(check(&log, &[], None).map(|report| report.head), Ok(head));
    }
}

#[test]
fn intact_log_with_checkpoints_verifies() {
    let log = sample_log(1000);
    let signer = signer();
    let mut checkpoints: Vec<Checkpoint> = (0..=10)
        .map(|step| {
            let head = head_at(&log, step * 100);
            signer.sign(head, 1_700_000_000_000 + step as i64)
        })
        .collect();
    // Stored order is not necessarily seq order.
    checkpoints.reverse();
    let report = check(&log, &checkpoints, Some(head_of(&log))).expect("verifies");
    assert_eq!(report.checkpoints, 11);
    assert_eq!(report.entries, 1000);
}

#[test]
fn empty_log_with_checkpoint_of_empty_head_verifies() {
    let checkpoint = signer().sign(Head::EMPTY, 1);
    let report = check(&[], &[checkpoint], Some(Head::EMPTY)).expect("verifies");
    assert_eq!(report.head, Head::EMPTY);
}

/// An attack at position `k` of a log of `LOG_LEN` entries, and the verdict it must produce.
struct Attack {
    name: &'static str,
    apply: fn(&mut Vec<Entry>, u64),
    /// The positions it is tried at.
    positions: std::ops::RangeInclusive<u64>,
    expected: fn(u64) -> Result<(), Tamper>,
}

fn attacks() -> Vec<Attack> {
    let n = LOG_LEN;
    vec![
        Attack {
            name: "event field changed",
            apply: |log, k| log[idx(k)].event.actor.push_str("-edited"),
            positions: 1..=n,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "outcome changed",
            apply: |log, k| log[idx(k)].event.outcome = Outcome::Denied,
            positions: 1..=n,
            // sample_event gives Denied to every third entry; changing it to Denied is no change.
            expected: |k| {
                if k % 3 == 2 {
                    Ok(())
                } else {
                    Err(Tamper::Modified { seq: k })
                }
            },
        },
        Attack {
            name: "detail removed",
            apply: |log, k| {
                log[idx(k)].event.details.remove("attempt");
            },
            positions: 1..=n,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "timestamp changed",
            apply: |log, k| log[idx(k)].event.at_ms -= 3_600_000,
            positions: 1..=n,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "stored hash changed",
            apply: |log, k| log[idx(k)].hash[31] ^= 1,
            positions: 1..=n,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "prev_hash changed",
            apply: |log, k| log[idx(k)].prev_hash[0] ^= 0x80,
            positions: 1..=n,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "event changed and its own hash recomputed",
            apply: |log, k| {
                let entry = &mut log[idx(k)];
                entry.event.action = "admin.granted".into();
                entry.hash = entry_hash(entry.seq, &entry.prev_hash, &entry.event);
            },
            // The last entry has no successor to disagree with, only the pins: tested separately.
            positions: 1..=n - 1,
            expected: |k| Err(Tamper::Modified { seq: k }),
        },
        Attack {
            name: "deleted, leaving a gap",
            apply: |log, k| {
                log.remove(idx(k));
            },
            positions: 1..=n,
            expected: |k| {
                if k == LOG_LEN {
                    Err(Tamper::Truncated { seq: k - 1 })
                } else {
                    Err(Tamper::Deleted { seq: k })
                }
            },
        },
        Attack {
            name: "deleted, later entries renumbered",
            apply: |log, k| delete_and_renumber(log, k, 1),
            positions: 1..=n,
            expected: |k| {
                if k == LOG_LEN {
                    Err(Tamper::Truncated { seq: k - 1 })
                } else {
                    Err(Tamper::Deleted { seq: k })
                }
            },
        },
        Attack {
            name: "three deleted, later entries renumbered",
            apply: |log, k| delete_and_renumber(log, k, 3),
            positions: 1..=n - 3,
            expected: |k| Err(Tamper::Deleted { seq: k }),
        },
        Attack {
            name: "garbage inserted, later entries renumbered",
            apply: |log, k| insert_and_renumber(log, k, Forgery::Garbage),
            positions: 1..=n + 1,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "linked entry with a bad hash inserted, later entries renumbered",
            apply: |log, k| insert_and_renumber(log, k, Forgery::LinkedBadHash),
            positions: 1..=n + 1,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "self-consistent entry inserted, later entries renumbered",
            apply: |log, k| insert_and_renumber(log, k, Forgery::SelfConsistent),
            positions: 1..=n + 1,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "self-consistent but unlinked entry inserted, later entries renumbered",
            apply: |log, k| insert_and_renumber(log, k, Forgery::SelfConsistentUnlinked),
            positions: 1..=n + 1,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "garbage with a duplicate seq inserted before the original",
            apply: |log, k| insert_duplicate(log, k, Forgery::Garbage, 0),
            positions: 1..=n,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "self-consistent entry with a duplicate seq inserted before the original",
            apply: |log, k| insert_duplicate(log, k, Forgery::SelfConsistent, 0),
            positions: 1..=n,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "entry with a duplicate seq inserted after the original",
            apply: |log, k| insert_duplicate(log, k, Forgery::SelfConsistent, 1),
            positions: 1..=n,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "an existing entry copied in, later entries renumbered",
            // A copy of entry k itself placed before it would be indistinguishable from one
            // placed after it, so copies of other entries are used.
            apply: |log, k| {
                let source = if k >= 3 { k - 2 } else { k + 5 };
                let copy = log[idx(source)].clone();
                insert_entry_and_renumber(log, k, copy);
            },
            positions: 1..=n,
            expected: |k| Err(Tamper::Inserted { seq: k }),
        },
        Attack {
            name: "seq values of two adjacent entries swapped",
            apply: |log, k| swap_positions(log, k, k + 1),
            positions: 1..=n - 1,
            expected: |k| Err(Tamper::Reordered { seq: k }),
        },
        Attack {
            name: "seq values of two distant entries swapped",
            apply: |log, k| swap_positions(log, k, (k + 7).min(LOG_LEN)),
            positions: 1..=n - 1,
            expected: |k| Err(Tamper::Reordered { seq: k }),
        },
        Attack {
            name: "entry swapped with the last one",
            apply: |log, k| swap_positions(log, k, LOG_LEN),
            positions: 1..=n - 1,
            expected: |k| Err(Tamper::Reordered { seq: k }),
        },
        Attack {
            name: "rows delivered out of seq order",
            apply: |log, k| log.swap(idx(k), idx((k + 5).min(LOG_LEN))),
            positions: 1..=n - 1,
            expected: |k| Err(Tamper::Reordered { seq: k }),
        },
    ]
}

#[test]
fn every_attack_is_located_exactly_at_every_position() {
    let original = sample_log(LOG_LEN);
    let recorded_head = head_of(&original);
    let signer = signer();
    let checkpoints: Vec<Checkpoint> = [0, 4, 8, 13, 16, LOG_LEN]
        .into_iter()
        .map(|seq| signer.sign(head_at(&original, seq), 1))
        .collect();
    // Signature checks dominate in a debug build, so they are done once and the verifier cloned.
    let with_checkpoints = Verifier::new(signer.public_key(), &checkpoints, Some(recorded_head))
        .expect("genuine checkpoints");
    let mut failures = Vec::new();
    for attack in attacks() {
        for k in attack.positions.clone() {
            let mut log = original.clone();
            (attack.apply)(&mut log, k);
            let expected = (attack.expected)(k);
            let mut found = vec![
                ("recorded head", check(&log, &[], Some(recorded_head))),
                (
                    "recorded head, streaming",
                    check_streaming(&log, &[], Some(recorded_head)),
                ),
                // Pins must not blur the verdict.
                (
                    "recorded head and checkpoints",
                    feed(with_checkpoints.clone(), &log),
                ),
            ];
            // Away from the end of the log the chain alone must locate the attack.
            if k + 8 <= LOG_LEN {
                found.push(("chain alone", check(&log, &[], None)));
            }
            for (configuration, result) in found {
                if result.as_ref().map(|_| ()) != expected.as_ref().map(|_| ()) {
                    failures.push(format!(
                        "{} at {k} with {configuration}: expected {expected:?}, got {result:?}",
                        attack.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn last_entry_changed_with_its_hash_recomputed_is_caught_by_the_pins() {
    let original = sample_log(LOG_LEN);
    let signer = signer();
    let mut log = original.clone();
    let last = log.last_mut().expect("the log is not empty");
    last.event.action = "admin.granted".into();
    last.hash = entry_hash(last.seq, &last.prev_hash, &last.event);
    assert_eq!(
        check(&log, &[], Some(head_of(&original))),
        Err(Tamper::HeadMismatch {
            seq: LOG_LEN,
            after_seq: 0
        })
    );
    let checkpoints = [
        signer.sign(head_at(&original, 10), 1),
        signer.sign(head_of(&original), 2),
    ];
    assert_eq!(
        check(&log, &checkpoints, None),
        Err(Tamper::CheckpointMismatch {
            seq: LOG_LEN,
            after_seq: 10
        })
    );
}

#[test]
fn tampering_at_the_end_is_invisible_without_a_recorded_head_or_checkpoint() {
    // Documents the limit: the store must pass the recorded head and checkpoints.
    let mut log = sample_log(10);
    log.pop();
    assert!(check(&log, &[], None).is_ok());
    let mut log = sample_log(10);
    insert_and_renumber(&mut log, 11, Forgery::SelfConsistent);
    assert!(check(&log, &[], None).is_ok());
}

#[test]
fn attacks_after_an_earlier_one_do_not_hide_it() {
    let mut log = sample_log(LOG_LEN);
    let head = head_of(&log);
    log[4].event.actor.push('!');
    swap_positions(&mut log, 10, 15);
    log.remove(20);
    assert_eq!(
        check(&log, &[], Some(head)),
        Err(Tamper::Modified { seq: 5 })
    );
}

#[test]
fn untrusted_seq_values_never_panic() {
    let original = sample_log(8);
    for weird_seq in [0, 1, 7, 9, u64::MAX - 1, u64::MAX] {
        for position in 0..original.len() {
            let mut log = original.clone();
            log[position].seq = weird_seq;
            let result = check(&log, &[], Some(head_of(&original)));
            if position as u64 + 1 != weird_seq {
                assert!(
                    result.is_err(),
                    "seq {weird_seq} at {position} went unnoticed"
                );
            }
        }
    }
    let mut log = sample_log(3);
    log[0].seq = u64::MAX;
    log[1].seq = u64::MAX;
    assert!(check(&log, &[], None).is_err());
}

#[test]
fn rewrite_with_recomputed_hashes_is_caught_by_the_checkpoint_after_it() {
    let log = sample_log(30);
    let signer = signer();
    let checkpoints: Vec<Checkpoint> = [5, 10, 15, 30]
        .into_iter()
        .map(|seq| signer.sign(head_at(&log, seq), 1))
        .collect();
    let rewritten = rewrite_from(&log, 7);
    assert_eq!(
        check(&rewritten, &checkpoints, Some(head_of(&rewritten))),
        Err(Tamper::CheckpointMismatch {
            seq: 10,
            after_seq: 5
        })
    );
    // Before any checkpoint matched.
    let rewritten = rewrite_from(&log, 1);
    assert_eq!(
        check(&rewritten, &checkpoints, None),
        Err(Tamper::CheckpointMismatch {
            seq: 5,
            after_seq: 0
        })
    );
}

#[test]
fn rewrite_after_the_last_checkpoint_is_caught_by_the_recorded_head() {
    let log = sample_log(30);
    let signer = signer();
    let checkpoints = [signer.sign(head_at(&log, 10), 1)];
    let rewritten = rewrite_from(&log, 12);
    assert_eq!(
        check(&rewritten, &checkpoints, Some(head_of(&log))),
        Err(Tamper::HeadMismatch {
            seq: 30,
            after_seq: 10
        })
    );
}

#[test]
fn forged_or_altered_checkpoints_are_rejected() {
    let log = sample_log(20);
    let head = head_of(&log);
    let genuine = signer().sign(head_at(&log, 10), 1_700_000_000_000);
    let other_signer = CheckpointSigner::from_bytes(&[9; 32]);
    let rewritten = rewrite_from(&log, 3);

    let mut altered_hash = genuine.clone();
    altered_hash.hash = head_at(&rewritten, 10).hash;
    let mut altered_seq = genuine.clone();
    altered_seq.seq = 11;
    let mut altered_time = genuine.clone();
    altered_time.signed_at_ms += 1;
    let mut altered_signature = genuine.clone();
    altered_signature.signature[5] ^= 4;
    let forged_by_attacker = other_signer.sign(head_at(&rewritten, 10), 1);

    for (name, checkpoint, expected_seq) in [
        ("hash", altered_hash, 10),
        ("seq", altered_seq, 11),
        ("time", altered_time, 10),
        ("signature", altered_signature, 10),
        ("another key", forged_by_attacker, 10),
    ] {
        assert_eq!(
            check(&log, &[genuine.clone(), checkpoint], Some(head)),
            Err(Tamper::BadCheckpointSignature { seq: expected_seq }),
            "altered {name}"
        );
    }
}

#[test]
fn truncation_is_reported_with_the_last_present_entry() {
    let log = sample_log(20);
    let signer = signer();
    let checkpoint = signer.sign(head_at(&log, 20), 1);
    let truncated = &log[..15];
    assert_eq!(
        check(truncated, std::slice::from_ref(&checkpoint), None),
        Err(Tamper::Truncated { seq: 15 })
    );
    assert_eq!(
        check(truncated, &[], Some(head_of(&log))),
        Err(Tamper::Truncated { seq: 15 })
    );
    assert_eq!(
        check(&[], &[checkpoint], None),
        Err(Tamper::Truncated { seq: 0 })
    );
}

#[test]
fn entries_beyond_the_recorded_head_are_inserted() {
    let log = sample_log(20);
    assert_eq!(
        check(&log, &[], Some(head_at(&log, 12))),
        Err(Tamper::Inserted { seq: 13 })
    );
    assert_eq!(
        check(&log, &[], Some(Head::EMPTY)),
        Err(Tamper::Inserted { seq: 1 })
    );
}

#[test]
fn tamper_messages_name_the_entry() {
    let cases = [
        (Tamper::Modified { seq: 17 }, "entry 17 was modified"),
        (Tamper::Deleted { seq: 3 }, "entry 3 was deleted"),
        (Tamper::Inserted { seq: 4 }, "entry 4 was inserted"),
        (Tamper::Reordered { seq: 5 }, "entry 5 is out of place"),
        (
            Tamper::CheckpointMismatch {
                seq: 9,
                after_seq: 2,
            },
            "rewritten after entry 2: entry 9 does not match its signed checkpoint",
        ),
        (
            Tamper::BadCheckpointSignature { seq: 8 },
            "checkpoint at entry 8 has an invalid signature",
        ),
        (Tamper::Truncated { seq: 6 }, "after entry 6 are missing"),
        (
            Tamper::HeadMismatch {
                seq: 9,
                after_seq: 0,
            },
            "entry 9 does not match the recorded head",
        ),
    ];
    for (tamper, expected) in cases {
        let message = tamper.to_string();
        assert!(message.contains(expected), "{message:?}");
        assert!(!message.contains('\n'));
    }
}

#[test]
fn public_key_round_trips_and_rejects_garbage() {
    let public_key = signer().public_key();
    assert_eq!(PublicKey::from_hex(&public_key.to_hex()), Ok(public_key));
    assert_eq!(
        PublicKey::from_hex(&format!(" {}\n", public_key.to_hex().to_uppercase())),
        Ok(public_key)
    );
    assert_eq!(
        PublicKey::from_bytes(&public_key.to_bytes()),
        Ok(public_key)
    );
    assert!(PublicKey::from_hex("abc").is_err());
    assert!(PublicKey::from_hex(&"zz".repeat(32)).is_err());
    // The identity point has small order: any signature would be "valid" under it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(PublicKey::from_bytes(&identity).is_err());
}

#[test]
fn signer_round_trips_and_hides_its_secret() {
    let generated = CheckpointSigner::generate();
    let restored = CheckpointSigner::from_bytes(&generated.to_bytes());
    assert_eq!(restored.public_key(), generated.public_key());
    let checkpoint = restored.sign(Head::EMPTY, 3);
    assert!(generated.public_key().verify(&checkpoint));

    let debug = format!("{generated:?}");
    let secret_hex = hex::encode(*generated.to_bytes());
    assert!(!debug.contains(&secret_hex), "{debug}");
    assert!(debug.contains(&generated.public_key().to_hex()));
}

#[test]
fn streaming_verifier_stops_as_soon_as_the_verdict_is_certain() {
    let mut log = sample_log(10);
    insert_duplicate(&mut log, 4, Forgery::Garbage, 0);
    let mut verifier = Verifier::new(signer().public_key(), &[], None).expect("no checkpoints");
    let mut results = log.iter().map(|entry| verifier.push(entry));
    for _ in 0..4 {
        assert_eq!(results.next(), Some(Ok(())));
    }
    assert_eq!(results.next(), Some(Err(Tamper::Inserted { seq: 4 })));
}

// Helpers below.

fn sample_event(i: u64) -> Event {
    // Varied fields, so that an attack on any field of any entry changes something hashed.
    let (outcome, action) = match i % 3 {
        0 => (Outcome::Success, "meeting.joined"),
        1 => (Outcome::Failure, "session.created"),
        _ => (Outcome::Denied, "recording.started"),
    };
    let event = Event::new(
        1_764_241_200_000 + i as i64 * 1000,
        format!("user:{:08x}", i * 2_654_435_761 % (1 << 32)),
        action,
        outcome,
    )
    .detail("attempt", i.to_string());
    match i % 4 {
        0 => event.target(format!("meeting:{i}")),
        _ => event,
    }
}

fn sample_log(length: u64) -> Vec<Entry> {
    chain(Head::EMPTY, (1..=length).map(sample_event)).0
}

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_bytes(&[7; 32])
}

fn check(
    log: &[Entry],
    checkpoints: &[Checkpoint],
    recorded_head: Option<Head>,
) -> Result<Report, Tamper> {
    verify(log, checkpoints, recorded_head, &signer().public_key())
}

fn check_streaming(
    log: &[Entry],
    checkpoints: &[Checkpoint],
    recorded_head: Option<Head>,
) -> Result<Report, Tamper> {
    feed(
        Verifier::new(signer().public_key(), checkpoints, recorded_head)?,
        log,
    )
}

fn feed(mut verifier: Verifier, log: &[Entry]) -> Result<Report, Tamper> {
    for entry in log {
        // Keep pushing after an error, as a careless caller might: the verdict must not change.
        let _ = verifier.push(entry);
    }
    verifier.finish()
}

fn idx(seq: u64) -> usize {
    (seq - 1) as usize
}

fn head_of(log: &[Entry]) -> Head {
    log.last().map_or(Head::EMPTY, Entry::head)
}

fn head_at(log: &[Entry], seq: u64) -> Head {
    if seq == 0 {
        Head::EMPTY
    } else {
        log[idx(seq)].head()
    }
}

/// Changes entry `from` and recomputes every hash after it: a consistent forgery.
fn rewrite_from(log: &[Entry], from: u64) -> Vec<Entry> {
    let mut events: Vec<Event> = log.iter().map(|entry| entry.event.clone()).collect();
    events[idx(from)].action = "audit.disabled".into();
    chain(Head::EMPTY, events).0
}

fn delete_and_renumber(log: &mut Vec<Entry>, k: u64, count: usize) {
    log.drain(idx(k)..idx(k) + count);
    for entry in &mut log[idx(k)..] {
        entry.seq -= count as u64;
    }
}

#[derive(Clone, Copy)]
enum Forgery {
    /// Random prev_hash and hash.
    Garbage,
    /// The right prev_hash, a random hash.
    LinkedBadHash,
    /// The right prev_hash and a correctly computed hash.
    SelfConsistent,
    /// A random prev_hash and a hash correctly computed over it.
    SelfConsistentUnlinked,
}

fn forged_entry(log: &[Entry], k: u64, forgery: Forgery) -> Entry {
    let linked_prev = if k == 1 {
        GENESIS_HASH
    } else {
        log[idx(k - 1)].hash
    };
    let event = Event::new(
        1_764_241_200_500,
        "user:attacker",
        "role.granted",
        Outcome::Success,
    )
    .target("user:attacker");
    let (prev_hash, hash) = match forgery {
        Forgery::Garbage => ([0xab; 32], [0xcd; 32]),
        Forgery::LinkedBadHash => (linked_prev, [0xcd; 32]),
        Forgery::SelfConsistent => (linked_prev, entry_hash(k, &linked_prev, &event)),
        Forgery::SelfConsistentUnlinked => ([0xab; 32], entry_hash(k, &[0xab; 32], &event)),
    };
    Entry {
        seq: k,
        prev_hash,
        hash,
        event,
    }
}

fn insert_and_renumber(log: &mut Vec<Entry>, k: u64, forgery: Forgery) {
    let forged = forged_entry(log, k, forgery);
    insert_entry_and_renumber(log, k, forged);
}

fn insert_entry_and_renumber(log: &mut Vec<Entry>, k: u64, mut inserted: Entry) {
    inserted.seq = k;
    for entry in &mut log[idx(k)..] {
        entry.seq += 1;
    }
    log.insert(idx(k), inserted);
}

/// Inserts a forged entry with the seq `k` of an existing one, `offset` 0 before it, 1 after it.
fn insert_duplicate(log: &mut Vec<Entry>, k: u64, forgery: Forgery, offset: usize) {
    let forged = forged_entry(log, k, forgery);
    log.insert(idx(k) + offset, forged);
}

/// Swaps the rows at seq `a` and `b` by swapping their seq values: read back in seq order, each
/// position holds the other's content.
fn swap_positions(log: &mut [Entry], a: u64, b: u64) {
    log.swap(idx(a), idx(b));
    log[idx(a)].seq = a;
    log[idx(b)].seq = b;
}
