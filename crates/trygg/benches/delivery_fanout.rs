//! Delivery fan-out: end-to-end encrypted chat messages from 1,000 clients in 250 groups of four,
//! through Trygg's MLS delivery service and, as the peer, through Matrix Synapse on SQLite, in
//! one harness and one run, each server alone on the machine while it is measured.
//!
//! **Trygg.** A release `trygg demo` on loopback. 250 advisers enrol through the API and each
//! books a meeting; per meeting the host and three guests open signalling WebSockets over TLS,
//! the guests join by link, consent, pass the device check and knock, and the host admits them.
//! Every participant is a real MLS client (openmls, ciphertext suite 0x0001, the delivery tests'
//! client): the guests upload key packages, the host creates the meeting's group, claims their
//! key packages and commits the Add, the guests join by Welcome. Before anything is timed, every
//! member sends one message that every other member decrypts. The timed messages are real MLS
//! `PrivateMessage`s (a 100-byte chat text), encrypted before the level starts so that the
//! load generator's encryption is not part of the measurement; the server sees exactly what a
//! browser would send and fans each out to the three other members.
//!
//! **Synapse.** `matrix-synapse` (pinned in `cargo xtask synapse`) on SQLite, one process,
//! plain HTTP on loopback (no TLS: an advantage to the peer), with rate limits raised and
//! presence off so that neither throttles the flow. The same 1,000 users in 250 rooms of four;
//! each sends the same MLS ciphertexts as `m.room.encrypted` events (`PUT .../send/`) on a
//! kept-alive connection, and reads with one `/sync` long-poll at a time on another, as a
//! client does.
//!
//! **Levels, the same for both:**
//! - *saturation*: every client sends its next message as soon as the server has accepted the
//!   last (Trygg: `mls_delivered`; Synapse: the `PUT`'s answer), one in flight per client as the
//!   browser does. The accepted messages per second are the maximum rate;
//! - *50 %* and *100 %* of that maximum, open loop: each client sends on a fixed schedule,
//!   whatever the server does. Latency runs from the *scheduled* send to the arrival at each of
//!   the three recipients, so a server that falls behind is charged for it.
//!
//! A delivery is matched to its send by a hash of the ciphertext; every message must reach all
//! three other members. Missing deliveries, refusals and closed sockets are counted and printed.
//! The load generator shares the two cores with the server; its CPU time is printed beside the
//! server's.
//!
//! Run: `cargo xtask bench-fanout` (installs Synapse first). Smaller runs for trying it out:
//! `FANOUT_MEETINGS=20 cargo xtask bench-fanout`. Prints Markdown tables for BENCHMARKS.md.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;

mod support;
use support::{
    cpu_seconds, enrol_advisers, expect, fill_meeting, ms, open_file_limit, percentile, send, Cpu,
    Http, Room, Server, Socket, DRAIN,
};

#[path = "../../delivery/tests/support/mod.rs"]
mod mls;

const MEETINGS: usize = 250;
const GUESTS: usize = 3;
const MEMBERS: usize = GUESTS + 1;
/// Meetings being set up at once.
const RAMP_PARALLEL: usize = 25;
/// How long each level sends.
const LEVEL_SECONDS: f64 = 10.0;
/// The pause before each level, for the server to settle after the last.
const SETTLE: Duration = Duration::from_secs(5);
/// The most messages all clients together send in the saturation level (it ends earlier at
/// [`LEVEL_SECONDS`]); they are encrypted beforehand. Enough for a few seconds of Trygg's rate.
const SATURATION_BUDGET: usize = 200_000;
/// The open-loop levels, as fractions of the measured maximum.
const FRACTIONS: [f64; 2] = [0.5, 1.0];
/// The chat text every message carries (encrypted), 100 bytes.
const TEXT: &str = "Hej! Här kommer offerten för bolånet som vi pratade om. Hör av dig om något är oklart, mvh Anna";
/// Registrations and room joins at once against Synapse.
const SYNAPSE_PARALLEL: usize = 16;

