//! Passkeys over the real API, for what a browser test cannot provoke: registering needs a fresh
//! second factor; a sign-in ceremony works once, only in the browser that started it, and never
//! with a forged or malformed answer; nothing of it leaves a session behind. The whole ceremony
//! with a real authenticator is in `web/tests/passkey.test.mjs`.

use crate::common::{age_second_factor, assert_audit_intact, start_demo};
use crate::identity::{bootstrap, enrol, Client};

/// A syntactically valid assertion that no authenticator made.
fn forged_assertion() -> serde_json::Value {
    serde_json::json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "AAAA",
            "signature": "AAAA",
            "userHandle": "AAAAAAAAAAAAAAAAAAAAAA",
        },
        "extensions": {},
    })
}

#[tokio::test]
async fn passkey_ceremonies_refuse_what_they_must() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    enrol(&mut ada, &token).await;
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let with_csrf = [("X-CSRF-Token", csrf.as_str())];

    // Registration options ask for a discoverable credential with user verification.
    let started = ada
        .send("POST", "/api/v1/passkeys/register/start", None, &with_csrf)
        .await;
    assert_eq!(started.status, 200, "{}", started.text());
    let options: serde_json::Value = serde_json::from_slice(&started.body).unwrap();
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["userVerification"], "required", "{options}");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");

    // An answer that is not a credential is refused and stores nothing.
    let malformed = ada
        .send(
            "POST",
            "/api/v1/passkeys/register/finish",
            Some(serde_json::json!({ "name": "Laptop", "credential": { "id": 5 } })),
            &with_csrf,
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.text());
    // The ceremony was used up by that attempt.
    let again = ada
        .send(
            "POST",
            "/api/v1/passkeys/register/finish",
            Some(serde_json::json!({ "name": "Laptop", "credential": forged_assertion() })),
            &with_csrf,
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
    let (status, list) = ada
        .json("GET", "/api/v1/passkeys", serde_json::Value::Null)
        .await;
    assert_eq!(
        (status, list["passkeys"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // With a second factor older than the step-up window, registering is refused.
    age_second_factor(dir.path(), me["session"]["id"].as_str().unwrap()).await;
    let stale = ada
        .send("POST", "/api/v1/passkeys/register/start", None, &with_csrf)
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&stale.body).unwrap();
    assert_eq!(
        (stale.status, answer["code"].as_str()),
        (403, Some("step_up_required")),
        "{answer}"
    );

    // Sign-in: no ceremony cookie, no sign-in.
    let mut eve = Client::new(&server);
    let no_cookie = eve
        .send(
            "POST",
            "/api/v1/session/passkey/finish",
            Some(serde_json::json!({ "credential": forged_assertion() })),
            &[],
        )
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&no_cookie.body).unwrap();
    assert_eq!(
        (no_cookie.status, answer["code"].as_str()),
        (401, Some("passkey_expired"))
    );

    // A started ceremony with a forged assertion is refused, and is then used up.
    let start = eve
        .send("POST", "/api/v1/session/passkey/start", None, &[])
        .await;
    assert_eq!(start.status, 200);
    let options: serde_json::Value = serde_json::from_slice(&start.body).unwrap();
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options.get("mediation").is_none(), "{options}");
    for expected in ["passkey_refused", "passkey_expired"] {
        let refused = eve
            .send(
                "POST",
                "/api/v1/session/passkey/finish",
                Some(serde_json::json!({ "credential": forged_assertion() })),
                &[],
            )
            .await;
        let answer: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(
            (refused.status, answer["code"].as_str()),
            (401, Some(expected))
        );
    }
    let (status, _) = eve
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401, "no session came of it");

    server.stop();
    assert_audit_intact(dir.path());
}
