//! SFU forwarding benchmark: RTP packets per second per core, and the latency the SFU adds.
//!
//! One SFU driver runs on a single-threaded tokio runtime on a thread of its own, so its CPU time
//! (from `/proc/self/task/<tid>/schedstat`) is one core's work. Synthetic publishers and
//! subscribers are str0m clients (`tests/client`), each on its own UDP socket and thread, on
//! loopback. Payloads carry their send time; latency is receive minus send, measured in the
//! receiving client after SRTP decryption.
//!
//! Two phases:
//! 1. Latency at light load: one publisher to one subscriber, first directly (client to client,
//!    the peer), then through the SFU, at the same rate. The SFU's added latency is the
//!    difference.
//! 2. Throughput: `SFU_BENCH_PUBLISHERS` publishers (camera, `SFU_BENCH_PACKETS_PER_FRAME`
//!    packets of 1000 bytes every 10 ms) and `SFU_BENCH_SUBSCRIBERS` subscribers in one room;
//!    every packet goes to every other participant. Forwarded packets per second are counted at
//!    the receivers and by the SFU, and divided by the SFU thread's CPU seconds.
//!
//! Run: `cargo bench -p sfu --bench forwarding` (release build). `SFU_BENCH_SECONDS` sets the
//! measured window of phase 2 (default 10).

#[path = "../tests/client/mod.rs"]
mod client;

use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use client::{epoch, Client, Mesh};
use sfu::{RoomId, SfuConfig, SfuDriver, SfuHandle, Stats, TrackKind};

const FRAME_INTERVAL: Duration = Duration::from_millis(10);
const PACKET_BYTES: usize = 1000;

