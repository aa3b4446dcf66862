//! Sessions on the local backend, over HTTP, on SQLite and PostgreSQL: what a session receives
//! (checked by hashes from inside it), that stop and a crash leave nothing behind, and that the
//! values appear nowhere else.
#![cfg(feature = "ssr")]

mod common;

use common::{Backend, Client, TestApp};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, path::PathBuf, time::Duration};

const ENV_SENTINEL: &str = "env-sentinel-7c1e0a-do-not-leak";
const FILE_SENTINEL: &str = "file-sentinel-52b9f4-do-not-leak\nsecond line";

/// Reports what the session received: hashes, modes, its process group, whether the server's
/// own environment leaked in. Then waits to be stopped.
const PROBE: &str = r#"sum() { sha256sum | cut -d' ' -f1; }
echo "dir=$SECRETS_DIR"
echo "env=$(printf %s "$DB_PASSWORD" | sum)"
echo "file=$(sum < "$SECRETS_DIR/token.txt")"
echo "filemode=$(stat -c %a "$SECRETS_DIR/token.txt")"
echo "dirmode=$(stat -c %a "$SECRETS_DIR")"
echo "port=$PORT"
echo "pgid=$$"
echo "master=${LOCKBOX_MASTER_KEY:-none}"
echo "extra=$GREETING"
echo "secret_env=$LOCKBOX_SECRET_ENV"
echo done
exec sleep 600"#;

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn add_probe(app: &TestApp) {
    let out = app.cli(&[
        "environments",
        "add",
        "probe",
        "--image",
        "busybox",
        "--port",
        "8080",
        "--local-command",
        PROBE,
    ]);
    assert!(out.status.success(), "{out:?}");
}

