//! Account administration over the real API: an administrator invites an adviser, who enrols;
//! the adviser is refused administration; roles change, MFA is reset and the account disabled,
//! each ending the account's sessions at once; sensitive actions demand a fresh second factor;
//! nobody administers their own account.

use identity::totp::{Totp, TotpSecret};

use crate::common::{assert_audit_intact, start_demo};
use crate::identity::{bootstrap, enrol, now_secs, Client};

const BO: &str = "bo.berg@example.se";
const BO_PASSWORD: &str = "bos långa lösenord för banken";

/// Enrols the invitee behind `path` (`/enrol#token`) with Bo's password.
pub(crate) async fn enrol_invitee(client: &mut Client<'_>, path: &str) -> TotpSecret {
    let token = path.strip_prefix("/enrol#").expect("an enrolment path");
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
            serde_json::json!({ "token": token, "password": BO_PASSWORD, "totp_code": code }),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    secret
}

#[tokio::test]
async fn administrators_manage_accounts_under_policy_and_step_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    let (ada_secret, _, _) = enrol(&mut ada, &token).await;
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let ada_id = me["account"]["id"].as_str().unwrap().to_owned();
    let with_csrf = [("X-CSRF-Token", csrf.as_str())];

    // Invite an adviser; bad input changes nothing.
    for (body, code) in [
        (
            serde_json::json!({ "email": "not-an-address", "display_name": "Bo", "roles": ["adviser"] }),
            "invalid_email",
        ),
        (
            serde_json::json!({ "email": BO, "display_name": "Bo Berg", "roles": ["wizard"] }),
            "invalid_roles",
        ),
        (
            serde_json::json!({ "email": BO, "display_name": "Bo Berg", "roles": [] }),
            "invalid_roles",
        ),
    ] {
        let refused = ada
            .send("POST", "/api/v1/accounts", Some(body), &with_csrf)
            .await;
        let answer: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(
            (refused.status, answer["code"].as_str()),
            (400, Some(code)),
            "{answer}"
        );
    }
    let invite =
        serde_json::json!({ "email": BO, "display_name": "Bo Berg", "roles": ["adviser"] });
    assert_eq!(
        ada.send("POST", "/api/v1/accounts", Some(invite.clone()), &[])
            .await
            .status,
        403,
        "CSRF"
    );
    let invited = ada
        .send("POST", "/api/v1/accounts", Some(invite.clone()), &with_csrf)
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let invited: serde_json::Value = serde_json::from_slice(&invited.body).unwrap();
    assert_eq!(invited["account"]["status"], "pending");
    let bo_id = invited["account"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        ada.send("POST", "/api/v1/accounts", Some(invite), &with_csrf)
            .await
            .status,
        409
    );

    let mut bo = Client::new(&server);
    enrol_invitee(&mut bo, invited["enrolment_path"].as_str().unwrap()).await;
    let (status, list) = ada
        .json("GET", "/api/v1/accounts", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200);
    let accounts = list["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert!(accounts.iter().any(|a| a["email"] == BO
        && a["status"] == "active"
        && a["roles"] == serde_json::json!(["adviser"])));

    // An adviser administers nothing.
    let (status, refused) = bo
        .json("GET", "/api/v1/accounts", serde_json::Value::Null)
        .await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));

    // Nobody administers their own account.
    let own = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{ada_id}/disable"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(own.status, 403);

    // Changing Bo's roles ends Bo's sessions at once.
    let roles = serde_json::json!({ "roles": ["supervisor", "adviser"] });
    let changed = ada
        .send(
            "PUT",
            &format!("/api/v1/accounts/{bo_id}/roles"),
            Some(roles),
            &with_csrf,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let changed: serde_json::Value = serde_json::from_slice(&changed.body).unwrap();
    assert_eq!(
        changed["roles"],
        serde_json::json!(["adviser", "supervisor"])
    );
    let (status, _) = bo
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401);

    // Sensitive actions need a second factor from the last five minutes: age Ada's.
    let session_id = me["session"]["id"].as_str().unwrap();
    crate::common::age_second_factor(dir.path(), session_id).await;
    let stale = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{bo_id}/reset-mfa"),
            None,
            &with_csrf,
        )
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&stale.body).unwrap();
    assert_eq!(
        (stale.status, answer["code"].as_str()),
        (403, Some("step_up_required")),
        "{answer}"
    );
    let code = Totp::default()
        .code_at(&ada_secret, now_secs() + 30)
        .to_string();
    let stepped = ada
        .send(
            "POST",
            "/api/v1/session/step-up",
            Some(serde_json::json!({ "totp_code": code })),
            &with_csrf,
        )
        .await;
    assert_eq!(stepped.status, 200, "{}", stepped.text());
    let reset = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{bo_id}/reset-mfa"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    let reset: serde_json::Value = serde_json::from_slice(&reset.body).unwrap();
    assert_eq!(reset["account"]["status"], "pending");
    let mut bo_again = Client::new(&server);
    enrol_invitee(&mut bo_again, reset["enrolment_path"].as_str().unwrap()).await;

    // Ending sessions and disabling.
    let ended = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{bo_id}/revoke-sessions"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(ended.status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&ended.body).unwrap()["ended"],
        1
    );
    let (status, _) = bo_again
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401);
    let disabled = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{bo_id}/disable"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(disabled.status, 200);
    let mut bo_later = Client::new(&server);
    let (status, _) = bo_later
        .json_patiently(
            "POST",
            "/api/v1/session/password",
            serde_json::json!({ "email": BO, "password": BO_PASSWORD }),
        )
        .await;
    assert_eq!(status, 401, "a disabled account cannot sign in");
    let reopen = ada
        .send(
            "POST",
            &format!("/api/v1/accounts/{bo_id}/reset-mfa"),
            None,
            &with_csrf,
        )
        .await;
    assert_eq!(
        reopen.status, 409,
        "a reset must not re-open a disabled account"
    );
    assert_eq!(
        ada.send("POST", "/api/v1/accounts/nobody/disable", None, &with_csrf)
            .await
            .status,
        404
    );

    let (status, _) = server.stop();
    assert!(status.success());
    let actions = crate::audit_events::audit_actions_async(dir.path()).await;
    let names: Vec<&str> = actions.iter().map(|(action, _)| action.as_str()).collect();
    for expected in [
        "account.created",
        "account.roles_changed",
        "mfa.reset",
        "account.disabled",
        "session.revoked_all",
        "authz.denied",
        "session.stepped_up",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_audit_intact(dir.path());
}

