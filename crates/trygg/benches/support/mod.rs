//! What the signalling benches share: the `trygg demo` server process and what `/proc` says
//! about it, HTTP and WebSocket clients over TLS that trust only the server's certificate,
//! enrolling advisers and filling their meetings through the real join flow, and reporting.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use identity::totp::{Totp, TotpSecret};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

pub const BIN: &str = env!("CARGO_BIN_EXE_trygg");
/// Advisers enrolling at once (each enrolment hashes a password).
const ENROL_PARALLEL: usize = 4;
const PASSWORD: &str = "ett långt och hemligt lösenord 2026";
/// How long deliveries may trail the last send of a level before they count as lost.
pub const DRAIN: Duration = Duration::from_secs(10);
/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on every Linux this runs on).
const USER_HZ: f64 = 100.0;

/// Whether this harness runs: `cargo bench` passes `--bench`, and a filter argument that does
/// not match the harness's `name` skips it.
pub fn selected(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .is_none_or(|filter| name.contains(&filter))
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// A meeting being filled: the sockets before the readers take them over.
pub struct Room {
    pub host: Socket,
    /// The host's person in the meeting.
    pub host_person: u64,
    pub guests: Vec<(u64, Socket)>,
}

/// The host enters; `guests` guests join by link, go through the join flow and knock. Returns
/// the sockets and the knock → host latencies.
pub async fn fill_meeting(
    http: &Http,
    index: usize,
    adviser: Jar,
    meeting_id: &str,
    guests: usize,
) -> Result<(Room, Vec<u32>), String> {
    let mut host = http.websocket(&adviser, meeting_id).await?;
    let welcome = expect(&mut host, "welcome").await?;
    let host_person = welcome["you"].as_u64().ok_or("welcome without `you`")?;
    let step = &welcome["standing"]["step"];
    if step != "device" {
        return Err(format!("the host starts at step {step}"));
    }
    send(&mut host, device()).await;
    expect(&mut host, "join_step").await?;
    send(
        &mut host,
        json!({ "type": "enter", "name": format!("Rådgivare {index}") }),
    )
    .await;
    expect(&mut host, "admitted").await?;
    let count = guests;
    let mut guests = Vec::new();
    let mut knocks = Vec::new();
    for guest in 0..count {
        let mut jar = Jar::default();
        let (status, _) = http
            .call(
                "POST",
                &format!("/api/v1/meetings/{meeting_id}/join"),
                &mut jar,
                None,
            )
            .await;
        if status != 200 {
            return Err(format!("join answered {status}"));
        }
        let mut socket = http.websocket(&jar, meeting_id).await?;
        let welcome = expect(&mut socket, "welcome").await?;
        let you = welcome["you"].as_u64().ok_or("welcome without `you`")?;
        let decisions: Vec<Value> = welcome["meeting"]["purposes"]
            .as_array()
            .ok_or("welcome without purposes")?
            .iter()
            .map(|purpose| json!({ "purpose": purpose["purpose"], "given": purpose["required"] }))
            .collect();
        send(
            &mut socket,
            json!({ "type": "consent", "notice_version": welcome["meeting"]["notice_version"], "decisions": decisions }),
        )
        .await;
        let step = expect(&mut socket, "join_step").await?;
        if step["step"] != "device" {
            return Err(format!("after consent: {step}"));
        }
        send(&mut socket, device()).await;
        expect(&mut socket, "join_step").await?;
        let knocked = Instant::now();
        send(
            &mut socket,
            json!({ "type": "knock", "name": format!("Kund {index}-{guest}") }),
        )
        .await;
        loop {
            let knock = expect(&mut host, "knock").await?;
            if knock["knock"]["person"] == you {
                break;
            }
        }
        knocks.push(u32::try_from(knocked.elapsed().as_micros()).unwrap_or(u32::MAX));
        expect(&mut socket, "waiting").await?;
        guests.push((you, socket));
    }
    Ok((
        Room {
            host,
            host_person,
            guests,
        },
        knocks,
    ))
}

pub fn device() -> Value {
    json!({ "type": "device", "browser": "Chromium 156", "device": "Linux laptop", "supported": true })
}

/// Bootstraps an administrator, who invites `count` advisers; each enrols and books one
/// passcode-less meeting that is running now. Returns each adviser's cookies and meeting id.
pub async fn enrol_advisers(http: &Http, data_dir: &Path, count: usize) -> Vec<(Jar, String)> {
    let output = Command::new(BIN)
        .args(["admin", "bootstrap", "--data-dir"])
        .arg(data_dir)
        .args([
            "--email",
            "admin@example.se",
            "--name",
            "Bench Admin",
            "--json",
        ])
        .env_remove("RUST_LOG")
        .output()
        .expect("trygg admin bootstrap runs");
    assert!(output.status.success(), "{output:?}");
    let made: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut admin = Jar::default();
    enrol(http, &mut admin, made["token"].as_str().unwrap()).await;
    let mut invitations = Vec::new();
    for n in 0..count {
        let (status, invited) = http
            .call(
                "POST",
                "/api/v1/accounts",
                &mut admin,
                Some(json!({
                    "email": format!("adviser{n}@example.se"),
                    "display_name": format!("Rådgivare {n}"),
                    "roles": ["adviser"],
                })),
            )
            .await;
        assert_eq!(status, 201, "{invited}");
        let path = invited["enrolment_path"].as_str().unwrap();
        invitations.push(path.strip_prefix("/enrol#").unwrap().to_owned());
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(ENROL_PARALLEL));
    let now = unix_ms();
    let tasks: Vec<_> = invitations
        .into_iter()
        .map(|token| {
            let (http, permits) = (http.clone(), permits.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.unwrap();
                let mut adviser = Jar::default();
                enrol(&http, &mut adviser, &token).await;
                let (status, meeting) = http
                    .call(
                        "POST",
                        "/api/v1/meetings",
                        &mut adviser,
                        Some(json!({
                            "title": "Bolånesamtal",
                            "starts_at_ms": now - 60_000,
                            "ends_at_ms": now + 4 * 3_600_000,
                        })),
                    )
                    .await;
                assert_eq!(status, 201, "{meeting}");
                (adviser, meeting["id"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut advisers = Vec::new();
    for task in tasks {
        advisers.push(task.await.unwrap());
    }
    advisers
}

/// Enrols with password and TOTP; leaves the session cookie and CSRF token in `jar`.
pub async fn enrol(http: &Http, jar: &mut Jar, token: &str) {
    let (status, start) = http
        .call(
            "POST",
            "/api/v1/enrolment/start",
            jar,
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(status, 200, "{start}");
    let secret = TotpSecret::from_base32(start["totp"]["secret"].as_str().unwrap()).unwrap();
    let code = Totp::default().code_at(&secret, unix_ms() as u64 / 1000);
    let (status, done) = http
        .call(
            "POST",
            "/api/v1/enrolment/finish",
            jar,
            Some(json!({ "token": token, "password": PASSWORD, "totp_code": code.as_str() })),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (status, me) = http.call("GET", "/api/v1/session", jar, None).await;
    assert_eq!(status, 200, "{me}");
    jar.csrf = me["csrf_token"].as_str().map(str::to_owned);
}

pub fn unix_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// HTTP and WebSocket clients over TLS that trusts only the server's generated certificate.

/// One person's cookies and CSRF token.
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<(String, String)>,
    pub csrf: Option<String>,
}

impl Jar {
    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Clone)]
pub struct Http {
    port: u16,
    config: Arc<rustls::ClientConfig>,
    /// The same, offering only HTTP/1.1 (a WebSocket upgrade needs it).
    websocket_config: Arc<rustls::ClientConfig>,
}

impl Http {
    pub fn new(port: u16, data_dir: &Path) -> Http {
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for cert in
            rustls::pki_types::CertificateDer::pem_file_iter(data_dir.join("tls-cert.pem")).unwrap()
        {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut websocket_config = config.clone();
        websocket_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Http {
            port,
            config: Arc::new(config),
            websocket_config: Arc::new(websocket_config),
        }
    }

    pub async fn tls(
        &self,
        config: &Arc<rustls::ClientConfig>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
    }

    /// One request, `Connection: close`; cookies set by the answer go into `jar`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        jar: &mut Jar,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if !jar.cookies.is_empty() {
            head.push_str(&format!("Cookie: {}\r\n", jar.header()));
        }
        if let Some(csrf) = &jar.csrf {
            head.push_str(&format!("X-CSRF-Token: {csrf}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        let mut stream = self.tls(&self.config).await.expect("TLS handshake");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let split = raw
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let mut chunked = false;
        for (name, value) in lines.filter_map(|line| line.split_once(':')) {
            let name = name.trim().to_ascii_lowercase();
            if name == "transfer-encoding" && value.contains("chunked") {
                chunked = true;
            }
            if name == "set-cookie" {
                let pair = value.trim().split(';').next().unwrap_or_default();
                if let Some((cookie, cookie_value)) = pair.split_once('=') {
                    jar.cookies.retain(|(name, _)| name != cookie);
                    if !cookie_value.is_empty() {
                        jar.cookies
                            .push((cookie.to_owned(), cookie_value.to_owned()));
                    }
                }
            }
        }
        let mut body = raw[split + 4..].to_vec();
        if chunked {
            body = dechunk(&body);
        }
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Opens the meeting's signalling socket with `jar`'s cookies, from this host's page.
    pub async fn websocket(&self, jar: &Jar, meeting_id: &str) -> Result<Socket, String> {
        let tls = self
            .tls(&self.websocket_config)
            .await
            .map_err(|error| format!("TLS: {error}"))?;
        let mut request = format!(
            "wss://localhost:{}/api/v1/meetings/{meeting_id}/signal",
            self.port
        )
        .into_client_request()
        .unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "origin",
            format!("https://localhost:{}", self.port).parse().unwrap(),
        );
        headers.insert("cookie", jar.header().parse().unwrap());
        // Signalling messages are small: a 4 KiB read buffer instead of the default 128 KiB
        // keeps the load generator's own cost down (the server does the same).
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4 * 1024);
        tokio_tungstenite::client_async_with_config(request, tls, Some(config))
            .await
            .map(|(socket, _)| socket)
            .map_err(|error| format!("WebSocket handshake: {error}"))
    }
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        let start = end + 2;
        if size == 0 || data.len() < start + size {
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

pub async fn send<S>(socket: &mut S, mut message: Value)
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Debug,
{
    message["v"] = 1.into();
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("the socket takes the message");
}

/// The next message of type `kind`, skipping others; a refusal or the end of the socket is an
/// error, and so is waiting over 30 seconds.
pub async fn expect(socket: &mut Socket, kind: &str) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no {kind} within 30 s"))?;
        match next {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(text.as_str())
                    .map_err(|error| format!("unreadable message: {error}"))?;
                if value["type"] == kind {
                    return Ok(value);
                }
                if value["type"] == "refused" {
                    return Err(format!("refused while waiting for {kind}: {value}"));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed before {kind}: {frame:?}"))
            }
            Some(Ok(_)) => {}
            other => return Err(format!("socket ended before {kind}: {other:?}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server process, and what `/proc` says about it.

pub struct Server {
    child: std::process::Child,
    pub port: u16,
    pub pid: u32,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("RUST_LOG")
            .env("TRYGG_LOG__LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("trygg starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        // Keep draining standard output so the server never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(index) = line.find("https://") {
                    let _ = sender.send(line[index..].trim().to_owned());
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("trygg prints its URL");
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the URL ends in a port");
        let pid = child.id();
        Server { child, port, pid }
    }

    pub fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|line| line.starts_with(field))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse().ok())
            })
            .unwrap_or(0)
    }

    pub fn stop(self) {
        drop(self);
    }
}

/// A bench that panics still stops its server (which would otherwise hold the terminal's
/// output open).
impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// CPU seconds used so far by the server and by this process.
pub struct Cpu {
    pub at: f64,
    pub server: f64,
    pub bench: f64,
}

impl Cpu {
    pub fn now(server: &Server) -> Cpu {
        static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        Cpu {
            at: EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64(),
            server: cpu_seconds(&format!("/proc/{}/stat", server.pid)),
            bench: cpu_seconds("/proc/self/stat"),
        }
    }
}

/// User plus system time of a process from its `stat` file.
pub fn cpu_seconds(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // The command name may hold spaces; the fields after it are numbers.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name and state.
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / USER_HZ
}

/// The soft limit on open files of this process (the server inherits it).
pub fn open_file_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// Reporting.

pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn ms(micros: u32) -> String {
    format!("{:.2} ms", f64::from(micros) / 1000.0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
