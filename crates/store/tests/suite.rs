//! The store suite: every test runs against SQLite and against a real PostgreSQL server (started
//! by `cargo xtask test` and named by `TRYGG_TEST_POSTGRES_URL`), each on a fresh database or
//! schema. Without that variable the suite refuses to run rather than quietly testing half.

use std::sync::Arc;

use audit::{CheckpointSigner, Event, Outcome, Tamper};
use store::{AuditWriter, GroupCommitter, Kind, Store, WrappedKeyRow};

/// A fresh database on each backend, with the temporary directory kept alive.
struct Backends {
    stores: Vec<Store>,
    _dir: tempfile::TempDir,
}

async fn backends() -> Backends {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite:{}", dir.path().join("suite.db").display());
    let mut stores = vec![Store::connect(&sqlite_url, 4, true)
        .await
        .expect("sqlite opens")];
    match std::env::var("TRYGG_TEST_POSTGRES_URL") {
        Ok(url) => stores.push(fresh_postgres_schema(&url).await),
        Err(_) if std::env::var_os("TRYGG_TEST_SKIP_POSTGRES").is_some() => {}
        Err(_) => panic!(
            "TRYGG_TEST_POSTGRES_URL is not set: run the suite with `cargo xtask test`, which \
             starts PostgreSQL, or set TRYGG_TEST_SKIP_POSTGRES=1 to test SQLite alone"
        ),
    }
    for store in &stores {
        store.migrate(1).await.expect("migrations apply");
    }
    Backends { stores, _dir: dir }
}

