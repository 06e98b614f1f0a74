//! Live meetings over the real signalling WebSocket: a customer joins by link, consents, is
//! throttled on wrong passcodes, gives the right one, passes the device check and knocks; the
//! adviser (host) enters, exchanges lobby messages with them, admits them, and uses host
//! controls; a removed and banned person cannot come back; a locked meeting takes no knocks; a
//! cross-site page cannot open the socket; a revoked session loses its socket within a second;
//! and the audit trail of it all verifies.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::audit_events::audit_actions_async;
use crate::common::{assert_audit_intact, client_config, start_demo, Running};
use crate::identity::Client;
use crate::meetings::{adviser, now_ms};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

const PASSCODE: &str = "kanelbulle-42";

/// Opens the signalling socket of `meeting` with the client's cookies and `origin`.
async fn connect(
    server: &Running,
    client: &Client<'_>,
    meeting: &str,
    origin: &str,
) -> Result<Socket, u16> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut config = (*client_config(&server.data_dir, rustls::ALL_VERSIONS)).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let mut request = format!(
        "wss://localhost:{}/api/v1/meetings/{meeting}/signal",
        server.port
    )
    .into_client_request()
    .unwrap();
    let cookies = client
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let headers = request.headers_mut();
    headers.insert("origin", origin.parse().unwrap());
    if !cookies.is_empty() {
        headers.insert("cookie", cookies.parse().unwrap());
    }
    match tokio_tungstenite::client_async(request, tls).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(error) => panic!("handshake failed: {error}"),
    }
}

fn origin(server: &Running) -> String {
    format!("https://localhost:{}", server.port)
}

async fn send(socket: &mut Socket, message: serde_json::Value) {
    let mut message = message;
    message["v"] = 1.into();
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next message of type `kind` for which `wanted` holds, skipping others.
async fn expect_where(
    socket: &mut Socket,
    kind: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let message = expect(socket, kind).await;
        if wanted(&message) {
            return message;
        }
    }
}

/// The next message of type `kind`, skipping others; fails after five seconds.
async fn expect(socket: &mut Socket, kind: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message within 5 s"));
        match next {
            Some(Ok(Message::Text(text))) => {
                let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(value["v"], 1, "{value}");
                if value["type"] == kind {
                    return value;
                }
            }
            Some(Ok(Message::Close(frame))) => panic!("closed before {kind}: {frame:?}"),
            Some(Ok(_)) => {}
            other => panic!("socket ended before {kind}: {other:?}"),
        }
    }
}

/// Waits for the server to close the socket; returns the close code.
async fn closed(socket: &mut Socket, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("the socket stayed open for {within:?}"),
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(_) => return None,
        }
    }
}