fn main() {
    if !support::selected("delivery_fanout") {
        return;
    }
    let meetings = std::env::var("FANOUT_MEETINGS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(MEETINGS);
    let clients = meetings * MEMBERS;
    // Synapse: two connections per client, on both ends.
    let needed = 2 * clients as u64 + 256;
    if let Some(limit) = open_file_limit() {
        if limit < needed {
            eprintln!(
                "error: the open-file limit is {limit} and this bench needs about {needed}; raise \
                 it with `ulimit -n {}` in this shell and run it again",
                needed.next_power_of_two()
            );
            std::process::exit(1);
        }
    }
    let Some(synapse_python) = synapse_python() else {
        eprintln!(
            "error: Synapse is not installed beside the build output; `cargo xtask synapse` \
             installs it (`cargo xtask bench-fanout` does both)"
        );
        std::process::exit(1);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (trygg, mut members) = runtime.block_on(run_trygg(&server, dir.path(), meetings));
    server.stop();
    drop(dir);

    let synapse_dir = tempfile::tempdir().unwrap();
    let synapse = Synapse::start(&synapse_python, synapse_dir.path());
    let peer = runtime.block_on(run_synapse(&synapse, &mut members));
    drop(synapse);

    print_report(meetings, &trygg, &peer);
}

// ---------------------------------------------------------------------------------------------
// What a level measures, and the bookkeeping every reader and sender shares.

/// One level's results.
struct Level {
    name: String,
    /// Messages per second the schedule asked for (open loop), or none (saturation).
    offered: Option<f64>,
    sent: u64,
    accepted: u64,
    /// From the first send to the last acceptance.
    seconds: f64,
    latencies: Vec<u32>,
    expected: u64,
    server_cpu: f64,
    bench_cpu: f64,
    refused: u64,
    closed: u64,
}

impl Level {
    fn accepted_per_second(&self) -> f64 {
        self.accepted as f64 / self.seconds
    }

    fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.latencies.len() as u64)
    }
}

/// One group's messages in flight: when each was (to be) sent, and how many recipients have
/// not had it yet; and the latencies seen.
#[derive(Default)]
struct GroupBook {
    in_flight: HashMap<u64, (Instant, u8)>,
    latencies: Vec<u32>,
}

#[derive(Default)]
struct Books {
    groups: Vec<Mutex<GroupBook>>,
    accepted: AtomicU64,
    last_accepted_us: AtomicU64,
    refused: AtomicU64,
    refused_codes: Mutex<BTreeMap<String, u64>>,
    closed: AtomicU64,
    unknown: AtomicU64,
    /// Recipients an accepted message was not queued for (their outbox was full).
    counted_out: AtomicU64,
    finished: AtomicBool,
}

impl Books {
    fn new(groups: usize) -> Books {
        Books {
            groups: (0..groups).map(|_| Mutex::default()).collect(),
            ..Books::default()
        }
    }

    fn sending(&self, group: usize, key: u64, at: Instant) {
        self.groups[group]
            .lock()
            .unwrap()
            .in_flight
            .insert(key, (at, GUESTS as u8));
    }

    fn arrived(&self, group: usize, key: u64) {
        let now = Instant::now();
        let mut book = self.groups[group].lock().unwrap();
        let Some((sent, waiting)) = book.in_flight.get_mut(&key) else {
            self.unknown.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let latency = u32::try_from(now.duration_since(*sent).as_micros()).unwrap_or(u32::MAX);
        *waiting -= 1;
        if *waiting == 0 {
            book.in_flight.remove(&key);
        }
        book.latencies.push(latency);
    }

    fn accepted(&self, origin: Instant) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        let at = u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_accepted_us.fetch_max(at, Ordering::Relaxed);
    }

    fn refused(&self, code: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        *self
            .refused_codes
            .lock()
            .unwrap()
            .entry(code.to_owned())
            .or_default() += 1;
    }

    fn waiting(&self) -> u64 {
        self.groups
            .iter()
            .map(|group| {
                let book = group.lock().unwrap();
                book.in_flight
                    .values()
                    .map(|(_, waiting)| u64::from(*waiting))
                    .sum::<u64>()
            })
            .sum()
    }

    /// Empties the books for the next level: the latencies so far; what never arrived is
    /// dropped (it counts as lost against the level's expected deliveries).
    fn take(&self) -> Vec<u32> {
        let mut latencies = Vec::new();
        for group in &self.groups {
            let mut book = group.lock().unwrap();
            latencies.append(&mut book.latencies);
            book.in_flight.clear();
        }
        latencies
    }
}

fn key_of(ciphertext: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    ciphertext.hash(&mut hasher);
    hasher.finish()
}

/// A level's plan: per client, the ciphertexts it sends, and (open loop) the interval between
/// them.
struct Plan {
    name: String,
    /// Per group, per member: base64 MLS messages.
    messages: Vec<Vec<Vec<String>>>,
    interval: Option<Duration>,
}

