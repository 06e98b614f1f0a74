//! Load generator for live meetings: a release `trygg demo` on loopback, 250 advisers enrolled
//! through the API, each hosting one passcode-less meeting, and 1,000 signalling WebSockets over
//! real TLS (per meeting the host and three guests who join by link, consent, pass the device
//! check and knock). It measures, with every participant in this one process so that one
//! monotonic clock times both ends:
//!
//! - knock → host notified, while the meetings fill up;
//! - lobby messages (guest → hosts, echoed to the guest) at two rates, while the guests wait;
//! - host controls after admission: each host toggles `set_muted` on its guests at a fixed rate,
//!   every participant of the meeting sees each change; the rate per meeting doubles until the
//!   p99 delivery latency passes [`P99_LIMIT`], a delivery goes missing, or the server refuses or
//!   closes anything;
//! - the server's resident memory before and after the connections, and its peak.
//!
//! Messages carry nothing for the measurement: a delivery is matched to its send by its order on
//! the connection (one meeting task, one queue per connection, so order is kept) and checked by
//! its content (who was muted, who wrote). Every `refused` message, closed socket and missing
//! delivery is counted and printed.
//!
//! Run: `cargo bench -p trygg --bench signalling_load`. Smaller runs for trying it out:
//! `SIGNALLING_LOAD_MEETINGS=20 cargo bench -p trygg --bench signalling_load`.
//! Prints Markdown tables for BENCHMARKS.md.
//!
//! What it deliberately does not do: measure media, MLS or passcode checks (Argon2 has its own
//! bench), or pretend the load generator is free: it shares the machine's cores with the server,
//! and its CPU time is printed beside the server's.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::StreamExt as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

mod support;
use support::{
    enrol_advisers, fill_meeting, mib, ms, open_file_limit, percentile, send, Cpu, Http, Room,
    Server, Socket, DRAIN,
};

const MEETINGS: usize = 250;
const GUESTS: usize = 3;
/// Meetings being set up at once while the server fills up.
const RAMP_PARALLEL: usize = 25;
/// Lobby messages per guest and second, and how many, per lobby level. A knock's conversation
/// holds at most 40 messages (`meeting::Limits::max_lobby_messages`), so the levels share that.
const LOBBY_LEVELS: [(f64, usize); 2] = [(1.0, 12), (10.0, 27)];
/// The first rate of host controls per meeting and second; it doubles each level.
const CONTROL_START: f64 = 1.0;
const CONTROL_LEVELS: usize = 10;
const CONTROL_SECONDS: f64 = 8.0;
/// A level whose p99 delivery latency exceeds this is not sustained.
const P99_LIMIT: Duration = Duration::from_millis(100);

type Sink = Arc<tokio::sync::Mutex<SplitSink<Socket, Message>>>;

