//! Booking meetings over the real API: an adviser creates, lists, changes and cancels meetings;
//! bad titles, windows and passcodes change nothing; another adviser and an administrator reach
//! none of them; the title and the passcode are nowhere in the database in the clear; every
//! change is audited and the trail verifies.

use crate::admin::enrol_invitee;
use crate::common::{assert_audit_intact, start_demo, Running};
use crate::identity::{bootstrap, enrol, Client};

const TITLE: &str = "Bolånesamtal med Karin";
const PASSCODE: &str = "kanelbulle-42";

/// An adviser, invited by the first administrator and enrolled; returns the adviser's client
/// with its CSRF token, and the administrator's.
pub(crate) async fn adviser<'a>(
    server: &'a Running,
    data_dir: &std::path::Path,
    email: &str,
    admin: Option<(Client<'a>, String)>,
) -> ((Client<'a>, String), (Client<'a>, String)) {
    let (mut admin, admin_csrf) = match admin {
        Some(admin) => admin,
        None => {
            let token = bootstrap(data_dir);
            let mut admin = Client::new(server);
            enrol(&mut admin, &token).await;
            let (_, me) = admin
                .json("GET", "/api/v1/session", serde_json::Value::Null)
                .await;
            let csrf = me["csrf_token"].as_str().unwrap().to_owned();
            (admin, csrf)
        }
    };
    let invited = admin
        .send(
            "POST",
            "/api/v1/accounts",
            Some(serde_json::json!({ "email": email, "display_name": "Ada Adviser", "roles": ["adviser"] })),
            &[("X-CSRF-Token", admin_csrf.as_str())],
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let invited: serde_json::Value = serde_json::from_slice(&invited.body).unwrap();
    let mut adviser = Client::new(server);
    enrol_invitee(&mut adviser, invited["enrolment_path"].as_str().unwrap()).await;
    let (_, me) = adviser
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    ((adviser, csrf), (admin, admin_csrf))
}

pub(crate) fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn advisers_book_change_and_cancel_their_own_meetings() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let with_csrf = [("X-CSRF-Token", csrf.as_str())];
    let now = now_ms();
    let hour = 3_600_000;

    // Bad input is refused and books nothing.
    for (body, code) in [
        (
            serde_json::json!({ "title": " ", "starts_at_ms": now, "ends_at_ms": now + hour }),
            "invalid_title",
        ),
        (
            serde_json::json!({ "title": TITLE, "starts_at_ms": now + hour, "ends_at_ms": now }),
            "invalid_window",
        ),
        (
            serde_json::json!({ "title": TITLE, "starts_at_ms": now, "ends_at_ms": now + hour, "passcode": "123" }),
            "invalid_passcode",
        ),
        (
            // No customer e-ID provider is configured, so nobody could give the proof.
            serde_json::json!({ "title": TITLE, "starts_at_ms": now, "ends_at_ms": now + hour, "identity_proof": true }),
            "identity_proof_unavailable",
        ),
    ] {
        let refused = ada
            .send("POST", "/api/v1/meetings", Some(body), &with_csrf)
            .await;
        let answer: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!((refused.status, answer["code"].as_str()), (400, Some(code)));
    }
    let body = serde_json::json!({
        "title": TITLE, "starts_at_ms": now, "ends_at_ms": now + hour, "passcode": PASSCODE,
    });
    assert_eq!(
        ada.send("POST", "/api/v1/meetings", Some(body.clone()), &[])
            .await
            .status,
        403,
        "CSRF"
    );
    let created = ada
        .send("POST", "/api/v1/meetings", Some(body), &with_csrf)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let meeting: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(meeting["link_path"], format!("/m/{id}"));
    assert_eq!(meeting["title"], TITLE);
    assert_eq!(meeting["has_passcode"], true);
    assert_eq!(meeting["status"], "scheduled");

    let (status, list) = ada
        .json("GET", "/api/v1/meetings", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["meetings"].as_array().unwrap().len(), 1);

    // Another adviser and the administrator reach none of it: it does not exist for them.
    let ((mut bo, bo_csrf), (mut admin, admin_csrf)) =
        adviser(&server, dir.path(), "bo@example.se", Some(admin)).await;
    let path = format!("/api/v1/meetings/{id}");
    for (client, csrf) in [(&mut bo, &bo_csrf), (&mut admin, &admin_csrf)] {
        let (status, _) = client.json("GET", &path, serde_json::Value::Null).await;
        assert_eq!(status, 404);
        let cancel = client
            .send(
                "POST",
                &format!("{path}/cancel"),
                None,
                &[("X-CSRF-Token", csrf.as_str())],
            )
            .await;
        assert_eq!(cancel.status, 404);
    }
    let (status, list) = bo
        .json("GET", "/api/v1/meetings", serde_json::Value::Null)
        .await;
    assert_eq!(
        (status, list["meetings"].as_array().unwrap().len()),
        (200, 0)
    );
    let refused = admin
        .send(
            "POST",
            "/api/v1/meetings",
            Some(
                serde_json::json!({ "title": "x", "starts_at_ms": now, "ends_at_ms": now + hour }),
            ),
            &[("X-CSRF-Token", admin_csrf.as_str())],
        )
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(
        (refused.status, answer["code"].as_str()),
        (403, Some("forbidden")),
        "administrators do not book meetings"
    );

    // A change keeps the passcode unless asked; removing it works.
    let changed = ada
        .send(
            "PUT",
            &path,
            Some(serde_json::json!({
                "title": "Bolånesamtal, uppföljning", "starts_at_ms": now, "ends_at_ms": now + 2 * hour,
            })),
            &with_csrf,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let changed: serde_json::Value = serde_json::from_slice(&changed.body).unwrap();
    assert_eq!(
        (
            changed["has_passcode"].as_bool(),
            changed["ends_at_ms"].as_i64()
        ),
        (Some(true), Some(now + 2 * hour))
    );
    let removed = ada
        .send(
            "PUT",
            &path,
            Some(serde_json::json!({
                "title": TITLE, "starts_at_ms": now, "ends_at_ms": now + hour, "remove_passcode": true,
            })),
            &with_csrf,
        )
        .await;
    let removed: serde_json::Value = serde_json::from_slice(&removed.body).unwrap();
    assert_eq!(removed["has_passcode"], false);

    // Cancelled once; then it is closed to changes.
    let cancelled = ada
        .send("POST", &format!("{path}/cancel"), None, &with_csrf)
        .await;
    let cancelled: serde_json::Value = serde_json::from_slice(&cancelled.body).unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    let again = ada
        .send("POST", &format!("{path}/cancel"), None, &with_csrf)
        .await;
    assert_eq!(again.status, 409);

    server.stop();
    for needle in ["Bolånesamtal", PASSCODE] {
        for file in ["trygg.db", "trygg.db-wal"] {
            if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{file} holds {needle} in the clear"
                );
            }
        }
    }
    assert_audit_intact(dir.path());
}
