//! The redaction test: drive real requests that carry a password, tokens, a passcode, an e-mail
//! address and a message body (in the path, the query, headers and the body) through a server
//! logging at debug level in JSON, then fail if any of them, or any IP address, is in the logs.

use crate::common::{request, start_demo};

const PASSWORD: &str = "correct-horse-battery-staple-41";
const TOKEN: &str = "tok_9f8e7d6c5b4a39281706";
const PASSCODE: &str = "731904";
const EMAIL: &str = "alice.andersson@example.se";
const MESSAGE: &str = "Mitt kontonummer är 1234-56 och jag vill flytta pengar";

#[tokio::test]
async fn no_secret_or_personal_data_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(
        dir.path(),
        &[("TRYGG_LOG__FORMAT", "json"), ("TRYGG_LOG__LEVEL", "debug")],
    );
    let cookie = format!("__Host-trygg={TOKEN}");
    let bearer = format!("Bearer {TOKEN}");
    let body = serde_json::json!({
        "email": EMAIL, "password": PASSWORD, "passcode": PASSCODE, "message": MESSAGE,
    })
    .to_string();
    let query = format!("/api/v1/sessions?email={EMAIL}&token={TOKEN}&passcode={PASSCODE}");
    let path_with_email = format!("/api/v1/users/{EMAIL}");
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Authorization", bearer.as_str()),
        ("X-Passcode", PASSCODE),
        ("Content-Type", "application/json"),
    ];
    for (method, path) in [
        ("POST", "/api/v1/sessions"),
        ("GET", query.as_str()),
        ("GET", path_with_email.as_str()),
        ("GET", "/healthz"),
        ("GET", "/"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/meetings/abc/messages"),
    ] {
        let response = request(
            server.port,
            dir.path(),
            method,
            path,
            &headers,
            body.as_bytes(),
        )
        .await;
        assert!(
            response.status < 500,
            "{method} {path}: {}",
            response.status
        );
    }
    let (status, logs) = server.stop();
    assert!(status.success());
    assert!(
        logs.lines().count() >= 5,
        "the test must see real log output:\n{logs}"
    );
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "every log line is JSON: {line}"
        );
    }
    for (what, secret) in [
        ("password", PASSWORD),
        ("token", TOKEN),
        ("passcode", PASSCODE),
        ("e-mail address", EMAIL),
        ("e-mail local part", "alice.andersson"),
        ("message body", MESSAGE),
        ("message fragment", "kontonummer"),
        ("IPv4 loopback address", "127.0.0.1"),
    ] {
        assert!(!logs.contains(secret), "the logs contain a {what}:\n{logs}");
    }
    assert!(
        !contains_ip_address(&logs),
        "the logs contain an IP address:\n{logs}"
    );
}

/// Any dotted-quad IPv4 address.
fn contains_ip_address(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() == 4
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
        })
}
