//! Single sign-on against a real OpenID Provider (the npm `oidc-provider` package, started by
//! these tests from `web/tests/oidc-provider.mjs`): staff sign in with the provider's MFA and get
//! only the roles both sides grant; a provider without MFA, an unknown person, a replayed,
//! unbound or forged state and ID tokens with the wrong audience, issuer, nonce, party, expiry or
//! key are refused without a session; a customer's e-ID identity is stored encrypted and shown
//! masked. Every outcome is in the audit trail and nothing personal in the logs.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use identity::totp::{Totp, TotpSecret};

use crate::audit_events::audit_actions_async;
use crate::common::{
    self, assert_audit_intact, client_config_trusting, request_with, start_demo, Running,
};
use crate::identity::{bootstrap, enrol, now_secs, Client};

const PASSWORD: &str = "test-password";
const PERSONAL_NUMBER: &str = "198112289874";

/// The test OpenID Provider, stopped when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    pub port: u16,
    pub cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl OidcProvider {
    pub fn start() -> OidcProvider {
        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        assert!(
            web.join("node_modules/oidc-provider").exists(),
            "the test OpenID Provider is not installed: run `cargo xtask web` (npm ci in web/) first"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(web.join("tests/oidc-provider.mjs"))
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("oidc-provider listening at ") {
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let issuer = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the OpenID Provider starts within 30 s");
        let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
        OidcProvider {
            child,
            issuer,
            port,
            cert: dir.path().join("cert.pem"),
            _dir: dir,
        }
    }

    /// Trygg's configuration for both providers, as environment variables.
    pub fn env(&self) -> Vec<(String, String)> {
        let cert = self.cert.display().to_string();
        [
            ("TRYGG_STAFF_IDP__ISSUER", self.issuer.as_str()),
            ("TRYGG_STAFF_IDP__CLIENT_ID", "trygg-staff"),
            ("TRYGG_STAFF_IDP__CLIENT_SECRET", "staff-secret"),
            ("TRYGG_STAFF_IDP__CA_FILE", &cert),
            ("TRYGG_STAFF_IDP__SCOPES", "openid,email,profile,groups"),
            (
                "TRYGG_STAFF_IDP__ROLE_MAPPING",
                "trygg-admins=admin,trygg-advisers=adviser",
            ),
            ("TRYGG_CUSTOMER_IDP__ISSUER", self.issuer.as_str()),
            ("TRYGG_CUSTOMER_IDP__CLIENT_ID", "trygg-eid"),
            ("TRYGG_CUSTOMER_IDP__CLIENT_SECRET", "eid-secret"),
            ("TRYGG_CUSTOMER_IDP__CA_FILE", &cert),
            ("TRYGG_CUSTOMER_IDP__SCOPES", "openid,profile,eid"),
            ("TRYGG_CUSTOMER_IDP__MFA_ACR_VALUES", "loa3"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// One request to the provider; cookies from `jar` are sent and its answers kept.
    async fn send(
        &self,
        jar: &mut Vec<(String, String)>,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> common::Response {
        let cookie = jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        if form.is_some() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let config = client_config_trusting(&self.cert, rustls::ALL_VERSIONS);
        let response = request_with(
            config,
            self.port,
            method,
            path,
            &headers,
            form.unwrap_or("").as_bytes(),
        )
        .await;
        for (name, value) in &response.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((key, value)) = pair.split_once('=') {
                    jar.retain(|(name, _)| name != key);
                    jar.push((key.to_owned(), value.to_owned()));
                }
            }
        }
        response
    }

    /// Tells the provider to alter the next ID token it issues.
    async fn tamper_next_id_token(&self, change: serde_json::Value) {
        let config = client_config_trusting(&self.cert, rustls::ALL_VERSIONS);
        let response = request_with(
            config,
            self.port,
            "POST",
            "/test/next-id-token",
            &[("Content-Type", "application/json")],
            change.to_string().as_bytes(),
        )
        .await;
        assert_eq!(response.status, 204);
    }

    /// Signs `user` in at the provider, following the browser's redirects from Trygg's
    /// authorisation request to Trygg's callback; returns the callback's path and query.
    pub(crate) async fn sign_in(&self, authorization_url: &str, user: &str) -> String {
        let mut jar = Vec::new();
        let mut path = self.path_of(authorization_url);
        let mut form: Option<String> = None;
        for _ in 0..8 {
            let method = if form.is_some() { "POST" } else { "GET" };
            let response = self.send(&mut jar, method, &path, form.as_deref()).await;
            form = None;
            if response.status == 200 {
                assert!(response.text().contains("/login"), "{}", response.text());
                path = format!("{}/login", path.split('?').next().unwrap());
                form = Some(format!("login={user}&password={PASSWORD}"));
                continue;
            }
            assert_eq!(response.status, 303, "{path}: {}", response.text());
            let location = response.header("location").unwrap().to_owned();
            if location.contains("/api/v1/sso/") {
                return location
                    .split_once("/api/v1/sso/")
                    .map(|(_, rest)| format!("/api/v1/sso/{rest}"))
                    .unwrap();
            }
            path = self.path_of(&location);
        }
        panic!("the provider never sent the browser back to Trygg");
    }

    fn path_of(&self, url: &str) -> String {
        match url.strip_prefix(&self.issuer) {
            Some(path) => path.to_owned(),
            None => {
                assert!(url.starts_with('/'), "{url} is not at the provider");
                url.to_owned()
            }
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_with_provider(dir: &Path, provider: &OidcProvider) -> Running {
    let env = provider.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    start_demo(dir, &env)
}

/// Starts a sign-in at Trygg; returns the authorisation URL at the provider.
async fn start(client: &mut Client<'_>, kind: &str) -> String {
    let response = client
        .send("GET", &format!("/api/v1/sso/{kind}/start"), None, &[])
        .await;
    assert_eq!(response.status, 303, "{}", response.text());
    assert!(client
        .cookies
        .iter()
        .any(|(name, _)| name == "__Host-trygg-sso"));
    let location = response.header("location").unwrap().to_owned();
    for parameter in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(location.contains(parameter), "{location} lacks {parameter}");
    }
    location
}

/// Trygg's answer to the callback: where it sends the browser.
pub(crate) async fn finish(client: &mut Client<'_>, callback: &str) -> String {
    let response = client.send("GET", callback, None, &[]).await;
    assert_eq!(response.status, 303, "{}", response.text());
    assert!(
        !client
            .cookies
            .iter()
            .any(|(name, _)| name == "__Host-trygg-sso"),
        "the binding cookie is cleared whatever the outcome"
    );
    response.header("location").unwrap().to_owned()
}

/// A whole sign-in of `user`; returns where Trygg sends the browser at the end.
async fn sso(client: &mut Client<'_>, provider: &OidcProvider, kind: &str, user: &str) -> String {
    let url = start(client, kind).await;
    let callback = provider.sign_in(&url, user).await;
    finish(client, &callback).await
}

fn reasons(actions: &[(String, std::collections::BTreeMap<String, String>)]) -> Vec<String> {
    actions
        .iter()
        .filter(|(action, _)| action == "sso.sign_in_failed")
        .map(|(_, details)| details["reason"].clone())
        .collect()
}

#[tokio::test]
async fn staff_sign_in_needs_the_providers_mfa_and_an_account_and_gets_only_shared_roles() {
    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_provider(dir.path(), &provider);

    let (_, info) = Client::new(&server)
        .json("GET", "/api/v1/info", serde_json::Value::Null)
        .await;
    assert_eq!(
        info["sso"],
        serde_json::json!({ "staff": true, "customer": true })
    );

    // Ada enrols the ordinary way; then signs in through the provider, which links her.
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    enrol(&mut ada, &token).await;
    let mut ada_sso = Client::new(&server);
    assert_eq!(
        sso(&mut ada_sso, &provider, "staff", "ada").await,
        "/account"
    );
    assert!(ada_sso.has_session());
    let (status, me) = ada_sso
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["session"]["auth_method"], "sso+identity_provider");
    assert_eq!(me["account"]["email"], "ada.admin@example.se");
    assert_eq!(me["account"]["roles"], serde_json::json!(["admin"]));
    assert!(me["session"]["mfa_at_ms"].as_i64().is_some());
    // A second sign-in uses the link; a new session token each time.
    let first_token = ada_sso.cookies.clone();
    let mut again = Client::new(&server);
    assert_eq!(sso(&mut again, &provider, "staff", "ada").await, "/account");
    assert_ne!(again.cookies, first_token);

    // Dag holds admin and adviser in Trygg; the provider asserts only the advisers' group, so
    // his single sign-on session is an adviser's and nothing more.
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let invited = ada
        .send(
            "POST",
            "/api/v1/accounts",
            Some(serde_json::json!({
                "email": "dag.dahl@example.se", "display_name": "Dag Dahl", "roles": ["admin", "adviser"]
            })),
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let invited: serde_json::Value = serde_json::from_slice(&invited.body).unwrap();
    enrol_invitee(&server, invited["enrolment_path"].as_str().unwrap()).await;
    let mut dag = Client::new(&server);
    assert_eq!(sso(&mut dag, &provider, "staff", "dag").await, "/account");
    let (_, me) = dag
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(me["account"]["roles"], serde_json::json!(["adviser"]));
    let (status, _) = dag
        .json("GET", "/api/v1/accounts", serde_json::Value::Null)
        .await;
    assert_eq!(status, 403, "the provider withheld admin");

    // Bo's provider sign-in has no second factor; Eve has no Trygg account. Neither gets a
    // session, and the sign-in page is told why.
    let mut bo = Client::new(&server);
    assert_eq!(
        sso(&mut bo, &provider, "staff", "bo").await,
        "/sign-in?sso_error=mfa_required"
    );
    assert!(!bo.has_session());
    let mut eve = Client::new(&server);
    assert_eq!(
        sso(&mut eve, &provider, "staff", "eve").await,
        "/sign-in?sso_error=no_account"
    );
    assert!(!eve.has_session());

    let (_, logs) = server.stop();
    let actions = audit_actions_async(dir.path()).await;
    let linked = actions
        .iter()
        .filter(|(action, _)| action == "sso.account_linked")
        .count();
    assert_eq!(linked, 2, "Ada and Dag were linked once each");
    assert!(actions
        .iter()
        .any(|(action, details)| action == "session.created"
            && details.get("method").map(String::as_str) == Some("sso+identity_provider")
            && details.get("roles_limit").map(String::as_str) == Some("adviser")));
    assert_eq!(reasons(&actions), ["mfa_missing", "unknown_account"]);
    for secret in ["staff-secret", "dag.dahl@example.se", "trygg-advisers"] {
        assert!(!logs.contains(secret), "the logs name {secret}");
    }
    assert_audit_intact(dir.path());
}

/// Enrols the invitee behind `path` (`/enrol#token`) with a password and TOTP.
async fn enrol_invitee(server: &Running, path: &str) {
    let mut client = Client::new(server);
    let token = path.strip_prefix("/enrol#").unwrap();
    let (status, start) = client
        .json(
            "POST",
            "/api/v1/enrolment/start",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 200, "{start}");
    let secret = TotpSecret::from_base32(start["totp"]["secret"].as_str().unwrap()).unwrap();
    let code = Totp::default().code_at(&secret, now_secs()).to_string();
    let (status, done) = client
        .json(
            "POST",
            "/api/v1/enrolment/finish",
            serde_json::json!({ "token": token, "password": "dags långa lösenord för banken", "totp_code": code }),
        )
        .await;
    assert_eq!(status, 200, "{done}");
}

#[tokio::test]
async fn replayed_unbound_or_forged_states_and_bad_id_tokens_are_refused() {
    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_provider(dir.path(), &provider);
    let token = bootstrap(dir.path());
    enrol(&mut Client::new(&server), &token).await;

    // Replay: the same callback (code and state) a second time.
    let mut ada = Client::new(&server);
    let url = start(&mut ada, "staff").await;
    let callback = provider.sign_in(&url, "ada").await;
    let binding = ada.cookies.clone();
    assert_eq!(finish(&mut ada, &callback).await, "/account");
    let mut replay = Client::new(&server);
    replay.cookies = binding;
    assert_eq!(
        finish(&mut replay, &callback).await,
        "/sign-in?sso_error=state"
    );
    assert!(!replay.has_session());

    // Unbound: an attacker's callback in a victim's browser (without the binding cookie) is
    // refused, and it uses the sign-in up.
    let mut attacker = Client::new(&server);
    let url = start(&mut attacker, "staff").await;
    let callback = provider.sign_in(&url, "ada").await;
    let mut victim = Client::new(&server);
    assert_eq!(
        finish(&mut victim, &callback).await,
        "/sign-in?sso_error=state"
    );
    assert!(!victim.has_session());
    assert_eq!(
        finish(&mut attacker, &callback).await,
        "/sign-in?sso_error=state"
    );

    // A state that Trygg never issued, and a callback for the other provider kind.
    let mut forged = Client::new(&server);
    start(&mut forged, "staff").await;
    assert_eq!(
        finish(
            &mut forged,
            "/api/v1/sso/staff/callback?code=x&state=forged"
        )
        .await,
        "/sign-in?sso_error=state"
    );
    let mut crossed = Client::new(&server);
    let url = start(&mut crossed, "staff").await;
    let callback = provider.sign_in(&url, "ada").await;
    let crossed_callback = callback.replace("/staff/", "/customer/");
    assert_eq!(
        finish(&mut crossed, &crossed_callback).await,
        "/sign-in?sso_error=state"
    );

    // ID tokens the provider's key did not sign, or signed for someone else.
    let tampered = [
        (
            serde_json::json!({ "aud": "another-client" }),
            "wrong_audience",
        ),
        (
            serde_json::json!({ "iss": "https://evil.example" }),
            "wrong_issuer",
        ),
        (
            serde_json::json!({ "nonce": "not-the-nonce" }),
            "wrong_nonce",
        ),
        (
            serde_json::json!({ "exp_offset_secs": -3600 }),
            "token_expired",
        ),
        (
            serde_json::json!({ "azp": "another-client" }),
            "wrong_authorized_party",
        ),
        (serde_json::json!({ "foreign_key": true }), "bad_signature"),
    ];
    for (change, _) in &tampered {
        provider.tamper_next_id_token(change.clone()).await;
        let mut client = Client::new(&server);
        assert_eq!(
            sso(&mut client, &provider, "staff", "ada").await,
            "/sign-in?sso_error=failed",
            "{change}"
        );
        assert!(!client.has_session(), "{change}");
    }

    // One source cannot fill the server with sign-ins under way.
    let mut refused_at = None;
    for attempt in 1..=21 {
        let response = Client::new(&server)
            .send("GET", "/api/v1/sso/staff/start", None, &[])
            .await;
        if response.status == 429 {
            refused_at = Some(attempt);
            break;
        }
        assert_eq!(response.status, 303);
    }
    assert!(
        refused_at.is_some_and(|attempt| attempt <= 20),
        "{refused_at:?}"
    );

    let (_, logs) = server.stop();
    let actions = audit_actions_async(dir.path()).await;
    let mut expected = vec!["unknown_state", "state_not_bound", "unknown_state"];
    expected.extend(["unknown_state", "state_not_bound"]);
    expected.extend(tampered.iter().map(|(_, reason)| *reason));
    assert_eq!(reasons(&actions), expected);
    assert!(!logs.contains("code="), "no authorisation code in the logs");
    assert_audit_intact(dir.path());
}

#[tokio::test]
async fn customer_e_id_is_kept_encrypted_and_shown_masked() {
    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_provider(dir.path(), &provider);

    let mut karin = Client::new(&server);
    assert_eq!(sso(&mut karin, &provider, "customer", "karin").await, "/");
    let (_, me) = karin
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(me["account"]["kind"], "customer");
    assert_eq!(me["account"]["display_name"], "Karin Kund");
    assert_eq!(me["session"]["auth_method"], "eid+identity_provider");
    let (status, identity) = karin
        .json("GET", "/api/v1/customer/identity", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{identity}");
    assert_eq!(identity["name"], "Karin Kund");
    assert_eq!(identity["personal_number_masked"], "19811228-****");
    assert!(!identity.to_string().contains(PERSONAL_NUMBER));

    // A returning customer is recognised by the number, whatever session she had before.
    let mut again = Client::new(&server);
    assert_eq!(sso(&mut again, &provider, "customer", "karin").await, "/");
    let (_, me_again) = again
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(me_again["account"]["id"], me["account"]["id"]);

    // An e-ID level below the one configured as multi-factor is refused.
    let mut kalle = Client::new(&server);
    assert_eq!(
        sso(&mut kalle, &provider, "customer", "kalle").await,
        "/sign-in?sso_error=mfa_required"
    );
    assert!(!kalle.has_session());

    let (_, logs) = server.stop();
    for needle in [PERSONAL_NUMBER, "811228-9874", "Karin Kund"] {
        assert!(!logs.contains(needle), "the logs contain {needle}");
        for file in ["trygg.db", "trygg.db-wal"] {
            let path = dir.path().join(file);
            if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{file} holds {needle} in the clear"
                );
            }
        }
    }
    let actions = audit_actions_async(dir.path()).await;
    let verified = actions
        .iter()
        .filter(|(action, _)| action == "customer.identity_verified")
        .count();
    assert_eq!(verified, 2);
    assert_eq!(reasons(&actions), ["mfa_missing"]);
    assert_audit_intact(dir.path());
}