fn main() {
    let publishers = setting("SFU_BENCH_PUBLISHERS", 4);
    let subscribers = setting("SFU_BENCH_SUBSCRIBERS", 6);
    let packets_per_frame = setting("SFU_BENCH_PACKETS_PER_FRAME", 10);
    let seconds = setting("SFU_BENCH_SECONDS", 10) as u64;
    let _ = epoch();

    let (handle, events, sfu_tid) = start_sfu();
    let control = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    // Phase 1: latency at light load, direct and through the SFU.
    let light_frame = 5; // 500 packets per second
    let direct = {
        let (mut sender, offer) = Client::new(1, &[TrackKind::Camera]);
        let mut receiver = Client::answerer(2);
        let answer = receiver.accept_offer(&offer);
        sender.accept_answer(&answer);
        let mut pair = vec![sender, receiver];
        let start = Instant::now();
        while !(pair[0].connected && pair[1].connected) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "direct pair connects"
            );
            for client in &mut pair {
                client.poll();
            }
            thread::sleep(Duration::from_millis(1));
        }
        let roles = pair
            .into_iter()
            .map(|c| {
                let frame = (c.id == 1).then_some(light_frame);
                (c, frame)
            })
            .collect();
        run_clients(roles, Duration::from_secs(1), Duration::from_secs(3))
    };
    let mut mesh = Mesh::with(handle.clone(), events);
    mesh.room = RoomId::from_bytes([1; 16]);
    control.block_on(async {
        mesh.join(1, &[TrackKind::Camera]).await;
        mesh.join(2, &[TrackKind::Audio]).await;
        settle(&mut mesh).await;
    });
    let roles = std::mem::take(&mut mesh.clients)
        .into_iter()
        .map(|c| {
            let frame = (c.id == 1).then_some(light_frame);
            (c, frame)
        })
        .collect();
    let through_sfu = run_clients(roles, Duration::from_secs(1), Duration::from_secs(3));
    control.block_on(async { mesh.sfu.remove_room(mesh.room).await.unwrap() });

    // Phase 2: throughput.
    mesh.room = RoomId::from_bytes([2; 16]);
    control.block_on(async {
        for id in 0..publishers as u64 {
            mesh.join(100 + id, &[TrackKind::Camera]).await;
        }
        for id in 0..subscribers as u64 {
            mesh.join(200 + id, &[TrackKind::Audio]).await;
        }
        settle(&mut mesh).await;
    });
    let roles = std::mem::take(&mut mesh.clients)
        .into_iter()
        .map(|c| {
            let frame = (c.id < 200).then_some(packets_per_frame);
            (c, frame)
        })
        .collect();
    let warm_up = Duration::from_secs(2);
    let window = Duration::from_secs(seconds);
    let sampler = {
        let handle = handle.clone();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            thread::sleep(warm_up);
            let begin = (
                Instant::now(),
                cpu_ns(&sfu_tid),
                runtime.block_on(handle.stats()).unwrap(),
            );
            thread::sleep(window);
            let end = (
                Instant::now(),
                cpu_ns(&sfu_tid),
                runtime.block_on(handle.stats()).unwrap(),
            );
            (begin, end)
        })
    };
    let load = run_clients(roles, warm_up, window);
    let ((t0, cpu0, stats0), (t1, cpu1, stats1)) = sampler.join().unwrap();

    let wall = (t1 - t0).as_secs_f64();
    let sfu_cpu = (cpu1 - cpu0) as f64 / 1e9;
    let forwarded = stats1.packets_forwarded - stats0.packets_forwarded;
    let received: u64 = load.iter().map(|r| r.received).sum();
    let offered = publishers * packets_per_frame * 100;
    let fan_out = publishers - 1 + subscribers;
    let mut load_latency: Vec<u64> = load.into_iter().flat_map(|r| r.latencies_us).collect();
    let mut direct_latency: Vec<u64> = direct.into_iter().flat_map(|r| r.latencies_us).collect();
    let mut sfu_latency: Vec<u64> = through_sfu
        .into_iter()
        .flat_map(|r| r.latencies_us)
        .collect();

    for values in [&mut load_latency, &mut direct_latency, &mut sfu_latency] {
        values.sort_unstable();
    }
    println!("SFU forwarding benchmark (str0m 0.25, release build)");
    println!();
    println!(
        "phase 1, latency at 500 packets/s, 1000-byte payload, one publisher to one subscriber:"
    );
    print_latency("  direct, client to client", &direct_latency);
    print_latency("  through the SFU         ", &sfu_latency);
    let added = |p: f64| percentile(&sfu_latency, p) as i64 - percentile(&direct_latency, p) as i64;
    println!(
        "  added by the SFU: p50 {} us, p99 {} us",
        added(0.50),
        added(0.99)
    );
    println!();
    println!(
        "phase 2, {publishers} publishers x {} packets/s, {subscribers} subscribers, fan-out {fan_out}, {seconds} s window:",
        packets_per_frame * 100
    );
    println!(
        "  offered to the SFU:      {offered} packets/s in, {} packets/s out",
        offered * fan_out
    );
    println!(
        "  forwarded (SFU count):   {:.0} packets/s",
        forwarded as f64 / wall
    );
    println!(
        "  received (clients):      {:.0} packets/s",
        received as f64 / window.as_secs_f64()
    );
    println!(
        "  SFU thread CPU:          {:.2} s of {:.2} s ({:.0}% of one core)",
        sfu_cpu,
        wall,
        100.0 * sfu_cpu / wall
    );
    println!(
        "  per core:                {:.0} forwarded packets per CPU-second",
        forwarded as f64 / sfu_cpu
    );
    print_latency("  latency under load      ", &load_latency);
    print_stats(&stats0, &stats1);
}

/// Starts the SFU driver on a current-thread runtime on its own thread; returns its handle, its
/// events and the thread's Linux id.
fn start_sfu() -> (SfuHandle, tokio::sync::mpsc::Receiver<sfu::Event>, String) {
    let (sender, receiver) = std_mpsc::channel();
    thread::Builder::new()
        .name("sfu".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = SfuConfig::new("127.0.0.1:0".parse().unwrap(), [127, 0, 0, 1].into());
                let (driver, handle, events) = SfuDriver::bind(config).await.unwrap();
                let tid = std::fs::read_link("/proc/thread-self")
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                sender.send((handle, events, tid)).unwrap();
                driver.run().await;
            });
        })
        .unwrap();
    receiver.recv().unwrap()
}

