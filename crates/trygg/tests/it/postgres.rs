//! The binary on PostgreSQL: `serve` with a database URL from the environment, then
//! `audit verify --database-url`. Uses the server that `cargo xtask test` starts.

use crate::common::{run, start};

/// A fresh schema in the test database, as a URL whose connections use it.
async fn fresh_postgres_url() -> Option<String> {
    let base = match std::env::var("TRYGG_TEST_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) if std::env::var_os("TRYGG_TEST_SKIP_POSTGRES").is_some() => return None,
        Err(_) => panic!(
            "TRYGG_TEST_POSTGRES_URL is not set: run the suite with `cargo xtask test`, or set \
             TRYGG_TEST_SKIP_POSTGRES=1 to test SQLite alone"
        ),
    };
    let random: [u8; 8] = vault::random_bytes();
    let schema = format!("bin_{}", hex::encode(random));
    let admin = store::Store::connect(&base, 1, false).await.unwrap();
    admin
        .danger_execute_raw_for_tests(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

#[tokio::test]
async fn serves_from_postgres_and_verifies_its_audit_trail() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let mut command = std::process::Command::new(crate::common::BIN);
    command.arg("serve");
    let env = [
        ("TRYGG_SERVER__DATA_DIR", data_dir.as_str()),
        ("TRYGG_HTTP__LISTEN", "127.0.0.1:0"),
        ("TRYGG_DATABASE__URL", url.as_str()),
    ];
    let server = start(command, dir.path(), &env);
    let health = server.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert!(
        !dir.path().join("trygg.db").exists(),
        "PostgreSQL is used, not SQLite"
    );
    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");

    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run(
            &[
                "audit",
                "verify",
                "--data-dir",
                &data_dir,
                "--database-url",
                &url,
                "--json",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert!(report["entries"].as_u64().unwrap() >= 4);
}