/// Books a meeting as `host` (whose CSRF token is `csrf`) whose window is open now, with the
/// given extra fields (`passcode`, `identity_proof`); returns the meeting as the API answers.
async fn book_meeting(
    host: &mut Client<'_>,
    csrf: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let now = now_ms();
    let mut body = serde_json::json!({
        "title": "Bolån", "starts_at_ms": now - 60_000, "ends_at_ms": now + 3_600_000,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let created = host
        .send(
            "POST",
            "/api/v1/meetings",
            Some(body),
            &[("X-CSRF-Token", csrf)],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    serde_json::from_slice(&created.body).unwrap()
}

/// The meeting's host connects, passes the device check and enters (no lobby for the host);
/// returns the socket and the `admitted` message with the meeting as the host sees it.
async fn host_enters(
    server: &Running,
    host: &Client<'_>,
    meeting: &str,
) -> (Socket, serde_json::Value) {
    let mut socket = connect(server, host, meeting, &origin(server))
        .await
        .unwrap();
    let welcome = expect(&mut socket, "welcome").await;
    assert_eq!(welcome["standing"]["step"], "device", "{welcome}");
    send(
        &mut socket,
        serde_json::json!({ "type": "device", "browser": "Chromium 156", "device": "Linux laptop", "supported": true }),
    )
    .await;
    expect(&mut socket, "join_step").await;
    send(
        &mut socket,
        serde_json::json!({ "type": "enter", "name": "Ada Adviser" }),
    )
    .await;
    let entered = expect(&mut socket, "admitted").await;
    (socket, entered)
}

/// A customer who joins by link and goes through consent, passcode and device check.
async fn guest_to_device_check<'a>(
    server: &'a Running,
    meeting: &str,
) -> (Client<'a>, Socket, u64) {
    guest_to_credential(Client::new(server), meeting, "passcode").await
}

/// `guest` joins by link and consents; the meeting asks for `credential`.
async fn guest_to_credential<'a>(
    mut guest: Client<'a>,
    meeting: &str,
    credential: &str,
) -> (Client<'a>, Socket, u64) {
    let server = guest.server;
    let joined = guest
        .send(
            "POST",
            &format!("/api/v1/meetings/{meeting}/join"),
            None,
            &[],
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.text());
    let mut socket = connect(server, &guest, meeting, &origin(server))
        .await
        .unwrap();
    let welcome = expect(&mut socket, "welcome").await;
    assert_eq!(welcome["standing"]["state"], "joining");
    assert_eq!(welcome["standing"]["step"], "consent");
    assert_eq!(welcome["meeting"]["credential"], credential);
    let notice = welcome["meeting"]["notice_version"].clone();
    let you = welcome["you"].as_u64().unwrap();
    send(
        &mut socket,
        serde_json::json!({ "type": "consent", "notice_version": notice, "decisions": [
            { "purpose": "meeting", "given": true }, { "purpose": "follow_up", "given": false },
        ]}),
    )
    .await;
    assert_eq!(expect(&mut socket, "join_step").await["step"], "credential");
    (guest, socket, you)
}

#[tokio::test]
async fn a_customer_is_admitted_through_the_lobby_and_the_host_stays_in_control() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), _admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let meeting = book_meeting(&mut ada, &csrf, serde_json::json!({ "passcode": PASSCODE })).await;
    let id = meeting["id"].as_str().unwrap().to_owned();

    // Unknown meetings and other sites' pages get no socket; neither does someone without a
    // place or a session.
    let nobody = Client::new(&server);
    assert_eq!(
        connect(&server, &nobody, &id, &origin(&server)).await.err(),
        Some(401)
    );
    assert_eq!(
        connect(&server, &ada, &id, "https://evil.example")
            .await
            .err(),
        Some(403)
    );
    let unknown = "0".repeat(32);
    assert_eq!(
        connect(&server, &ada, &unknown, &origin(&server))
            .await
            .err(),
        Some(404)
    );

    // The customer: consent, then wrong passcodes are refused and counted.
    let (karin_client, mut karin_socket, karin) = guest_to_device_check(&server, &id).await;
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "passcode", "passcode": "fel-kod-1" }),
    )
    .await;
    assert_eq!(
        expect(&mut karin_socket, "passcode_wrong").await["may_retry"],
        true
    );
    // Nonsense is answered, never obeyed.
    karin_socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    assert_eq!(
        expect(&mut karin_socket, "refused").await["code"],
        "unreadable"
    );
    send(&mut karin_socket, serde_json::json!({ "type": "lock" })).await;
    assert_eq!(
        expect(&mut karin_socket, "refused").await["code"],
        "not_permitted"
    );
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "passcode", "passcode": PASSCODE }),
    )
    .await;
    assert_eq!(
        expect(&mut karin_socket, "join_step").await["step"],
        "device"
    );
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "device", "browser": "Chromium 156", "device": "Linux laptop", "supported": true }),
    )
    .await;
    assert_eq!(
        expect(&mut karin_socket, "join_step").await["step"],
        "ready"
    );
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "knock", "name": "Karin Kund" }),
    )
    .await;
    expect(&mut karin_socket, "waiting").await;

    // A dropped connection resumes her place in the lobby, without knocking again.
    karin_socket.close(None).await.unwrap();
    drop(karin_socket);
    let mut karin_socket = connect(&server, &karin_client, &id, &origin(&server))
        .await
        .unwrap();
    let resumed = expect(&mut karin_socket, "welcome").await;
    assert_eq!(resumed["standing"]["state"], "waiting", "{resumed}");
    assert_eq!(resumed["you"], karin);

    // The host enters and sees the knock, with a risk signal from the wrong passcode.
    let (mut host_socket, entered) = host_enters(&server, &ada, &id).await;
    let lobby = entered["standing"]["lobby"].as_array().unwrap();
    assert_eq!(lobby.len(), 1, "{entered}");
    assert_eq!(lobby[0]["name_given"], "Karin Kund");
    assert_eq!(lobby[0]["risk_level"], "elevated");
    let host = entered["standing"]["you"]["person"].as_u64().unwrap();
    assert_eq!(entered["standing"]["you"]["role"], "host");

    // Lobby messages both ways.
    send(
        &mut host_socket,
        serde_json::json!({ "type": "message_to_lobby", "person": karin, "text": "Vad är ditt kundnummer?" }),
    )
    .await;
    let asked = expect(&mut karin_socket, "lobby_message").await;
    assert_eq!(asked["text"], "Vad är ditt kundnummer?");
    assert_eq!(asked["from"], host);
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "message_to_hosts", "text": "4711" }),
    )
    .await;
    // The host side sees the whole conversation: its own question, then the answer.
    assert_eq!(
        expect(&mut host_socket, "lobby_message").await["from"],
        host
    );
    let answer = expect(&mut host_socket, "lobby_message").await;
    assert_eq!(
        (answer["from"].as_u64(), answer["text"].as_str()),
        (Some(karin), Some("4711"))
    );

    // Admitted; screen sharing granted, started and revoked.
    send(
        &mut host_socket,
        serde_json::json!({ "type": "admit", "person": karin }),
    )
    .await;
    let admitted = expect(&mut karin_socket, "admitted").await;
    assert_eq!(admitted["standing"]["state"], "in_meeting");
    expect(&mut host_socket, "participant_joined").await;
    send(
        &mut host_socket,
        serde_json::json!({ "type": "set_screen_share_allowed", "person": karin, "allowed": true }),
    )
    .await;
    let allowed = expect(&mut karin_socket, "screen_share_changed").await;
    assert_eq!(
        (allowed["allowed"].as_bool(), allowed["sharing"].as_bool()),
        (Some(true), Some(false))
    );
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "start_screen_share" }),
    )
    .await;
    expect_where(&mut host_socket, "screen_share_changed", |m| {
        m["person"] == karin && m["sharing"] == true
    })
    .await;
    send(
        &mut host_socket,
        serde_json::json!({ "type": "set_screen_share_allowed", "person": karin, "allowed": false }),
    )
    .await;
    // Her own share's start reached her too; then the revocation stops it at once.
    expect_where(&mut karin_socket, "screen_share_changed", |m| {
        m["allowed"] == false && m["sharing"] == false
    })
    .await;

    // A participant cannot use host controls.
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "remove", "person": host, "ban": false }),
    )
    .await;
    assert_eq!(
        expect(&mut karin_socket, "refused").await["code"],
        "not_permitted"
    );

    // Removed: told, disconnected, and her place is gone.
    send(
        &mut host_socket,
        serde_json::json!({ "type": "remove", "person": karin, "ban": false }),
    )
    .await;
    assert_eq!(expect(&mut karin_socket, "removed").await["banned"], false);
    assert_eq!(
        closed(&mut karin_socket, Duration::from_secs(5)).await,
        Some(4000)
    );
    assert_eq!(
        connect(&server, &karin_client, &id, &origin(&server))
            .await
            .err(),
        Some(403),
        "a removed person cannot come back on her old place"
    );

    // Locked: a new customer cannot knock.
    send(&mut host_socket, serde_json::json!({ "type": "lock" })).await;
    assert_eq!(
        expect(&mut host_socket, "lock_changed").await["locked"],
        true
    );
    let mut late = Client::new(&server);
    let refused = late
        .send("POST", &format!("/api/v1/meetings/{id}/join"), None, &[])
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(
        (refused.status, answer["code"].as_str()),
        (403, Some("meeting_locked"))
    );

    // A link whose window has passed lets nobody in.
    let short = book_meeting(
        &mut ada,
        &csrf,
        serde_json::json!({ "title": "Kort", "ends_at_ms": now_ms() + 1_500 }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let expired = Client::new(&server)
        .send(
            "POST",
            &format!("/api/v1/meetings/{}/join", short["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
    let answer: serde_json::Value = serde_json::from_slice(&expired.body).unwrap();
    assert_eq!(
        (expired.status, answer["code"].as_str()),
        (403, Some("outside_window"))
    );

    // The host signs out in another tab: the socket of that session closes within a second.
    let signed_out = ada
        .send(
            "DELETE",
            "/api/v1/session",
            None,
            &[("X-CSRF-Token", csrf.as_str())],
        )
        .await;
    assert_eq!(signed_out.status, 204);
    let started = std::time::Instant::now();
    expect(&mut host_socket, "session_ended").await;
    assert_eq!(
        closed(&mut host_socket, Duration::from_secs(1)).await,
        Some(4001)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    let (_, logs) = server.stop();
    // Every step is in the trail, with who did it to whom; no message text, name or passcode is
    // in the trail or the logs.
    let actions = audit_actions_async(dir.path()).await;
    let names: Vec<&str> = actions.iter().map(|(action, _)| action.as_str()).collect();
    for expected in [
        "meeting.join.arrive",
        "meeting.join.consent",
        "meeting.join.passcode",
        "meeting.join.device",
        "meeting.lobby.knock",
        "meeting.enter",
        "meeting.lobby.message",
        "meeting.lobby.admit",
        "meeting.screen_share.allow",
        "meeting.screen_share.start",
        "meeting.screen_share.deny",
        "meeting.participant.remove",
        "meeting.lock",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let admit = actions
        .iter()
        .find(|(action, _)| action == "meeting.lobby.admit")
        .map(|(_, details)| details)
        .unwrap();
    assert_eq!(admit.get("meeting").map(String::as_str), Some(id.as_str()));
    let everything = format!("{actions:?}{logs}");
    for secret in [
        "Vad är ditt kundnummer?",
        "4711",
        "Karin Kund",
        PASSCODE,
        "fel-kod-1",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} reached the trail or the logs"
        );
    }
    assert_audit_intact(dir.path());
}

/// Server memory per open signalling connection: tungstenite's default read buffer (128 KiB,
/// allocated and zeroed for every connection) once made up most of it. A hundred guests who
/// opened their socket and stopped at the privacy notice must cost well under that each; and a
/// frame larger than the small read buffer still arrives whole.
#[tokio::test]
async fn an_idle_connection_costs_the_server_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), _admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let mut meetings = Vec::new();
    // A meeting holds at most 64 people; two meetings hold the hundred.
    for _ in 0..2 {
        let meeting = book_meeting(&mut ada, &csrf, serde_json::json!({})).await;
        meetings.push(meeting["id"].as_str().unwrap().to_owned());
    }
    let resident_kib = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
            .expect("the server's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .expect("VmRSS in kB")
    };
    // Warm up: the first connection of each meeting starts it and fills the server's pools.
    let mut sockets = Vec::new();
    for meeting in &meetings {
        let mut guest = Client::new(&server);
        let joined = guest
            .send(
                "POST",
                &format!("/api/v1/meetings/{meeting}/join"),
                None,
                &[],
            )
            .await;
        assert_eq!(joined.status, 200);
        let mut socket = connect(&server, &guest, meeting, &origin(&server))
            .await
            .unwrap();
        expect(&mut socket, "welcome").await;
        sockets.push(socket);
    }
    let before = resident_kib();
    const CONNECTIONS: u64 = 100;
    for n in 0..CONNECTIONS {
        let meeting = &meetings[usize::try_from(n).unwrap() % meetings.len()];
        let mut guest = Client::new(&server);
        let joined = guest
            .send(
                "POST",
                &format!("/api/v1/meetings/{meeting}/join"),
                None,
                &[],
            )
            .await;
        assert_eq!(joined.status, 200, "{}", joined.text());
        let mut socket = connect(&server, &guest, meeting, &origin(&server))
            .await
            .unwrap();
        expect(&mut socket, "welcome").await;
        sockets.push(socket);
    }
    // A frame four times the read buffer is read whole (and refused as not a message).
    let large = format!("{{\"v\":1,\"type\":\"{}\"}}", "x".repeat(16 * 1024 - 64));
    sockets[0].send(Message::Text(large.into())).await.unwrap();
    assert_eq!(
        expect(&mut sockets[0], "refused").await["code"],
        "unreadable"
    );
    let per_connection = resident_kib().saturating_sub(before) / CONNECTIONS;
    assert!(
        per_connection < 64,
        "{per_connection} KiB of server memory per idle connection"
    );
    server.stop();
}

/// `client`'s CSRF token, from its session.
async fn csrf_of(client: &mut Client<'_>) -> String {
    let (status, me) = client
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    me["csrf_token"].as_str().unwrap().to_owned()
}

/// A customer identifies with her e-ID in a meeting's join flow: the e-ID round trip comes back
/// to the join page, the same place is given back, her sign-in is handed in as the identity
/// proof, and the host sees the verified name and the masked personal identity number in the
/// lobby. A stale sign-in, a staff session, a proof without a sign-in or without the CSRF token,
/// a second proof, and a return path to anywhere but a join page are refused.
#[tokio::test]
async fn a_customer_proves_who_she_is_with_her_e_id_in_the_join_flow() {
    use crate::sso::{finish, start_with_provider, OidcProvider};

    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_provider(dir.path(), &provider);
    let ((mut ada, csrf), _admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let meeting = book_meeting(
        &mut ada,
        &csrf,
        serde_json::json!({ "identity_proof": true }),
    )
    .await;
    assert_eq!(meeting["identity_proof"], true);
    assert_eq!(meeting["has_passcode"], false);
    let id = meeting["id"].as_str().unwrap().to_owned();
    let join_path = format!("/m/{id}");
    let identity_path = format!("/api/v1/meetings/{id}/identity");

    // Karin opens the link and consents; the meeting asks for an identity proof.
    let (mut karin, mut karin_socket, karin_person) =
        guest_to_credential(Client::new(&server), &id, "identity_proof").await;
    // Without a sign-in there is nothing to hand in.
    let refused = karin.send("POST", &identity_path, None, &[]).await;
    assert_eq!(refused.status, 401, "{}", refused.text());

    // The e-ID round trip may only come back to a join page, and only for customers.
    for bad in [
        "/api/v1/sso/customer/start?return_to=https://evil.example/".to_owned(),
        "/api/v1/sso/customer/start?return_to=/account".to_owned(),
        format!("/api/v1/sso/staff/start?return_to={join_path}"),
    ] {
        let response = karin.send("GET", &bad, None, &[]).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text());
    }
    let started = karin
        .send(
            "GET",
            &format!("/api/v1/sso/customer/start?return_to={join_path}"),
            None,
            &[],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.text());
    let callback = provider
        .sign_in(started.header("location").unwrap(), "karin")
        .await;
    assert_eq!(finish(&mut karin, &callback).await, join_path);
    assert!(karin.has_session());

    // Back on the join page: opening the link again gives back the same place.
    karin_socket.close(None).await.unwrap();
    drop(karin_socket);
    let (status, again) = karin
        .json(
            "POST",
            &format!("/api/v1/meetings/{id}/join"),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["person"], karin_person);
    assert_eq!(again["resumed"], true);
    let mut karin_socket = connect(&server, &karin, &id, &origin(&server))
        .await
        .unwrap();
    let welcome = expect(&mut karin_socket, "welcome").await;
    assert_eq!(welcome["standing"]["step"], "credential", "{welcome}");

    // Handing the sign-in in needs its CSRF token; with it, the proof is taken.
    let refused = karin.send("POST", &identity_path, None, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let karin_csrf = csrf_of(&mut karin).await;
    let proven = karin
        .send(
            "POST",
            &identity_path,
            None,
            &[("X-CSRF-Token", karin_csrf.as_str())],
        )
        .await;
    assert_eq!(proven.status, 200, "{}", proven.text());
    let proven: serde_json::Value = serde_json::from_slice(&proven.body).unwrap();
    assert_eq!(
        proven,
        serde_json::json!({ "method": "e_id", "name": "Karin Kund", "personal_number_masked": "19811228-****" })
    );
    assert_eq!(
        expect(&mut karin_socket, "join_step").await["step"],
        "device"
    );
    // Once is enough: the step is over.
    let twice = karin
        .send(
            "POST",
            &identity_path,
            None,
            &[("X-CSRF-Token", karin_csrf.as_str())],
        )
        .await;
    assert_eq!(twice.status, 403, "{}", twice.text());
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "device", "browser": "Chromium 156", "device": "Linux laptop", "supported": true }),
    )
    .await;
    expect(&mut karin_socket, "join_step").await;
    send(
        &mut karin_socket,
        serde_json::json!({ "type": "knock", "name": "Karin" }),
    )
    .await;
    expect(&mut karin_socket, "waiting").await;

    // The host sees who knocks: the name she gave, and the identity her e-ID proved, masked.
    let (host_socket, entered) = host_enters(&server, &ada, &id).await;
    let lobby = entered["standing"]["lobby"].as_array().unwrap();
    assert_eq!(lobby.len(), 1, "{entered}");
    assert_eq!(lobby[0]["name_given"], "Karin");
    let identity = &lobby[0]["identity"];
    assert_eq!(identity["verified_name"], "Karin Kund", "{entered}");
    assert_eq!(identity["personal_number"], "19811228-****");
    assert_eq!(identity["method"], "e_id");
    assert!(!entered.to_string().contains("9874"));

    // A sign-in older than the proof allows is refused; the customer is told to identify again.
    let (mut late, _late_socket, _) =
        guest_to_credential(Client::new(&server), &id, "identity_proof").await;
    let started = late
        .send(
            "GET",
            &format!("/api/v1/sso/customer/start?return_to={join_path}"),
            None,
            &[],
        )
        .await;
    let callback = provider
        .sign_in(started.header("location").unwrap(), "karin")
        .await;
    assert_eq!(finish(&mut late, &callback).await, join_path);
    let (_, me) = late
        .json("GET", "/api/v1/session", serde_json::Value::Null)
        .await;
    let session_id = me["session"]["id"].as_str().unwrap().to_owned();
    let late_csrf = me["csrf_token"].as_str().unwrap().to_owned();
    crate::common::age_second_factor(dir.path(), &session_id).await;
    crate::common::age_second_factor(dir.path(), &session_id).await;
    let stale = late
        .send(
            "POST",
            &identity_path,
            None,
            &[("X-CSRF-Token", late_csrf.as_str())],
        )
        .await;
    assert_eq!(stale.status, 403, "{}", stale.text());
    assert!(
        stale.text().contains("identity_proof_stale"),
        "{}",
        stale.text()
    );

    // A staff session proves no customer identity.
    let (mut staff_guest, _staff_socket, _) = guest_to_credential(ada, &id, "identity_proof").await;
    let staff_proof = staff_guest
        .send(
            "POST",
            &identity_path,
            None,
            &[("X-CSRF-Token", csrf.as_str())],
        )
        .await;
    assert_eq!(staff_proof.status, 404, "{}", staff_proof.text());
    assert!(staff_proof.text().contains("no_verified_identity"));

    drop(host_socket);
    let (_, logs) = server.stop();
    for needle in [PERSONAL_NUMBER_OF_KARIN, "Karin Kund"] {
        assert!(!logs.contains(needle), "the logs contain {needle}");
    }
    let actions = audit_actions_async(dir.path()).await;
    let proofs: Vec<_> = actions
        .iter()
        .filter(|(action, _)| action == "meeting.join.identity")
        .map(|(_, details)| details)
        .collect();
    // Taken once; the second attempt refused (and recorded as such).
    assert_eq!(proofs.len(), 2, "{proofs:?}");
    assert_eq!(proofs[0].get("method").map(String::as_str), Some("e_id"));
    assert_eq!(
        proofs[1].get("refusal").map(String::as_str),
        Some("wrong_step")
    );
    assert_audit_intact(dir.path());
}