/// A store on its own schema of the test database, so tests run in parallel without sharing.
async fn fresh_postgres_schema(url: &str) -> Store {
    let random: [u8; 8] = vault::random_bytes();
    let schema = format!("t_{}", hex_lower(&random));
    let admin = Store::connect(url, 1, false)
        .await
        .expect("postgres reachable");
    admin
        .danger_execute_raw_for_tests(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("schema created");
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url, 8, false)
        .await
        .expect("postgres schema opens");
    assert_eq!(store.kind(), Kind::Postgres);
    store
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn writer(interval: u64) -> AuditWriter {
    AuditWriter::new(Arc::new(CheckpointSigner::generate()), interval)
}

fn event(n: u64) -> Event {
    Event::new(
        1_700_000_000_000 + n as i64,
        "system",
        "test.event",
        Outcome::Success,
    )
    .target(format!("thing:{n}"))
    .detail("n", n.to_string())
}

async fn append_each(store: &Store, writer: &AuditWriter, count: u64) {
    for n in 0..count {
        let mut tx = store.begin().await.unwrap();
        writer.append(&mut tx, vec![event(n)], 5).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn verify(store: &Store, writer: &AuditWriter) -> Result<audit::Report, Tamper> {
    let snapshot = store.audit_snapshot().await.unwrap();
    audit::verify(
        &snapshot.entries,
        &snapshot.checkpoints,
        Some(snapshot.head),
        &writer.public_key(),
    )
}

#[tokio::test]
async fn migrations_apply_once() {
    let backends = backends().await;
    for store in &backends.stores {
        let latest = store::MIGRATIONS.last().unwrap().version;
        assert_eq!(store.schema_version().await.unwrap(), latest);
        assert!(
            store.migrate(2).await.unwrap().is_empty(),
            "{:?}",
            store.kind()
        );
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn audit_entries_round_trip_and_verify_with_checkpoints() {
    let backends = backends().await;
    for store in &backends.stores {
        let writer = writer(10);
        append_each(store, &writer, 25).await;
        let mut tx = store.begin().await.unwrap();
        writer
            .append(&mut tx, (100..300).map(event).collect(), 6)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let snapshot = store.audit_snapshot().await.unwrap();
        assert_eq!(snapshot.entries.len(), 225);
        assert_eq!(snapshot.entries[3].event, event(3), "{:?}", store.kind());
        assert_eq!(snapshot.head.seq, 225);
        let checkpoint_seqs: Vec<u64> = snapshot.checkpoints.iter().map(|c| c.seq).collect();
        assert_eq!(checkpoint_seqs, vec![10, 20, 225]);
        let report = verify(store, &writer)
            .await
            .expect("an untouched log verifies");
        assert_eq!((report.entries, report.checkpoints), (225, 3));
        assert_eq!(store.audit_len().await.unwrap(), 225);

        let mut tx = store.begin().await.unwrap();
        writer.checkpoint_now(&mut tx, 7).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.audit_snapshot().await.unwrap().checkpoints.len(),
            3,
            "nothing new to sign"
        );
    }
}

#[tokio::test]
async fn the_database_refuses_to_change_audit_rows() {
    let backends = backends().await;
    for store in &backends.stores {
        append_each(store, &writer(100), 3).await;
        for sql in [
            "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 3",
        ] {
            let error = store.danger_execute_raw_for_tests(sql).await.unwrap_err();
            assert!(
                error.to_string().contains("append-only"),
                "{:?}: {error}",
                store.kind()
            );
        }
        assert_eq!(store.audit_snapshot().await.unwrap().entries.len(), 3);
    }
}

#[tokio::test]
async fn tampering_in_the_database_is_detected_and_located() {
    // Each case plays an attacker with full database rights: triggers dropped, rows edited.
    let cases: &[(&str, &[&str], Tamper)] = &[
        (
            "modified",
            &["UPDATE audit_log SET actor = 'user:intruder' WHERE seq = 7"],
            Tamper::Modified { seq: 7 },
        ),
        (
            "deleted",
            &["DELETE FROM audit_log WHERE seq = 5"],
            Tamper::Deleted { seq: 5 },
        ),
        (
            "deleted and renumbered",
            &[
                "DELETE FROM audit_log WHERE seq = 5",
                "UPDATE audit_log SET seq = -(seq - 1) WHERE seq > 5",
                "UPDATE audit_log SET seq = -seq WHERE seq < 0",
            ],
            Tamper::Deleted { seq: 5 },
        ),
        (
            "inserted and renumbered",
            &[
                "UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 9",
                "UPDATE audit_log SET seq = -seq WHERE seq < 0",
                "INSERT INTO audit_log (seq, at_ms, actor, action, target, outcome, details, prev_hash, hash) \
                 SELECT 9, at_ms, actor, 'test.forged', target, outcome, details, prev_hash, hash \
                 FROM audit_log WHERE seq = 8",
            ],
            Tamper::Inserted { seq: 9 },
        ),
        (
            "reordered",
            &[
                "UPDATE audit_log SET seq = -1 WHERE seq = 11",
                "UPDATE audit_log SET seq = 11 WHERE seq = 12",
                "UPDATE audit_log SET seq = 12 WHERE seq = -1",
            ],
            Tamper::Reordered { seq: 11 },
        ),
        (
            "tail deleted",
            &["DELETE FROM audit_log WHERE seq = 20"],
            Tamper::Truncated { seq: 19 },
        ),
    ];
    for (name, statements, expected) in cases {
        let backends = backends().await;
        for store in &backends.stores {
            let writer = writer(1000);
            append_each(store, &writer, 20).await;
            for sql in drop_triggers(store.kind()).iter().chain(statements.iter()) {
                store
                    .danger_execute_raw_for_tests(sql)
                    .await
                    .unwrap_or_else(|error| panic!("{name}: {sql}: {error}"));
            }
            let found = verify(store, &writer).await.expect_err(name);
            assert_eq!(&found, expected, "{name} on {:?}", store.kind());
        }
    }
}

fn drop_triggers(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        Kind::Postgres => &["DROP TRIGGER audit_log_append_only ON audit_log"],
    }
}

#[tokio::test]
async fn concurrent_appenders_keep_one_chain() {
    let backends = backends().await;
    for store in &backends.stores {
        let writer = writer(64);
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let store = store.clone();
                let writer = writer.clone();
                tokio::spawn(async move {
                    for n in 0..25 {
                        let mut tx = store.begin().await.unwrap();
                        writer
                            .append(&mut tx, vec![event(task * 100 + n)], 1)
                            .await
                            .unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let report = verify(store, &writer).await.expect("one unbroken chain");
        assert_eq!(report.entries, 200, "{:?}", store.kind());
    }
}

#[tokio::test]
async fn group_commit_writes_every_queued_event() {
    let backends = backends().await;
    for store in &backends.stores {
        let writer = writer(100);
        let committer = GroupCommitter::spawn(store.clone(), writer.clone(), || 9);
        let tasks: Vec<_> = (0..300)
            .map(|n| {
                let committer = committer.clone();
                tokio::spawn(async move { committer.record(event(n)).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let report = verify(store, &writer).await.unwrap();
        assert_eq!(report.entries, 300, "{:?}", store.kind());
    }
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_audit_entry() {
    let backends = backends().await;
    for store in &backends.stores {
        let writer = writer(100);
        let mut tx = store.begin().await.unwrap();
        tx.insert_data_key(&row("subject:1", "kek-a", b"wrapped"), 1)
            .await
            .unwrap();
        writer.append(&mut tx, vec![event(1)], 1).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(store.data_key("subject:1").await.unwrap().is_none());
        assert_eq!(store.audit_snapshot().await.unwrap().entries.len(), 0);
        verify(store, &writer).await.unwrap();
    }
}

fn row(key_ref: &str, kek_id: &str, wrapped: &[u8]) -> WrappedKeyRow {
    WrappedKeyRow {
        key_ref: key_ref.into(),
        kek_id: kek_id.into(),
        wrapped: wrapped.to_vec(),
    }
}

#[tokio::test]
async fn data_keys_are_stored_rewrapped_and_shredded() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_data_key(&row("subject:1", "kek-a", b"one"), 1)
            .await
            .unwrap();
        tx.insert_data_key(&row("subject:2", "kek-a", b"two"), 1)
            .await
            .unwrap();
        tx.insert_data_key(&row("category:x", "kek-b", b"three"), 1)
            .await
            .unwrap();
        assert!(tx
            .insert_data_key(&row("subject:1", "kek-a", b"again"), 1)
            .await
            .is_err());
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_data_key(&row("subject:1", "kek-a", b"one"), 1)
            .await
            .unwrap();
        tx.insert_data_key(&row("subject:2", "kek-a", b"two"), 1)
            .await
            .unwrap();
        tx.insert_data_key(&row("category:x", "kek-b", b"three"), 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.data_key_counts().await.unwrap(),
            vec![("kek-a".to_owned(), 2), ("kek-b".to_owned(), 1)]
        );
        let pending = store.data_keys_not_under("kek-b", 10).await.unwrap();
        assert_eq!(pending.len(), 2);

        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .rewrap_data_key("subject:1", "kek-a", "kek-b", b"one'", 2)
            .await
            .unwrap());
        assert!(
            !tx.rewrap_data_key("subject:1", "kek-a", "kek-c", b"x", 2)
                .await
                .unwrap(),
            "a stale expectation must not overwrite"
        );
        assert!(tx.delete_data_key("subject:2").await.unwrap());
        assert!(!tx.delete_data_key("subject:2").await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            store.data_key("subject:1").await.unwrap(),
            Some(row("subject:1", "kek-b", b"one'"))
        );
        assert_eq!(store.data_key("subject:2").await.unwrap(), None);
        assert!(store
            .data_keys_not_under("kek-b", 10)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn shredding_a_data_key_makes_its_values_unreadable() {
    let backends = backends().await;
    for store in &backends.stores {
        let keyring =
            vault::Keyring::new(vault::Kek::generate(vault::KekId::parse("kek-1").unwrap()));
        let data_key = vault::DataKey::generate();
        let aad = vault::Aad {
            table: "organisations",
            column: "name",
            row: "o1",
        };
        let ciphertext = data_key.encrypt(&aad, b"Demo Bank AB");
        let wrapped = keyring.wrap(&data_key, "org:o1");
        drop(data_key);

        let mut tx = store.begin().await.unwrap();
        tx.insert_data_key(&row("org:o1", wrapped.kek_id.as_str(), &wrapped.blob), 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let stored = store.data_key("org:o1").await.unwrap().unwrap();
        let reopened = keyring
            .unwrap(
                &vault::WrappedKey {
                    kek_id: wrapped.kek_id.clone(),
                    blob: stored.wrapped,
                },
                "org:o1",
            )
            .unwrap();
        assert_eq!(
            &*reopened.decrypt(&aad, &ciphertext).unwrap(),
            b"Demo Bank AB"
        );

        let mut tx = store.begin().await.unwrap();
        tx.delete_data_key("org:o1").await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            store.data_key("org:o1").await.unwrap().is_none(),
            "the only copy of the key is gone"
        );
        let other_key = vault::DataKey::generate();
        assert!(other_key.decrypt(&aad, &ciphertext).is_err());
    }
}

#[tokio::test]
async fn settings_are_upserted() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.setting("a").await.unwrap(), None);
        tx.set_setting("a", "1", 1).await.unwrap();
        tx.set_setting("a", "2", 2).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.setting("a").await.unwrap().as_deref(), Some("2"));
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_without_credentials() {
    let error = Store::connect("postgres://trygg:s3cret-pass@127.0.0.1:1/trygg", 1, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("cannot open the database at postgres://127.0.0.1:1/trygg"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
    assert!(!error.contains('\n'));
    let missing = Store::connect("sqlite:/nonexistent-dir/x.db", 1, false)
        .await
        .unwrap_err();
    assert!(missing
        .to_string()
        .contains("cannot open the database at sqlite:/nonexistent-dir/x.db"));
}

fn account(id: &str, email_index: &[u8], roles: &str) -> store::AccountRow {
    store::AccountRow {
        id: id.into(),
        kind: "staff".into(),
        email_index: email_index.to_vec(),
        email_enc: b"sealed-email".to_vec(),
        display_name_enc: b"sealed-name".to_vec(),
        roles: roles.into(),
        status: "pending".into(),
        created_at_ms: 1,
        updated_at_ms: 1,
    }
}

fn session(id: &str, lookup: u8, account_id: &str) -> store::SessionRow {
    store::SessionRow {
        id: id.into(),
        lookup_key: vec![lookup; 32],
        account_id: account_id.into(),
        auth_method: "password+totp".into(),
        mfa_at_ms: Some(10),
        device: "Chromium on Linux".into(),
        risk: 0,
        created_at_ms: 10,
        last_seen_ms: 10,
        revoked_at_ms: None,
        revoked_reason: None,
        roles_limit: None,
    }
}

#[tokio::test]
async fn accounts_and_credentials_are_kept() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "admin,auditor"))
            .await
            .unwrap();
        tx.insert_account(&account("a2", b"index-2", "adviser"))
            .await
            .unwrap();
        assert!(
            tx.insert_account(&account("a3", b"index-1", "adviser"))
                .await
                .is_err(),
            "e-mail index is unique"
        );
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "admin,auditor"))
            .await
            .unwrap();
        tx.insert_account(&account("a2", b"index-2", "adviser"))
            .await
            .unwrap();
        tx.set_password("a1", "$argon2id$v=19$first", 2)
            .await
            .unwrap();
        tx.set_password("a1", "$argon2id$v=19$second", 3)
            .await
            .unwrap();
        tx.set_totp("a1", b"sealed-secret", 3).await.unwrap();
        assert!(tx.set_account_status("a1", "active", 4).await.unwrap());
        assert!(!tx.set_account_status("nobody", "active", 4).await.unwrap());
        tx.commit().await.unwrap();

        let found = store
            .account_by_email_index(b"index-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id.as_str(), found.status.as_str()), ("a1", "active"));
        assert_eq!(store.account("a2").await.unwrap().unwrap().roles, "adviser");
        assert!(store
            .account_by_email_index(b"index-9")
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.count_accounts_with_role("admin").await.unwrap(), 1);
        assert_eq!(
            store.count_accounts_with_role("audit").await.unwrap(),
            0,
            "whole names only"
        );
        assert_eq!(
            store.password("a1").await.unwrap().as_deref(),
            Some("$argon2id$v=19$second")
        );
        assert_eq!(
            store.totp("a1").await.unwrap(),
            Some((b"sealed-secret".to_vec(), None))
        );
        assert_eq!(store.totp("a2").await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_totp_step_and_a_recovery_code_work_once() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "adviser"))
            .await
            .unwrap();
        tx.set_totp("a1", b"sealed", 1).await.unwrap();
        tx.replace_recovery_codes("a1", &[[1; 32], [2; 32]])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(tx.use_totp_step("a1", 100).await.unwrap());
        assert!(
            !tx.use_totp_step("a1", 100).await.unwrap(),
            "the same step is a replay"
        );
        assert!(
            !tx.use_totp_step("a1", 99).await.unwrap(),
            "an older step is a replay"
        );
        assert!(tx.use_totp_step("a1", 101).await.unwrap());
        assert!(tx.consume_recovery_code("a1", &[1; 32]).await.unwrap());
        assert!(!tx.consume_recovery_code("a1", &[1; 32]).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            store.recovery_code_hashes("a1").await.unwrap(),
            vec![[2; 32]]
        );
        assert_eq!(store.totp("a1").await.unwrap().unwrap().1, Some(101));

        let mut tx = store.begin().await.unwrap();
        tx.set_totp("a1", b"new-secret", 5).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.totp("a1").await.unwrap().unwrap().1,
            None,
            "a new secret starts afresh"
        );
    }
}

#[tokio::test]
async fn an_enrolment_link_works_once_and_only_in_time() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "admin"))
            .await
            .unwrap();
        tx.insert_enrolment(&[7; 32], "a1", 1_000).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.enrolment_account(&[7; 32], 999)
                .await
                .unwrap()
                .as_deref(),
            Some("a1")
        );
        assert_eq!(
            tx.enrolment_account(&[7; 32], 1_000).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            tx.enrolment_account(&[8; 32], 10).await.unwrap(),
            None,
            "unknown"
        );
        assert!(
            !tx.consume_enrolment(&[7; 32], 1_001).await.unwrap(),
            "expired"
        );
        assert!(tx.consume_enrolment(&[7; 32], 500).await.unwrap());
        assert!(!tx.consume_enrolment(&[7; 32], 501).await.unwrap(), "used");
        assert_eq!(tx.enrolment_account(&[7; 32], 502).await.unwrap(), None);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn sessions_are_listed_touched_and_revoked() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "adviser"))
            .await
            .unwrap();
        tx.insert_account(&account("a2", b"index-2", "adviser"))
            .await
            .unwrap();
        tx.insert_session(&session("s1", 1, "a1")).await.unwrap();
        tx.insert_session(&session("s2", 2, "a1")).await.unwrap();
        tx.insert_session(&session("s3", 3, "a1")).await.unwrap();
        tx.insert_session(&session("t1", 4, "a2")).await.unwrap();
        tx.commit().await.unwrap();

        store.touch_session("s1", 50).await.unwrap();
        store.touch_session("s1", 40).await.unwrap();
        let s1 = store.session_by_lookup(&[1; 32]).await.unwrap().unwrap();
        assert_eq!(s1.last_seen_ms, 50, "activity never moves backwards");
        let (joined, holder) = store
            .session_and_account_by_lookup(&[1; 32])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(joined, s1);
        assert_eq!(Some(holder), store.account("a1").await.unwrap());
        assert!(store
            .session_and_account_by_lookup(&[9; 32])
            .await
            .unwrap()
            .is_none());

        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.revoke_session("a2", "s1", "user", 60).await.unwrap(),
            "not a2's session"
        );
        assert!(tx.revoke_session("a1", "s1", "user", 60).await.unwrap());
        assert!(
            !tx.revoke_session("a1", "s1", "user", 61).await.unwrap(),
            "already revoked"
        );
        assert_eq!(
            tx.revoke_sessions_of("a1", Some("s3"), "password_changed", 70)
                .await
                .unwrap(),
            1
        );
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(tx.set_session_risk("s3", 55).await.unwrap());
        assert!(
            !tx.set_session_risk("s1", 55).await.unwrap(),
            "a revoked session keeps its state"
        );
        tx.commit().await.unwrap();
        assert_eq!(store.session_by_id("s3").await.unwrap().unwrap().risk, 55);

        let live: Vec<String> = store
            .live_sessions_of("a1")
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(live, vec!["s3"]);
        let s2 = store.session_by_lookup(&[2; 32]).await.unwrap().unwrap();
        assert_eq!(
            (s2.revoked_at_ms, s2.revoked_reason.as_deref()),
            (Some(70), Some("password_changed"))
        );
        assert_eq!(store.live_sessions_of("a2").await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn accounts_are_listed_and_administered() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "admin"))
            .await
            .unwrap();
        tx.insert_account(&account("a2", b"index-2", "adviser"))
            .await
            .unwrap();
        tx.set_totp("a2", b"sealed", 1).await.unwrap();
        assert!(tx
            .set_account_roles("a2", "adviser,supervisor", 2)
            .await
            .unwrap());
        assert!(!tx.set_account_roles("nobody", "admin", 2).await.unwrap());
        tx.delete_totp("a2").await.unwrap();
        tx.commit().await.unwrap();
        let ids: Vec<String> = store
            .accounts()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, vec!["a1", "a2"]);
        assert_eq!(
            store.account("a2").await.unwrap().unwrap().roles,
            "adviser,supervisor"
        );
        assert_eq!(store.totp("a2").await.unwrap(), None);
    }
}