fn main() {
    if !support::selected("signalling_load") {
        return;
    }
    let meetings = std::env::var("SIGNALLING_LOAD_MEETINGS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(MEETINGS);
    let connections = meetings * (1 + GUESTS);
    // Both this process and the server hold one descriptor per connection, plus their files.
    let needed = connections as u64 + 256;
    if let Some(limit) = open_file_limit() {
        if limit < needed {
            eprintln!(
                "error: the open-file limit is {limit} and this bench needs about {needed} (for \
                 {connections} WebSockets, in this process and in the server); raise it with \
                 `ulimit -n {}` in this shell and run it again",
                needed.next_power_of_two()
            );
            std::process::exit(1);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(run(&server, dir.path(), meetings));
    server.stop();
    report.print(meetings, connections);
}

/// Everything measured in one run.
struct Report {
    setup: Duration,
    ramp: Duration,
    knock: Vec<u32>,
    rss_before_kib: u64,
    rss_lobby_kib: u64,
    rss_admitted_kib: u64,
    rss_end_kib: u64,
    hwm_kib: u64,
    lobby: Vec<LevelResult>,
    control: Vec<LevelResult>,
    refused: BTreeMap<String, u64>,
    closed: u64,
    unexpected: u64,
}

struct LevelResult {
    /// Per meeting (control) or per guest (lobby), per second.
    rate: f64,
    sent: u64,
    expected: u64,
    latencies: Vec<u32>,
    seconds: f64,
    server_cpu: f64,
    bench_cpu: f64,
    refused: u64,
    closed: u64,
}

impl LevelResult {
    fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.latencies.len() as u64)
    }

    fn sustained(&self) -> bool {
        self.lost() == 0
            && self.refused == 0
            && self.closed == 0
            && percentile(&self.latencies, 0.99) <= P99_LIMIT.as_micros() as u32
    }
}

async fn run(server: &Server, data_dir: &Path, meetings: usize) -> Report {
    let http = Http::new(server.port, data_dir);
    let setup_started = Instant::now();
    let advisers = enrol_advisers(&http, data_dir, meetings).await;
    let setup = setup_started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kib = server.status_kib("VmRSS:");

    // The ramp: meetings fill up, a few at a time, as a morning's appointments would.
    let shared = Arc::new(Shared::default());
    let ramp_started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(RAMP_PARALLEL));
    let mut tasks = Vec::new();
    for (index, (adviser, meeting_id)) in advisers.into_iter().enumerate() {
        let http = http.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            fill_meeting(&http, index, adviser, &meeting_id, GUESTS).await
        }));
    }
    let mut rooms = Vec::new();
    let mut knock = Vec::new();
    for task in tasks {
        let (room, knocks) = task
            .await
            .unwrap()
            .unwrap_or_else(|error| panic!("{error}"));
        rooms.push(room);
        knock.extend(knocks);
    }
    let ramp = ramp_started.elapsed();

    // From here on, one reader task per socket records what arrives.
    let mut live = Vec::new();
    for room in rooms {
        live.push(room.go_live(&shared));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_lobby_kib = server.status_kib("VmRSS:");

    let mut level_index = 0;
    let mut lobby = Vec::new();
    for (rate, count) in LOBBY_LEVELS {
        lobby.push(lobby_level(server, &shared, &live, level_index, rate, count).await);
        level_index += 1;
    }

    // Admission: every host lets its guests in.
    for room in &live {
        let mut sink = room.host.lock().await;
        for guest in &room.state.guests {
            send(&mut *sink, json!({ "type": "admit", "person": guest })).await;
        }
    }
    let admitted_target = (live.len() * GUESTS) as u64;
    let deadline = Instant::now() + DRAIN;
    while shared.admitted.load(Ordering::Relaxed) < admitted_target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        shared.admitted.load(Ordering::Relaxed),
        admitted_target,
        "every guest is admitted"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_admitted_kib = server.status_kib("VmRSS:");

    let mut control = Vec::new();
    let mut rate = CONTROL_START;
    for _ in 0..CONTROL_LEVELS {
        let result = control_level(server, &shared, &live, level_index, rate).await;
        level_index += 1;
        let sustained = result.sustained();
        control.push(result);
        if !sustained {
            break;
        }
        rate *= 2.0;
    }
    let rss_end_kib = server.status_kib("VmRSS:");
    let hwm_kib = server.status_kib("VmHWM:");
    shared.finished.store(true, Ordering::Relaxed);
    let refused = shared.refused_codes.lock().unwrap().clone();
    Report {
        setup,
        ramp,
        knock,
        rss_before_kib,
        rss_lobby_kib,
        rss_admitted_kib,
        rss_end_kib,
        hwm_kib,
        lobby,
        control,
        refused,
        closed: shared.closed.load(Ordering::Relaxed),
        unexpected: shared.unexpected.load(Ordering::Relaxed),
    }
}

// ---------------------------------------------------------------------------------------------
// The measured phases.

/// What the readers record into, shared by every task.
#[derive(Default)]
struct Shared {
    /// Latency samples in microseconds, by level.
    samples: Mutex<BTreeMap<usize, Vec<u32>>>,
    sent: Mutex<BTreeMap<usize, u64>>,
    admitted: AtomicU64,
    refused: AtomicU64,
    refused_codes: Mutex<BTreeMap<String, u64>>,
    closed: AtomicU64,
    unexpected: AtomicU64,
    finished: AtomicBool,
}

