//! Sign-in over the real API: bootstrap, enrolment with password and TOTP, sign-in with a
//! password and a second factor, replayed and reused codes, uniform answers for unknown
//! accounts, throttling, CSRF and cross-site refusal, sessions listed and revoked, and the
//! audit trail of it all.

use std::path::Path;

use identity::totp::{Totp, TotpSecret};

use crate::common::{self, assert_audit_intact, request, run, start_demo, Running};

const EMAIL: &str = "ada.admin@example.se";
const PASSWORD: &str = "ett långt och hemligt lösenord 2026";

pub struct Client<'a> {
    pub server: &'a Running,
    pub cookies: Vec<(String, String)>,
}

impl<'a> Client<'a> {
    pub fn new(server: &'a Running) -> Client<'a> {
        Client {
            server,
            cookies: Vec::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> common::Response {
        let cookie_header = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let body = body.map(|value| value.to_string()).unwrap_or_default();
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        if !cookie_header.is_empty() {
            headers.push(("Cookie", &cookie_header));
        }
        headers.extend_from_slice(extra);
        let response = request(
            self.server.port,
            &self.server.data_dir,
            method,
            path,
            &headers,
            body.as_bytes(),
        )
        .await;
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            let (cookie, cookie_value) = pair.split_once('=').unwrap();
            assert!(cookie.starts_with("__Host-"), "{value}");
            // The single sign-on binding cookie must survive the top-level return from the
            // identity provider, so it alone is Lax; every other cookie is Strict.
            let same_site = if cookie == "__Host-trygg-sso" {
                "SameSite=Lax"
            } else {
                "SameSite=Strict"
            };
            for attribute in ["Secure", "HttpOnly", same_site, "Path=/"] {
                assert!(value.contains(attribute), "{value} lacks {attribute}");
            }
            self.cookies.retain(|(name, _)| name != cookie);
            if !cookie_value.is_empty() {
                self.cookies
                    .push((cookie.to_owned(), cookie_value.to_owned()));
            }
        }
        response
    }

    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self.send(method, path, Some(body), &[]).await;
        let value = serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
        (response.status, value)
    }

    /// Like `json`, but waits out a throttling answer once (every request in these tests comes
    /// from the same address, whose earlier failures count against it).
    pub async fn json_patiently(
        &mut self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let (status, answer) = self.json(method, path, body.clone()).await;
        if status != 429 {
            return (status, answer);
        }
        let wait = answer["retry_after_secs"].as_u64().unwrap();
        assert!(wait <= 5, "{answer}");
        tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
        self.json(method, path, body).await
    }

    pub fn has_session(&self) -> bool {
        self.cookies
            .iter()
            .any(|(name, _)| name == "__Host-trygg-session")
    }
}

pub fn bootstrap(data_dir: &Path) -> String {
    let (code, stdout, stderr) = run(
        &[
            "admin",
            "bootstrap",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--email",
            EMAIL,
            "--name",
            "Ada Admin",
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let made: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(made["enrolment_url"].as_str().unwrap().contains("/enrol#"));
    made["token"].as_str().unwrap().to_owned()
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Enrols Ada; returns the TOTP secret, the code used and the recovery codes.
pub async fn enrol(client: &mut Client<'_>, token: &str) -> (TotpSecret, String, Vec<String>) {
    let (status, start) = client
        .json(
            "POST",
            "/api/v1/enrolment/start",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["email"], EMAIL);
    assert!(start["totp"]["qr_data_url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    let secret = TotpSecret::from_base32(start["totp"]["secret"].as_str().unwrap()).unwrap();

    let code = Totp::default().code_at(&secret, now_secs()).to_string();
    for (password, reason) in [
        ("kort", "too_short"),
        ("password1234", "common"),
        ("ada.admin-lösen", "context_specific"),
    ] {
        let (status, refused) = client
            .json(
                "POST",
                "/api/v1/enrolment/finish",
                serde_json::json!({ "token": token, "password": password, "totp_code": code }),
            )
            .await;
        assert_eq!(
            (status, refused["reason"].as_str()),
            (400, Some(reason)),
            "{refused}"
        );
    }
    let (status, done) = client
        .json(
            "POST",
            "/api/v1/enrolment/finish",
            serde_json::json!({ "token": token, "password": PASSWORD, "totp_code": code }),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert!(client.has_session());
    let codes: Vec<String> = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, code, codes)
}

#[tokio::test]
async fn enrol_sign_in_and_refuse_replays() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    let (_secret, enrolment_code, recovery_codes) = enrol(&mut ada, &token).await;

    // The link works once.
    let mut again = Client::new(&server);
    let (status, _) = again
        .json(
            "POST",
            "/api/v1/enrolment/start",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 410);

    let (status, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account"]["display_name"], "Ada Admin");
    assert_eq!(me["account"]["roles"], serde_json::json!(["admin"]));
    assert_eq!(me["session"]["auth_method"], "password+totp");
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();

    // Signing out needs the CSRF token.
    let refused = ada.send("DELETE", "/api/v1/session", None, &[]).await;
    assert_eq!(refused.status, 403);
    let signed_out = ada
        .send(
            "DELETE",
            "/api/v1/session",
            None,
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(signed_out.status, 204);
    assert!(!ada.has_session());

    // Wrong password and unknown account: the same answer.
    let (status, wrong) = ada
        .json(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL, "password": "fel lösenord helt och hållet" }),
        )
        .await;
    let (status_unknown, unknown) = ada.json("POST", "/api/v1/session/password", serde_json::json!({ "email": "nobody@example.se", "password": "fel lösenord helt och hållet" })).await;
    assert_eq!((status, status_unknown), (401, 401));
    assert_eq!(wrong, unknown, "no user enumeration");

    // Password, then the code used at enrolment again: a replay.
    let (status, next) = ada
        .json(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL.to_uppercase(), "password": PASSWORD }),
        )
        .await;
    assert_eq!((status, next["next"].as_str()), (200, Some("mfa")));
    let (status, replay) = ada
        .json(
            "POST",
            "/api/v1/session/mfa",
            serde_json::json!({ "totp_code": enrolment_code }),
        )
        .await;
    assert_eq!(
        (status, replay["code"].as_str()),
        (401, Some("invalid_code")),
        "{replay}"
    );
    assert!(!ada.has_session());

    // A recovery code works, once.
    let (status, signed_in) = ada
        .json(
            "POST",
            "/api/v1/session/mfa",
            serde_json::json!({ "recovery_code": recovery_codes[0].to_lowercase() }),
        )
        .await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(
        signed_in["session"]["auth_method"],
        "password+recovery_code"
    );
    assert!(ada.has_session());

    let mut second = Client::new(&server);
    let (status, _) = second
        .json(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, reused) = second
        .json(
            "POST",
            "/api/v1/session/mfa",
            serde_json::json!({ "recovery_code": recovery_codes[0] }),
        )
        .await;
    assert_eq!(
        (status, reused["code"].as_str()),
        (401, Some("invalid_code"))
    );
    let (status, _) = second
        .json_patiently(
            "POST",
            "/api/v1/session/mfa",
            serde_json::json!({ "recovery_code": recovery_codes[1] }),
        )
        .await;
    assert_eq!(status, 200);

    // Ada sees both sessions and signs the other one out.
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let (status, list) = ada
        .json("GET", "/api/v1/sessions", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/sessions/{other}");
    assert_eq!(
        ada.send("DELETE", &path, None, &[("X-CSRF-Token", &csrf)])
            .await
            .status,
        204
    );
    let (status, _) = second
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401, "the revoked session is dead at once");
    assert_eq!(
        ada.send("DELETE", &path, None, &[("X-CSRF-Token", &csrf)])
            .await
            .status,
        404
    );

    // A request from another site is refused before it reaches any handler.
    let cross = ada
        .send(
            "DELETE",
            "/api/v1/session",
            None,
            &[("X-CSRF-Token", &csrf), ("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    let (status, _) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "the refused request changed nothing");

    // A second bootstrap is refused.
    let (code, _, stderr) = run(
        &[
            "admin",
            "bootstrap",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--email",
            "eve@example.se",
            "--name",
            "Eve",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("an administrator already exists"),
        "{stderr}"
    );

    let (status, logs) = server.stop();
    assert!(status.success());
    for secret in [
        PASSWORD,
        EMAIL,
        "ada.admin",
        &recovery_codes[1],
        &enrolment_code,
        &token,
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain a secret or personal data"
        );
    }
    let actions = crate::audit_events::audit_actions_async(dir.path()).await;
    let names: Vec<&str> = actions.iter().map(|(action, _)| action.as_str()).collect();
    for expected in [
        "account.created",
        "enrolment.issued",
        "enrolment.started",
        "mfa.totp_enrolled",
        "enrolment.completed",
        "session.created",
        "session.revoked",
        "session.sign_in_failed",
        "mfa.recovery_code_used",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_audit_intact(dir.path());
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let mut client = Client::new(&server);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, body) = client
            .json("POST", "/api/v1/session/password", serde_json::json!({ "email": "target@example.se", "password": "gissning nummer ett två tre" }))
            .await;
        statuses.push(status);
        if status == 429 {
            assert!(body["retry_after_secs"].as_i64().unwrap() >= 1, "{body}");
            assert_eq!(body["code"], "throttled");
        }
    }
    assert_eq!(
        &statuses[..3],
        &[401, 401, 401],
        "the first failures are free: {statuses:?}"
    );
    assert_eq!(
        statuses[4], 429,
        "then attempts are throttled: {statuses:?}"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let mut client = Client::new(&server);
    let cases = [
        ("POST", "/api/v1/session/password", "not json", 400),
        ("POST", "/api/v1/session/password", "{\"email\": 3}", 400),
        (
            "POST",
            "/api/v1/session/mfa",
            "{\"totp_code\": \"123456\"}",
            401,
        ),
        (
            "POST",
            "/api/v1/enrolment/start",
            "{\"token\": \"short\"}",
            410,
        ),
        (
            "POST",
            "/api/v1/enrolment/finish",
            "{\"token\": \"x\", \"password\": \"y\", \"totp_code\": \"1\"}",
            410,
        ),
        ("GET", "/api/v1/session", "", 401),
        ("GET", "/api/v1/sessions", "", 401),
    ];
    for (method, path, body, expected) in cases {
        let response = request(
            server.port,
            dir.path(),
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await;
        assert_eq!(
            response.status,
            expected,
            "{method} {path} {body}: {}",
            response.text()
        );
        let parsed: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert!(
            parsed["code"].is_string() && parsed["message"].is_string(),
            "{parsed}"
        );
    }
    let forged = client
        .send(
            "GET",
            "/api/v1/session",
            None,
            &[(
                "Cookie",
                "__Host-trygg-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )],
        )
        .await;
    assert_eq!(forged.status, 401);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn a_password_change_ends_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    let (secret, _, recovery_codes) = enrol(&mut ada, &token).await;
    let old_cookies = ada.cookies.clone();

    let mut laptop = Client::new(&server);
    let (status, _) = laptop
        .json(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = laptop
        .json(
            "POST",
            "/api/v1/session/mfa",
            serde_json::json!({ "recovery_code": recovery_codes[3] }),
        )
        .await;
    assert_eq!(status, 200);

    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    // The enrolment used this step's code; the next step's is within the allowed drift.
    let next_code = Totp::default()
        .code_at(&secret, now_secs() + 30)
        .to_string();
    let change = serde_json::json!({
        "current_password": PASSWORD,
        "new_password": "ett annat långt lösenord för hösten",
        "totp_code": next_code,
    });
    let without_csrf = ada
        .send(
            "POST",
            "/api/v1/account/password",
            Some(change.clone()),
            &[],
        )
        .await;
    assert_eq!(without_csrf.status, 403);
    let changed = ada
        .send(
            "POST",
            "/api/v1/account/password",
            Some(change),
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());

    let (status, _) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "the new session works");
    let (status, _) = laptop
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401, "the other device's session ended");
    let mut stale = Client::new(&server);
    stale.cookies = old_cookies;
    let (status, _) = stale
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(
        status, 401,
        "the session the change was made from was replaced"
    );

    let mut fresh = Client::new(&server);
    let (status, _) = fresh
        .json(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 401, "the old password no longer works");
    let (status, _) = fresh
        .json_patiently(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": EMAIL, "password": "ett annat långt lösenord för hösten" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.stop();
    assert!(status.success());
    let actions = crate::audit_events::audit_actions_async(dir.path()).await;
    let revoked_all = actions
        .iter()
        .find(|(action, _)| action == "session.revoked_all")
        .unwrap();
    assert_eq!(revoked_all.1.get("count").map(String::as_str), Some("2"));
}

#[tokio::test]
async fn a_burst_of_simultaneous_guesses_cannot_outrun_the_throttle() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let body =
        serde_json::json!({ "email": "target@example.se", "password": "en gissning av många" })
            .to_string();
    let guesses: Vec<_> = (0..12)
        .map(|_| {
            let body = body.clone();
            let data_dir = dir.path().to_owned();
            let port = server.port;
            tokio::spawn(async move {
                request(
                    port,
                    &data_dir,
                    "POST",
                    "/api/v1/session/password",
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                )
                .await
                .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    let checked = statuses.iter().filter(|status| **status == 401).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(checked + refused, 12, "{statuses:?}");
    assert!(
        checked <= 6,
        "at most two checks run at once, so most of a burst is refused: {statuses:?}"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn an_idle_session_ends_and_the_end_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[("TRYGG_SESSIONS__IDLE_TIMEOUT_SECS", "2")]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    enrol(&mut ada, &token).await;
    // Activity keeps it alive ...
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        let (status, _) = ada
            .json("GET", "/api/v1/session", serde_json::Value::Null)
            .await;
        assert_eq!(status, 200);
    }
    // ... idleness ends it.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let (status, body) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_expired")),
        "{body}"
    );
    let (status, _) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401, "and stays ended");
    let (status, _) = server.stop();
    assert!(status.success());
    let actions = crate::audit_events::audit_actions_async(dir.path()).await;
    assert!(
        actions
            .iter()
            .any(|(action, details)| action == "session.revoked"
                && details.get("reason").map(String::as_str) == Some("idle_timeout")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn step_up_confirms_the_second_factor_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    let (secret, enrolment_code, _) = enrol(&mut ada, &token).await;
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let first_mfa = me["session"]["mfa_at_ms"].as_i64().unwrap();
    // Age the session's second factor by ten minutes, as time would.
    let session_id = me["session"]["id"].as_str().unwrap();
    crate::common::age_second_factor(dir.path(), session_id).await;

    let replay = serde_json::json!({ "totp_code": enrolment_code });
    let without_csrf = ada
        .send("POST", "/api/v1/session/step-up", Some(replay.clone()), &[])
        .await;
    assert_eq!(without_csrf.status, 403);
    let replayed = ada
        .send(
            "POST",
            "/api/v1/session/step-up",
            Some(replay),
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(replayed.status, 401, "a used code does not step up");

    let next_code = Totp::default()
        .code_at(&secret, now_secs() + 30)
        .to_string();
    let stepped = ada
        .send(
            "POST",
            "/api/v1/session/step-up",
            Some(serde_json::json!({ "totp_code": next_code })),
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(stepped.status, 200, "{}", stepped.text());
    let body: serde_json::Value = serde_json::from_slice(&stepped.body).unwrap();
    assert!(
        body["session"]["mfa_at_ms"].as_i64().unwrap() >= first_mfa,
        "the second factor is fresh again: {body}"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}