fn passkey(id: &str, account_id: &str, credential_id: &[u8]) -> store::PasskeyRow {
    store::PasskeyRow {
        id: id.into(),
        account_id: account_id.into(),
        credential_id: credential_id.to_vec(),
        passkey_enc: b"sealed-passkey".to_vec(),
        name_enc: b"sealed-name".to_vec(),
        created_at_ms: 5,
        last_used_ms: None,
    }
}

#[tokio::test]
async fn passkeys_are_kept_found_updated_and_removed() {
    let backends = backends().await;
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "adviser"))
            .await
            .unwrap();
        tx.insert_account(&account("a2", b"index-2", "adviser"))
            .await
            .unwrap();
        tx.insert_passkey(&passkey("p1", "a1", b"cred-1"))
            .await
            .unwrap();
        tx.insert_passkey(&passkey("p2", "a1", b"cred-2"))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.insert_passkey(&passkey("p3", "a2", b"cred-1"))
                .await
                .is_err(),
            "one credential never serves two accounts"
        );
        tx.rollback().await.unwrap();

        let found = store
            .passkey_by_credential_id(b"cred-2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id.as_str(), found.account_id.as_str()), ("p2", "a1"));
        assert!(store
            .passkey_by_credential_id(b"cred-9")
            .await
            .unwrap()
            .is_none());

        let mut tx = store.begin().await.unwrap();
        assert!(tx.update_passkey("p1", b"resealed", 9).await.unwrap());
        assert!(!tx.update_passkey("gone", b"resealed", 9).await.unwrap());
        assert!(
            !tx.delete_passkey("a2", "p2").await.unwrap(),
            "only the holder's own passkey is removed"
        );
        assert!(tx.delete_passkey("a1", "p2").await.unwrap());
        tx.commit().await.unwrap();
        let left = store.passkeys_of("a1").await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].passkey_enc.as_slice(), left[0].last_used_ms),
            (b"resealed".as_slice(), Some(9))
        );
        assert!(store.passkeys_of("a2").await.unwrap().is_empty());

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_passkeys_of("a1").await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert!(store.passkeys_of("a1").await.unwrap().is_empty());
    }
}

