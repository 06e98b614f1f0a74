//! Load generator: a flood of 500 concurrent wrong-password sign-ins against a real `trygg demo`
//! (release build, real TLS on loopback) while a prober measures `/healthz` latency, and the
//! server's peak resident memory from `/proc`. Shows that Argon2id behind its concurrency limit
//! keeps memory bounded and the server responsive.
//!
//! Run: `cargo bench -p trygg --bench signin_flood` (or `cargo xtask bench signin_flood`).
//! Prints a Markdown table for BENCHMARKS.md.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const FLOOD: usize = 500;

#[derive(Debug)]
struct NoVerify;

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

async fn call(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> u16 {
    let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return 0;
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let Ok(mut tls) = connector.connect(name, tcp).await else {
        return 0;
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if tls.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(config: Arc<rustls::ClientConfig>, port: u16) -> Option<Tls> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
    connector.connect(name, tcp).await.ok()
}

/// One request on a kept-alive connection; reads exactly one response (by Content-Length).
async fn exchange(stream: &mut Tls, request: &str) -> u16 {
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return 0;
        };
        if n == 0 {
            return 0;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            return head
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or(0);
        }
    }
}

fn resident_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match this harness skips it.
    if let Some(filter) = std::env::args().skip(1).find(|arg| !arg.starts_with('-')) {
        if !"signin_flood".contains(&filter) {
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trygg"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("TRYGG_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("trygg starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    // Keep draining standard output so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("https://") {
                let _ = sender.send(line);
            }
        }
    });
    let url = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("trygg prints its URL");
    let port: u16 = url
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let pid = child.id();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify))
        .with_no_client_auth(),
    );
    let (baseline_kib, flood_time, statuses, probes) = runtime.block_on(async {
        // Warm up: one request of each kind.
        call(config.clone(), port, "GET", "/healthz", "").await;
        let baseline_kib = resident_kib(pid, "VmRSS:");
        // Every flood connection is set up first, so what is measured is 500 sign-ins arriving
        // at once, not 500 TLS handshakes queuing in the listen backlog.
        let mut connections = Vec::with_capacity(FLOOD);
        for _ in 0..FLOOD {
            connections.push(connect(config.clone(), port).await.expect("flood connection"));
        }
        // The prober keeps one connection open, as a load balancer's health check does.
        let mut probe = connect(config.clone(), port).await.expect("probe connection");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_probing = stop.clone();
        let prober = tokio::spawn(async move {
            let mut latencies = Vec::new();
            let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
            while !stop_probing.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let status = exchange(&mut probe, request).await;
                latencies.push((started.elapsed(), status));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let attempts: Vec<_> = connections
            .into_iter()
            .enumerate()
            .map(|(n, mut stream)| {
                tokio::spawn(async move {
                    let body = format!(r#"{{"email":"user{n}@example.se","password":"wrong password number {n}"}}"#);
                    let request = format!(
                        "POST /api/v1/session/password HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    exchange(&mut stream, &request).await
                })
            })
            .collect();
        let mut statuses = std::collections::BTreeMap::new();
        for attempt in attempts {
            *statuses.entry(attempt.await.unwrap()).or_insert(0) += 1;
        }
        let flood_time = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let probes = prober.await.unwrap_or_default();
        (baseline_kib, flood_time, statuses, probes)
    });
    let peak_kib = resident_kib(pid, "VmHWM:");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();

    let mut latencies: Vec<Duration> = probes.iter().map(|(latency, _)| *latency).collect();
    latencies.sort();
    let healthy = probes.iter().filter(|(_, status)| *status == 200).count();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| wrong-password sign-ins sent at once | {FLOOD} |");
    println!("| answers by status | {statuses:?} |");
    println!(
        "| time until every attempt was answered | {:.2} s |",
        flood_time.as_secs_f64()
    );
    println!(
        "| server memory before the flood (RSS) | {:.1} MiB |",
        baseline_kib as f64 / 1024.0
    );
    println!(
        "| server peak memory (VmHWM) | {:.1} MiB |",
        peak_kib as f64 / 1024.0
    );
    if !latencies.is_empty() {
        println!(
            "| `/healthz` during the flood: probes, p50, p99, max | {} ({} answered 200), {:.1} ms, {:.1} ms, {:.1} ms |",
            latencies.len(),
            healthy,
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    }
}