/// The personal identity number the test provider vouches for as Karin's.
const PERSONAL_NUMBER_OF_KARIN: &str = "198112289874";

/// One source guessing passcodes from meeting to meeting: each meeting locks it out after five
/// wrong ones, and after twenty in all it may try no passcode in any meeting, not even the right
/// one in a meeting it has not tried yet. (That other sources are unaffected is the throttle's
/// unit test: here every client comes from 127.0.0.1.)
#[tokio::test]
async fn a_source_guessing_across_meetings_is_stopped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), _admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let mut meetings = Vec::new();
    for _ in 0..5 {
        let meeting =
            book_meeting(&mut ada, &csrf, serde_json::json!({ "passcode": PASSCODE })).await;
        meetings.push(meeting["id"].as_str().unwrap().to_owned());
    }
    for (round, id) in meetings[..4].iter().enumerate() {
        let (_guesser, mut socket, _) = guest_to_device_check(&server, id).await;
        for attempt in 0..5 {
            send(
                &mut socket,
                serde_json::json!({ "type": "passcode", "passcode": format!("gissning-{round}-{attempt}") }),
            )
            .await;
            let wrong = expect(&mut socket, "passcode_wrong").await;
            assert_eq!(wrong["may_retry"], attempt < 4, "{wrong}");
        }
    }
    // Twenty wrong passcodes from this source: the fifth meeting takes none from it.
    let (_guesser, mut socket, _) = guest_to_device_check(&server, &meetings[4]).await;
    send(
        &mut socket,
        serde_json::json!({ "type": "passcode", "passcode": PASSCODE }),
    )
    .await;
    assert_eq!(
        expect(&mut socket, "refused").await["code"],
        "source_throttled"
    );
    drop(socket);

    let (_, logs) = server.stop();
    assert!(!logs.contains("gissning"), "no passcode in the logs");
    let actions = audit_actions_async(dir.path()).await;
    let throttled = actions
        .iter()
        .filter(|(action, details)| {
            action == "meeting.join.passcode"
                && details.get("refusal").map(String::as_str) == Some("source_throttled")
        })
        .count();
    assert_eq!(throttled, 1);
    assert_audit_intact(dir.path());
}

/// Media negotiation is only for people in the meeting, and an SDP is bounded: someone still in
/// the join flow gets no connection to the media relay, and an oversized offer is refused unread.
#[tokio::test]
async fn only_people_in_the_meeting_reach_the_media_relay() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let ((mut ada, csrf), _admin) = adviser(&server, dir.path(), "ada@example.se", None).await;
    let meeting = book_meeting(&mut ada, &csrf, serde_json::json!({ "passcode": PASSCODE })).await;
    let id = meeting["id"].as_str().unwrap().to_owned();
    let (_guest, mut socket, _) = guest_to_device_check(&server, &id).await;
    send(
        &mut socket,
        serde_json::json!({ "type": "media_offer", "sdp": "v=0\r\n" }),
    )
    .await;
    assert_eq!(
        expect(&mut socket, "refused").await["code"],
        "not_in_meeting"
    );
    send(
        &mut socket,
        serde_json::json!({ "type": "media_offer", "sdp": "a".repeat(40 * 1024) }),
    )
    .await;
    assert_eq!(
        expect(&mut socket, "refused").await["code"],
        "sdp_too_large"
    );
    server.stop();
}