fn meeting_row(id: &str, host: &str) -> store::MeetingRow {
    store::MeetingRow {
        id: id.into(),
        host_account_id: host.into(),
        title_enc: b"sealed-title".to_vec(),
        passcode_phc: Some("$argon2id$v=19$passcode".into()),
        starts_at_ms: 1_000,
        ends_at_ms: 2_000,
        status: "scheduled".into(),
        created_at_ms: 10,
        updated_at_ms: 10,
        identity_proof: false,
    }
}

#[tokio::test]
async fn meetings_invitations_and_consents_are_kept() {
    let backends = backends().await;
    let m1 = "0123456789abcdef0123456789abcdef";
    let m2 = "fedcba9876543210fedcba9876543210";
    for store in &backends.stores {
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&account("a1", b"index-1", "adviser"))
            .await
            .unwrap();
        tx.insert_meeting(&meeting_row(m2, "a1")).await.unwrap();
        tx.insert_meeting(&store::MeetingRow {
            starts_at_ms: 500,
            ..meeting_row(m1, "a1")
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // Ids are exactly 32 characters, and a window must end after it starts.
        for bad in [
            meeting_row("short", "a1"),
            store::MeetingRow {
                ends_at_ms: 1_000,
                ..meeting_row("00000000000000000000000000000000", "a1")
            },
        ] {
            let mut tx = store.begin().await.unwrap();
            assert!(tx.insert_meeting(&bad).await.is_err(), "{bad:?}");
            tx.rollback().await.unwrap();
        }

        let listed = store.meetings_of_host("a1").await.unwrap();
        assert_eq!(
            listed.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            [m1, m2],
            "soonest first"
        );

        let mut tx = store.begin().await.unwrap();
        let changed = store::MeetingRow {
            passcode_phc: None,
            identity_proof: true,
            updated_at_ms: 20,
            ..meeting_row(m2, "a1")
        };
        assert!(tx.update_meeting(&changed).await.unwrap());
        assert!(tx.finish_meeting(m1, "cancelled", 30).await.unwrap());
        assert!(!tx.finish_meeting(m1, "ended", 31).await.unwrap(), "once");
        assert!(
            !tx.update_meeting(&meeting_row(m1, "a1")).await.unwrap(),
            "a cancelled meeting is not edited"
        );
        tx.insert_invitation("i1", m2, b"sealed-address", 40)
            .await
            .unwrap();
        tx.insert_consent(&store::ConsentRow {
            id: "c1".into(),
            subject: "guest:abc".into(),
            meeting_id: Some(m2.into()),
            purpose: "recording".into(),
            notice_version: "2026-11".into(),
            choice: "refused".into(),
            at_ms: 50,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.meeting(m2).await.unwrap(), Some(changed));
        assert_eq!(
            store.meeting(m1).await.unwrap().unwrap().status,
            "cancelled"
        );
        assert!(store.meeting("nobody").await.unwrap().is_none());
        assert_eq!(store.invitation_count(m2).await.unwrap(), 1);
        assert_eq!(store.invitation_count(m1).await.unwrap(), 0);
        let consents = store.consents_of("guest:abc").await.unwrap();
        assert_eq!(consents.len(), 1);
        assert_eq!(
            (consents[0].purpose.as_str(), consents[0].choice.as_str()),
            ("recording", "refused")
        );
    }
}