/// Encrypts `count` messages for every member of every group, on both cores.
fn encrypt(members: &mut [Vec<mls::Client>], count: usize) -> Vec<Vec<Vec<String>>> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = members.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .chunks_mut(chunk)
            .map(|groups| {
                scope.spawn(move || {
                    groups
                        .iter_mut()
                        .map(|group| {
                            group
                                .iter_mut()
                                .map(|client| {
                                    (0..count)
                                        .map(|_| base64(&client.send(TEXT.as_bytes())))
                                        .collect()
                                })
                                .collect()
                        })
                        .collect::<Vec<Vec<Vec<String>>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    })
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unbase64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

/// The plans of the open-loop levels at `fractions` of `max` messages per second.
fn open_loop_plans(members: &mut [Vec<mls::Client>], max: f64) -> Vec<Plan> {
    let clients = (members.len() * MEMBERS) as f64;
    FRACTIONS
        .iter()
        .map(|fraction| {
            let per_client = max * fraction / clients;
            let count = (per_client * LEVEL_SECONDS).round().max(1.0) as usize;
            Plan {
                name: format!("{:.0} % of the maximum", fraction * 100.0),
                messages: encrypt(members, count),
                interval: Some(Duration::from_secs_f64(1.0 / per_client)),
            }
        })
        .collect()
}

/// Where in one interval client number `client` of `clients` starts its schedule, so that the
/// clients' sends spread evenly (open loop; closed-loop clients start at once).
fn spread(interval: Option<Duration>, client: usize, clients: usize) -> Duration {
    interval.map_or(Duration::ZERO, |interval| {
        interval.mul_f64(client as f64 / clients as f64)
    })
}

/// Waits until every delivery arrived or [`DRAIN`] passed; then reads the books into a level.
async fn finish_level(
    books: &Books,
    plan: &Plan,
    sent: u64,
    started: Instant,
    cpu: (Cpu, Cpu),
) -> Level {
    let deadline = Instant::now() + DRAIN;
    while books.waiting() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (start_cpu, end_cpu) = cpu;
    let mut latencies = books.take();
    latencies.sort_unstable();
    let accepted = books.accepted.swap(0, Ordering::Relaxed);
    let last = Duration::from_micros(books.last_accepted_us.swap(0, Ordering::Relaxed));
    let seconds = last
        .saturating_sub(started.duration_since(origin()))
        .as_secs_f64();
    let wall = end_cpu.at - start_cpu.at;
    let clients = plan.messages.iter().map(Vec::len).sum::<usize>() as f64;
    Level {
        name: plan.name.clone(),
        offered: plan
            .interval
            .map(|interval| clients / interval.as_secs_f64()),
        sent,
        accepted,
        seconds: seconds.max(1e-3),
        latencies,
        expected: sent * GUESTS as u64,
        server_cpu: (end_cpu.server - start_cpu.server) / wall,
        bench_cpu: (end_cpu.bench - start_cpu.bench) / wall,
        refused: books.refused.swap(0, Ordering::Relaxed),
        closed: books.closed.load(Ordering::Relaxed),
    }
}

/// The instant every acceptance time is counted from.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// CPU use of the server with process id `pid` and of this process.
fn cpu_of(pid: u32) -> Cpu {
    Cpu {
        at: origin().elapsed().as_secs_f64(),
        server: cpu_seconds(&format!("/proc/{pid}/stat")),
        bench: cpu_seconds("/proc/self/stat"),
    }
}

// ---------------------------------------------------------------------------------------------
// Trygg.

type WsSink = Arc<tokio::sync::Mutex<futures_util::stream::SplitSink<Socket, Message>>>;

/// One meeting's member sockets (the host first), after MLS is set up.
struct TryggGroup {
    sinks: Vec<WsSink>,
    /// Per member: one permit per message it may have in flight (closed loop).
    window: Vec<Arc<tokio::sync::Semaphore>>,
}

async fn run_trygg(
    server: &Server,
    data_dir: &Path,
    meetings: usize,
) -> (Vec<Level>, Vec<Vec<mls::Client>>) {
    let http = Http::new(server.port, data_dir);
    let advisers = enrol_advisers(&http, data_dir, meetings).await;
    let permits = Arc::new(tokio::sync::Semaphore::new(RAMP_PARALLEL));
    let mut tasks = Vec::new();
    for (index, (adviser, meeting_id)) in advisers.into_iter().enumerate() {
        let http = http.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let (mut room, _) = fill_meeting(&http, index, adviser, &meeting_id, GUESTS).await?;
            admit(&mut room).await?;
            let members = set_up_mls(&mut room, &meeting_id).await?;
            Ok::<_, String>((room, members))
        }));
    }
    let books = Arc::new(Books::new(meetings));
    let mut groups = Vec::new();
    let mut members = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        let (room, clients) = task
            .await
            .unwrap()
            .unwrap_or_else(|error| panic!("{error}"));
        groups.push(go_live(room, index, &books));
        members.push(clients);
    }
    eprintln!("trygg: {meetings} MLS groups of {MEMBERS} set up and verified");

    let mut levels = Vec::new();
    let saturation = Plan {
        name: "saturation (one in flight per client)".to_owned(),
        messages: encrypt(&mut members, SATURATION_BUDGET / (meetings * MEMBERS)),
        interval: None,
    };
    let level = trygg_level(server, &books, &groups, &saturation).await;
    let max = level.accepted_per_second();
    levels.push(level);
    for plan in open_loop_plans(&mut members, max) {
        levels.push(trygg_level(server, &books, &groups, &plan).await);
    }
    books.finished.store(true, Ordering::Relaxed);
    let refused = books.refused_codes.lock().unwrap().clone();
    if !refused.is_empty() {
        eprintln!("trygg: refusals by code: {refused:?}");
    }
    let unknown = books.unknown.load(Ordering::Relaxed);
    if unknown > 0 {
        eprintln!("trygg: {unknown} deliveries matched no send");
    }
    let counted_out = books.counted_out.load(Ordering::Relaxed);
    if counted_out > 0 {
        eprintln!("trygg: {counted_out} deliveries the server counted out (a full outbox)");
    }
    (levels, members)
}