/// CPU time the thread has run, in nanoseconds (0 where /proc does not say).
fn cpu_ns(tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Steps the mesh until everyone is connected and every receiver has a packet from every
/// publisher.
async fn settle(mesh: &mut Mesh) {
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the mesh settles"
        );
        for client in &mut mesh.clients {
            let tracks: Vec<TrackKind> = client
                .published
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| *k != TrackKind::Audio)
                .collect();
            for kind in tracks {
                client.send(kind, PACKET_BYTES);
            }
        }
        mesh.run_for(Duration::from_millis(10)).await;
        let senders: Vec<u64> = mesh
            .clients
            .iter()
            .filter(|c| c.published.iter().any(|(k, _)| *k == TrackKind::Camera))
            .map(|c| c.id)
            .collect();
        let done = mesh.clients.iter().all(|c| {
            c.connected
                && senders
                    .iter()
                    .filter(|&&s| s != c.id)
                    .all(|&s| c.intact_from(s, TrackKind::Camera) > 0)
        });
        if done {
            for client in &mut mesh.clients {
                client.received.clear();
            }
            return;
        }
    }
}

struct Report {
    received: u64,
    latencies_us: Vec<u64>,
}

/// Runs each client on its own thread for `warm_up + window`; those with `Some(n)` send `n`
/// camera packets every 10 ms. Counts what arrives within the window.
fn run_clients(
    roles: Vec<(Client, Option<usize>)>,
    warm_up: Duration,
    window: Duration,
) -> Vec<Report> {
    let start = Instant::now();
    let window_start = start + warm_up;
    let stop = window_start + window;
    let threads: Vec<_> = roles
        .into_iter()
        .map(|(mut client, frame)| {
            thread::spawn(move || {
                let mut report = Report {
                    received: 0,
                    latencies_us: Vec::new(),
                };
                let mut next_frame = Instant::now();
                loop {
                    let now = Instant::now();
                    if now >= stop {
                        break;
                    }
                    if let Some(packets) = frame {
                        if now >= next_frame {
                            for _ in 0..packets {
                                client.send(TrackKind::Camera, PACKET_BYTES);
                            }
                            next_frame += FRAME_INTERVAL;
                        }
                    }
                    let wait = if frame.is_some() {
                        next_frame.saturating_duration_since(Instant::now())
                    } else {
                        Duration::from_millis(5)
                    };
                    client.poll_wait(wait);
                    for packet in client.received.drain(..) {
                        if packet.at < window_start || packet.at >= stop {
                            continue;
                        }
                        let Some(stamp) = packet.stamp else { continue };
                        report.received += 1;
                        let sent = epoch() + Duration::from_nanos(stamp.sent_ns);
                        report
                            .latencies_us
                            .push(packet.at.saturating_duration_since(sent).as_micros() as u64);
                    }
                }
                report
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// The `p` quantile of sorted `values`.
fn percentile(values: &[u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let index = ((values.len() - 1) as f64 * p).round() as usize;
    values[index]
}

fn print_latency(label: &str, values: &[u64]) {
    println!(
        "{label} latency p50 {} us, p99 {} us ({} packets)",
        percentile(values, 0.50),
        percentile(values, 0.99),
        values.len()
    );
}

fn print_stats(begin: &Stats, end: &Stats) {
    println!(
        "  SFU datagrams in/out:    {} / {}; key-frame requests relayed/limited: {} / {}",
        end.datagrams_received - begin.datagrams_received,
        end.datagrams_sent - begin.datagrams_sent,
        end.keyframe_requests_relayed - begin.keyframe_requests_relayed,
        end.keyframe_requests_limited - begin.keyframe_requests_limited,
    );
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
