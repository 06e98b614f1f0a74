//! The running server: headers on every kind of response, TLS versions and cipher suites,
//! operational endpoints, the plain-HTTP redirect, graceful shutdown.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{self, request_with, start_demo};

fn assert_security_headers(response: &common::Response, what: &str) {
    let header = |name: &str| {
        response
            .header(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header in {:?}", response.headers))
    };
    assert!(
        header("strict-transport-security").starts_with("max-age=63072000"),
        "{what}"
    );
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    let permissions = header("permissions-policy");
    for feature in [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
    ] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    assert_eq!(
        header("cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    assert_eq!(
        header("cross-origin-embedder-policy"),
        "require-corp",
        "{what}"
    );
    assert_eq!(
        header("cross-origin-resource-policy"),
        "same-origin",
        "{what}"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    for path in [
        "/",
        "/healthz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/info",
        "/api/v1/nope",
        "/missing.js",
        "/some/client/route",
    ] {
        let response = server.get(path).await;
        assert_security_headers(&response, path);
    }
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);

    let health = server.get("/healthz").await;
    assert_eq!(
        (health.status, health.text()),
        (200, r#"{"status":"ok"}"#.to_owned())
    );

    let info = server.get("/api/v1/info").await;
    assert_eq!(info.status, 200);
    let info: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(info["organisation"], "Demo Bank AB");
    assert_eq!(info["product"], "Trygg");

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text();
    for needle in [
        "trygg_build_info{version=",
        "trygg_http_requests_total{class=\"2xx\"}",
        "trygg_audit_entries ",
        "trygg_store_up 1",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }

    let openapi = server.get("/api/openapi.json").await;
    assert_eq!(openapi.status, 200);
    let document: serde_json::Value = serde_json::from_slice(&openapi.body).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/healthz", "/metrics", "/api/v1/info", "/api/openapi.json"] {
        assert!(
            document["paths"][path].is_object(),
            "{path} is not described"
        );
    }

    let unknown = server.get("/api/v1/nope").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("not_found"));
    assert_eq!(server.get("/missing.js").await.status, 404);

    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn tls_1_3_and_1_2_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    for (versions, expected) in [
        (
            &[&rustls::version::TLS13][..],
            rustls::ProtocolVersion::TLSv1_3,
        ),
        (
            &[&rustls::version::TLS12][..],
            rustls::ProtocolVersion::TLSv1_2,
        ),
    ] {
        let config = common::client_config(dir.path(), versions);
        let response = request_with(config, server.port, "GET", "/healthz", &[], b"").await;
        assert_eq!(response.status, 200);
        assert_eq!(response.tls_version, expected);
    }
    let (status, _) = server.stop();
    assert!(status.success());
}

/// A hand-made ClientHello, so the test can offer what no modern client library will.
fn client_hello(version: [u8; 2], suites: &[u16], with_extensions: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&version);
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for suite in suites {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    if with_extensions {
        let mut extensions = Vec::new();
        // supported_groups: x25519, secp256r1
        extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
        // ec_point_formats: uncompressed
        extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
        // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
        extensions.extend_from_slice(&[
            0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
        ]);
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
    }
    let mut handshake = vec![1u8]; // ClientHello
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends raw bytes and returns what comes back before the server closes or goes quiet.
fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[tokio::test]
async fn old_protocols_weak_ciphers_and_plain_http_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let cbc_suites = [0xc013, 0xc014, 0x002f, 0x0035, 0x000a];
    let cases = [
        ("TLS 1.1", client_hello([3, 2], &cbc_suites, true)),
        ("TLS 1.0", client_hello([3, 1], &cbc_suites, false)),
        (
            "TLS 1.2 with only CBC and static-RSA suites",
            client_hello([3, 3], &cbc_suites, true),
        ),
    ];
    for (what, hello) in cases {
        let answer = exchange(server.port, &hello);
        assert!(
            !answer.is_empty(),
            "{what}: the server should answer with an alert"
        );
        assert_eq!(
            answer[0],
            0x15,
            "{what}: expected a TLS alert record, got {:02x?}",
            &answer[..answer.len().min(8)]
        );
        assert!(
            !answer.windows(2).any(|w| w == [0x16, 0x03]),
            "{what}: no handshake may follow"
        );
    }
    let plain = exchange(
        server.port,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert!(
        !String::from_utf8_lossy(&plain).contains("200 OK"),
        "plain HTTP must not be served"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn the_plain_http_listener_only_redirects() {
    let dir = tempfile::tempdir().unwrap();
    let redirect_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("trygg.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\nredirect_listen = \"127.0.0.1:{redirect_port}\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(common::BIN);
    command.args(["serve", "--config"]).arg(&config);
    let server = common::start(
        command,
        &dir.path().join("data"),
        &[("TRYGG_LOG__FORMAT", "json")],
    );
    let answer = exchange(
        redirect_port,
        b"GET /join/abc?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n",
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    let expected = format!("location: https://localhost:{}/join/abc?x=1", server.port);
    assert!(answer.to_ascii_lowercase().contains(&expected), "{answer}");
    let hostile = exchange(
        redirect_port,
        b"GET / HTTP/1.1\r\nHost: evil.example/@x\r\nConnection: close\r\n\r\n",
    );
    assert!(String::from_utf8_lossy(&hostile).starts_with("HTTP/1.1 400"));
    let (status, _) = server.stop();
    assert!(status.success());
}