#[tokio::test]
async fn a_raised_risk_limits_a_session_and_a_high_one_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let token = bootstrap(dir.path());
    let mut ada = Client::new(&server);
    enrol(&mut ada, &token).await;
    let (_, me) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let session_id = me["session"]["id"].as_str().unwrap().to_owned();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let raise = |score: &str, reason: &str| {
        crate::common::run(
            &[
                "sessions",
                "raise-risk",
                "--data-dir",
                &data_dir,
                "--session",
                &session_id,
                "--score",
                score,
                "--reason",
                reason,
            ],
            &[],
        )
    };

    let (code, _, stderr) = raise("60", "Free text, not a code");
    assert_eq!(code, 1);
    assert!(stderr.contains("--reason"), "{stderr}");
    let (code, _, _) = raise("101", "too_high");
    assert_eq!(code, 2, "a score above 100 is a usage error");

    // Elevated: ordinary actions go on, sensitive ones are refused.
    let (code, stdout, stderr) = raise("60", "new_device");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (status, _) = ada
        .json("GET", "/api/v1/accounts", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200);
    let invite = serde_json::json!({ "email": "cid@example.se", "display_name": "Cid", "roles": ["auditor"] });
    let refused = ada
        .send(
            "POST",
            "/api/v1/accounts",
            Some(invite),
            &[("X-CSRF-Token", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());

    // High: the session ends at once.
    let (code, stdout, _) = raise("90", "impossible_travel");
    assert_eq!(code, 0);
    assert!(stdout.contains("ended"), "{stdout}");
    let (status, _) = ada
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 401);

    let (status, _) = server.stop();
    assert!(status.success());
    let actions = crate::audit_events::audit_actions_async(dir.path()).await;
    let raised: Vec<_> = actions
        .iter()
        .filter(|(action, _)| action == "session.risk_raised")
        .collect();
    assert_eq!(raised.len(), 2);
    assert_eq!(raised[1].1.get("revoked").map(String::as_str), Some("true"));
    assert_eq!(
        raised[1].1.get("reason").map(String::as_str),
        Some("impossible_travel")
    );
    assert_audit_intact(dir.path());
}
