//! What the binary records in the audit trail about itself: start-up, configuration changes
//! (key names, never values), key rotation and shutdown.

use std::path::Path;

use std::collections::BTreeMap;

use crate::common::{assert_audit_intact, run, start_demo, with_sqlite};

/// The actions in the audit trail of the SQLite database in `data_dir`, oldest first, with
/// their details.
pub fn audit_actions(data_dir: &Path) -> Vec<(String, BTreeMap<String, String>)> {
    with_sqlite(data_dir, |store| async move {
        let snapshot = store.audit_snapshot().await.unwrap();
        snapshot
            .entries
            .into_iter()
            .map(|entry| (entry.event.action, entry.event.details))
            .collect()
    })
}

/// [`audit_actions`] from async tests (the store is opened on a runtime of its own).
pub async fn audit_actions_async(data_dir: &Path) -> Vec<(String, BTreeMap<String, String>)> {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || audit_actions(&data_dir))
        .await
        .unwrap()
}

#[test]
fn start_configuration_changes_rotation_and_stop_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _) = start_demo(dir.path(), &[]).stop();
    assert!(status.success());
    let (status, _) = start_demo(dir.path(), &[("TRYGG_AUDIT__CHECKPOINT_INTERVAL", "7")]).stop();
    assert!(status.success());
    let (code, stdout, stderr) = run(
        &["keys", "rotate", "--data-dir", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");

    let actions = audit_actions(dir.path());
    let names: Vec<&str> = actions.iter().map(|(action, _)| action.as_str()).collect();
    let expected_in_order = [
        "server.started",
        "store.migrated",
        "keys.kek_created",
        "tls.self_signed_created",
        "config.recorded",
        "keys.data_key_created",
        "organisation.created",
        "keys.data_key_created",
        "server.stopped",
        "server.started",
        "config.changed",
        "server.stopped",
        "keys.rotation_started",
        "keys.rotated",
    ];
    assert_eq!(names, expected_in_order, "{actions:?}");
    let changed = &actions[10].1;
    assert_eq!(
        changed.get("keys").map(String::as_str),
        Some("audit.checkpoint_interval")
    );
    assert!(
        !changed.values().any(|value| value.contains('7')),
        "values are never recorded: {changed:?}"
    );
    let rotated = &actions[13].1;
    assert_eq!(rotated.get("rewrapped").map(String::as_str), Some("2"));

    assert_audit_intact(dir.path());
}
