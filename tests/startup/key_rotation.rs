//! Online master-key rotation and crypto-shredding, on both databases: a previous key keeps
//! everything readable at once, the background rewrap moves every wrapped key without
//! re-encrypting a value, survives SIGKILL halfway, and leaves the old key droppable; a deleted
//! user's ciphertexts open with no key in the live database, nor, once the old key is
//! destroyed, in a backup taken before. Key material never reaches the output.

use crate::both;
use crate::common::{self, Backend, ServerOptions, TestApp};
use lockbox::server::crypto::{self, Kek};
use std::time::Duration;

/// A connection to the app's database that the library's own queries accept.
async fn database(app: &TestApp) -> lockbox::server::db::Db {
    let url = match &app.db.url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", app.data_path().join("lockbox.db").display()),
    };
    let vars = std::collections::HashMap::from([
        ("LOCKBOX_DATABASE_URL".to_string(), url),
        (
            "LOCKBOX_DATA_DIR".to_string(),
            app.data_path().display().to_string(),
        ),
    ]);
    let config = lockbox::server::config::Env(move |n: &str| vars.get(n).cloned())
        .config()
        .unwrap();
    lockbox::server::db::Db::connect(&config).await.unwrap()
}

/// Every value in the database (users' secrets and namespace secrets), decrypted with whichever
/// of `keys` each wrapped key names: `(owner, name, plaintext)`, sorted. Panics if one does not
/// open.
pub async fn decrypt_with(app: &TestApp, keys: &[&str]) -> Vec<(String, String, String)> {
    let keks: Vec<Kek> = keys.iter().map(|k| Kek::from_base64(k).unwrap()).collect();
    let kek = |id: &str| find(&keks, id);
    let db = database(app).await;
    let users: Vec<(String, String, Vec<u8>, String)> = lockbox::on_pool!(&db.read, |p| {
        sqlx::query_as("SELECT id, username, dek_wrapped, dek_key_id FROM users")
            .fetch_all(p)
            .await
            .unwrap()
    });
    let mut out = Vec::new();
    for (id, username, wrapped, key_id) in users {
        let dek = kek(&key_id)
            .unwrap(&wrapped, &id)
            .expect("data key unwraps");
        for s in lockbox::server::db::secrets::sealed_all(&db, &id)
            .await
            .unwrap()
        {
            let plain = dek
                .open(&s.value_sealed, &crypto::secret_aad(&id, &s.id))
                .unwrap_or_else(|e| panic!("{username}/{} does not decrypt: {e}", s.name));
            out.push((
                username.clone(),
                s.name,
                String::from_utf8(plain.to_vec()).unwrap(),
            ));
        }
    }
    let purpose: Vec<(Vec<u8>, String)> = lockbox::on_pool!(&db.read, |p| {
        sqlx::query_as(
            "SELECT dek_wrapped, dek_key_id FROM wrapped_keys WHERE purpose = 'namespace-secrets'",
        )
        .fetch_all(p)
        .await
        .unwrap()
    });
    if let Some((wrapped, key_id)) = purpose.first() {
        let dek = kek(key_id)
            .unwrap_purpose_key(wrapped, "namespace-secrets")
            .expect("purpose key unwraps");
        let rows: Vec<(String, Option<String>, String, Vec<u8>)> =
            lockbox::on_pool!(&db.read, |p| {
                sqlx::query_as(
                    "SELECT id, project_id, name, data_sealed FROM namespace_secrets \
                     WHERE propagated_from IS NULL",
                )
                .fetch_all(p)
                .await
                .unwrap()
            });
        for (id, project, name, sealed) in rows {
            let plain = dek
                .open(
                    &sealed,
                    &crypto::namespace_secret_aad(project.as_deref(), &id),
                )
                .unwrap_or_else(|e| panic!("namespace secret {name} does not decrypt: {e}"));
            out.push((
                "(namespace)".into(),
                name,
                String::from_utf8(plain.to_vec()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn find<'a>(keks: &'a [Kek], id: &str) -> &'a Kek {
    keks.iter()
        .find(|k| k.id() == id)
        .unwrap_or_else(|| panic!("no key with id {id} given"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn id_of(key: &str) -> String {
    Kek::from_base64(key).unwrap().id().to_string()
}

fn options(active: &str, previous: &[&str], extra: &[(&str, &str)]) -> ServerOptions {
    let mut extra_env: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !previous.is_empty() {
        extra_env.push(("LOCKBOX_PREVIOUS_MASTER_KEYS".into(), previous.join(",\n")));
    }
    ServerOptions {
        master_key: Some(active.to_string()),
        extra_env,
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `lockbox keys status --json`, parsed.
fn status(app: &TestApp) -> serde_json::Value {
    let out = app.cli(&["keys", "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

async fn wait_for_rotation(app: &TestApp) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(app);
        if s["rotation_needed"] == false && s["completed_at"].is_i64() {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation did not complete: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    common::query_column::<i64>(app, sql).await[0]
}

/// Users with a secret each (two for some), and a namespace secret (a purpose key).
async fn populate(app: &TestApp, users: usize) {
    let mut clients = Vec::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(8) {
        clients.extend(
            futures::future::join_all(chunk.iter().map(|i| async move {
                let name = format!("user{i:04}");
                (name.clone(), app.user(&name).await)
            }))
            .await,
        );
    }
    for (i, (name, client)) in clients.iter().enumerate() {
        let r = client.create("TOKEN", &format!("token-of-{name}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if i % 3 == 0 {
            let r = client
                .create("PEM", &format!("-----BEGIN-----\n{name}\n-----END-----"))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "team-creds",
            "password=-",
        ],
        "namespace-sentinel-value",
    );
    assert!(out.status.success(), "{}", text(&out));
}

fn assert_no_key_material(app: &TestApp, outputs: &[String], keys: &[&str]) {
    let mut all = app.all_logs();
    for o in outputs {
        all.push_str(o);
    }
    for k in keys {
        assert!(!all.contains(k), "a master key appeared in the output");
        // Also without padding, in case something re-encoded it.
        assert!(
            !all.contains(k.trim_end_matches('=')),
            "a master key appeared in the output"
        );
    }
}

async fn rotation_to_a_new_key(backend: Backend) {
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let (a, b) = (a.as_str(), b.as_str());
    let (a_id, b_id) = (id_of(a), id_of(b));
    let fast = [
        ("LOCKBOX_REWRAP_BATCH", "4"),
        ("LOCKBOX_REWRAP_PAUSE_MS", "0"),
    ];
    let mut app = TestApp::spawn_with(backend, options(a, &[], &fast)).await;
    populate(&app, 10).await;
    let values = decrypt_with(&app, &[a]).await;
    assert_eq!(values.len(), 10 + 4 + 1);
    let sealed_before: Vec<Vec<u8>> =
        common::query_column(&app, "SELECT value_sealed FROM secrets ORDER BY id").await;
    let mut outputs = Vec::new();
    let s = status(&app);
    assert_eq!(s["rotation_needed"], false, "{s}");
    assert_eq!(s["active_key_id"], a_id.as_str());

    // B active, A previous: everything is readable at once, and the rewrap runs by itself.
    app.stop();
    app.options = options(b, &[a], &fast);
    app.start().expect("starts with B active and A previous");
    let alice = app.login("user0000").await;
    let r = alice
        .post(
            "/api/secrets/replace",
            &[("name", "TOKEN"), ("value", "token-of-user0000")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sorted(alice.names().await), ["PEM", "TOKEN"]);
    let done = wait_for_rotation(&app).await;
    assert_eq!(done["active_key_id"], b_id.as_str());
    assert_eq!(done["done"], done["total"]);
    assert_eq!(done["droppable"], serde_json::json!([a_id]), "{done}");
    let out = app.cli(&["keys", "status"]);
    outputs.push(text(&out));
    assert!(text(&out).contains("no rotation needed"), "{}", text(&out));
    assert!(text(&out).contains("can be dropped"), "{}", text(&out));
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE dek_key_id <> '{b_id}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM wrapped_keys WHERE dek_key_id <> '{b_id}'")
        )
        .await,
        0
    );
    // No value was re-encrypted (user0000's TOKEN was replaced through the API on purpose).
    let sealed_after: Vec<Vec<u8>> =
        common::query_column(&app, "SELECT value_sealed FROM secrets ORDER BY id").await;
    let unchanged = sealed_before
        .iter()
        .filter(|s| sealed_after.contains(s))
        .count();
    assert_eq!(unchanged, sealed_before.len() - 1);
    assert_eq!(decrypt_with(&app, &[b]).await, values);
    let events: Vec<String> = common::query_column(
        &app,
        "SELECT action FROM audit_events WHERE action LIKE 'key.rotation.%' ORDER BY id",
    )
    .await;
    assert_eq!(events, ["key.rotation.started", "key.rotation.completed"]);

    // Only B: works.
    app.stop();
    app.options = options(b, &[], &fast);
    app.start()
        .expect("starts with only B once nothing needs A");
    let alice = app.login("user0000").await;
    assert_eq!(sorted(alice.names().await), ["PEM", "TOKEN"]);
    let r = alice.create("NEW", "after-rotation").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Only A: refused, naming the key the rows need, and nothing changed.
    app.stop();
    let users_before: Vec<String> =
        common::query_column(&app, "SELECT id || dek_key_id FROM users ORDER BY id").await;
    let failure = app
        .start_with(&options(a, &[], &fast))
        .expect_err("the old key alone must not start");
    outputs.push(failure.output.clone());
    assert!(
        failure.output.contains("does not match this database"),
        "{}",
        failure.output
    );
    assert!(failure.output.contains(&b_id), "{}", failure.output);
    assert!(
        failure.output.contains("Nothing was changed"),
        "{}",
        failure.output
    );
    let users_after: Vec<String> =
        common::query_column(&app, "SELECT id || dek_key_id FROM users ORDER BY id").await;
    assert_eq!(users_before, users_after);
    let keyring: Vec<String> = common::query_column(&app, "SELECT key_id FROM keyring").await;
    assert!(!keyring.is_empty() && keyring.iter().all(|k| *k == a_id || *k == b_id));

    app.start().expect("B starts again");
    assert_no_key_material(&app, &outputs, &[a, b]);
}
both!(
    rotation_to_a_new_key,
    crate::key_rotation::rotation_to_a_new_key
);

async fn kill_during_rotation(backend: Backend) {
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let (a, b) = (a.as_str(), b.as_str());
    let b_id = id_of(b);
    // Small batches with a pause, so the kill lands halfway.
    let slow = [
        ("LOCKBOX_REWRAP_BATCH", "5"),
        ("LOCKBOX_REWRAP_PAUSE_MS", "150"),
    ];
    let users = 120;
    let mut app = TestApp::spawn_with(backend, options(a, &[], &slow)).await;
    populate(&app, users).await;
    let values = decrypt_with(&app, &[a]).await;
    let total = users as i64 + 1;

    app.stop();
    app.options = options(b, &[a], &slow);
    app.start().expect("starts with B active and A previous");
    let moved_sql = format!(
        "SELECT (SELECT COUNT(*) FROM users WHERE dek_key_id = '{b_id}') + \
         (SELECT COUNT(*) FROM wrapped_keys WHERE dek_key_id = '{b_id}')"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let moved = count(&app, &moved_sql).await;
        if moved >= 20 {
            assert!(
                moved < total,
                "the kill must land before the end: {moved}/{total}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.server.as_mut().unwrap().kill9();
    let moved = count(&app, &moved_sql).await;
    assert!(moved > 0 && moved < total, "halfway: {moved}/{total}");
    // Halfway, every row is whole under one key or the other.
    assert_eq!(decrypt_with(&app, &[a, b]).await, values);
    let s = status(&app);
    assert_eq!(s["rotation_needed"], true, "{s}");
    assert_eq!(s["completed_at"], serde_json::Value::Null, "{s}");

    app.start().expect("restarts after SIGKILL mid-rotation");
    // Serving meanwhile: a user whose key may not have moved yet still works.
    let last = app.login(&format!("user{:04}", users - 1)).await;
    assert_eq!(last.names().await, vec!["TOKEN"]);
    wait_for_rotation(&app).await;
    assert_eq!(decrypt_with(&app, &[b]).await, values);
    let events: Vec<String> = common::query_column(
        &app,
        "SELECT action FROM audit_events WHERE action LIKE 'key.rotation.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        ["key.rotation.started", "key.rotation.completed"],
        "each once"
    );
    assert_no_key_material(&app, &[], &[a, b]);
}
both!(
    kill_during_rotation,
    crate::key_rotation::kill_during_rotation
);

/// What a backup holds of one user: their wrapped data key and sealed values.
struct Backup {
    user_id: String,
    dek_wrapped: Vec<u8>,
    dek_key_id: String,
    sealed: Vec<(String, Vec<u8>)>,
}

async fn backup_of(app: &TestApp, username: &str) -> Backup {
    let db = database(app).await;
    let (user_id, dek_wrapped, dek_key_id): (String, Vec<u8>, String) =
        lockbox::on_pool!(&db.read, |p| {
            sqlx::query_as("SELECT id, dek_wrapped, dek_key_id FROM users WHERE username = $1")
                .bind(username)
                .fetch_one(p)
                .await
                .unwrap()
        });
    let sealed = lockbox::server::db::secrets::sealed_all(&db, &user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.value_sealed))
        .collect();
    Backup {
        user_id,
        dek_wrapped,
        dek_key_id,
        sealed,
    }
}

/// Whether any data key the live database wraps (users' and purpose keys, with any of `keys`)
/// opens one of the backup's ciphertexts.
async fn live_keys_open(app: &TestApp, keys: &[&str], backup: &Backup) -> bool {
    let keks: Vec<Kek> = keys.iter().map(|k| Kek::from_base64(k).unwrap()).collect();
    let db = database(app).await;
    let users: Vec<(String, Vec<u8>)> = lockbox::on_pool!(&db.read, |p| {
        sqlx::query_as("SELECT id, dek_wrapped FROM users")
            .fetch_all(p)
            .await
            .unwrap()
    });
    let purposes: Vec<(String, Vec<u8>)> = lockbox::on_pool!(&db.read, |p| {
        sqlx::query_as("SELECT purpose, dek_wrapped FROM wrapped_keys")
            .fetch_all(p)
            .await
            .unwrap()
    });
    let mut deks = Vec::new();
    for kek in &keks {
        for (id, w) in &users {
            // Bound to its own user, or (a row that was tampered with) to the deleted one.
            deks.extend(kek.unwrap(w, id).ok());
            deks.extend(kek.unwrap(w, &backup.user_id).ok());
        }
        for (purpose, w) in &purposes {
            deks.extend(kek.unwrap_purpose_key(w, purpose).ok());
        }
    }
    deks.iter().any(|dek| {
        backup.sealed.iter().any(|(secret_id, sealed)| {
            dek.open(sealed, &crypto::secret_aad(&backup.user_id, secret_id))
                .is_ok()
        })
    })
}

async fn deleting_a_user_shreds_their_key(backend: Backend) {
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let (a, b) = (a.as_str(), b.as_str());
    let (a_id, b_id) = (id_of(a), id_of(b));
    let fast = [
        ("LOCKBOX_REWRAP_BATCH", "2"),
        ("LOCKBOX_REWRAP_PAUSE_MS", "0"),
    ];
    let mut app = TestApp::spawn_with(backend, options(a, &[], &fast)).await;
    let _admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    const BOB_SENTINEL: &str = "bob-secret-sentinel-7f3a";
    assert_eq!(bob.create("BOB_TOKEN", BOB_SENTINEL).await.status, 200);
    assert_eq!(bob.create("BOB_PEM", "bob pem").await.status, 200);
    assert_eq!(carol.create("CAROL_TOKEN", "carol").await.status, 200);
    let mut outputs = Vec::new();

    // The backup: for SQLite a copy of the database files (taken with the server stopped),
    // for PostgreSQL the rows.
    app.stop();
    let backup = backup_of(&app, "bob").await;
    assert_eq!(backup.sealed.len(), 2);
    assert_eq!(backup.dek_key_id, a_id);
    let backup_dir = tempfile::tempdir().unwrap();
    if backend == Backend::Sqlite {
        for f in ["lockbox.db", "lockbox.db-wal"] {
            let from = app.data_path().join(f);
            if from.exists() {
                std::fs::copy(&from, backup_dir.path().join(f)).unwrap();
            }
        }
    }
    app.start().unwrap();
    let bob = app.login("bob").await;
    let carol = app.login("carol").await;
    // The backup really is readable with A: the checks below can fail.
    let kek_a = Kek::from_base64(a).unwrap();
    let dek = kek_a.unwrap(&backup.dek_wrapped, &backup.user_id).unwrap();
    assert!(backup.sealed.iter().all(|(id, s)| dek
        .open(s, &crypto::secret_aad(&backup.user_id, id))
        .is_ok()));
    assert!(live_keys_open(&app, &[a], &backup).await);

    // The last active admin cannot be deleted; an unknown name is a clear error.
    let out = app.cli(&["admin", "delete-user", "admin"]);
    outputs.push(text(&out));
    assert!(!out.status.success());
    assert!(text(&out).contains("last active admin"), "{}", text(&out));
    let out = app.cli(&["admin", "delete-user", "nobody"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no user named"), "{}", text(&out));

    let out = app.cli(&["admin", "delete-user", "bob"]);
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 secrets deleted"), "{}", text(&out));
    // Bob's login session ends at once; carol is untouched.
    let r = bob.post("/api/secrets/list", &[]).await;
    assert_eq!(r.status, 401, "{}\n{}", r.body, app.log_tail());
    assert_eq!(carol.names().await, vec!["CAROL_TOKEN"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE username = 'bob'").await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM secrets WHERE user_id = '{}'",
                backup.user_id
            )
        )
        .await,
        0
    );
    // His audit events stay, and the deletion is one of them.
    let actions: Vec<String> = common::query_column(
        &app,
        "SELECT action FROM audit_events WHERE actor_name = 'bob' OR target = 'bob' ORDER BY id",
    )
    .await;
    assert_eq!(
        actions.iter().filter(|a| *a == "secret.created").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("user.deleted"),
        "{actions:?}"
    );
    // No key in the live database opens his ciphertexts ...
    assert!(!live_keys_open(&app, &[a], &backup).await);
    // ... and on SQLite his wrapped key's bytes are gone from the files, not just unlinked.
    if backend == Backend::Sqlite {
        app.stop();
        for (path, bytes) in app.data_files() {
            assert!(
                !bytes
                    .windows(backup.dek_wrapped.len())
                    .any(|w| w == backup.dek_wrapped),
                "bob's wrapped key is still in {}",
                path.display()
            );
        }
        app.start().unwrap();
    }

    // Rotate to B and destroy A.
    app.stop();
    app.options = options(b, &[a], &fast);
    app.start().unwrap();
    wait_for_rotation(&app).await;
    app.stop();
    app.options = options(b, &[], &fast);
    app.start().expect("B alone");
    let carol = app.login("carol").await;
    assert_eq!(carol.names().await, vec!["CAROL_TOKEN"]);

    // The backup, opened with the keys that remain, does not give bob's values back.
    let kek_b = Kek::from_base64(b).unwrap();
    assert!(kek_b.unwrap(&backup.dek_wrapped, &backup.user_id).is_err());
    assert!(!live_keys_open(&app, &[b], &backup).await);
    if backend == Backend::Sqlite {
        // Restored whole, the backup is refused at start-up for want of A (nothing changed).
        let mut restored = TestApp::spawn_with(backend, options(b, &[], &fast)).await;
        restored.stop();
        let data = restored.data_path().to_path_buf();
        for f in ["lockbox.db-wal", "lockbox.db-shm"] {
            let _ = std::fs::remove_file(data.join(f));
        }
        for f in ["lockbox.db", "lockbox.db-wal"] {
            let from = backup_dir.path().join(f);
            if from.exists() {
                std::fs::copy(&from, data.join(f)).unwrap();
            }
        }
        let failure = restored
            .start_with(&options(b, &[], &fast))
            .expect_err("the backup needs the destroyed key");
        assert!(failure.output.contains(&a_id), "{}", failure.output);
        outputs.push(failure.output);
    }
    assert_ne!(a_id, b_id);
    assert_no_key_material(&app, &outputs, &[a, b]);
    assert!(!app.all_logs().contains(BOB_SENTINEL));
}
both!(
    deleting_a_user_shreds_their_key,
    crate::key_rotation::deleting_a_user_shreds_their_key
);

/// The key files' bytes: `master.key`, and `master.key.previous` if it exists.
fn key_files(app: &TestApp) -> (Vec<u8>, Option<Vec<u8>>) {
    (
        std::fs::read(app.data_path().join("master.key")).unwrap(),
        std::fs::read(app.data_path().join("master.key.previous")).ok(),
    )
}

/// SQL that makes the database refuse a new key's check (as a full disk or a lost connection
/// would fail that step), and SQL that lifts it.
fn refuse_new_keys(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Sqlite => (
            "CREATE TRIGGER refuse_new_keys BEFORE INSERT ON keyring \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            "DROP TRIGGER refuse_new_keys",
        ),
        Backend::Postgres => (
            "CREATE FUNCTION refuse_new_keys() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER refuse_new_keys BEFORE INSERT ON keyring \
             FOR EACH ROW EXECUTE FUNCTION refuse_new_keys()",
            "DROP TRIGGER refuse_new_keys ON keyring; DROP FUNCTION refuse_new_keys()",
        ),
    }
}

/// `lockbox keys rotate` is all or nothing: when the database step after the file writes fails
/// (the new key's check with its audit event), both key files are put back byte for byte and
/// the command says nothing changed. While another process holds the key files' lock (here
/// this test), `keys rotate` and `keys forget-previous` refuse at once, naming the lock file.
/// Afterwards the rotation works and the server starts with it.
async fn a_failed_or_locked_rotation_changes_nothing(backend: Backend) {
    let mut app = TestApp::spawn_with(
        backend,
        ServerOptions {
            master_key: None,
            extra_env: Vec::new(),
        },
    )
    .await;
    populate(&app, 2).await;
    app.stop();
    // A first rotation, rewrapped by the server (a rotation is refused while one rewraps).
    let out = app.cli(&["keys", "rotate"]);
    assert!(out.status.success(), "{}", text(&out));
    let mut outputs = vec![text(&out)];
    app.start().expect("starts with the first rotation's key");
    wait_for_rotation(&app).await;
    app.stop();
    let before = key_files(&app);

    let db = database(&app).await;
    let (refuse, allow) = refuse_new_keys(backend);
    lockbox::on_pool!(&db.write, |p| sqlx::raw_sql(refuse)
        .execute(p)
        .await
        .map(|_| ())
        .unwrap());
    let out = app.cli(&["keys", "rotate"]);
    outputs.push(text(&out));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("failed and was undone")
            && text(&out).contains("nothing was changed")
            && text(&out).contains("refused by the test"),
        "{}",
        text(&out)
    );
    assert!(key_files(&app) == before, "the key files were left changed");
    let requested = "SELECT COUNT(*) FROM audit_events WHERE action = 'key.rotation.requested'";
    assert_eq!(count(&app, requested).await, 1, "only the first rotation");
    lockbox::on_pool!(&db.write, |p| sqlx::raw_sql(allow)
        .execute(p)
        .await
        .map(|_| ())
        .unwrap());

    // Another process holds the lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(app.data_path().join("master.key.lock"))
        .unwrap();
    lock.lock().unwrap();
    for command in [&["keys", "rotate"][..], &["keys", "forget-previous"]] {
        let out = app.cli(command);
        outputs.push(text(&out));
        assert!(!out.status.success(), "{command:?}: {}", text(&out));
        assert!(
            text(&out).contains("master.key.lock") && text(&out).contains("Nothing was changed"),
            "{command:?}: {}",
            text(&out)
        );
    }
    assert!(
        key_files(&app) == before,
        "the key files changed under the lock"
    );
    drop(lock);

    // Unlocked, with the database accepting it, the rotation goes through.
    let out = app.cli(&["keys", "rotate"]);
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    assert!(key_files(&app).0 != before.0);
    assert_eq!(count(&app, requested).await, 2);
    app.start().expect("starts with the new key file");
    app.login("user0000").await;
    let keys: Vec<String> = [before.0.clone(), key_files(&app).0]
        .iter()
        .map(|k| String::from_utf8(k.clone()).unwrap().trim().to_string())
        .collect();
    assert_no_key_material(&app, &outputs, &[keys[0].as_str(), keys[1].as_str()]);
}
both!(
    a_failed_or_locked_rotation_changes_nothing,
    crate::key_rotation::a_failed_or_locked_rotation_changes_nothing
);

/// The embedded default: `lockbox keys rotate` writes a new key file and keeps the old key in
/// `master.key.previous` (both 0600) until the server has rewrapped everything, then the server
/// destroys it. With a key from the environment it only prints the procedure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_generated_key_file() {
    use std::os::unix::fs::PermissionsExt;
    let mut app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            master_key: None,
            extra_env: vec![("LOCKBOX_REWRAP_PAUSE_MS".into(), "0".into())],
        },
    )
    .await;
    populate(&app, 3).await;
    let key_file = app.data_path().join("master.key");
    let previous_file = app.data_path().join("master.key.previous");
    let old_key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    let values = decrypt_with(&app, &[old_key.as_str()]).await;
    app.stop();

    let out = app.cli(&["keys", "rotate"]);
    let mut outputs = vec![text(&out)];
    assert!(out.status.success(), "{}", text(&out));
    let new_key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(new_key, old_key);
    assert!(text(&out).contains(&id_of(&new_key)), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&previous_file).unwrap().trim(),
        old_key
    );
    for f in [&key_file, &previous_file] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    let s = status(&app);
    assert_eq!(s["rotation_needed"], true, "{s}");

    app.start().expect("starts with the rotated key file");
    wait_for_rotation(&app).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while previous_file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the old key was not destroyed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(decrypt_with(&app, &[new_key.as_str()]).await, values);
    app.stop();
    app.start().expect("restarts with only the new key file");
    app.login("user0000").await;

    // A key from the environment: the procedure, and nothing changed.
    let env_app = TestApp::spawn(Backend::Sqlite).await;
    let out = env_app.cli(&["keys", "rotate"]);
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("LOCKBOX_PREVIOUS_MASTER_KEYS"),
        "{}",
        text(&out)
    );
    assert!(!env_app.data_path().join("master.key.previous").exists());
    assert_no_key_material(&app, &outputs, &[old_key.as_str(), new_key.as_str()]);
}

/// Benchmark (ignored; `cargo test --release --features ssr --test startup -- --ignored
/// rotation_under_load --nocapture`): the settings page's throughput with 16 concurrent clients,
/// alone and while 10,000 users' data keys are rewrapped. Prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn rotation_under_load() {
    const USERS: usize = 10_000;
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let (a, b) = (a.as_str(), b.as_str());
    let quiet = [("LOCKBOX_LOG", "warn")];
    let mut app = TestApp::spawn_with(Backend::Sqlite, options(a, &[], &quiet)).await;
    let bencher = app.user("bencher").await;
    for i in 1..=100 {
        let r = bencher
            .create(&format!("SECRET_{i:03}"), &format!("value number {i}"))
            .await;
        assert_eq!(r.status, 200);
    }
    app.stop();
    // Seed the other accounts directly (Argon2 for 10,000 sign-ups would take minutes).
    {
        use sqlx::Connection;
        let url = format!("sqlite://{}", app.data_path().join("lockbox.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users LIMIT 1")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let kek = Kek::from_base64(a).unwrap();
        let mut tx = c.begin().await.unwrap();
        for i in 0..USERS {
            let id = uuid::Uuid::new_v4().to_string();
            let name = format!("seed{i:05}");
            let wrapped = kek.wrap(&crypto::DataKey::generate(), &id);
            sqlx::query(
                "INSERT INTO users (id, username, username_key, password_hash, is_admin, \
                 disabled, dek_wrapped, dek_key_id, created_at) VALUES ($1, $2, $2, $3, FALSE, \
                 FALSE, $4, $5, 0)",
            )
            .bind(id.as_str())
            .bind(name.as_str())
            .bind(hash.as_str())
            .bind(wrapped.as_slice())
            .bind(kek.id())
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn load(app: &TestApp, until: impl Fn() -> bool + Send + Sync + 'static) -> (u64, f64) {
        let client = app.login("bencher").await;
        let until = std::sync::Arc::new(until);
        let start = std::time::Instant::now();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let client = client.clone();
                let until = until.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !until() {
                        let r = client.get("/settings/secrets").await;
                        assert_eq!(r.status, 200);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        (total, start.elapsed().as_secs_f64())
    }

    // Baseline: the same data, no rotation.
    app.start().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = std::time::Instant::now();
    let (n, secs) = load(&app, move || t0.elapsed() > Duration::from_secs(10)).await;
    let baseline = n as f64 / secs;

    // During the rotation: B active, A previous; load until every key is under B.
    app.stop();
    app.options = options(b, &[a], &quiet);
    app.start().unwrap();
    let b_id = id_of(b);
    let db_url = format!("sqlite://{}", app.data_path().join("lockbox.db").display());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        tokio::spawn(async move {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db_url).await.unwrap();
            let started = std::time::Instant::now();
            loop {
                let left: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM users WHERE dek_key_id <> '{b_id}'"
                ))
                .fetch_one(&mut c)
                .await
                .unwrap();
                if left == 0 {
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let flag = done.clone();
    let (n, secs) = load(&app, move || flag.load(std::sync::atomic::Ordering::SeqCst)).await;
    let rotation_time = watcher.await.unwrap();
    let during = n as f64 / secs;
    println!(
        "ROTATION BENCH: settings page alone {baseline:.0} req/s; during the rewrap of {} keys \
         ({:.1} s) {during:.0} req/s ({:+.1} %)",
        USERS + 1,
        rotation_time.as_secs_f64(),
        (during / baseline - 1.0) * 100.0
    );
    assert_no_key_material(&app, &[], &[a, b]);
}
