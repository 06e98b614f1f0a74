//! Interoperability: openmls (the Rust test client) and ts-mls (the library the browser uses)
//! in one group through the delivery service: ts-mls publishes a key package, openmls adds it
//! with the ratchet tree in the Welcome, ts-mls joins; application messages both ways; an update
//! commit from each side processed by the other; and `MLS-Exporter("SFrame 1.0 Base Key", "",
//! 16)` identical on both sides at every epoch, since SFrame keys come from it (RFC 9605 §5.2).
//!
//! ts-mls runs in `node` as `web/tests/mls-interop.mjs`, one JSON command per line. The test
//! needs `node` and the npm packages `cargo xtask web` installs; without them it fails and says
//! so, rather than passing without having run.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use delivery::{Accepted, DeliveryService, GroupId, Input, KeyPackageKind, Limits, Outgoing};
use meeting::{AdmittedBy, MlsInstruction};
use serde_json::{json, Value};
use support::{person, Client, SFRAME_LABEL};

/// The ts-mls peer.
struct TsMls {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl TsMls {
    fn start() -> TsMls {
        let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web");
        let package = web.join("node_modules/ts-mls/package.json");
        assert!(
            package.exists(),
            "ts-mls is not installed in web/node_modules: run `cargo xtask web` (npm ci) first"
        );
        let mut child = Command::new("node")
            .arg("tests/mls-interop.mjs")
            .current_dir(&web)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `node` ({error}): install Node.js, e.g. with `cargo xtask web`"
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        TsMls {
            child,
            stdin,
            stdout,
        }
    }

    fn call(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").expect("write to node");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from node");
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("ts-mls answered {line:?}: {error}"));
        if let Some(error) = answer.get("error") {
            panic!(
                "ts-mls failed on {command}: {}",
                error.as_str().unwrap_or_default()
            );
        }
        answer
    }

    fn bytes(answer: &Value, field: &str) -> Vec<u8> {
        use base64::Engine as _;
        let text = answer[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {answer}"));
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64")
    }

    fn exporter(&mut self) -> (u64, Vec<u8>) {
        let answer = self.call(json!({"op": "exporter", "label": SFRAME_LABEL, "length": 16}));
        let secret = hex::decode(answer["secret"].as_str().expect("secret")).expect("hex");
        (answer["epoch"].as_u64().expect("epoch"), secret)
    }
}

impl Drop for TsMls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What is queued for `who`, less requests to replenish key packages.
fn drained(ds: &mut DeliveryService, who: meeting::PersonId) -> Vec<Outgoing> {
    std::iter::from_fn(|| ds.poll_outgoing(who))
        .filter(|outgoing| !matches!(outgoing, Outgoing::Replenish { .. }))
        .collect()
}

