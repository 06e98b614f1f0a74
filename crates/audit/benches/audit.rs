//! Benchmarks of the audit chain: verifying a large log and chaining a batch of events.
//!
//! Verification speed decides how long an operator waits for `trygg audit verify` on a log of
//! millions of entries, so it is reported in entries per second. These benchmarks deliberately do
//! not touch a database: the store's read speed is measured with the store.

use audit::{chain, verify, CheckpointSigner, Event, Head, Outcome};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const VERIFIED_ENTRIES: u64 = 100_000;
const CHAINED_EVENTS: u64 = 1_000;

fn verification(criterion: &mut Criterion) {
    let (entries, head) = chain(Head::EMPTY, (1..=VERIFIED_ENTRIES).map(sample_event));
    let signer = CheckpointSigner::from_bytes(&[7; 32]);
    // One checkpoint every 10,000 entries, as a busy server might sign.
    let checkpoints: Vec<_> = entries
        .iter()
        .filter(|entry| entry.seq % 10_000 == 0)
        .map(|entry| signer.sign(entry.head(), 0))
        .collect();
    let public_key = signer.public_key();

    let mut group = criterion.benchmark_group("verify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(VERIFIED_ENTRIES));
    group.bench_function("100k entries", |bencher| {
        bencher.iter(|| verify(&entries, &checkpoints, Some(head), &public_key));
    });
    group.finish();
}

fn chaining(criterion: &mut Criterion) {
    let events: Vec<Event> = (1..=CHAINED_EVENTS).map(sample_event).collect();
    let mut group = criterion.benchmark_group("chain");
    group.throughput(Throughput::Elements(CHAINED_EVENTS));
    group.bench_function("1k events", |bencher| {
        bencher.iter_batched(
            || events.clone(),
            |events| chain(Head::EMPTY, events),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// An event of typical size: two ids, an action name and two small details.
fn sample_event(i: u64) -> Event {
    Event::new(
        1_764_241_200_000 + i as i64,
        format!("user:{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        "meeting.joined",
        Outcome::Success,
    )
    .target(format!("meeting:{:08x}", i / 7))
    .detail("role", "guest")
    .detail("via", "lobby")
}

criterion_group!(benches, verification, chaining);
criterion_main!(benches);
