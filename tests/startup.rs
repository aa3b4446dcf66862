//! Start-up: the master key check refuses a wrong key and touches nothing; the embedded default
//! generates its key file; the data directory and database files are the server's alone.
#![cfg(feature = "ssr")]

mod common;
#[path = "startup/key_rotation.rs"]
mod key_rotation;
#[path = "startup/replicas.rs"]
mod replicas;

use common::{Backend, ServerOptions, TestApp};
use std::os::unix::fs::PermissionsExt;

/// PostgreSQL answers the tests (or skipping it was asked for): the tests' one check, which
/// `.ci/test` runs first by this name.
#[tokio::test]
async fn postgres_answers() {
    if common::postgres_available().await {
        eprintln!("PostgreSQL answers: the PostgreSQL variants run.");
    }
}

async fn wrong_master_key_refuses_to_start(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("DB_PASSWORD", "v1").await.status, 200);
    let values = common::decrypt_all(&app).await;
    app.stop();
    let before = snapshot(&app).await;

    let wrong = ServerOptions {
        master_key: Some(common::random_master_key()),
        ..app.options.clone()
    };
    let failure = app
        .start_with(&wrong)
        .expect_err("a wrong key must not start");
    assert!(!failure.status.expect("exited").success());
    assert!(
        failure
            .output
            .contains("master key does not match this database"),
        "{}",
        failure.output
    );
    assert!(
        failure.output.contains("Nothing was changed"),
        "{}",
        failure.output
    );

    let malformed = ServerOptions {
        master_key: Some("c2hvcnQ=".into()),
        ..app.options.clone()
    };
    let failure = app
        .start_with(&malformed)
        .expect_err("a short key must not start");
    assert!(
        failure.output.contains("exactly 32 bytes"),
        "{}",
        failure.output
    );

    // Nothing was written: same rows everywhere, and no second key was registered.
    assert_eq!(snapshot(&app).await, before);
    app.start().expect("the right key starts");
    let alice = app.login("alice").await;
    assert_eq!(alice.names().await, vec!["DB_PASSWORD"]);
    assert_eq!(common::decrypt_all(&app).await, values);
}
both!(
    wrong_master_key_refuses_to_start,
    crate::wrong_master_key_refuses_to_start
);

/// The embedded default: no key configured, so a key file is generated (0600) with a warning,
/// reused on restart, and its loss is refused rather than papered over with a new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_generates_and_guards_its_key_file() {
    let mut app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            master_key: None,
            extra_env: vec![],
        },
    )
    .await;
    let key_file = app.data_path().join("master.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        app.all_logs().contains("generated a master key file"),
        "a warning is logged"
    );
    let alice = app.user("alice").await;
    assert_eq!(alice.create("TOKEN", "v").await.status, 200);
    let key = std::fs::read_to_string(&key_file).unwrap();

    app.stop();
    app.start().expect("restarts with the same key file");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    app.stop();

    std::fs::remove_file(&key_file).unwrap();
    let failure = app
        .start()
        .expect_err("a lost key file must not be replaced");
    assert!(
        failure.output.contains("no master key was given"),
        "{}",
        failure.output
    );
    assert!(
        !key_file.exists(),
        "no new key was generated over existing data"
    );
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Issue 7, finding 6: the data directory was 0755 and the database 0644. Now the directory is
/// 0700 and every database file 0600; a looser existing directory and database are tightened,
/// with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_directory_and_database_files_are_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let options = ServerOptions {
        master_key: None,
        extra_env: vec![("LOCKBOX_DATA_DIR".into(), data.display().to_string())],
    };
    let mut app = TestApp::spawn_with(Backend::Sqlite, options).await;
    app.user("alice").await.create("TOKEN", "v").await;
    let files = [
        "lockbox.db",
        "lockbox.db-wal",
        "lockbox.db-shm",
        "master.key",
    ];
    assert_eq!(mode(&data), 0o700, "the data directory was tightened");
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    assert!(app.all_logs().contains("tightened the permissions"));

    // An installation made before: loose files are tightened at the next start.
    app.stop();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        let path = data.join(f);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    app.start().expect("restarts");
    app.login("alice").await;
    assert_eq!(mode(&data), 0o700);
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f} after restart");
    }
}

/// Every row of the tables a start could write to, as text.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let queries = [
        "SELECT key_id FROM keyring ORDER BY key_id",
        "SELECT id || ':' || username || ':' || dek_key_id FROM users ORDER BY id",
        "SELECT id || ':' || name || ':' || CAST(updated_at AS TEXT) FROM secrets ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || action FROM audit_events ORDER BY id",
    ];
    let mut out = Vec::new();
    for q in queries {
        out.extend(common::query_column::<String>(app, q).await);
    }
    assert!(out.len() >= 4, "snapshot has rows: {out:?}");
    out
}

#[path = "startup/assets.rs"]
mod assets;
#[path = "startup/observability.rs"]
mod observability;