fn one_message(queued: Vec<Outgoing>) -> Vec<u8> {
    assert_eq!(queued.len(), 1, "{queued:?}");
    match &queued[0] {
        Outgoing::Handshake { message, .. }
        | Outgoing::Application { message, .. }
        | Outgoing::Welcome { message, .. } => message.to_vec(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn openmls_and_ts_mls_share_a_group_through_the_delivery_service() {
    let mut ts = TsMls::start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let group = GroupId::new(b"interop-meeting".to_vec());
    let mut ds = DeliveryService::new(Limits::default());
    let mut host = Client::new(1);
    let guest = person(2);

    // (a) openmls creates the group; ts-mls publishes a key package; openmls adds it; ts-mls
    // joins from the Welcome, with the tree from the ratchet_tree extension.
    ds.authorise(
        &group,
        MlsInstruction::AcceptAdd {
            person: host.person,
            admitted_by: AdmittedBy::HostIdentity,
        },
    );
    ds.authorise(
        &group,
        MlsInstruction::CommitRights {
            person: host.person,
            may_commit_adds: true,
        },
    );
    let info = host.create(group.as_bytes());
    assert_eq!(
        ds.handle(&group, host.person, Input::Create { group_info: info }),
        Ok(Accepted::Created)
    );
    ds.authorise(
        &group,
        MlsInstruction::AcceptAdd {
            person: guest,
            admitted_by: AdmittedBy::HostSide(host.person),
        },
    );
    let answer = ts.call(json!({"op": "key_package", "identity": "person:2"}));
    let key_package = TsMls::bytes(&answer, "key_package");
    ds.upload_key_package(now, guest, KeyPackageKind::OneTime, &key_package)
        .expect("the service accepts a ts-mls key package");
    let claimed = ds
        .claim_key_package(now, &group, host.person, guest)
        .expect("claim");
    let add = host.add(&[claimed.key_package]);
    assert!(matches!(
        ds.handle(&group, host.person, add),
        Ok(Accepted::Commit { epoch: 1, .. })
    ));
    host.merge();
    let welcome = one_message(drained(&mut ds, guest));
    let answer = ts.call(json!({"op": "join", "welcome": b64(&welcome)}));
    assert_eq!(answer["epoch"], 1);
    // (d) at epoch 1.
    assert_eq!(
        ts.exporter(),
        (1, host.exporter()),
        "SFrame base key at epoch 1"
    );

    // (b) application messages both ways.
    let message = host.send(b"hej from openmls");
    assert_eq!(
        ds.handle(&group, host.person, Input::Application { message }),
        Ok(Accepted::Application { recipients: 1 })
    );
    let delivered = one_message(drained(&mut ds, guest));
    let answer = ts.call(json!({"op": "receive", "message": b64(&delivered)}));
    assert_eq!(answer["text"], "hej from openmls");
    let answer = ts.call(json!({"op": "send", "text": "hej from ts-mls"}));
    let message = TsMls::bytes(&answer, "message");
    assert_eq!(
        ds.handle(&group, guest, Input::Application { message }),
        Ok(Accepted::Application { recipients: 1 })
    );
    let delivered = one_message(drained(&mut ds, host.person));
    assert_eq!(host.receive(&delivered), b"hej from ts-mls");

    // (c) an update from openmls, processed by ts-mls.
    let update = host.update();
    assert!(matches!(
        ds.handle(&group, host.person, update),
        Ok(Accepted::Commit { epoch: 2, .. })
    ));
    host.merge();
    let commit = one_message(drained(&mut ds, guest));
    let answer = ts.call(json!({"op": "receive", "message": b64(&commit)}));
    assert_eq!(answer["epoch"], 2);
    assert_eq!(
        ts.exporter(),
        (2, host.exporter()),
        "SFrame base key at epoch 2"
    );

    // (c) an update from ts-mls (a PublicMessage the service reads), processed by openmls.
    let answer = ts.call(json!({"op": "update"}));
    let update = Input::Commit {
        commit: TsMls::bytes(&answer, "commit"),
        welcome: None,
        group_info: TsMls::bytes(&answer, "group_info"),
    };
    let accepted = ds.handle(&group, guest, update);
    assert!(
        matches!(accepted, Ok(Accepted::Commit { epoch: 3, .. })),
        "{accepted:?}"
    );
    let commit = one_message(drained(&mut ds, host.person));
    host.process_commit(&commit)
        .expect("openmls processes the ts-mls commit");
    assert_eq!(
        ts.exporter(),
        (3, host.exporter()),
        "SFrame base key at epoch 3"
    );

    // And messages still flow both ways in the new epoch.
    let answer = ts.call(json!({"op": "send", "text": "after the update"}));
    let message = TsMls::bytes(&answer, "message");
    ds.handle(&group, guest, Input::Application { message })
        .expect("relayed");
    assert_eq!(
        host.receive(&one_message(drained(&mut ds, host.person))),
        b"after the update"
    );
    let message = host.send(b"and back");
    ds.handle(&group, host.person, Input::Application { message })
        .expect("relayed");
    let answer =
        ts.call(json!({"op": "receive", "message": b64(&one_message(drained(&mut ds, guest)))}));
    assert_eq!(answer["text"], "and back");
}
