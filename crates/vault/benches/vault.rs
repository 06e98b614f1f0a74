//! Benchmarks of value encryption against raw AES-256-GCM from the same library.
//!
//! The vault's envelope (version byte, random nonce, associated data from table/column/row, one
//! copy into the output buffer) must stay close to the cost of the cipher itself: the target is
//! at least 80 % of raw `Aes256Gcm` throughput at 64 KiB. Raw means in-place encryption of a
//! buffer under a fixed key and nonce, which is not safe to use but is the floor to compare with.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use vault::{Aad, DataKey};

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];
const PLACE: Aad<'static> = Aad {
    table: "messages",
    column: "body",
    row: "01J9Z6Q4W8P3M2",
};
const ASSOCIATED_DATA: &[u8] = b"trygg-vault-value-v1\0messages/body/01J9Z6Q4W8P3M2";

fn encryption(criterion: &mut Criterion) {
    let data_key = DataKey::generate();
    let raw_cipher = raw_cipher();
    let nonce = Nonce::from_slice(&[9; 12]);
    let mut group = criterion.benchmark_group("encrypt");
    for (size, label) in SIZES {
        let plaintext = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("vault", label), |bencher| {
            bencher.iter(|| data_key.encrypt(&PLACE, &plaintext));
        });
        group.bench_function(BenchmarkId::new("raw-aes-256-gcm", label), |bencher| {
            let mut buffer = plaintext.clone();
            bencher.iter(|| {
                raw_cipher
                    .encrypt_in_place_detached(nonce, ASSOCIATED_DATA, &mut buffer)
                    .expect("within the size limit")
            });
        });
    }
    group.finish();
}

fn decryption(criterion: &mut Criterion) {
    let data_key = DataKey::generate();
    let raw_cipher = raw_cipher();
    let nonce = Nonce::from_slice(&[9; 12]);
    let mut group = criterion.benchmark_group("decrypt");
    for (size, label) in SIZES {
        let plaintext = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        let ciphertext = data_key.encrypt(&PLACE, &plaintext);
        group.bench_function(BenchmarkId::new("vault", label), |bencher| {
            bencher.iter(|| data_key.decrypt(&PLACE, &ciphertext).expect("authentic"));
        });
        let mut raw_ciphertext = plaintext.clone();
        let tag = raw_cipher
            .encrypt_in_place_detached(nonce, ASSOCIATED_DATA, &mut raw_ciphertext)
            .expect("within the size limit");
        group.bench_function(BenchmarkId::new("raw-aes-256-gcm", label), |bencher| {
            // Decrypting in place destroys the input, so each iteration gets a fresh copy made
            // outside the timed part: the raw figure excludes even that copy.
            bencher.iter_batched_ref(
                || raw_ciphertext.clone(),
                |buffer| {
                    raw_cipher
                        .decrypt_in_place_detached(nonce, ASSOCIATED_DATA, buffer, &tag)
                        .expect("authentic")
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn raw_cipher() -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&[7; 32]))
}

criterion_group!(benches, encryption, decryption);
criterion_main!(benches);
