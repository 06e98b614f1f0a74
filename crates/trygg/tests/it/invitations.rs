//! Inviting customers by e-mail through a real SMTP server (aiosmtpd, started by these tests from
//! `web/tests/smtp-sink.py`, over STARTTLS with a self-signed certificate that only `ca_file`
//! trusts): the mail arrives with the link, the time and the warnings and without the title or
//! the passcode; bad addresses, someone else's meeting, a cancelled meeting, a server without
//! SMTP and an unreachable mail server send and record nothing; the per-meeting limit holds. The
//! address is nowhere in the database in the clear, nor in the logs or the audit trail, and the
//! trail verifies.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::audit_events::audit_actions_async;
use crate::common::{assert_audit_intact, start_demo, with_sqlite, BIN};
use crate::meetings::adviser;

const TITLE: &str = "Bolånesamtal med Karin";
const PASSCODE: &str = "kanelbulle-42";
const CUSTOMER: &str = "kund@example.se";

/// The test SMTP server, stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink; with `starttls` it requires STARTTLS and its certificate is `cert()`.
    pub fn start(starttls: bool) -> SmtpSink {
        let python = sink_python();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/tests/smtp-sink.py");
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(&python);
        command.arg(&script).arg(dir.path());
        if starttls {
            command.arg("--starttls");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the SMTP sink starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("smtp-sink listening at ") {
                    let _ = sender.send(address.to_owned());
                }
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP sink starts within 30 s");
        let port = address.rsplit(':').next().unwrap().parse().unwrap();
        SmtpSink { child, port, dir }
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Trygg's `[smtp]` configuration for this sink, as environment variables.
    pub fn env(&self, tls: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("TRYGG_SMTP__HOST".to_owned(), "127.0.0.1".to_owned()),
            ("TRYGG_SMTP__PORT".to_owned(), self.port.to_string()),
            ("TRYGG_SMTP__TLS".to_owned(), tls.to_owned()),
            (
                "TRYGG_SMTP__FROM".to_owned(),
                "moten@exempelbanken.se".to_owned(),
            ),
        ];
        if tls != "none" {
            env.push((
                "TRYGG_SMTP__CA_FILE".to_owned(),
                self.cert().display().to_string(),
            ));
        }
        env
    }

    /// The messages received so far, oldest first: the raw message and the decoded summary.
    pub fn messages(&self) -> Vec<(String, serde_json::Value)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let raw = std::fs::read_to_string(&eml).unwrap();
                let summary = std::fs::read_to_string(eml.with_extension("json")).unwrap();
                (raw, serde_json::from_str(&summary).unwrap())
            })
            .collect()
    }

    /// Waits up to ten seconds for at least `count` messages.
    pub async fn wait_for(&self, count: usize) -> Vec<(String, serde_json::Value)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtualenv python with aiosmtpd that `cargo xtask test` (or `cargo xtask smtp-sink`)