/// The host lets every guest in; each guest sees that it is.
async fn admit(room: &mut Room) -> Result<(), String> {
    for (person, _) in &room.guests {
        send(&mut room.host, json!({ "type": "admit", "person": person })).await;
    }
    for (_, socket) in &mut room.guests {
        expect(socket, "admitted").await?;
    }
    Ok(())
}

/// The guests stock key packages; the host's client creates the group, claims a key package
/// of each guest and commits their Add; the guests join by Welcome. Then every member sends
/// one message that every other member decrypts.
async fn set_up_mls(room: &mut Room, meeting_id: &str) -> Result<Vec<mls::Client>, String> {
    // The group id is the meeting id's text, as the browser makes it.
    let group_id = meeting_id.as_bytes();
    let mut host = mls::Client::new(room.host_person);
    let mut guests: Vec<mls::Client> = room
        .guests
        .iter()
        .map(|(person, _)| mls::Client::new(*person))
        .collect();
    for ((_, socket), client) in room.guests.iter_mut().zip(&guests) {
        send(
            socket,
            json!({ "type": "mls_key_packages", "one_time": [base64(&client.key_package())] }),
        )
        .await;
    }
    let group_info = host.create(group_id);
    send(
        &mut room.host,
        json!({ "type": "mls_create", "group_info": base64(&group_info) }),
    )
    .await;
    expect_mls(&mut room.host, "mls_accepted").await?;
    let mut key_packages = Vec::new();
    for (person, _) in &room.guests {
        // A guest's upload and the host's claim come in on different sockets: retry until the
        // upload is there.
        loop {
            send(
                &mut room.host,
                json!({ "type": "mls_claim", "person": person }),
            )
            .await;
            let answer = expect_mls(&mut room.host, "mls_key_package").await;
            match answer {
                Ok(answer) => {
                    key_packages.push(unbase64(answer["key_package"].as_str().unwrap_or("")));
                    break;
                }
                Err(error) if error.contains("key_package_refused") => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
    let delivery::Input::Commit {
        commit,
        welcome,
        group_info,
    } = host.add(&key_packages)
    else {
        return Err("an Add makes a commit".to_owned());
    };
    send(
        &mut room.host,
        json!({
            "type": "mls_commit",
            "commit": base64(&commit),
            "welcome": welcome.as_deref().map(base64),
            "group_info": base64(&group_info),
        }),
    )
    .await;
    expect_mls(&mut room.host, "mls_accepted").await?;
    host.merge();
    for ((_, socket), client) in room.guests.iter_mut().zip(&mut guests) {
        let welcome = expect_mls(socket, "mls_welcome").await?;
        client.join(&unbase64(welcome["message"].as_str().unwrap_or("")));
    }

    // Every member sends one message; every other member decrypts it.
    let mut clients = vec![host];
    clients.append(&mut guests);
    let mut sockets: Vec<&mut Socket> = std::iter::once(&mut room.host)
        .chain(room.guests.iter_mut().map(|(_, socket)| socket))
        .collect();
    for sender in 0..MEMBERS {
        let text = format!("kontroll från {sender}");
        let message = clients[sender].send(text.as_bytes());
        send(
            &mut *sockets[sender],
            json!({ "type": "mls_message", "message": base64(&message) }),
        )
        .await;
        expect_mls(&mut *sockets[sender], "mls_delivered").await?;
        for receiver in (0..MEMBERS).filter(|receiver| *receiver != sender) {
            let arrived = expect_mls(&mut *sockets[receiver], "mls_application").await?;
            let plain =
                clients[receiver].receive(&unbase64(arrived["message"].as_str().unwrap_or("")));
            if plain != text.as_bytes() {
                return Err(format!("member {receiver} decrypted something else"));
            }
        }
    }
    Ok(clients)
}

/// [`expect`], with an `mls_refused` also an error.
async fn expect_mls(socket: &mut Socket, kind: &str) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no {kind} within 30 s"))?;
        let Some(Ok(Message::Text(text))) = next else {
            return Err(format!("socket ended before {kind}: {next:?}"));
        };
        let value: Value = serde_json::from_str(text.as_str())
            .map_err(|error| format!("unreadable message: {error}"))?;
        if value["type"] == kind {
            return Ok(value);
        }
        if value["type"] == "mls_refused" || value["type"] == "refused" {
            return Err(format!("refused while waiting for {kind}: {value}"));
        }
    }
}

/// What a reader needs of a server message.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    recipients: Option<u64>,
}