impl Shared {
    fn record(&self, level: usize, latency: Duration) {
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.samples
            .lock()
            .unwrap()
            .entry(level)
            .or_default()
            .push(micros);
    }

    fn delivered(&self, level: usize) -> u64 {
        self.samples
            .lock()
            .unwrap()
            .get(&level)
            .map_or(0, |samples| samples.len() as u64)
    }

    fn count_sent(&self, level: usize) {
        *self.sent.lock().unwrap().entry(level).or_default() += 1;
    }
}

/// One meeting's send log: when each control command and each guest's lobby messages were
/// sent, and in which level. Readers find the n-th delivery's send time here.
struct MeetingState {
    guests: Vec<u64>,
    control: Mutex<Vec<(Instant, usize)>>,
    lobby: Vec<Mutex<Vec<(Instant, usize)>>>,
}

struct LiveRoom {
    state: Arc<MeetingState>,
    host: Sink,
    guests: Vec<Sink>,
}

async fn lobby_level(
    server: &Server,
    shared: &Arc<Shared>,
    rooms: &[LiveRoom],
    level: usize,
    rate: f64,
    count: usize,
) -> LevelResult {
    let period = Duration::from_secs_f64(1.0 / rate);
    let senders = rooms.len() * GUESTS;
    let started = Instant::now() + Duration::from_millis(100);
    let before = Cpu::now(server);
    let mut writers = Vec::new();
    for (room_index, room) in rooms.iter().enumerate() {
        for (guest, sink) in room.guests.iter().enumerate() {
            let offset = period.mul_f64((room_index * GUESTS + guest) as f64 / senders as f64);
            let (state, sink, shared) = (room.state.clone(), sink.clone(), shared.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..count {
                    tokio::time::sleep_until((started + offset + period * n as u32).into()).await;
                    let mut sink = sink.lock().await;
                    state.lobby[guest]
                        .lock()
                        .unwrap()
                        .push((Instant::now(), level));
                    shared.count_sent(level);
                    send(
                        &mut *sink,
                        json!({ "type": "message_to_hosts", "text": "Hej! Jag väntar i lobbyn." }),
                    )
                    .await;
                }
            }));
        }
    }
    // Each message reaches the host and comes back to its writer.
    finish_level(server, shared, level, rate, writers, started, before, 2).await
}

async fn control_level(
    server: &Server,
    shared: &Arc<Shared>,
    rooms: &[LiveRoom],
    level: usize,
    rate: f64,
) -> LevelResult {
    let period = Duration::from_secs_f64(1.0 / rate);
    let count = (rate * CONTROL_SECONDS).round() as usize;
    let started = Instant::now() + Duration::from_millis(100);
    let before = Cpu::now(server);
    let mut writers = Vec::new();
    for (room_index, room) in rooms.iter().enumerate() {
        let offset = period.mul_f64(room_index as f64 / rooms.len() as f64);
        let (state, sink, shared) = (room.state.clone(), room.host.clone(), shared.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..count {
                tokio::time::sleep_until((started + offset + period * n as u32).into()).await;
                let mut sink = sink.lock().await;
                let command = {
                    let mut log = state.control.lock().unwrap();
                    let command = log.len();
                    log.push((Instant::now(), level));
                    command
                };
                shared.count_sent(level);
                let (person, muted) = control_command(&state, command);
                send(
                    &mut *sink,
                    json!({ "type": "set_muted", "person": person, "muted": muted }),
                )
                .await;
            }
        }));
    }
    // Each change reaches the host and every guest.
    finish_level(
        server,
        shared,
        level,
        rate,
        writers,
        started,
        before,
        1 + GUESTS as u64,
    )
    .await
}

/// The meeting's n-th control command: guests muted in turn, then unmuted in turn, so every
/// command changes something (the meeting refuses one that changes nothing).
fn control_command(state: &MeetingState, command: usize) -> (u64, bool) {
    let guest = command % state.guests.len();
    let muted = (command / state.guests.len()).is_multiple_of(2);
    (state.guests[guest], muted)
}