/// installs beside the build output, or `TRYGG_SMTP_SINK_PYTHON`.
fn sink_python() -> PathBuf {
    if let Some(python) = std::env::var_os("TRYGG_SMTP_SINK_PYTHON") {
        return PathBuf::from(python);
    }
    // BIN is <target>/debug/trygg.
    let python = Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("smtp-venv/bin/python"))
        .unwrap();
    assert!(
        python.exists(),
        "the test SMTP server is not installed: run `cargo xtask smtp-sink` (or `cargo xtask test`)"
    );
    python
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// How many invitations the database holds for `meeting_id` (read from async tests).
async fn stored_invitations(data_dir: &Path, meeting_id: &str) -> i64 {
    let (data_dir, meeting_id) = (data_dir.to_owned(), meeting_id.to_owned());
    tokio::task::spawn_blocking(move || {
        with_sqlite(&data_dir, |store| async move {
            store.invitation_count(&meeting_id).await.unwrap()
        })
    })
    .await
    .unwrap()
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn code_of(response: &crate::common::Response) -> (u16, String) {
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    (
        response.status,
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn invitations_arrive_over_starttls_with_the_link_and_without_the_title() {
    let sink = SmtpSink::start(true);
    let dir = tempfile::tempdir().unwrap();
    let env = sink.env("starttls");
    let server = start_demo(dir.path(), &env_refs(&env));
    let ((mut ada, csrf), admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let with_csrf = [("X-CSRF-Token", csrf.as_str())];
    let hour = 3_600_000;
    let starts = now_ms() + hour;
    let created = ada
        .send(
            "POST",
            "/api/v1/meetings",
            Some(serde_json::json!({
                "title": TITLE, "starts_at_ms": starts, "ends_at_ms": starts + hour,
                "passcode": PASSCODE,
            })),
            &with_csrf,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let meeting: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{id}/invitations");

    // Bad input and a missing CSRF token send nothing.
    for (body, expected) in [
        (
            serde_json::json!({ "email": "inte en adress" }),
            (400, "invalid_email"),
        ),
        (
            serde_json::json!({ "email": CUSTOMER, "utc_offset_minutes": 9999 }),
            (400, "invalid_utc_offset"),
        ),
    ] {
        let refused = ada.send("POST", &path, Some(body), &with_csrf).await;
        assert_eq!(code_of(&refused), (expected.0, expected.1.to_owned()));
    }
    let no_csrf = ada
        .send(
            "POST",
            &path,
            Some(serde_json::json!({ "email": CUSTOMER })),
            &[],
        )
        .await;
    assert_eq!(no_csrf.status, 403);

    let sent = ada
        .send(
            "POST",
            &path,
            Some(serde_json::json!({ "email": " Kund@Example.se ", "utc_offset_minutes": 60 })),
            &with_csrf,
        )
        .await;
    if sent.status != 201 {
        let (_, logs) = server.stop();
        panic!("{}\n{logs}", sent.text());
    }
    let sent: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        (
            sent["invitations_sent"].as_i64(),
            sent["invitations_left"].as_i64()
        ),
        (Some(1), Some(19))
    );
    assert!(
        !sent.to_string().contains(CUSTOMER),
        "the answer does not echo the address"
    );

    let messages = sink.wait_for(1).await;
    assert_eq!(messages.len(), 1, "exactly one message arrived");
    let (raw, mail) = &messages[0];
    assert_eq!(mail["tls"], true, "sent only after STARTTLS");
    assert_eq!(mail["rcpt_tos"], serde_json::json!([CUSTOMER]));
    assert_eq!(mail["mail_from"], "moten@exempelbanken.se");
    assert_eq!(mail["content_type"], "text/plain");
    let text = mail["text"].as_str().unwrap();
    let link = format!("https://localhost:{}/m/{id}", server.port);
    for needle in [
        link.as_str(),
        "Dela aldrig länken",
        "Never share the link",
        "never asks you for passwords",
        "Mötet har en kod",
        "(UTC+01:00)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    for secret in ["Bolån", "Karin", PASSCODE] {
        for (what, haystack) in [
            ("text", text),
            ("subject", mail["subject"].as_str().unwrap()),
            ("raw message", raw.as_str()),
        ] {
            assert!(!haystack.contains(secret), "the {what} mentions {secret:?}");
        }
    }
    assert!(mail["subject"]
        .as_str()
        .unwrap()
        .starts_with("Inbjudan till möte med "));

    // Another adviser and the administrator cannot invite to it: it does not exist for them.
    let ((mut bo, bo_csrf), (mut admin, admin_csrf)) =
        adviser(&server, dir.path(), "bo@example.se", Some(admin)).await;
    for (client, csrf) in [(&mut bo, &bo_csrf), (&mut admin, &admin_csrf)] {
        let refused = client
            .send(
                "POST",
                &path,
                Some(serde_json::json!({ "email": "annan@example.se" })),
                &[("X-CSRF-Token", csrf.as_str())],
            )
            .await;
        assert_eq!(refused.status, 404, "{}", refused.text());
    }

    // The limit: twenty per meeting in all.
    for _ in 1..20 {
        let sent = ada
            .send(
                "POST",
                &path,
                Some(serde_json::json!({ "email": CUSTOMER })),
                &with_csrf,
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.text());
    }
    let refused = ada
        .send(
            "POST",
            &path,
            Some(serde_json::json!({ "email": CUSTOMER })),
            &with_csrf,
        )
        .await;
    assert_eq!(code_of(&refused), (429, "too_many_invitations".to_owned()));
    assert_eq!(sink.wait_for(21).await.len(), 20, "nothing after the limit");

    // A cancelled meeting takes no invitations.
    let cancelled = ada
        .send(
            "POST",
            &format!("/api/v1/meetings/{id}/cancel"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(cancelled.status, 200);
    let refused = ada
        .send(
            "POST",
            &path,
            Some(serde_json::json!({ "email": CUSTOMER })),
            &with_csrf,
        )
        .await;
    assert_eq!(code_of(&refused), (409, "meeting_closed".to_owned()));
    assert_eq!(sink.messages().len(), 20);

    let actions = audit_actions_async(dir.path()).await;
    let invited: Vec<_> = actions
        .iter()
        .filter(|(action, _)| action == "meeting.invited")
        .collect();
    assert_eq!(
        invited.len(),
        21,
        "twenty sent and one refused by the limit"
    );
    assert_eq!(
        invited
            .iter()
            .filter(|(_, details)| details.get("reason").map(String::as_str)
                == Some("too_many_invitations"))
            .count(),
        1
    );
    let trail = format!("{actions:?}");
    assert!(
        !trail.to_lowercase().contains(CUSTOMER),
        "no address in the trail"
    );
    let (_, logs) = server.stop();
    assert!(
        !logs.to_lowercase().contains(CUSTOMER),
        "no address in the logs"
    );
    assert!(!logs.contains(TITLE));
    assert_eq!(stored_invitations(dir.path(), &id).await, 20);
    for file in ["trygg.db", "trygg.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !bytes
                    .windows(CUSTOMER.len())
                    .any(|w| w == CUSTOMER.as_bytes()),
                "{file} holds the address in the clear"
            );
        }
    }
    assert_audit_intact(dir.path());
}

#[tokio::test]
async fn without_a_reachable_mail_server_nothing_is_sent_or_recorded() {
    // No [smtp] at all: a clear refusal, nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), _) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let with_csrf = [("X-CSRF-Token", csrf.as_str())];
    let now = now_ms();
    let body =
        serde_json::json!({ "title": TITLE, "starts_at_ms": now, "ends_at_ms": now + 3_600_000 });
    let created = ada
        .send("POST", "/api/v1/meetings", Some(body.clone()), &with_csrf)
        .await;
    let meeting: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/meetings/{id}/invitations");
    let refused = ada
        .send(
            "POST",
            &path,
            Some(serde_json::json!({ "email": CUSTOMER })),
            &with_csrf,
        )
        .await;
    assert_eq!(code_of(&refused), (503, "email_not_configured".to_owned()));
    assert!(refused.text().contains("E-mail is not configured"));
    let unknown = ada
        .send(
            "POST",
            "/api/v1/meetings/00000000000000000000000000000000/invitations",
            Some(serde_json::json!({ "email": CUSTOMER })),
            &with_csrf,
        )
        .await;
    assert_eq!(unknown.status, 404);
    server.stop();
    assert_eq!(stored_invitations(dir.path(), &id).await, 0);

    // A mail server that is configured (plain text, allowed to loopback) but not there: the
    // host is told to try later, nothing is recorded as sent, and the failure is audited.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let port = closed_port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(
        dir.path(),
        &[
            ("TRYGG_SMTP__HOST", "127.0.0.1"),
            ("TRYGG_SMTP__PORT", &port),
            ("TRYGG_SMTP__TLS", "none"),
            ("TRYGG_SMTP__FROM", "moten@exempelbanken.se"),
        ],
    );
    let ((mut cy, cy_csrf), _) = adviser(&server, dir.path(), "cy@example.se", None).await;
    let created = cy
        .send(
            "POST",
            "/api/v1/meetings",
            Some(body),
            &[("X-CSRF-Token", cy_csrf.as_str())],
        )
        .await;
    let meeting: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let cy_meeting = meeting["id"].as_str().unwrap().to_owned();
    let refused = cy
        .send(
            "POST",
            &format!("/api/v1/meetings/{cy_meeting}/invitations"),
            Some(serde_json::json!({ "email": CUSTOMER })),
            &[("X-CSRF-Token", cy_csrf.as_str())],
        )
        .await;
    assert_eq!(code_of(&refused), (503, "email_unavailable".to_owned()));
    let (_, logs) = server.stop();
    assert!(!logs.to_lowercase().contains(CUSTOMER));
    assert_eq!(
        stored_invitations(dir.path(), &cy_meeting).await,
        0,
        "nothing recorded as sent"
    );
    let actions = audit_actions_async(dir.path()).await;
    assert!(actions
        .iter()
        .any(|(action, details)| action == "meeting.invited"
            && details.get("reason").map(String::as_str) == Some("smtp_unreachable")));
    assert_audit_intact(dir.path());
}
