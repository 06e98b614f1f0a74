//! The command line: help and version, failure behaviour (one line, non-zero, nothing
//! half-written), audit verification and tamper detection, key rotation while serving.

use std::path::Path;

use crate::common::{assert_audit_intact, run, start_demo, with_sqlite};

fn assert_one_line_error(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "expected {needle:?} in {stderr}");
}

#[test]
fn help_and_version() {
    let (code, stdout, _) = run(&["--version"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("trygg "), "{stdout}");
    let (code, stdout, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for command in ["serve", "demo", "migrate", "audit", "keys"] {
        assert!(
            stdout.contains(command),
            "{command} missing from help:\n{stdout}"
        );
    }
    let (code, stdout, _) = run(&["audit", "verify", "--help"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--public-key") && stdout.contains("--json"));
    let (code, _, stderr) = run(&["frobnicate"], &[]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_bad_config_is_refused_in_one_line_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("trygg.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = {:?}\n[http]\nlisten = \"everywhere\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let (code, _, stderr) = run(&["serve", "--config", config.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "config key `http.listen`");
    assert!(!data.exists(), "nothing may be written for a bad config");

    let (code, _, stderr) = run(
        &["serve", "--config", config.to_str().unwrap()],
        &[("TRYGG_HTTP__LISEN", "1")],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "TRYGG_HTTP__LISEN");
}

#[test]
fn a_busy_port_is_refused_in_one_line_and_nothing_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, stderr) = run(
        &[
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "another program uses that port");
    assert!(!data.exists());
}

#[test]
fn an_unreachable_database_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://trygg:pw-not-shown@127.0.0.1:1/trygg";
    let (code, _, stderr) = run(
        &[
            "migrate",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database-url",
            url,
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line_error(
        &stderr,
        "cannot open the database at postgres://127.0.0.1:1/trygg",
    );
    assert!(!stderr.contains("pw-not-shown"));
}

/// Runs a demo once (so the data directory holds a database, keys and audit entries), stops it.
fn prepared_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let (status, _) = server.stop();
    assert!(status.success());
    dir
}

#[test]
fn a_wrong_or_exposed_key_file_is_refused() {
    let dir = prepared_data_dir();
    let keyring = dir.path().join("keyring");
    let original = std::fs::read(&keyring).unwrap();
    let port_args = ["--listen", "127.0.0.1:0"];
    let data_dir = dir.path().to_str().unwrap();

    // Someone else's keyring: a different key under a different name.
    let other = tempfile::tempdir().unwrap();
    let other_server = start_demo(other.path(), &[]);
    other_server.stop();
    std::fs::copy(other.path().join("keyring"), &keyring).unwrap();
    let (code, _, stderr) = run(
        &[&["demo", "--data-dir", data_dir][..], &port_args[..]].concat(),
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "does not hold key-encryption key");

    // A keyring others can read.
    std::fs::write(&keyring, &original).unwrap();
    set_mode(&keyring, 0o644);
    let (code, _, stderr) = run(
        &[&["demo", "--data-dir", data_dir][..], &port_args[..]].concat(),
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("keyring"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A missing keyring for a database that has keys: never silently replaced.
    std::fs::remove_file(&keyring).unwrap();
    let (code, _, stderr) = run(
        &[&["demo", "--data-dir", data_dir][..], &port_args[..]].concat(),
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "is missing but the database holds data keys");
    assert!(
        !keyring.exists(),
        "no new keyring may be made for a database with keys"
    );

    // Garbage in the keyring file.
    std::fs::write(&keyring, "not a keyring\n").unwrap();
    set_mode(&keyring, 0o600);
    let (code, _, stderr) = run(
        &[&["demo", "--data-dir", data_dir][..], &port_args[..]].concat(),
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        !stderr.contains("not a keyring"),
        "file content must not be echoed: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn audit_verify_passes_then_locates_tampering() {
    let dir = prepared_data_dir();
    let data_dir = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = run(&["audit", "verify", "--data-dir", data_dir, "--json"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert!(report["entries"].as_u64().unwrap() >= 5, "{report}");
    assert!(
        report["checkpoints"].as_u64().unwrap() >= 1,
        "a checkpoint is signed at shutdown"
    );

    tamper(
        dir.path(),
        &[
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET actor = 'user:someone' WHERE seq = 2",
        ],
    );
    let (code, stdout, _) = run(&["audit", "verify", "--data-dir", data_dir], &[]);
    assert_eq!(code, 3);
    assert!(stdout.contains("entry 2 was modified"), "{stdout}");
}

#[test]
fn audit_verify_refuses_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("audit-signing.key.pub"),
        format!("{}\n", "ab".repeat(32)),
    )
    .unwrap();
    let (code, _, stderr) = run(
        &[
            "audit",
            "verify",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "there is no Trygg database");
    assert!(!dir.path().join("trygg.db").exists());
}

/// Plays an attacker with write access to the SQLite file.
fn tamper(data_dir: &Path, statements: &[&str]) {
    with_sqlite(data_dir, |store| async move {
        for sql in statements {
            store.danger_execute_raw_for_tests(sql).await.unwrap();
        }
    });
}

#[tokio::test]
async fn keys_rotate_while_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(dir.path(), &[]);
    let before = std::fs::read_to_string(dir.path().join("keyring")).unwrap();
    let info = server.get("/api/v1/info").await;
    assert!(info.text().contains("Demo Bank AB"));

    let data_dir = dir.path().to_str().unwrap().to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run(&["keys", "rotate", "--data-dir", &data_dir, "--json"], &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rotation: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(rotation["rewrapped"].as_u64().unwrap() >= 1, "{rotation}");
    let after = std::fs::read_to_string(dir.path().join("keyring")).unwrap();
    assert_ne!(before, after);
    let old_kek = rotation["old_keks"][0].as_str().unwrap();
    assert!(
        !after.contains(old_kek),
        "the old key-encryption key is retired from the file"
    );

    // The running server opens data keys re-wrapped under a key it had never seen.
    let info = server.get("/api/v1/info").await;
    assert!(info.text().contains("Demo Bank AB"), "{}", info.text());
    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");

    assert_audit_intact(dir.path());
}

#[test]
fn policy_check_validates_a_directory_and_names_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let policy_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy");
    for source in ["schema", "policies"] {
        for entry in std::fs::read_dir(policy_crate.join(source)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let path = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = run(&["policy", "check", path], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("ok: "), "{stdout}");

    let broken = "@id(\"adviser-shoe-size\")\npermit (principal is Staff, action == Action::\"customer.read\", resource is CustomerRecord)\nwhen { principal.shoe_size > 40 };\n";
    std::fs::write(dir.path().join("extra.cedar"), broken).unwrap();
    let (code, stdout, _) = run(&["policy", "check", path], &[]);
    assert_eq!(code, 1);
    assert!(stdout.contains("extra.cedar"), "{stdout}");
    assert!(stdout.contains("adviser-shoe-size"), "{stdout}");
    assert!(stdout.contains("shoe_size"), "{stdout}");

    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&["policy", "check", empty.path().to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "schema");
}

#[tokio::test]
async fn an_injected_key_encryption_key_is_used_checked_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let write_key = |name: &str, byte: u8| {
        use base64::Engine as _;
        let path = secrets.path().join(name);
        std::fs::write(
            &path,
            base64::engine::general_purpose::STANDARD.encode([byte; 32]),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    let first = write_key("kek-1", 7);
    let wrong = write_key("kek-wrong", 9);
    let second = write_key("kek-2", 11);
    let data_dir = dir.path().to_str().unwrap().to_owned();

    let server = start_demo(dir.path(), &[("TRYGG_VAULT__KEK_FILE", &first)]);
    assert!(server
        .get("/api/v1/info")
        .await
        .text()
        .contains("Demo Bank AB"));
    let (status, _) = server.stop();
    assert!(status.success());
    assert!(
        !dir.path().join("keyring").exists(),
        "no keyring file when the key is injected"
    );

    // The same name with other key bytes is refused at start-up.
    let args = ["demo", "--data-dir", &data_dir, "--listen", "127.0.0.1:0"];
    let (code, _, stderr) = run(&args, &[("TRYGG_VAULT__KEK_FILE", &wrong)]);
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, "wrong key file");

    // Rotation to an operator-supplied key; the server then runs on the new key only.
    let rotate = [
        "keys",
        "rotate",
        "--data-dir",
        &data_dir,
        "--new-kek-file",
        &second,
        "--new-kek-id",
        "env-kek-2",
        "--json",
    ];
    let (code, stdout, stderr) = run(&rotate, &[("TRYGG_VAULT__KEK_FILE", &first)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rotation: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rotation["new_kek"], "env-kek-2");
    let new_env = [
        ("TRYGG_VAULT__KEK_FILE", second.as_str()),
        ("TRYGG_VAULT__KEK_ID", "env-kek-2"),
    ];
    let server = start_demo(dir.path(), &new_env);
    assert!(server
        .get("/api/v1/info")
        .await
        .text()
        .contains("Demo Bank AB"));
    let (status, _) = server.stop();
    assert!(status.success());
    let (code, _, stderr) = run(&args, &[("TRYGG_VAULT__KEK_FILE", &first)]);
    assert_eq!(code, 1, "the old key no longer opens anything");
    assert_one_line_error(&stderr, "does not hold key-encryption key env-kek-2");
    assert_audit_intact(dir.path());
}