#[allow(clippy::too_many_arguments)]
async fn finish_level(
    server: &Server,
    shared: &Arc<Shared>,
    level: usize,
    rate: f64,
    writers: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
    before: Cpu,
    fan_out: u64,
) -> LevelResult {
    let refused_before = shared.refused.load(Ordering::Relaxed);
    let closed_before = shared.closed.load(Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let sent = shared
        .sent
        .lock()
        .unwrap()
        .get(&level)
        .copied()
        .unwrap_or(0);
    let expected = sent * fan_out;
    let deadline = Instant::now() + DRAIN;
    while shared.delivered(level) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = Cpu::now(server);
    let mut latencies = shared
        .samples
        .lock()
        .unwrap()
        .remove(&level)
        .unwrap_or_default();
    latencies.sort_unstable();
    // Let the server settle before the next level.
    tokio::time::sleep(Duration::from_secs(1)).await;
    LevelResult {
        rate,
        sent,
        expected,
        latencies,
        seconds,
        server_cpu: (after.server - before.server) / (after.at - before.at),
        bench_cpu: (after.bench - before.bench) / (after.at - before.at),
        refused: shared.refused.load(Ordering::Relaxed) - refused_before,
        closed: shared.closed.load(Ordering::Relaxed) - closed_before,
    }
}

/// Who reads a socket.
#[derive(Clone, Copy)]
enum Role {
    Host,
    Guest(usize),
}

/// Reads one socket until it ends, recording each delivery against its send.
async fn read(
    mut stream: SplitStream<Socket>,
    role: Role,
    state: Arc<MeetingState>,
    shared: Arc<Shared>,
) {
    let mut control_seen = 0usize;
    let mut lobby_seen = vec![0usize; state.guests.len()];
    while let Some(next) = stream.next().await {
        let text = match next {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let received = Instant::now();
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            shared.unexpected.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match message["type"].as_str().unwrap_or_default() {
            "mute_changed" => {
                let sent = state.control.lock().unwrap().get(control_seen).copied();
                let expected = control_command(&state, control_seen);
                control_seen += 1;
                let actual = (
                    message["person"].as_u64().unwrap_or(0),
                    message["muted_by_host"].as_bool().unwrap_or(false),
                );
                match sent {
                    Some((at, level)) if actual == expected => {
                        shared.record(level, received - at);
                    }
                    _ => {
                        shared.unexpected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            "lobby_message" => {
                let from = message["from"].as_u64().unwrap_or(0);
                let writer = state.guests.iter().position(|guest| *guest == from);
                let matches_role = match role {
                    Role::Host => writer.is_some(),
                    Role::Guest(me) => writer == Some(me),
                };
                let sent = writer.filter(|_| matches_role).and_then(|writer| {
                    let n = lobby_seen[writer];
                    lobby_seen[writer] += 1;
                    state.lobby[writer].lock().unwrap().get(n).copied()
                });
                match sent {
                    Some((at, level)) => shared.record(level, received - at),
                    None => {
                        shared.unexpected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            "admitted" => {
                shared.admitted.fetch_add(1, Ordering::Relaxed);
            }
            "refused" => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                let code = message["code"].as_str().unwrap_or("?").to_owned();
                *shared
                    .refused_codes
                    .lock()
                    .unwrap()
                    .entry(code)
                    .or_default() += 1;
            }
            // What admission tells the others.
            "participant_joined" | "knock_closed" | "lobby" => {}
            _ => {
                shared.unexpected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if !shared.finished.load(Ordering::Relaxed) {
        shared.closed.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Setting up: advisers, meetings, and the people in them.

impl Room {
    fn go_live(self, shared: &Arc<Shared>) -> LiveRoom {
        let state = Arc::new(MeetingState {
            guests: self.guests.iter().map(|(person, _)| *person).collect(),
            control: Mutex::new(Vec::new()),
            lobby: (0..self.guests.len())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        });
        let (host_sink, host_stream) = self.host.split();
        tokio::spawn(read(host_stream, Role::Host, state.clone(), shared.clone()));
        let mut guests = Vec::new();
        for (index, (_, socket)) in self.guests.into_iter().enumerate() {
            let (sink, stream) = socket.split();
            tokio::spawn(read(
                stream,
                Role::Guest(index),
                state.clone(),
                shared.clone(),
            ));
            guests.push(Arc::new(tokio::sync::Mutex::new(sink)));
        }
        LiveRoom {
            state,
            host: Arc::new(tokio::sync::Mutex::new(host_sink)),
            guests,
        }
    }
}

impl Report {
    fn print(&self, meetings: usize, connections: usize) {
        let mut knock = self.knock.clone();
        knock.sort_unstable();
        println!("### Setup and memory\n");
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| advisers enrolled and meetings booked through the API | {meetings} in {:.1} s |",
            self.setup.as_secs_f64()
        );
        println!(
            "| WebSockets opened ({} hosts entered, {} guests joined, consented, knocked; {RAMP_PARALLEL} meetings at a time) | {connections} in {:.1} s |",
            meetings,
            meetings * GUESTS,
            self.ramp.as_secs_f64()
        );
        println!(
            "| knock → host notified: n, p50, p99, max | {}, {}, {}, {} |",
            knock.len(),
            ms(percentile(&knock, 0.5)),
            ms(percentile(&knock, 0.99)),
            ms(knock.last().copied().unwrap_or(0)),
        );
        println!(
            "| server RSS before any WebSocket | {} |",
            mib(self.rss_before_kib)
        );
        println!(
            "| server RSS, {connections} connected (guests in the lobby) | {} |",
            mib(self.rss_lobby_kib)
        );
        println!(
            "| server RSS, {connections} connected (everyone admitted) | {} |",
            mib(self.rss_admitted_kib)
        );
        println!(
            "| **memory per connection** (admitted − before) / {connections} | **{:.1} KiB** |",
            self.rss_admitted_kib.saturating_sub(self.rss_before_kib) as f64 / connections as f64
        );
        println!(
            "| server RSS after the last level; peak (VmHWM) | {}; {} |",
            mib(self.rss_end_kib),
            mib(self.hwm_kib)
        );
        println!();
        println!("### Lobby messages (guest → hosts, echoed to the guest)\n");
        Self::table(&self.lobby, "per guest", (meetings * GUESTS) as f64);
        println!("### Host controls (`set_muted`, seen by all four in the meeting)\n");
        Self::table(&self.control, "per meeting", meetings as f64);
        println!("### Integrity\n");
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| `refused` messages received, by code | {} |",
            if self.refused.is_empty() {
                "none".to_owned()
            } else {
                format!("{:?}", self.refused)
            }
        );
        println!("| sockets closed before the end | {} |", self.closed);
        println!(
            "| messages that matched no send (wrong order or content) | {} |",
            self.unexpected
        );
        let lost: u64 = self
            .lobby
            .iter()
            .chain(&self.control)
            .map(LevelResult::lost)
            .sum();
        println!("| deliveries missing after {DRAIN:?} | {lost} |");
    }

    fn table(levels: &[LevelResult], unit: &str, senders: f64) {
        println!(
            "| rate {unit} | sent | offered /s | delivered /s | p50 | p99 | max | server CPU | bench CPU | lost / refused / closed | sustained |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for level in levels {
            println!(
                "| {} /s | {} | {:.0} | {:.0} | {} | {} | {} | {:.0} % | {:.0} % | {} / {} / {} | {} |",
                level.rate,
                level.sent,
                level.rate * senders,
                level.latencies.len() as f64 / level.seconds,
                ms(percentile(&level.latencies, 0.5)),
                ms(percentile(&level.latencies, 0.99)),
                ms(level.latencies.last().copied().unwrap_or(0)),
                level.server_cpu * 100.0,
                level.bench_cpu * 100.0,
                level.lost(),
                level.refused,
                level.closed,
                if level.sustained() { "yes" } else { "**no**" },
            );
        }
        println!();
    }
}
