//! The admin view's keys page (`/api/admin/keys/status`, `/admin/keys`): the same progress
//! `lockbox keys status` shows, where the keys come from (which decides the steps shown), and
//! a rotation followed to its end.

use crate::{
    both,
    common::{self, Backend, Client, ServerOptions, TestApp},
};
use std::time::Duration;

async fn report(admin: &Client) -> serde_json::Value {
    let r = admin.post("/api/admin/keys/status", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn cli_status(app: &TestApp) -> serde_json::Value {
    let out = app.cli(&["keys", "status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// With keys from the environment: the report is the command line's status; after switching
/// to a new active key (the old one previous) it shows the rewrap through to the end, the old
/// key droppable, and the page shows that and the rolling procedure.
async fn keys_status_follows_a_rotation(backend: Backend) {
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let fast = vec![("LOCKBOX_REWRAP_PAUSE_MS".to_string(), "0".to_string())];
    let mut app = TestApp::spawn_with(
        backend,
        ServerOptions {
            master_key: Some(a.clone()),
            extra_env: fast.clone(),
        },
    )
    .await;
    let admin = app.user("root").await;
    app.user("bob").await;
    let before = report(&admin).await;
    assert_eq!(before["source"], "environment", "{before}");
    assert_eq!(
        before["status"],
        cli_status(&app),
        "the command line's own status"
    );
    let status = &before["status"];
    assert_eq!(status["rotation_needed"], false);
    assert_eq!(status["done"], status["total"]);
    assert!(
        status["total"].as_i64().unwrap() >= 2,
        "two users' data keys at least"
    );
    let old_id = status["active_key_id"].as_str().unwrap().to_string();

    app.stop();
    let mut extra_env = fast.clone();
    extra_env.push(("LOCKBOX_PREVIOUS_MASTER_KEYS".into(), a.clone()));
    app.options = ServerOptions {
        master_key: Some(b),
        extra_env,
    };
    app.start().expect("starts with a new active key");
    let admin = app.login("root").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let r = report(&admin).await;
        if r["status"]["rotation_needed"] == false && r["status"]["completed_at"].is_i64() {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "never completed: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = &done["status"];
    assert_ne!(status["active_key_id"], old_id.as_str());
    assert_eq!(status["droppable"], serde_json::json!([old_id]), "{done}");
    assert!(status["started_at"].is_i64());
    let page = admin.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains(status["active_key_id"].as_str().unwrap()));
    assert!(
        page.body
            .contains("Previous, wraps nothing: can be dropped"),
        "{}",
        page.body
    );
    assert!(page.body.contains("No rotation needed"), "{}", page.body);
    assert!(
        page.body.contains("LOCKBOX_PREVIOUS_MASTER_KEYS"),
        "the rolling procedure"
    );
    assert!(
        !page.body.contains("lockbox keys rotate"),
        "not the key file's steps"
    );
}
both!(
    keys_status_follows_a_rotation,
    crate::admin_keys::keys_status_follows_a_rotation
);

/// With the generated key file, the page gives `lockbox keys rotate` as the way to rotate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_key_file_steps() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            master_key: None,
            extra_env: Vec::new(),
        },
    )
    .await;
    let admin = app.user("root").await;
    assert_eq!(report(&admin).await["source"], "generated_file");
    let page = admin.get("/admin/keys").await;
    assert!(page.body.contains("lockbox keys rotate"), "{}", page.body);
}

/// A session environment that prints, for each of `TOKEN` and `PEM` it received, the SHA-256
/// of the value: the server had to unwrap the user's data key with its live keyring to inject
/// them.
const REVEAL: &str = r#"for n in TOKEN PEM; do
  eval "v=\${$n-}"
  printf '%s=%s\n' "$n" "$(printf %s "$v" | sha256sum | cut -d' ' -f1)"
done
echo done"#;

fn sha256(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// What a session of `client`'s with its secrets `TOKEN` and `PEM` received, as hashes: the
/// values decrypted by the server, read back through the API.
async fn revealed(client: &Client) -> Vec<String> {
    let r = client
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "reveal"),
                ("secrets[0][secret]", "TOKEN"),
                ("secrets[0][mode]", "env"),
                ("secrets[1][secret]", "PEM"),
                ("secrets[1][mode]", "env"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let r = client
            .post("/api/sessions/logs", &[("id", id.as_str())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let text = r.json()["text"].as_str().unwrap().to_string();
        if text.contains("done\n") {
            return text
                .lines()
                .filter(|l| l.contains('='))
                .map(str::to_string)
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {id} never finished");
}

fn expected(name: &str) -> Vec<String> {
    vec![
        format!("TOKEN={}", sha256(&format!("token-of-{name}"))),
        format!("PEM={}", sha256(&format!("pem\nof {name}"))),
    ]
}

fn key_file(app: &TestApp, name: &str) -> String {
    std::fs::read_to_string(app.data_path().join(name))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn key_id(key: &str) -> String {
    lockbox::server::crypto::Kek::from_base64(key)
        .unwrap()
        .id()
        .to_string()
}

/// Polls the report until the rewrap towards `key_id` has completed.
async fn wait_until_rotated(admin: &Client, key_id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = report(admin).await;
        let s = &r["status"];
        if s["active_key_id"] == key_id
            && s["rotation_needed"] == false
            && s["completed_at"].is_i64()
        {
            return r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rotation to {key_id} never completed: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With the generated key file (SQLite and the local backend: no other server can share it), an
/// admin starts a rotation over HTTP (`/api/admin/keys/rotate`, what the page's "Start a
/// rotation" posts): anyone else, signed out or cross-site is refused and nothing changes; the
/// new key file is written (the old key kept as previous, both 0600), the running server
/// switches to it without a restart and rewraps everything; a second start while it rewraps is
/// a 409. Every secret still reaches a session (decrypted by the live server), after a restart
/// on the same data too. `lockbox keys rotate` while the server runs writes a new key file (the
/// file is the truth for the command line), and the server, whose active key is no longer the
/// file's, then refuses an online rotation (409, saying to restart) until restarted. The event
/// names the admin; no key reaches a log, an answer or the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_starts_a_rotation_over_http() {
    let backend = Backend::Sqlite;
    use std::os::unix::fs::PermissionsExt;
    // One key a batch, slowly: the rewrap takes a few seconds, long enough to be refused a
    // second start while it runs.
    let slow = vec![
        ("LOCKBOX_REWRAP_BATCH".to_string(), "1".to_string()),
        ("LOCKBOX_REWRAP_PAUSE_MS".to_string(), "400".to_string()),
    ];
    let mut app = TestApp::spawn_with(
        backend,
        ServerOptions {
            master_key: None,
            extra_env: slow,
        },
    )
    .await;
    let out = app.cli(&[
        "environments",
        "add",
        "reveal",
        "--image",
        "busybox",
        "--local-command",
        REVEAL,
    ]);
    assert!(out.status.success(), "{out:?}");
    let admin = app.user("root").await;
    let names = ["alice", "bob", "carol"];
    let mut users = Vec::new();
    for name in names {
        let client = app.user(name).await;
        let r = client.create("TOKEN", &format!("token-of-{name}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = client.create("PEM", &format!("pem\nof {name}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(revealed(&client).await, expected(name), "{name} before");
        users.push(client);
    }
    let old_key = key_file(&app, "master.key");
    let old_id = key_id(&old_key);
    assert_eq!(report(&admin).await["status"]["active_key_id"], old_id);
    let page = admin.get("/admin/keys").await;
    assert!(page.body.contains("Start a rotation"), "{}", page.body);
    assert!(
        page.body.contains("/admin/keys?confirm=rotate"),
        "{}",
        page.body
    );

    // Refused to anyone but an admin, and cross-site; nothing changes.
    let rotate = "/api/admin/keys/rotate";
    let mut answers = Vec::new();
    let r = app.client().post(rotate, &[]).await;
    assert_eq!(r.status, 401, "anonymous: {}", r.body);
    let r = users[0].post(rotate, &[]).await;
    assert_eq!(r.status, 403, "a user: {}", r.body);
    let r = admin
        .post_with_headers(rotate, &[], &[("origin", "https://evil.example")])
        .await;
    assert_eq!(r.status, 403, "cross-site: {}", r.body);
    assert_eq!(key_file(&app, "master.key"), old_key, "nothing changed");
    assert!(!app.data_path().join("master.key.previous").exists());

    // The admin starts it.
    let r = admin.post(rotate, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    answers.push(r.body.clone());
    let started = r.json();
    let new_key = key_file(&app, "master.key");
    assert_ne!(new_key, old_key);
    let new_id = key_id(&new_key);
    assert_eq!(started["new_key_id"], new_id.as_str(), "{started}");
    assert_eq!(started["old_key_id"], old_id.as_str(), "{started}");
    assert_eq!(key_file(&app, "master.key.previous"), old_key);
    for f in ["master.key", "master.key.previous"] {
        let mode = std::fs::metadata(app.data_path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    // The live server switched: its report names the new key at once.
    let r = report(&admin).await;
    assert_eq!(r["status"]["active_key_id"], new_id.as_str(), "{r}");
    // A second start while the rewrap runs: 409, naming the rotation; nothing changes.
    let r = admin.post(rotate, &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    answers.push(r.body.clone());
    assert_eq!(r.json()["code"], "conflict", "{}", r.body);
    assert_eq!(r.json()["field"], "rotation", "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("still rewrapping"),
        "{}",
        r.body
    );
    assert_eq!(key_file(&app, "master.key"), new_key, "nothing changed");

    let done = wait_until_rotated(&admin, &new_id).await;
    assert_eq!(done["status"]["done"], done["status"]["total"], "{done}");
    let under: Vec<String> = common::query_column(&app, "SELECT dek_key_id FROM users").await;
    assert!(under.iter().all(|k| *k == new_id), "{under:?}");
    for (client, name) in users.iter().zip(names) {
        assert_eq!(revealed(client).await, expected(name), "{name} after");
    }
    // The page shows it finished, and offers the button again.
    let page = admin.get("/admin/keys").await;
    assert!(page.body.contains("No rotation needed"), "{}", page.body);
    assert!(page.body.contains("Start a rotation"), "{}", page.body);
    // Audited, once, with the admin as the actor and key ids only.
    let events: Vec<String> = common::query_column(
        &app,
        "SELECT actor_name || '|' || target || '|' || detail FROM audit_events \
         WHERE action = 'key.rotation.requested' ORDER BY id",
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].starts_with(&format!("root|{new_id}|")) && events[0].contains(&old_id),
        "{events:?}"
    );

    // A restart on the same data reads everything with the new key file.
    app.stop();
    app.start().expect("restarts with the rotated key file");
    for name in names {
        let client = app.login(name).await;
        assert_eq!(
            revealed(&client).await,
            expected(name),
            "{name} after a restart"
        );
    }

    // The command line's rotation still works (the same function), with the server running:
    // new key file, audited as the command line.
    let out = app.cli(&["keys", "rotate"]);
    let cli_text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cli_text}");
    let third_key = key_file(&app, "master.key");
    let third_id = key_id(&third_key);
    assert!(cli_text.contains(&third_id), "{cli_text}");
    // A second one before the rewrap ran: refused, nothing changed.
    let out = app.cli(&["keys", "rotate"]);
    let refused = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{refused}");
    assert!(refused.contains("still rewrapping"), "{refused}");
    assert_eq!(key_file(&app, "master.key"), third_key);
    // The running server still has the second key active: an online rotation now would keep
    // the wrong key as the old one. Refused, naming the problem; nothing changes.
    let admin = app.login("root").await;
    let r = admin.post(rotate, &[]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    answers.push(r.body.clone());
    assert_eq!(r.json()["field"], "rotation", "{}", r.body);
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&third_id) && message.contains(&new_id) && message.contains("Restart"),
        "{message}"
    );
    assert_eq!(key_file(&app, "master.key"), third_key);
    assert!(
        key_file(&app, "master.key.previous")
            .lines()
            .any(|k| k == new_key),
        "the command line keeps the server's key as a previous one"
    );
    // The restarted server finishes the rewrap.
    app.stop();
    app.start()
        .expect("starts with the key file the command line wrote");
    let admin = app.login("root").await;
    wait_until_rotated(&admin, &third_id).await;
    for name in names {
        let client = app.login(name).await;
        assert_eq!(
            revealed(&client).await,
            expected(name),
            "{name} after the command line"
        );
    }
    let actors: Vec<String> = common::query_column(
        &app,
        "SELECT actor_name FROM audit_events WHERE action = 'key.rotation.requested' ORDER BY id",
    )
    .await;
    assert_eq!(actors, ["root", "command line"]);

    // No key anywhere it should not be.
    let mut all = app.all_logs();
    all.push_str(&answers.join("\n"));
    all.push_str(&cli_text);
    all.push_str(&refused);
    let audit: Vec<String> = common::query_column(
        &app,
        "SELECT COALESCE(detail, '') || ' ' || COALESCE(target, '') FROM audit_events",
    )
    .await;
    all.push_str(&audit.join("\n"));
    for key in [&old_key, &new_key, &third_key] {
        assert!(!all.contains(key.as_str()), "a master key was printed");
        assert!(
            !all.contains(key.trim_end_matches('=')),
            "a master key was printed"
        );
    }
}

/// On PostgreSQL several servers may share the database and (a copy of) the generated key file,
/// so a server does not rotate it online: the page says why instead of offering the button (on
/// its no-JavaScript confirmation too), and the endpoint answers 422 `unsupported` on field
/// `rotation` with the same reason. Nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_rotation_is_refused_where_servers_may_share_the_key_file() {
    if !common::postgres_available().await {
        return;
    }
    let app = TestApp::spawn_with(
        Backend::Postgres,
        ServerOptions {
            master_key: None,
            extra_env: Vec::new(),
        },
    )
    .await;
    let admin = app.user("root").await;
    let key = key_file(&app, "master.key");
    let r = report(&admin).await;
    assert_eq!(r["source"], "generated_file", "{r}");
    let why = r["online_rotation_refused"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains("PostgreSQL") && why.contains("lockbox keys rotate"),
        "{r}"
    );
    for path in ["/admin/keys", "/admin/keys?confirm=rotate"] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            !page.body.contains("Start a rotation"),
            "{path}: {}",
            page.body
        );
        assert!(
            !page.body.contains("/api/admin/keys/rotate"),
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains("PostgreSQL"), "{path}: {}", page.body);
    }
    let r = admin.post("/api/admin/keys/rotate", &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let field = &r.json()["fields"][0];
    assert_eq!(field["field"], "rotation", "{}", r.body);
    assert_eq!(field["code"], "unsupported", "{}", r.body);
    assert_eq!(field["message"], why.as_str(), "{}", r.body);
    assert_eq!(key_file(&app, "master.key"), key, "nothing changed");
    assert!(!app.data_path().join("master.key.previous").exists());
    let events: Vec<i64> = common::query_column(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'key.rotation.requested'",
    )
    .await;
    assert_eq!(events, [0]);
}