/// Polls the session's output until the probe has said everything.
async fn probe_report(client: &Client, id: &str) -> HashMap<String, String> {
    for _ in 0..200 {
        let r = client.post("/api/sessions/logs", &[("id", id)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let text: String = serde_json::from_str(&r.body).unwrap();
        if text.contains("done\n") {
            return text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the session never reported");
}

/// Whether a process of the group still runs (zombies waiting for their parent do not count).
fn group_alive(pgid: i32) -> bool {
    lockbox::server::sessions::local::group_alive(nix::unistd::Pid::from_raw(pgid))
}

async fn launch_probe(alice: &Client) -> serde_json::Value {
    let r = alice
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "probe"),
                ("secrets[0][secret]", "DB_PASSWORD"),
                ("secrets[0][mode]", "env"),
                // An unticked row: sent by a plain form, ignored.
                ("secrets[1][mode]", "file"),
                ("secrets[1][name]", "ignored"),
                ("secrets[2][secret]", "API_TOKEN"),
                ("secrets[2][mode]", "file"),
                ("secrets[2][name]", "token.txt"),
                ("extra_env", "# a comment\nGREETING=hello $(HOME)\n"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn session_status(client: &Client, id: &str) -> (String, Option<String>) {
    let r = client.post("/api/sessions/list", &[]).await;
    let list = r.json();
    let s = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .expect("session listed")
        .clone();
    (
        s["status"].as_str().unwrap().to_string(),
        s["status_detail"].as_str().map(str::to_string),
    )
}

async fn launch_inject_stop(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_probe(&app);
    let alice = app.user("alice").await;
    assert_eq!(alice.create("DB_PASSWORD", ENV_SENTINEL).await.status, 200);
    assert_eq!(alice.create("API_TOKEN", FILE_SENTINEL).await.status, 200);
    assert_eq!(alice.create("UNUSED", "not-chosen").await.status, 200);
    let mut replies = Vec::new();

    let session = launch_probe(&alice).await;
    replies.push(session.to_string());
    let id = session["id"].as_str().unwrap().to_string();
    assert_eq!(session["status"], "running");
    assert_eq!(session["backend"], "local");
    assert_eq!(
        session["injected"],
        serde_json::json!([
            {"secret": "DB_PASSWORD", "mode": "env", "target": "DB_PASSWORD"},
            {"secret": "API_TOKEN", "mode": "file", "target": "token.txt"},
        ])
    );
    let report = probe_report(&alice, &id).await;
    assert_eq!(report["env"], sha256(ENV_SENTINEL));
    assert_eq!(report["file"], sha256(FILE_SENTINEL));
    assert_eq!(report["filemode"], "400");
    assert_eq!(report["dirmode"], "700");
    assert_eq!(report["master"], "none", "the server's environment leaked");
    assert_eq!(
        report["extra"], "hello $(HOME)",
        "extra values arrive literally"
    );
    assert_eq!(report["secret_env"], "DB_PASSWORD");
    let port: u16 = report["port"].parse().expect("PORT is a number");
    assert_eq!(session["url"], format!("http://127.0.0.1:{port}/"));
    let dir = PathBuf::from(&report["dir"]);
    assert!(dir.is_dir());
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        ["token.txt"],
        "only the chosen file secret is written"
    );
    let pgid: i32 = report["pgid"].parse().unwrap();
    assert!(group_alive(pgid));
    assert_eq!(
        nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pgid)))
            .unwrap()
            .as_raw(),
        pgid,
        "the session leads its own process group"
    );

    // Last used is set on exactly the chosen secrets.
    let r = alice.post("/api/secrets/list", &[]).await;
    replies.push(r.body.clone());
    for s in r.json().as_array().unwrap() {
        let used = !s["last_used_at"].is_null();
        assert_eq!(used, s["name"] != "UNUSED", "{s}");
    }

    // Bob can neither see, read nor stop Alice's session.
    let bob = app.user("bob").await;
    let r = bob.post("/api/sessions/list", &[]).await;
    assert_eq!(r.json(), serde_json::json!([]));
    for path in ["/api/sessions/logs", "/api/sessions/stop"] {
        let r = bob.post(path, &[("id", &id)]).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    assert!(group_alive(pgid));

    let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
    replies.push(r.body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "stopped");
    assert!(!r.json()["stopped_at"].is_null());
    assert!(!group_alive(pgid), "stop kills the whole process group");
    assert!(!dir.exists(), "stop removes the secrets directory");
    assert!(!dir.parent().unwrap().exists());
    // Stopping again is harmless.
    assert_eq!(
        alice
            .post("/api/sessions/stop", &[("id", &id)])
            .await
            .status,
        200
    );

    let actions: Vec<String> = common::query_column(
        &app,
        "SELECT action || ' ' || COALESCE(target, '') || ' ' || COALESCE(detail, '') \
         FROM audit_events WHERE action LIKE 'session.%' OR action = 'secret.used' ORDER BY id",
    )
    .await;
    assert_eq!(
        actions,
        [
            format!("session.started session {id} "),
            format!("secret.used DB_PASSWORD session {id} as env DB_PASSWORD"),
            format!("secret.used API_TOKEN session {id} as file token.txt"),
            format!("session.stopped session {id} "),
        ]
    );

    // The values went nowhere but into the session.
    let logs = app.all_logs();
    for sentinel in [ENV_SENTINEL, "file-sentinel-52b9f4"] {
        assert!(!logs.contains(sentinel), "server logs hold a value");
        for body in &replies {
            assert!(!body.contains(sentinel), "a reply holds a value");
        }
        for (path, bytes) in app.data_files() {
            assert!(
                !bytes
                    .windows(sentinel.len())
                    .any(|w| w == sentinel.as_bytes()),
                "{} holds a value",
                path.display()
            );
        }
    }
}
both!(launch_inject_stop, crate::launch_inject_stop);

async fn crash_is_reaped_at_restart(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    add_probe(&app);
    let alice = app.user("alice").await;
    assert_eq!(alice.create("DB_PASSWORD", ENV_SENTINEL).await.status, 200);
    assert_eq!(alice.create("API_TOKEN", FILE_SENTINEL).await.status, 200);
    let id = launch_probe(&alice).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let report = probe_report(&alice, &id).await;
    let dir = PathBuf::from(&report["dir"]);
    let pgid: i32 = report["pgid"].parse().unwrap();

    app.server.as_mut().unwrap().kill9();
    // The crash left the directory and the process behind.
    assert!(dir.join("token.txt").exists());
    assert!(group_alive(pgid));

    app.start().expect("restarts");
    assert!(!dir.exists(), "the stale directory is removed at start-up");
    assert!(!group_alive(pgid), "the orphaned session is killed");
    let alice = app.client();
    let r = alice
        .post(
            "/api/login",
            &[("username", "alice"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, detail) = session_status(&alice, &id).await;
    assert_eq!(status, "stopped");
    assert!(detail.unwrap().contains("restarted"));
}
both!(
    crash_is_reaped_at_restart,
    crate::crash_is_reaped_at_restart
);

/// Every rule of the form, through the API: each error names its field, and nothing is
/// recorded or started.
async fn launch_form_is_validated(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        common::ServerOptions {
            extra_env: vec![("LOCKBOX_MAX_SESSION_BYTES".into(), "100000".into())],
            ..Default::default()
        },
    )
    .await;
    let alice = app.user("alice").await;
    let big = "x".repeat(60_000);
    for (name, value) in [("A", big.as_str()), ("B", big.as_str()), ("C", "small")] {
        assert_eq!(alice.create(name, value).await.status, 200);
    }
    // (form, the field the error is tied to, what the message says)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("secrets[0][secret]", "C"),
                ("secrets[0][name]", "SAME"),
                ("secrets[1][secret]", "A"),
                ("secrets[1][name]", "SAME"),
            ],
            "secret-1",
            "unique",
        ),
        (
            vec![("secrets[0][secret]", "C"), ("secrets[0][name]", "9LIVES")],
            "secret-0",
            "must start with a letter",
        ),
        (
            vec![
                ("secrets[0][secret]", "C"),
                ("secrets[0][mode]", "file"),
                ("secrets[0][name]", "../x"),
            ],
            "secret-0",
            "may contain only",
        ),
        (
            vec![("secrets[0][secret]", "NOPE")],
            "secret-0",
            "no secret named",
        ),
        (vec![("mount_dir", "/bin/x")], "mount_dir", "/bin"),
        (vec![("mount_dir", "/etc/")], "mount_dir", "/etc"),
        (vec![("mount_dir", "relative")], "mount_dir", "absolute"),
        (vec![("mount_dir", "/")], "mount_dir", "root"),
        (
            vec![("secrets[0][secret]", "A"), ("secrets[1][secret]", "B")],
            "secrets",
            "at most 100000 bytes",
        ),
        (vec![("extra_env", "OK=1\nbad line")], "extra_env", "Line 2"),
        (
            vec![("secrets[0][secret]", "C"), ("extra_env", "C=shadow")],
            "extra_env",
            "already given",
        ),
        (
            vec![("extra_env", "X=SECRET:db,password")],
            "extra_env",
            "Kubernetes",
        ),
        (
            vec![("environment", "nope")],
            "environment",
            "no environment",
        ),
        (vec![("project", "ml")], "project", "not available"),
    ];
    for (form, field, message) in cases {
        let mut form = form;
        if !form.iter().any(|(k, _)| *k == "environment") {
            form.push(("environment", "demo"));
        }
        let r = alice.post("/api/sessions/launch", &form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.body);
        let fields = r.json()["fields"].clone();
        let hit = fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{form:?}: no error for {field}: {fields}"));
        assert!(
            hit["message"].as_str().unwrap().contains(message),
            "{form:?}: {hit}"
        );
    }
    let sessions: Vec<String> = common::query_column(&app, "SELECT id FROM sessions").await;
    assert!(sessions.is_empty(), "a refused launch records nothing");
    let used: Vec<Option<i64>> =
        common::query_column(&app, "SELECT last_used_at FROM secrets").await;
    assert!(used.iter().all(Option::is_none));
    // And a valid launch of the same user still works: with nothing chosen, nothing injected.
    let r = alice
        .post("/api/sessions/launch", &[("environment", "demo")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["injected"], serde_json::json!([]));
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        alice
            .post("/api/sessions/stop", &[("id", &id)])
            .await
            .status,
        200
    );
}
both!(launch_form_is_validated, crate::launch_form_is_validated);

/// The command-line tools for environments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_cli() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let list = |app: &TestApp| {
        let out = app.cli(&["environments", "list"]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        list(&app).starts_with("demo\t"),
        "a fresh install has the demo"
    );
    let bad = app.cli(&["environments", "add", "Bad_Name", "--image", "x"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lower-case"));
    add_probe(&app);
    let again = app.cli(&["environments", "add", "probe", "--image", "x"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(list(&app).contains("probe\tbusybox port 8080"));
    assert!(app.cli(&["environments", "rm", "demo"]).status.success());
    assert!(!list(&app).contains("demo"));
    // Removing it is not undone by a restart.
    let mut app = app;
    app.start().unwrap();
    assert!(!list(&app).contains("demo"));
    let r = app
        .user("alice")
        .await
        .post("/api/sessions/launch", &[("environment", "demo")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}
