//! Shared helpers for the binary's integration tests: start the real `trygg` binary on port 0,
//! talk real HTTPS to it (trusting only the certificate it generated), and stop it with SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub const BIN: &str = env!("CARGO_BIN_EXE_trygg");

/// A running `trygg` process.
pub struct Running {
    pub child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
    stderr: Arc<Mutex<String>>,
}

/// `trygg demo` in `data_dir` on a free loopback port.
pub fn start_demo(data_dir: &Path, env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(BIN);
    command
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    start(command, data_dir, env)
}

/// Any command that serves and prints `... running at https://...` or logs the URL.
pub fn start(mut command: Command, data_dir: &Path, env: &[(&str, &str)]) -> Running {
    command
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("trygg starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut child_stderr = child.stderr.take().expect("piped");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = child_stderr.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    let stdout = child.stdout.take().expect("piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(index) = line.find("https://") {
                let _ = sender.send(line[index..].trim().to_owned());
            }
        }
    });
    let url = match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            panic!(
                "trygg did not print its URL; stderr:\n{}",
                stderr.lock().unwrap()
            );
        }
    };
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("the URL ends in a port");
    Running {
        child,
        port,
        data_dir: data_dir.to_owned(),
        stderr,
    }
}

impl Running {
    /// Sends SIGTERM and waits for the exit; returns the status and everything logged.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("trygg did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Give the reader thread a moment to drain the pipe.
        std::thread::sleep(Duration::from_millis(200));
        let logs = self.stderr.lock().unwrap().clone();
        (status, logs)
    }

    pub async fn get(&self, path: &str) -> Response {
        request(self.port, &self.data_dir, "GET", path, &[], b"").await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// An HTTP response, headers with lower-case names.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub tls_version: rustls::ProtocolVersion,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A TLS client that trusts exactly the certificate the server generated in its data directory.
pub fn client_config(
    data_dir: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    client_config_trusting(&data_dir.join("tls-cert.pem"), versions)
}

/// A TLS client that trusts exactly the certificates in the PEM file `cert_file`.
pub fn client_config_trusting(
    cert_file: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(cert_file)
        .expect("the generated certificate exists")
    {
        roots
            .add(cert.expect("PEM parses"))
            .expect("certificate is usable as a root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions are supported")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One HTTP/1.1 request over TLS 1.3 or 1.2, `Connection: close`.
pub async fn request(
    port: u16,
    data_dir: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let config = client_config(data_dir, rustls::ALL_VERSIONS);
    request_with(config, port, method, path, headers, body).await
}

pub async fn request_with(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("server accepts");
    let connector = tokio_rustls::TlsConnector::from(config);
    let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake");
    let tls_version = tls.get_ref().1.protocol_version().expect("negotiated");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    parse_response(&raw, tls_version)
}

fn parse_response(raw: &[u8], tls_version: rustls::ProtocolVersion) -> Response {
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
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
        tls_version,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Runs `trygg ARGS` to completion: exit status, stdout, stderr.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("trygg runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `trygg audit verify` passes on the SQLite database in `data_dir`.
pub fn assert_audit_intact(data_dir: &Path) {
    let (code, stdout, stderr) = run(
        &["audit", "verify", "--data-dir", data_dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// Runs `work` with the SQLite database in `data_dir` opened directly, on a runtime of its own
/// (for tests that read the audit trail or play an attacker with write access to the file).
pub fn with_sqlite<T, F>(data_dir: &Path, work: impl FnOnce(store::Store) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    let url = format!("sqlite:{}", data_dir.join("trygg.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = store::Store::connect(&url, 1, false).await.unwrap();
        let result = work(store.clone()).await;
        store.close().await;
        result
    })
}

/// Moves a session's last second factor ten minutes into the past, as time would, so that
/// sensitive actions need a step-up. Plays the clock through the database file.
pub async fn age_second_factor(data_dir: &Path, session_id: &str) {
    let data_dir = data_dir.to_owned();
    let sql =
        format!("UPDATE sessions SET mfa_at_ms = mfa_at_ms - 600000 WHERE id = '{session_id}'");
    tokio::task::spawn_blocking(move || {
        with_sqlite(&data_dir, |store| async move {
            store.danger_execute_raw_for_tests(&sql).await.unwrap();
        })
    })
    .await
    .unwrap();
}
