//! Durable audit appends per second on SQLite (`synchronous = FULL`) and PostgreSQL: one event
//! per commit, 100 per commit, and group commit with 64 concurrent writers. PostgreSQL is
//! measured when `TRYGG_BENCH_POSTGRES_URL` names a database (`cargo xtask bench` starts one).
//!
//! Run: `cargo xtask bench` (or `cargo bench -p store --bench audit_append`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use audit::{CheckpointSigner, Event, Outcome};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use store::{AuditWriter, GroupCommitter, Store};

fn event(n: u64) -> Event {
    Event::new(
        1_700_000_000_000 + n as i64,
        "user:5d1c0e4b",
        "session.created",
        Outcome::Success,
    )
    .target("session:9a41f2")
    .detail("method", "passkey")
}

async fn open(url: &str) -> Store {
    let store = Store::connect(url, 16, true).await.expect("database opens");
    store.migrate(0).await.expect("migrations apply");
    store
}

fn backends(
    runtime: &tokio::runtime::Runtime,
    dir: &tempfile::TempDir,
) -> Vec<(&'static str, Store)> {
    let sqlite = format!("sqlite:{}", dir.path().join("bench.db").display());
    let mut stores = vec![("sqlite", runtime.block_on(open(&sqlite)))];
    match std::env::var("TRYGG_BENCH_POSTGRES_URL") {
        Ok(url) => {
            let store = runtime.block_on(open(&url));
            stores.push(("postgres", store));
        }
        Err(_) => eprintln!("TRYGG_BENCH_POSTGRES_URL is not set: measuring SQLite only"),
    }
    stores
}

fn audit_append(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let writer = AuditWriter::new(Arc::new(CheckpointSigner::generate()), 1000);
    let mut group = c.benchmark_group("audit_append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));

    for (backend, store) in backends(&runtime, &dir) {
        for per_commit in [1u64, 100] {
            group.throughput(Throughput::Elements(per_commit));
            group.bench_function(
                BenchmarkId::new(format!("{backend}/per_commit"), per_commit),
                |b| {
                    b.to_async(&runtime).iter(|| async {
                        let mut tx = store.begin().await.unwrap();
                        writer
                            .append(&mut tx, (0..per_commit).map(event).collect(), 1)
                            .await
                            .unwrap();
                        tx.commit().await.unwrap();
                    });
                },
            );
        }

        let committer =
            runtime.block_on(async { GroupCommitter::spawn(store.clone(), writer.clone(), || 1) });
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            BenchmarkId::new(format!("{backend}/group_commit"), "64_writers"),
            |b| {
                b.iter_custom(|events| {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let writers: Vec<_> = (0..64)
                            .map(|writer_idx| {
                                let committer = committer.clone();
                                let share = events / 64 + u64::from(writer_idx < events % 64);
                                tokio::spawn(async move {
                                    for n in 0..share {
                                        committer.record(event(n)).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for writer in writers {
                            writer.await.unwrap();
                        }
                        started.elapsed()
                    })
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, audit_append);
criterion_main!(benches);