/// Splits the room's sockets; one reader per socket records arrivals and acceptances.
fn go_live(room: Room, group: usize, books: &Arc<Books>) -> TryggGroup {
    let mut sinks = Vec::new();
    let mut window = Vec::new();
    let sockets = std::iter::once(room.host).chain(room.guests.into_iter().map(|(_, s)| s));
    for socket in sockets {
        let (sink, mut stream) = socket.split();
        let permits = Arc::new(tokio::sync::Semaphore::new(1));
        let (books, reader_permits) = (books.clone(), permits.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(incoming) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    books.unknown.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                match incoming.kind.as_ref() {
                    "mls_application" => {
                        books.arrived(group, key_of(incoming.message.as_deref().unwrap_or("")));
                    }
                    "mls_delivered" => {
                        let queued = incoming.recipients.unwrap_or(0);
                        books
                            .counted_out
                            .fetch_add((GUESTS as u64).saturating_sub(queued), Ordering::Relaxed);
                        books.accepted(origin());
                        reader_permits.add_permits(1);
                    }
                    "mls_refused" | "refused" => {
                        books.refused(incoming.code.as_deref().unwrap_or("?"));
                        reader_permits.add_permits(1);
                    }
                    _ => {}
                }
            }
            if !books.finished.load(Ordering::Relaxed) {
                books.closed.fetch_add(1, Ordering::Relaxed);
            }
        });
        sinks.push(Arc::new(tokio::sync::Mutex::new(sink)));
        window.push(permits);
    }
    TryggGroup { sinks, window }
}

async fn trygg_level(
    server: &Server,
    books: &Arc<Books>,
    groups: &[TryggGroup],
    plan: &Plan,
) -> Level {
    tokio::time::sleep(SETTLE).await;
    let start_cpu = cpu_of(server.pid);
    let started = Instant::now();
    let stop = started + Duration::from_secs_f64(LEVEL_SECONDS);
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let clients = plan.messages.iter().map(Vec::len).sum::<usize>();
    for (group_index, (group, messages)) in groups.iter().zip(&plan.messages).enumerate() {
        for (member, messages) in messages.iter().enumerate() {
            let sink = group.sinks[member].clone();
            let permits = group.window[member].clone();
            let (books, sent) = (books.clone(), sent.clone());
            let frames: Vec<(u64, String)> = messages
                .iter()
                .map(|message| {
                    (
                        key_of(message),
                        format!(r#"{{"v":1,"type":"mls_message","message":"{message}"}}"#),
                    )
                })
                .collect();
            let interval = plan.interval;
            // Spread the clients' schedules over one interval.
            let offset = spread(interval, group_index * MEMBERS + member, clients);
            tasks.push(tokio::spawn(async move {
                for (n, (key, frame)) in frames.into_iter().enumerate() {
                    let at = match interval {
                        Some(interval) => {
                            let at = started + offset + interval * n as u32;
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => {
                            if Instant::now() >= stop {
                                break;
                            }
                            permits.acquire().await.unwrap().forget();
                            Instant::now()
                        }
                    };
                    books.sending(group_index, key, at);
                    sent.fetch_add(1, Ordering::Relaxed);
                    if sink
                        .lock()
                        .await
                        .send(Message::Text(frame.into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let level = finish_level(
        books,
        plan,
        sent.load(Ordering::Relaxed),
        started,
        (start_cpu, cpu_of(server.pid)),
    )
    .await;
    // Give every closed-loop client its permit back for the next level.
    for group in groups {
        for permits in &group.window {
            let missing = 1usize.saturating_sub(permits.available_permits());
            permits.add_permits(missing);
        }
    }
    eprintln!("trygg: {} done", plan.name);
    level
}

// ---------------------------------------------------------------------------------------------
// Synapse.

/// Synapse's python in the virtualenv `cargo xtask synapse` makes beside the build output.
fn synapse_python() -> Option<PathBuf> {
    let target = Path::new(support::BIN).parent()?.parent()?;
    let python = target.join("synapse-venv/bin/python");
    python.exists().then_some(python)
}

struct Synapse {
    child: std::process::Child,
    port: u16,
}

impl Synapse {
    fn start(python: &Path, dir: &Path) -> Synapse {
        let status = Command::new(python)
            .args(["-m", "synapse.app.homeserver", "--server-name", "localhost"])
            .arg("--config-path")
            .arg(dir.join("generated.yaml"))
            .args(["--generate-config", "--report-stats=no"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .status()
            .expect("synapse generates its keys");
        assert!(status.success(), "synapse --generate-config failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("a free port");
        let config = format!(
            r#"server_name: "localhost"
pid_file: {dir}/homeserver.pid
listeners:
  - bind_addresses: ['127.0.0.1']
    port: {port}
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
log_config: {dir}/log.yaml
media_store_path: {dir}/media_store
signing_key_path: {dir}/localhost.signing.key
report_stats: false
macaroon_secret_key: "a throwaway server for one benchmark run: macaroon"
form_secret: "a throwaway server for one benchmark run: form"
trusted_key_servers: []
enable_registration: true
enable_registration_without_verification: true
bcrypt_rounds: 4
presence:
  enabled: false
rc_message: {{per_second: 1000000, burst_count: 1000000}}
rc_registration: {{per_second: 1000000, burst_count: 1000000}}
rc_login:
  address: {{per_second: 1000000, burst_count: 1000000}}
  account: {{per_second: 1000000, burst_count: 1000000}}
  failed_attempts: {{per_second: 1000000, burst_count: 1000000}}
rc_joins:
  local: {{per_second: 1000000, burst_count: 1000000}}
rc_invites:
  per_room: {{per_second: 1000000, burst_count: 1000000}}
  per_user: {{per_second: 1000000, burst_count: 1000000}}
rc_room_creation: {{per_second: 1000000, burst_count: 1000000}}
"#,
            dir = dir.display(),
        );
        std::fs::write(dir.join("homeserver.yaml"), config).unwrap();
        std::fs::write(
            dir.join("log.yaml"),
            "version: 1\nformatters:\n  plain:\n    format: '%(asctime)s %(levelname)s %(name)s %(message)s'\n\
             handlers:\n  console:\n    class: logging.StreamHandler\n    formatter: plain\n\
             root:\n  level: WARNING\n  handlers: [console]\ndisable_existing_loggers: false\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("synapse.out")).unwrap();
        let child = Command::new(python)
            .args(["-m", "synapse.app.homeserver", "--config-path"])
            .arg(dir.join("homeserver.yaml"))
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("synapse starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "synapse did not listen within 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Synapse { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One kept-alive HTTP/1.1 connection to Synapse.
struct Conn {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    port: u16,
}

impl Conn {
    async fn open(port: u16) -> Conn {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("synapse takes connections");
        tcp.set_nodelay(true).unwrap();
        Conn {
            stream: tokio::io::BufReader::new(tcp),
            port,
        }
    }

    /// One request; the status and the JSON body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let body = body.unwrap_or("");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        let io = |error: std::io::Error| error.to_string();
        self.stream
            .get_mut()
            .write_all(head.as_bytes())
            .await
            .map_err(io)?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await.map_err(io)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no status line: {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.map_err(io)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse::<usize>().ok();
                }
                if name == "transfer-encoding" && value.contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut data = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await.map_err(io)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|error| error.to_string())?;
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await.map_err(io)?;
                if size == 0 {
                    break;
                }
                data.extend_from_slice(&chunk[..size]);
            }
        } else {
            data.resize(length.unwrap_or(0), 0);
            self.stream.read_exact(&mut data).await.map_err(io)?;
        }
        Ok((status, serde_json::from_slice(&data).unwrap_or(Value::Null)))
    }
}

/// One Synapse user: its token and user id, its room, and the position of its `/sync`.
struct MatrixClient {
    token: String,
    user: String,
    room: String,
    since: String,
}

/// Only the room timelines, for `/sync`.
const SYNC_FILTER: &str = r#"{"presence":{"types":[]},"account_data":{"types":[]},"room":{"state":{"lazy_load_members":true},"ephemeral":{"types":[]},"account_data":{"types":[]},"timeline":{"limit":1000}}}"#;

async fn run_synapse(synapse: &Synapse, members: &mut [Vec<mls::Client>]) -> Vec<Level> {
    let port = synapse.port;
    let meetings = members.len();
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(SYNAPSE_PARALLEL));
    let mut tasks = Vec::new();
    for group in 0..meetings {
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            matrix_room(port, group).await
        }));
    }
    let mut rooms = Vec::new();
    for task in tasks {
        rooms.push(
            task.await
                .unwrap()
                .unwrap_or_else(|error| panic!("{error}")),
        );
    }
    eprintln!(
        "synapse: {} users in {meetings} rooms in {:.1} s",
        meetings * MEMBERS,
        started.elapsed().as_secs_f64()
    );
    let books = Arc::new(Books::new(meetings));
    // Each client's `/sync` loop, on its own connection.
    let mut senders = Vec::new();
    for (group, room) in rooms.into_iter().enumerate() {
        let mut group_senders = Vec::new();
        for client in room {
            let books = books.clone();
            let (user, token, since) = (
                client.user.clone(),
                client.token.clone(),
                client.since.clone(),
            );
            tokio::spawn(sync_loop(port, books, group, user, token, since));
            group_senders.push(Arc::new(tokio::sync::Mutex::new((
                Conn::open(port).await,
                client,
            ))));
        }
        senders.push(group_senders);
    }

    let mut levels = Vec::new();
    let saturation = Plan {
        name: "saturation (one in flight per client)".to_owned(),
        messages: encrypt(members, SATURATION_BUDGET / (meetings * MEMBERS)),
        interval: None,
    };
    let level = synapse_level(synapse, &books, &senders, &saturation, 0).await;
    let max = level.accepted_per_second();
    levels.push(level);
    for (index, plan) in open_loop_plans(members, max).iter().enumerate() {
        levels.push(synapse_level(synapse, &books, &senders, plan, index + 1).await);
    }
    books.finished.store(true, Ordering::Relaxed);
    let refused = books.refused_codes.lock().unwrap().clone();
    if !refused.is_empty() {
        eprintln!("synapse: refusals by status: {refused:?}");
    }
    levels
}

/// Registers the room's four users, the first creates the room, the others join; each reads
/// its first `/sync`.
async fn matrix_room(port: u16, group: usize) -> Result<Vec<MatrixClient>, String> {
    let mut conn = Conn::open(port).await;
    let mut users = Vec::new();
    for member in 0..MEMBERS {
        let body = json!({
            "username": format!("bench-{group}-{member}"),
            "password": "ett långt och hemligt lösenord 2026",
            "auth": { "type": "m.login.dummy" },
        })
        .to_string();
        let (status, registered) = conn
            .call("POST", "/_matrix/client/v3/register", None, Some(&body))
            .await?;
        if status != 200 {
            return Err(format!("register answered {status}: {registered}"));
        }
        users.push((
            registered["access_token"].as_str().unwrap_or("").to_owned(),
            registered["user_id"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let (status, created) = conn
        .call(
            "POST",
            "/_matrix/client/v3/createRoom",
            Some(&users[0].0),
            Some(r#"{"preset":"public_chat"}"#),
        )
        .await?;
    if status != 200 {
        return Err(format!("createRoom answered {status}: {created}"));
    }
    let room = created["room_id"].as_str().unwrap_or("").to_owned();
    for (token, _) in &users[1..] {
        let (status, joined) = conn
            .call(
                "POST",
                &format!("/_matrix/client/v3/join/{}", percent(&room)),
                Some(token),
                Some("{}"),
            )
            .await?;
        if status != 200 {
            return Err(format!("join answered {status}: {joined}"));
        }
    }
    let mut clients = Vec::new();
    for (token, user) in users {
        let (status, synced) = conn
            .call(
                "GET",
                &format!(
                    "/_matrix/client/v3/sync?timeout=0&filter={}",
                    percent(SYNC_FILTER)
                ),
                Some(&token),
                None,
            )
            .await?;
        if status != 200 {
            return Err(format!("sync answered {status}: {synced}"));
        }
        clients.push(MatrixClient {
            token,
            user,
            room: room.clone(),
            since: synced["next_batch"].as_str().unwrap_or("").to_owned(),
        });
    }
    Ok(clients)
}

/// Percent-encodes everything but unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// One client's `/sync` long-poll loop: records every other member's encrypted event.
async fn sync_loop(
    port: u16,
    books: Arc<Books>,
    group: usize,
    user: String,
    token: String,
    mut since: String,
) {
    let mut conn = Conn::open(port).await;
    let filter = percent(SYNC_FILTER);
    while !books.finished.load(Ordering::Relaxed) {
        let path = format!(
            "/_matrix/client/v3/sync?timeout=30000&filter={filter}&since={}",
            percent(&since)
        );
        let Ok((200, synced)) = conn.call("GET", &path, Some(&token), None).await else {
            books.closed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Some(rooms) = synced["rooms"]["join"].as_object() {
            for room in rooms.values() {
                for event in room["timeline"]["events"].as_array().into_iter().flatten() {
                    if event["type"] == "m.room.encrypted" && event["sender"] != user.as_str() {
                        books.arrived(
                            group,
                            key_of(event["content"]["ciphertext"].as_str().unwrap_or("")),
                        );
                    }
                }
            }
        }
        if let Some(next) = synced["next_batch"].as_str() {
            next.clone_into(&mut since);
        }
    }
}

type MatrixSender = Arc<tokio::sync::Mutex<(Conn, MatrixClient)>>;

async fn synapse_level(
    synapse: &Synapse,
    books: &Arc<Books>,
    senders: &[Vec<MatrixSender>],
    plan: &Plan,
    level_index: usize,
) -> Level {
    tokio::time::sleep(SETTLE).await;
    let start_cpu = cpu_of(synapse.pid());
    let started = Instant::now();
    let stop = started + Duration::from_secs_f64(LEVEL_SECONDS);
    let sent = Arc::new(AtomicU64::new(0));
    let clients = plan.messages.iter().map(Vec::len).sum::<usize>();
    let mut tasks = Vec::new();
    for (group_index, (group, messages)) in senders.iter().zip(&plan.messages).enumerate() {
        for (member, messages) in messages.iter().enumerate() {
            let sender = group[member].clone();
            let (books, sent) = (books.clone(), sent.clone());
            let bodies: Vec<(u64, String)> = messages
                .iter()
                .map(|message| {
                    let body = json!({
                        "algorithm": "m.megolm.v1.aes-sha2",
                        "ciphertext": message,
                        "device_id": "BENCH",
                        "sender_key": "bench",
                        "session_id": "bench",
                    });
                    (key_of(message), body.to_string())
                })
                .collect();
            let interval = plan.interval;
            let offset = spread(interval, group_index * MEMBERS + member, clients);
            tasks.push(tokio::spawn(async move {
                let mut sender = sender.lock().await;
                let (conn, client) = &mut *sender;
                for (n, (key, body)) in bodies.into_iter().enumerate() {
                    let at = match interval {
                        Some(interval) => {
                            let at = started + offset + interval * n as u32;
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None if Instant::now() >= stop => break,
                        None => Instant::now(),
                    };
                    books.sending(group_index, key, at);
                    sent.fetch_add(1, Ordering::Relaxed);
                    let path = format!(
                        "/_matrix/client/v3/rooms/{}/send/m.room.encrypted/l{level_index}-{n}",
                        percent(&client.room)
                    );
                    match conn
                        .call("PUT", &path, Some(&client.token), Some(&body))
                        .await
                    {
                        Ok((200, _)) => books.accepted(origin()),
                        Ok((status, _)) => books.refused(&status.to_string()),
                        Err(_) => {
                            books.closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let level = finish_level(
        books,
        plan,
        sent.load(Ordering::Relaxed),
        started,
        (start_cpu, cpu_of(synapse.pid())),
    )
    .await;
    eprintln!("synapse: {} done", plan.name);
    level
}

// ---------------------------------------------------------------------------------------------
// Reporting.

fn print_report(meetings: usize, trygg: &[Level], synapse: &[Level]) {
    let clients = meetings * MEMBERS;
    println!(
        "### Delivery fan-out: {clients} clients in {meetings} groups of {MEMBERS}, every message to {GUESTS} others\n"
    );
    println!(
        "| server | level | sent | offered msg/s | accepted msg/s | deliveries/s | p50 | p99 | max | lost / refused / closed | server CPU | bench CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (server, levels) in [("Trygg", trygg), ("Synapse", synapse)] {
        for level in levels {
            println!(
                "| {server} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} | {} / {} / {} | {:.0} % | {:.0} % |",
                level.name,
                level.sent,
                level
                    .offered
                    .map_or("as fast as accepted".to_owned(), |offered| format!("{offered:.0}")),
                level.accepted_per_second(),
                level.latencies.len() as f64 / level.seconds,
                ms(percentile(&level.latencies, 0.5)),
                ms(percentile(&level.latencies, 0.99)),
                ms(level.latencies.last().copied().unwrap_or(0)),
                level.lost(),
                level.refused,
                level.closed,
                level.server_cpu * 100.0,
                level.bench_cpu * 100.0,
            );
        }
    }
    let max = |levels: &[Level]| levels.first().map_or(0.0, Level::accepted_per_second);
    println!(
        "\nMaximum accepted messages/s: Trygg {:.0}, Synapse {:.0}: **{:.1}×**.",
        max(trygg),
        max(synapse),
        max(trygg) / max(synapse).max(1e-9)
    );
}
