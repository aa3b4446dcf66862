//! Sessions on the local backend, over HTTP, on SQLite and PostgreSQL: what a session receives
//! (checked by hashes from inside it), that it is contained (an attacker's session reaches
//! nothing of the server or of other sessions), that stop, a session's own end, a shutdown and
//! a crash leave nothing behind, and that the values appear nowhere else.
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
echo "uid=$(id -u)"
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
        let text = r.json()["text"].as_str().unwrap().to_string();
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

/// The live processes of a session on the host: those carrying its id in their environment
/// (the tests run as root, so every environment is readable), zombies not counted. Read here
/// from /proc with the test's own code, not the server's `procs`, so that what the server
/// decides (whom to signal, whether a session still runs) is judged by other code.
fn session_procs(id: &str) -> Vec<i32> {
    let wanted = format!("LOCKBOX_SESSION_ID={id}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
        })
        .filter(|pid| proc_identity(*pid).is_some())
        .collect()
}

/// A live process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot), so
/// that a later process given the same pid is not taken for it; `None` when no live process
/// (zombies excluded) has the pid.
fn proc_identity(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let state = *fields.first()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process that had `pid` and started at `start` still runs.
fn still_running(pid: i32, start: u64) -> bool {
    proc_identity(pid) == Some(start)
}

/// Waits up to `bound` for a condition, returning whether it came true.
async fn within(bound: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + bound;
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ok()
}

/// The run directory of an installation (`LOCKBOX_RUN_DIR`, default `/dev/shm`).
fn run_base(app: &TestApp, run_dir: &std::path::Path) -> PathBuf {
    let data = std::fs::canonicalize(app.data_path()).unwrap();
    run_dir.join(format!(
        "lockbox-{}",
        lockbox::server::sessions::local::installation_id(&data)
    ))
}

/// The host directory holding a session's files.
fn session_dir(app: &TestApp, id: &str) -> PathBuf {
    run_base(app, std::path::Path::new("/dev/shm")).join(id)
}

/// The host uid a process runs as.
fn host_uid(pid: i32) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}")).unwrap().uid()
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

/// The "Last used" cell of each row of the settings page, in page order, as text.
fn used_on_page(html: &str) -> Vec<String> {
    html.split("<tr data-secret=")
        .skip(1)
        .map(|row| {
            let cell = row.split("<td").nth(4).expect("a last-used cell");
            let text = cell.split('<').nth(1).unwrap_or_default();
            let text = text.split('>').nth(1).unwrap_or_default();
            text.trim().to_string()
        })
        .collect()
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
    // Viewed twice, so the next view could come from the page cache.
    for _ in 0..2 {
        let page = alice.get("/settings/secrets").await.body;
        assert_eq!(used_on_page(&page), ["never"; 3], "{page}");
    }

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
    assert_eq!(
        report["dir"], "/secrets",
        "files are at the mount directory"
    );
    assert_eq!(report["uid"], "65532");
    assert_eq!(report["master"], "none", "the server's environment leaked");
    assert_eq!(
        report["extra"], "hello $(HOME)",
        "extra values arrive literally"
    );
    assert_eq!(report["secret_env"], "DB_PASSWORD");
    let port: u16 = report["port"].parse().expect("PORT is a number");
    assert_eq!(session["url"], format!("http://127.0.0.1:{port}/"));
    let dir = session_dir(&app, &id);
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
    // On the host the session is a uid of the configured range: not root, not the server's.
    let procs = session_procs(&id);
    assert!(!procs.is_empty());
    let uid = host_uid(procs[0]);
    assert!(
        (1_879_048_192..=1_879_113_727).contains(&uid),
        "session uid {uid}"
    );
    for pid in &procs {
        assert_eq!(host_uid(*pid), uid);
    }
    {
        use std::os::unix::fs::MetadataExt;
        let d = std::fs::metadata(&dir).unwrap();
        assert_eq!((d.uid(), d.mode() & 0o777), (uid, 0o700));
        let f = std::fs::metadata(dir.join("token.txt")).unwrap();
        assert_eq!((f.uid(), f.mode() & 0o777), (uid, 0o400));
        let base = std::fs::metadata(dir.parent().unwrap()).unwrap();
        assert_eq!((base.uid(), base.mode() & 0o777), (0, 0o711));
    }

    // Last used is set on exactly the chosen secrets, also on the (cached) settings page.
    let page = alice.get("/settings/secrets").await.body;
    let used = used_on_page(&page);
    // Rows by name: API_TOKEN, DB_PASSWORD, UNUSED.
    assert!(
        used[0].ends_with(" UTC") && used[1].ends_with(" UTC"),
        "{used:?}"
    );
    assert_eq!(used[2], "never");
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
    assert!(!session_procs(&id).is_empty());

    let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
    replies.push(r.body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "stopped");
    assert!(!r.json()["stopped_at"].is_null());
    assert!(session_procs(&id).is_empty(), "stop ends every process");
    assert!(!dir.exists(), "stop removes the secrets directory");
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
    }
    common::assert_not_stored(&app, &[ENV_SENTINEL, "file-sentinel-52b9f4"]).await;
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
    probe_report(&alice, &id).await;
    let dir = session_dir(&app, &id);
    assert!(!session_procs(&id).is_empty());

    app.server.as_mut().unwrap().kill9();
    // The session dies with the server (its parent-death signal), even on SIGKILL ...
    assert!(
        within(Duration::from_secs(3), || session_procs(&id).is_empty()).await,
        "the session outlived a crashed server"
    );
    // ... but a crash leaves its directory behind, for the next start.
    assert!(dir.join("token.txt").exists());

    app.start().expect("restarts");
    assert!(!dir.exists(), "the stale directory is removed at start-up");
    let alice = app.login("alice").await;
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
    // (form, the field the error is tied to, the code of the rule it broke)
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
            "duplicate",
        ),
        (
            vec![("secrets[0][secret]", "C"), ("secrets[0][name]", "9LIVES")],
            "secret-0",
            "invalid_first_character",
        ),
        (
            vec![
                ("secrets[0][secret]", "C"),
                ("secrets[0][mode]", "file"),
                ("secrets[0][name]", "../x"),
            ],
            "secret-0",
            "invalid_character",
        ),
        (vec![("secrets[0][secret]", "NOPE")], "secret-0", "unknown"),
        (
            vec![("mount_dir", "/bin/x")],
            "mount_dir",
            "system_directory",
        ),
        (
            vec![("mount_dir", "/etc/")],
            "mount_dir",
            "system_directory",
        ),
        (vec![("mount_dir", "relative")], "mount_dir", "not_absolute"),
        (vec![("mount_dir", "/")], "mount_dir", "root_directory"),
        (
            vec![("secrets[0][secret]", "A"), ("secrets[1][secret]", "B")],
            "secrets",
            "limit_exceeded",
        ),
        (
            vec![("extra_env", "OK=1\nbad line")],
            "extra_env",
            "malformed_line",
        ),
        (
            vec![("secrets[0][secret]", "C"), ("extra_env", "C=shadow")],
            "extra_env",
            "duplicate",
        ),
        (
            vec![("extra_env", "X=SECRET:db,password")],
            "extra_env",
            "reference_refused",
        ),
        (vec![("environment", "nope")], "environment", "unknown"),
        // alice signed up first, so she is an admin: she is told the project does not exist
        // (a non-admin gets 403 either way; see tests/projects).
        (vec![("project", "ml")], "project", "unknown"),
    ];
    for (form, field, code) in cases {
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
        assert_eq!(hit["code"], code, "{form:?}: {hit}");
        assert!(!hit["message"].as_str().unwrap().is_empty(), "{hit}");
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

/// The attacker's session: everything it tries to reach, printed as `GOT …` when it worked.
/// Paths and ports come in as extra variables. Only loopback addresses are ever tried.
const ATTACK: &str = r#"exec python3 - <<'PY'
import glob, os, socket
me = os.environ["LOCKBOX_SESSION_ID"].encode()
def report(what, got, data=b""):
    text = data[:300].replace(b"\0", b" ").replace(b"\n", b" ").decode(errors="replace")
    print(("GOT %s %s" % (what, text)) if got else ("tried " + what), flush=True)
def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
for path in [os.environ["MASTER"], os.environ["DB"], os.environ["VICTIM_FILE"],
             "/proc/%s/environ" % os.environ["SERVER_PID"]]:
    data = read(path)
    report(path, data is not None, data or b"")
for path in sorted(glob.glob("/proc/[0-9]*/environ")):
    data = read(path)
    # Its own session's processes are no catch.
    report(path, data is not None and me not in data, data or b"")
for name in ["PG_PORT", "VICTIM_PORT", "SERVER_PORT"]:
    port = int(os.environ[name])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        report("127.0.0.1:%d (%s)" % (port, name), True)
    except OSError:
        report("127.0.0.1:%d (%s)" % (port, name), False)
print("done", flush=True)
PY"#;

/// The victim: proves where its secrets are, then serves its port.
const VICTIM: &str = r#"echo "filehash=$(sha256sum < /secrets/victim.txt | cut -d' ' -f1)"
echo "envhash=$(printf %s "$VICTIM_VAR" | sha256sum | cut -d' ' -f1)"
echo done
exec python3 -m http.server "$PORT" --bind 127.0.0.1"#;

const VICTIM_SENTINEL: &str = "victim-sentinel-9d3a61-never-to-be-seen";

fn add_env(app: &TestApp, name: &str, port: bool, command: &str) {
    let mut args = vec!["environments", "add", name, "--image", "busybox"];
    if port {
        args.extend(["--port", "8080"]);
    }
    args.extend(["--local-command", command]);
    let out = app.cli(&args);
    assert!(out.status.success(), "{out:?}");
}

async fn logs_of(client: &Client, id: &str) -> String {
    let r = client.post("/api/sessions/logs", &[("id", id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["text"].as_str().unwrap().to_string()
}

async fn wait_for_done(client: &Client, id: &str) -> String {
    for _ in 0..300 {
        let text = logs_of(client, id).await;
        if text.contains("done\n") {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {id} never finished: {}", logs_of(client, id).await);
}

async fn attacker_session_reaches_nothing(backend: Backend) {
    // The generated key file in the data directory, as on the embedded default.
    let app = TestApp::spawn_with(
        backend,
        common::ServerOptions {
            master_key: None,
            ..Default::default()
        },
    )
    .await;
    add_env(&app, "victim", true, VICTIM);
    add_env(&app, "attack", false, ATTACK);
    let bob = app.user("bob").await;
    assert_eq!(bob.create("VICTIM_VAR", VICTIM_SENTINEL).await.status, 200);
    assert_eq!(bob.create("VICTIM_FILE", VICTIM_SENTINEL).await.status, 200);
    let r = bob
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "victim"),
                ("secrets[0][secret]", "VICTIM_VAR"),
                ("secrets[0][mode]", "env"),
                ("secrets[1][secret]", "VICTIM_FILE"),
                ("secrets[1][mode]", "file"),
                ("secrets[1][name]", "victim.txt"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let victim = r.json();
    let victim_id = victim["id"].as_str().unwrap().to_string();
    let victim_url = victim["url"].as_str().unwrap().to_string();
    let victim_port = victim_url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let victim_report = wait_for_done(&bob, &victim_id).await;
    assert!(
        victim_report.contains(&format!("filehash={}", sha256(VICTIM_SENTINEL))),
        "the victim's file is at /secrets/victim.txt: {victim_report}"
    );
    assert!(victim_report.contains(&format!("envhash={}", sha256(VICTIM_SENTINEL))));
    // The victim's own port is reachable from the host.
    let mut served = false;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&victim_url).await {
            served = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        served,
        "the victim's port answers on the host at {victim_url}"
    );

    let data = std::fs::canonicalize(app.data_path()).unwrap();
    let server_pid = app.server.as_ref().unwrap().child.id().to_string();
    let lockbox_port = app.base().rsplit(':').next().unwrap().to_string();
    let victim_file = session_dir(&app, &victim_id).join("victim.txt");
    assert!(victim_file.exists());
    let extra = [
        ("MASTER", data.join("master.key").display().to_string()),
        ("DB", data.join("lockbox.db").display().to_string()),
        ("VICTIM_FILE", victim_file.display().to_string()),
        ("SERVER_PID", server_pid),
        ("PG_PORT", "5432".to_string()),
        ("VICTIM_PORT", victim_port),
        ("SERVER_PORT", lockbox_port),
    ]
    .map(|(k, v)| format!("{k}={v}"))
    .join("\n");
    let alice = app.user("alice").await;
    let r = alice
        .post(
            "/api/sessions/launch",
            &[("environment", "attack"), ("extra_env", &extra)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attack_id = r.json()["id"].as_str().unwrap().to_string();
    let report = wait_for_done(&alice, &attack_id).await;
    let tried = report.lines().filter(|l| l.starts_with("tried ")).count();
    assert!(tried >= 7, "the probe ran every attempt: {report}");
    let got: Vec<&str> = report.lines().filter(|l| l.starts_with("GOT ")).collect();
    assert!(got.is_empty(), "the attacker's session reached: {got:#?}");
    assert!(!report.contains(VICTIM_SENTINEL));
    assert!(!report.contains("victim-sentinel"));
    // The victim is untouched and still serving.
    assert_eq!(reqwest::get(&victim_url).await.unwrap().status(), 200);
    for (client, id) in [(&bob, &victim_id), (&alice, &attack_id)] {
        let r = client.post("/api/sessions/stop", &[("id", id)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}
both!(
    attacker_session_reaches_nothing,
    crate::attacker_session_reaches_nothing
);

/// The grace period between SIGTERM and SIGKILL (the local backend's `STOP_GRACE`).
const GRACE: Duration = lockbox::server::sessions::local::STOP_GRACE;
/// What a stop may take beyond the grace period: SIGKILL, the reaping, removing the
/// session's directory and recording the stop, on a loaded machine. A bound, not a benchmark.
const STOP_MARGIN: Duration = Duration::from_secs(2);

/// A session that leaves its process group (setsid) and double-forks is still ended by Stop;
/// one that ignores SIGTERM is killed after the grace period. Every process the session had
/// before Stop (recorded with its start time, and judged by the test's own reading of /proc)
/// has ended when Stop answers, and Stop answers within the grace period and a margin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_reaches_escapees_and_the_stubborn() {
    stop_scenario(true).await;
}

/// The same, uncontained (`LOCKBOX_LOCAL_SANDBOX=off`): a session is its process group, and
/// one that ignores SIGTERM is killed after the grace period too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncontained_stop_reaches_the_stubborn() {
    stop_scenario(false).await;
}

async fn stop_scenario(sandbox: bool) {
    let mut options = common::ServerOptions::default();
    if !sandbox {
        options
            .extra_env
            .push(("LOCKBOX_LOCAL_SANDBOX".into(), "off".into()));
    }
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    add_env(
        &app,
        "escape",
        false,
        "setsid sh -c '(sleep 600 &); sleep 600' & (setsid sleep 600 &); echo done; exec sleep 600",
    );
    // `sleep` inherits the ignored SIGTERM.
    add_env(
        &app,
        "stubborn",
        false,
        "trap '' TERM; echo done; sleep 600",
    );
    let alice = app.user("alice").await;
    // Uncontained sessions are only their process group: a setsid escapee is out of reach
    // there (one-user development only, as the notice says).
    let envs: &[&str] = if sandbox {
        &["escape", "stubborn"]
    } else {
        &["stubborn"]
    };
    for env in envs {
        let r = alice
            .post("/api/sessions/launch", &[("environment", env)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json()["id"].as_str().unwrap().to_string();
        wait_for_done(&alice, &id).await;
        let least = if *env == "escape" { 4 } else { 2 };
        assert!(
            within(Duration::from_secs(3), || session_procs(&id).len() >= least).await,
            "{env}: the session's processes run: {:?}",
            session_procs(&id)
        );
        let before: Vec<(i32, u64)> = session_procs(&id)
            .into_iter()
            .filter_map(|pid| Some((pid, proc_identity(pid)?)))
            .collect();
        let begun = std::time::Instant::now();
        let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
        let took = begun.elapsed();
        assert_eq!(r.status, 200, "{}", r.body);
        let left: Vec<_> = before
            .iter()
            .filter(|(pid, start)| still_running(*pid, *start))
            .collect();
        assert!(left.is_empty(), "{env}: left running after Stop: {left:?}");
        assert!(
            session_procs(&id).is_empty(),
            "{env}: {:?}",
            session_procs(&id)
        );
        if *env == "stubborn" {
            assert!(
                took >= GRACE - Duration::from_millis(100),
                "SIGTERM was ignored, so Stop waited the grace period: {took:?}"
            );
        }
        assert!(
            took < GRACE + STOP_MARGIN,
            "{env}: Stop took {took:?}, more than the grace period {GRACE:?} and {STOP_MARGIN:?}"
        );
    }
}

/// Takes `pid` for a new process in a process group of its own (a stranger: another user's
/// shell, say), through the kernel's next-pid counter (the tests run as root). `None` when
/// another process got the pid first.
fn claim_pid(pid: i32) -> Option<std::process::Child> {
    use std::os::unix::process::CommandExt;
    for _ in 0..100 {
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return None;
        }
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
            .expect("the tests run as root and may set the next pid");
        let mut child = std::process::Command::new("sleep")
            .arg("600")
            .process_group(0)
            .spawn()
            .unwrap();
        if child.id() as i32 == pid {
            return Some(child);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    None
}

/// Launches `env` (a command that prints `pid=$$` then `done`) until its shell's pid, once it
/// has ended, could be given to a stranger; returns the session and the stranger.
async fn session_whose_pid_a_stranger_took(
    alice: &Client,
    env: &str,
    end: &impl AsyncFn(&str, i32),
) -> (String, std::process::Child) {
    for _ in 0..10 {
        let r = alice
            .post("/api/sessions/launch", &[("environment", env)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json()["id"].as_str().unwrap().to_string();
        let out = wait_for_done(alice, &id).await;
        let pid: i32 = out
            .lines()
            .find_map(|l| l.strip_prefix("pid="))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in {out}"));
        end(&id, pid).await;
        // Gone, and reaped (a zombie keeps its pid).
        let reaped = || !std::path::Path::new(&format!("/proc/{pid}")).exists();
        assert!(
            within(Duration::from_secs(5), reaped).await,
            "the session's shell {pid} is still there"
        );
        if let Some(stranger) = claim_pid(pid) {
            return (id, stranger);
        }
    }
    panic!("no pid of an ended session could be taken in 10 tries");
}

/// Whether a stranger process is still running (not killed): asked of the process itself.
fn alive(stranger: &mut std::process::Child) -> bool {
    matches!(stranger.try_wait(), Ok(None))
}

/// A session's pid (and, uncontained, its process group's number) is free for any process once
/// the session has ended. Stop, a shutdown and the reaping after a crash must then never signal
/// the process that took it: here a stranger of its own process group, given the ended
/// session's pid on purpose. (Before, a Stop of a session that had ended on its own sent
/// SIGKILL to that process group's number, whoever held it by then.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_pid_is_never_signalled() {
    let mut off = common::ServerOptions::default();
    off.extra_env
        .push(("LOCKBOX_LOCAL_SANDBOX".into(), "off".into()));
    let mut app = TestApp::spawn_with(Backend::Sqlite, off).await;
    add_env(&app, "brief", false, r#"echo "pid=$$"; echo done; exit 3"#);
    add_env(
        &app,
        "long",
        false,
        r#"echo "pid=$$"; echo done; exec sleep 600"#,
    );
    let alice = app.user("alice").await;
    let nothing = async |_: &str, _: i32| {};

    // Stop, after the session ended on its own (the record still says running: nobody looked).
    let (id, mut stranger) = session_whose_pid_a_stranger_took(&alice, "brief", &nothing).await;
    let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        alive(&mut stranger),
        "Stop killed the process that took the session's pid"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();

    // The reaping at start-up, after a crash: the session died with the server and its pid
    // went to a stranger before the restart.
    let server = std::cell::RefCell::new(app.server.take());
    let crash = async |_: &str, _: i32| {
        if let Some(mut s) = server.borrow_mut().take() {
            s.kill9();
        }
    };
    let (_, mut stranger) = session_whose_pid_a_stranger_took(&alice, "long", &crash).await;
    app.start().expect("restarts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        alive(&mut stranger),
        "the reaping at start-up killed the process that took a crashed session's pid"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();

    // A shutdown, with a session that ended on its own among those it stops.
    let alice = app.login("alice").await;
    let (_, mut stranger) = session_whose_pid_a_stranger_took(&alice, "brief", &nothing).await;
    let server = app.server.as_mut().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let exited = within(Duration::from_secs(10), || {
        matches!(server.child.try_wait(), Ok(Some(_)))
    })
    .await;
    assert!(exited, "the server exits on SIGTERM");
    assert!(
        alive(&mut stranger),
        "the shutdown killed the process that took an ended session's pid"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();
}

/// A session that exits by itself leaves no file behind, without anyone asking for the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_session_leaves_no_file() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    add_env(
        &app,
        "brief",
        false,
        "test -f /secrets/t && echo seen; sleep 1",
    );
    let alice = app.user("alice").await;
    assert_eq!(alice.create("T", ENV_SENTINEL).await.status, 200);
    let r = alice
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "brief"),
                ("secrets[0][secret]", "T"),
                ("secrets[0][mode]", "file"),
                ("secrets[0][name]", "t"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let dir = session_dir(&app, &id);
    assert!(dir.join("t").exists(), "the file is there while it runs");
    // The session lives 1 s; its file must be gone within 2 s of that.
    assert!(
        within(Duration::from_secs(3), || !dir.exists()).await,
        "an ended session's directory is still there"
    );
    assert!(session_procs(&id).is_empty());
    assert!(logs_of(&alice, &id).await.contains("seen"));
    let (status, _) = session_status(&alice, &id).await;
    assert_eq!(status, "stopped");
}

/// SIGTERM to the server stops its sessions and removes their files and its run directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_nothing() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    add_probe(&app);
    add_env(
        &app,
        "stubborn",
        false,
        "trap '' TERM; echo done; while :; do sleep 1; done",
    );
    let alice = app.user("alice").await;
    assert_eq!(alice.create("DB_PASSWORD", ENV_SENTINEL).await.status, 200);
    assert_eq!(alice.create("API_TOKEN", FILE_SENTINEL).await.status, 200);
    let probe = launch_probe(&alice).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    probe_report(&alice, &probe).await;
    let r = alice
        .post("/api/sessions/launch", &[("environment", "stubborn")])
        .await;
    let stubborn = r.json()["id"].as_str().unwrap().to_string();
    wait_for_done(&alice, &stubborn).await;
    let dir = session_dir(&app, &probe);
    assert!(dir.join("token.txt").exists());

    let server = app.server.as_mut().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let begun = std::time::Instant::now();
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break Some(status);
        }
        if begun.elapsed() > Duration::from_secs(10) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        exited.is_some_and(|s| s.success()),
        "the server exits cleanly"
    );
    for id in [&probe, &stubborn] {
        assert!(
            session_procs(id).is_empty(),
            "session {id} outlived the server"
        );
    }
    assert!(!dir.exists(), "a session's file outlived the server");
    assert!(
        !dir.parent().unwrap().exists(),
        "the run directory outlived the server"
    );
}

/// A run directory someone else planted (a symlink, or a directory of another user) is
/// refused at start-up with a message that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_run_directory_is_refused() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let run = tempfile::tempdir().unwrap();
    let base = run_base(&app, run.path());
    let options = |app: &TestApp| {
        let mut o = app.options.clone();
        o.extra_env
            .push(("LOCKBOX_RUN_DIR".into(), run.path().display().to_string()));
        o
    };
    // A symlink to a directory the attacker can read.
    let elsewhere = run.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &base).unwrap();
    let e = app.start_with(&options(&app)).unwrap_err();
    assert!(e.output.contains("symbolic link"), "{}", e.output);
    std::fs::remove_file(&base).unwrap();
    // A directory owned by another user.
    std::fs::create_dir(&base).unwrap();
    std::os::unix::fs::chown(&base, Some(4242), Some(4242)).unwrap();
    let e = app.start_with(&options(&app)).unwrap_err();
    assert!(e.output.contains("uid 4242"), "{}", e.output);
    std::fs::remove_dir(&base).unwrap();
    // Once it is gone, the server makes its own.
    app.start_with(&options(&app)).expect("starts");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&base).unwrap();
    assert!(meta.is_dir());
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o711));
}

/// `LOCKBOX_LOCAL_SANDBOX=off` runs sessions uncontained: the log says so loudly and the
/// sessions page shows a notice; with the sandbox there is no notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncontained_mode_is_announced() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let alice = app.user("alice").await;
    let page = |client: Client| async move {
        let r = client
            .send(client.http.get(format!("{}/sessions", client.base)))
            .await;
        assert_eq!(r.status, 200);
        r.body
    };
    assert!(!page(alice.clone()).await.contains("run uncontained"));
    let mut off = app.options.clone();
    off.extra_env
        .push(("LOCKBOX_LOCAL_SANDBOX".into(), "off".into()));
    app.start_with(&off).unwrap();
    assert!(app.all_logs().contains("LOCAL SESSIONS RUN UNCONTAINED"));
    let alice = app.login("alice").await;
    assert!(page(alice.clone()).await.contains("run uncontained"));
    // Sessions still start and stop (as plain processes).
    let r = alice
        .post("/api/sessions/launch", &[("environment", "demo")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert!(!session_procs(&id).is_empty());
    let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
    assert_eq!(r.status, 200);
    assert!(session_procs(&id).is_empty());
}

/// (owner, status, started_at, id) of each session on a page of the admin's list.
fn first_rows(page: &serde_json::Value) -> Vec<(String, String, i64, String)> {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["owner"].as_str().unwrap().to_ascii_lowercase(),
                s["status"].as_str().unwrap().to_string(),
                s["started_at"].as_i64().unwrap(),
                s["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 9, item 3: the admin's view of every user's sessions. Admins only (401 for a visitor,
/// 403 for a user and for a cross-site post, even an admin's); filtered by user, environment,
/// project and status; paged by cursor without repeats; the names and modes of what each
/// session received and never a value, in the JSON and in the page; stopping another user's
/// session (confirmed on a page of its own without JavaScript) ends it and is audited as an
/// admin action.
async fn admin_lists_filters_and_stops_any_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_probe(&app);
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(alice.create("DB_PASSWORD", ENV_SENTINEL).await.status, 200);
    assert_eq!(alice.create("API_TOKEN", FILE_SENTINEL).await.status, 200);
    let id = launch_probe(&alice).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    probe_report(&alice, &id).await;
    let r = bob
        .post("/api/sessions/launch", &[("environment", "demo")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bob_id = r.json()["id"].as_str().unwrap().to_string();
    // Sixty older sessions of alice's, written behind the server's back, to page through.
    let alice_id: Vec<String> =
        common::query_column(&app, "SELECT id FROM users WHERE username = 'alice'").await;
    let inserts: Vec<String> = (0..60)
        .map(|i| {
            format!(
                "INSERT INTO sessions (id, user_id, environment, project, backend, namespace, \
                 status, mount_dir, started_at, stopped_at) VALUES \
                 ('00000000-0000-4000-8000-0000000000{i:02}', '{}', 'old', 'default', 'local', \
                 'lockbox', 'stopped', '/secrets', {}, {})",
                alice_id[0],
                1_000_000 + i / 2,
                2_000_000 + i
            )
        })
        .collect();
    let inserts: Vec<&str> = inserts.iter().map(String::as_str).collect();
    common::execute(&app, &inserts).await;

    let (list, stop, page) = (
        "/api/admin/sessions/list",
        "/api/admin/sessions/stop",
        "/api/pages/admin/sessions",
    );
    let id_form = [("id", id.as_str())];
    let calls: [(&str, &[(&str, &str)]); 3] = [(list, &[]), (page, &[]), (stop, &id_form)];
    let visitor = app.client();
    for (path, form) in calls {
        assert_eq!(visitor.post(path, form).await.status, 401, "{path}");
        let r = alice.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden", "{path}");
        for headers in [
            [("Sec-Fetch-Site", "cross-site")],
            [("Origin", "http://evil.example")],
        ] {
            let r = root.post_with_headers(path, form, &headers).await;
            assert_eq!(r.status, 403, "{path} with {headers:?}: {}", r.body);
        }
    }
    assert_eq!(session_status(&alice, &id).await.0, "running");
    let r = alice.get("/admin/sessions").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Not allowed"), "{}", r.body);
    assert!(!r.body.contains(&id));

    let mut bodies = Vec::new();
    let fetch = |form: Vec<(&'static str, String)>| {
        let root = &root;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = root.post(list, &form).await;
            (r.status, r.body.clone(), r.json())
        }
    };
    // The first page: the newest first, with owners and what each received.
    let (status, body, first) = fetch(vec![]).await;
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    let sessions = first["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 50);
    assert_eq!(sessions[0]["id"], bob_id.as_str());
    assert_eq!(sessions[0]["owner"], "bob");
    assert_eq!(sessions[1]["id"], id.as_str());
    assert_eq!(sessions[1]["owner"], "alice");
    assert_eq!(sessions[1]["status"], "running");
    assert_eq!(sessions[1]["environment"], "probe");
    assert_eq!(
        sessions[1]["injected"],
        serde_json::json!([
            {"secret": "DB_PASSWORD", "mode": "env", "target": "DB_PASSWORD"},
            {"secret": "API_TOKEN", "mode": "file", "target": "token.txt"},
        ])
    );
    // Every page by its cursor: all 62, newest first, no repeats.
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut after = String::new();
    loop {
        let (status, body, p) = fetch(vec![("after", after.clone())]).await;
        assert_eq!(status, 200, "{body}");
        bodies.push(body);
        for s in p["sessions"].as_array().unwrap() {
            seen.push((
                s["started_at"].as_i64().unwrap(),
                s["id"].as_str().unwrap().to_string(),
            ));
        }
        match p["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 62);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, without repeats");

    // Every order, both ways, page by page: each session once, in that order (ties, many of
    // them by user and by status, broken by id across pages).
    let mut rows: Vec<(String, String, i64, String)> = Vec::new();
    let mut after = String::new();
    loop {
        let p = fetch(vec![("after", after.clone())]).await.2;
        rows.extend(first_rows(&p));
        match p["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(rows.len(), 62);
    for sort in ["started", "user", "status"] {
        for dir in ["asc", "desc"] {
            let mut want = rows.clone();
            want.sort_by(|a, b| {
                let key = |r: &(String, String, i64, String)| match sort {
                    "started" => (r.2, String::new(), r.3.clone()),
                    "user" => (0, r.0.clone(), r.3.clone()),
                    _ => (0, r.1.clone(), r.3.clone()),
                };
                key(a).cmp(&key(b))
            });
            if dir == "desc" {
                want.reverse();
            }
            let mut got = Vec::new();
            let mut after = String::new();
            let mut pages = 0;
            loop {
                let (status, body, p) = fetch(vec![
                    ("sort", sort.into()),
                    ("dir", dir.into()),
                    ("after", after.clone()),
                ])
                .await;
                assert_eq!(status, 200, "{sort} {dir}: {body}");
                pages += 1;
                assert!(pages < 5, "{sort} {dir}: the cursor does not advance");
                got.extend(first_rows(&p));
                match p["next"].as_str() {
                    Some(n) => after = n.to_string(),
                    None => break,
                }
            }
            assert_eq!(pages, 2, "{sort} {dir}");
            let ids = |v: &[(String, String, i64, String)]| -> Vec<String> {
                v.iter().map(|r| r.3.clone()).collect()
            };
            assert_eq!(
                ids(&got),
                ids(&want),
                "sorted by {sort} {dir}: each once, in order"
            );
        }
    }
    let (status, body, p) = fetch(vec![("sort", "environment".into())]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(p["fields"][0]["field"], "sort");
    assert_eq!(p["fields"][0]["code"], "invalid_choice");
    let next = fetch(vec![("sort", "user".into())]).await.2["next"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body, p) = fetch(vec![("sort", "status".into()), ("after", next)]).await;
    assert_eq!(status, 422, "a cursor of another order: {body}");
    assert_eq!(p["fields"][0]["code"], "invalid_cursor");

    // Filters, alone and together.
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    let q = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let (_, _, p) = fetch(q(&[("user", "BOB")])).await;
    assert_eq!(ids(&p), [bob_id.as_str()], "a username, ignoring case");
    let (_, _, p) = fetch(q(&[("user", "alice")])).await;
    assert_eq!(p["sessions"].as_array().unwrap().len(), 50);
    assert!(p["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["owner"] == "alice"));
    let (_, _, p) = fetch(q(&[("environment", "probe")])).await;
    assert_eq!(ids(&p), [id.as_str()]);
    let (_, _, p) = fetch(q(&[("status", "live")])).await;
    assert_eq!(ids(&p), [bob_id.as_str(), id.as_str()]);
    let (_, _, p) = fetch(q(&[("status", "running"), ("user", "alice")])).await;
    assert_eq!(ids(&p), [id.as_str()]);
    let (_, _, p) = fetch(q(&[("project", "default"), ("environment", "old")])).await;
    assert_eq!(p["sessions"].as_array().unwrap().len(), 50);
    assert!(p["next"].is_string());
    let (_, _, p) = fetch(q(&[("project", "elsewhere")])).await;
    assert_eq!(p["sessions"], serde_json::json!([]));
    for (field, value) in [("status", "asleep"), ("after", "yesterday")] {
        let (status, body, p) = fetch(q(&[(field, value)])).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(p["fields"][0]["field"], field, "{body}");
    }

    // The page, without JavaScript: the list, the filter form, and a Stop link that opens a
    // confirmation whose form posts the stop.
    let html = |body: &str| body.replace("&#x27;", "'").replace("&amp;", "&");
    let r = root.get("/admin/sessions?user=alice&status=live").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = html(&r.body);
    assert!(body.contains(&format!("data-session=\"{id}\"")));
    assert!(!body.contains(&format!("data-session=\"{bob_id}\"")));
    assert!(body.contains("DB_PASSWORD") && body.contains("token.txt"));
    assert!(body.contains("<label for=\"sessions-user\">User</label>"));
    assert!(
        body.contains(&format!(
            "href=\"/admin/sessions?user=alice&status=live&sort=started&dir=desc&stop={id}\""
        )),
        "{body}"
    );
    // Sortable headers keep the filter; the filter form keeps the order.
    assert!(
        body.contains(
            "<th scope=\"col\" aria-sort=\"none\"><a href=\"/admin/sessions?user=alice&status=live&sort=user&dir=asc#sessions-table\""
        ),
        "{body}"
    );
    assert!(
        body.contains("<th scope=\"col\" aria-sort=\"descending\">"),
        "{body}"
    );
    assert!(body.contains("Sorted by start time, descending"), "{body}");
    let r = root
        .get("/admin/sessions?user=alice&sort=status&dir=asc")
        .await;
    let sorted_body = html(&r.body);
    assert!(
        sorted_body.contains("name=\"sort\" value=\"status\""),
        "{sorted_body}"
    );
    assert!(
        sorted_body.contains("Sorted by status, ascending"),
        "{sorted_body}"
    );
    assert!(
        sorted_body.contains("href=\"/admin/sessions?sort=status&dir=asc\""),
        "clearing the filter keeps the order: {sorted_body}"
    );
    bodies.push(r.body);
    let r = root
        .get(&format!("/admin/sessions?user=alice&stop={id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = html(&r.body);
    assert!(body.contains("Stop alice's probe session?"), "{body}");
    assert!(body.contains("action=\"/api/admin/sessions/stop\""));
    assert!(body.contains(&format!("name=\"id\" value=\"{id}\"")));
    bodies.push(r.body);
    let r = root.get("/admin/sessions?status=asleep").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("id=\"sessions-status-error\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("aria-invalid=\"true\""));

    // Stopping alice's session with the plain form: back to the list, which says so.
    let referer = format!("{}/admin/sessions?user=alice&stop={id}", root.base);
    let r = root
        .post_with_headers(
            stop,
            &id_form,
            &[("Accept", "text/html"), ("Referer", referer.as_str())],
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/admin/sessions");
    let r = root.get("/admin/sessions").await;
    assert!(
        html(&r.body).contains("Stopped alice's probe session in project default."),
        "{}",
        r.body
    );
    bodies.push(r.body);
    assert!(
        within(Duration::from_secs(5), || session_procs(&id).is_empty()).await,
        "the stop ended every process"
    );
    assert!(!session_dir(&app, &id).exists(), "and removed its files");
    assert_eq!(
        session_status(&alice, &id).await,
        (
            "stopped".to_string(),
            Some("stopped by an admin".to_string())
        )
    );
    // Bob's, by the API; stopping again changes nothing; an unknown id is a 404.
    let r = root.post(stop, &[("id", bob_id.as_str())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["owner"], "bob");
    assert_eq!(r.json()["status"], "stopped");
    assert_eq!(root.post(stop, &id_form).await.status, 200);
    let r = root
        .post(stop, &[("id", "00000000-0000-4000-8000-999999999999")])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(root.post(stop, &[("id", "nope")]).await.status, 404);

    let events: Vec<String> = common::query_column(
        &app,
        "SELECT actor_name || ' ' || action || ' ' || target || ' ' || detail || ' ' || \
         session_id FROM audit_events WHERE action LIKE '%session.stopped' ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        [
            format!(
                "root admin.session.stopped session {id} owner alice; environment probe; \
                 project default {id}"
            ),
            format!(
                "root admin.session.stopped session {bob_id} owner bob; environment demo; \
                 project default {bob_id}"
            ),
        ]
    );
    let logs = app.all_logs();
    for sentinel in [ENV_SENTINEL, "file-sentinel-52b9f4"] {
        assert!(!logs.contains(sentinel), "server logs hold a value");
        for body in &bodies {
            assert!(!body.contains(sentinel), "the admin was shown a value");
        }
    }
}
both!(
    admin_lists_filters_and_stops_any_session,
    crate::admin_lists_filters_and_stops_any_session
);

/// Issue 9, item 4: environments on the admin page. Admins only (401 for a visitor, 403 for a
/// user and for a cross-site post, and the refused calls change nothing); the page's rules are
/// the command line's, refusing the same inputs with the same messages (one function); create,
/// edit and remove, each audited; the forms work without JavaScript.
async fn admin_manages_environments_with_the_cli_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    let (list, create, update, delete, page) = (
        "/api/admin/environments/list",
        "/api/admin/environments/create",
        "/api/admin/environments/update",
        "/api/admin/environments/delete",
        "/api/pages/admin/environments",
    );
    let made = [("name", "made"), ("image", "busybox")];
    let edited = [("name", "demo"), ("image", "edited")];
    let demo = [("name", "demo")];
    let calls: [(&str, &[(&str, &str)]); 5] = [
        (list, &[]),
        (page, &[]),
        (create, &made),
        (update, &edited),
        (delete, &demo),
    ];
    let visitor = app.client();
    for (path, form) in calls {
        assert_eq!(visitor.post(path, form).await.status, 401, "{path}");
        let r = alice.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden", "{path}");
        for headers in [
            [("Sec-Fetch-Site", "cross-site")],
            [("Origin", "http://evil.example")],
        ] {
            let r = root.post_with_headers(path, form, &headers).await;
            assert_eq!(r.status, 403, "{path} with {headers:?}: {}", r.body);
        }
    }
    let names = |r: &common::Reply| -> Vec<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = root.post(list, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r), ["demo"]);
    assert_eq!(r.json()[0]["image"], "docker.io/library/busybox:1.37");

    // The same inputs are refused by the command line and the page, with the same message on
    // the field the input was typed into.
    // (command-line arguments, the same input as a form, the field it is refused on)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["Bad_Name", "--image", "x"],
            &[("name", "Bad_Name"), ("image", "x")],
            "name",
        ),
        (
            &["ok", "--image", "a b"],
            &[("name", "ok"), ("image", "a b")],
            "image",
        ),
        (
            &["ok", "--image", "x", "--port", "0"],
            &[("name", "ok"), ("image", "x"), ("port", "0")],
            "port",
        ),
        (
            &["ok", "--image", "x", "--port", "http"],
            &[("name", "ok"), ("image", "x"), ("port", "http")],
            "port",
        ),
        (
            &["ok", "--image", "x", "--cpu-request", "lots"],
            &[("name", "ok"), ("image", "x"), ("cpu_request", "lots")],
            "cpu_request",
        ),
        (
            &["ok", "--image", "x", "--memory-limit", "1 Gi"],
            &[("name", "ok"), ("image", "x"), ("memory_limit", "1 Gi")],
            "memory_limit",
        ),
    ];
    for (args, form, field) in cases {
        let r = root.post(create, form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.body);
        let errors = r.json()["fields"].clone();
        assert_eq!(errors[0]["field"], *field, "{}", r.body);
        let message = errors[0]["message"].as_str().unwrap().to_string();
        let mut cli = vec!["environments", "add"];
        cli.extend_from_slice(args);
        let out = app.cli(&cli);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&message),
            "{args:?}: the command line said {stderr:?}, the page {message:?}"
        );
    }
    assert_eq!(names(&root.post(list, &[]).await), ["demo"]);

    // Create, with everything a form can give.
    let r = root
        .post(
            create,
            &[
                ("name", "py"),
                ("image", "docker.io/library/python:3.12"),
                ("description", "Python"),
                ("command", "/bin/sh\r\n-c\r\n"),
                ("args", "echo hi"),
                ("port", "8888"),
                ("local_command", "echo ready\r\nexec sleep 600"),
                ("cpu_request", "500m"),
                ("memory_limit", "1Gi"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let e = r.json();
    assert_eq!(e["command"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(e["args"], serde_json::json!(["echo hi"]));
    assert_eq!(e["port"], 8888);
    assert_eq!(e["local_command"], "echo ready\nexec sleep 600");
    assert_eq!(e["cpu_request"], "500m");
    assert!(e["memory_request"].is_null());
    let cli_list =
        |app: &TestApp| String::from_utf8(app.cli(&["environments", "list"]).stdout).unwrap();
    assert!(cli_list(&app).contains("py\tdocker.io/library/python:3.12 port 8888\tPython"));
    let r = root.post(create, &[("name", "py"), ("image", "x")]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let taken = r.json()["message"].as_str().unwrap().to_string();
    let out = app.cli(&["environments", "add", "py", "--image", "x"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&taken),
        "{out:?}"
    );
    // The command line's changes are audited too.
    assert!(app
        .cli(&["environments", "add", "cli-made", "--image", "busybox"])
        .status
        .success());

    // Edit: a bad field changes nothing; a good form replaces all but the name.
    let r = root
        .post(update, &[("name", "py"), ("image", "x"), ("port", "99999")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "port");
    let r = root
        .post(
            update,
            &[
                ("name", "py"),
                ("image", "docker.io/library/python:3.13"),
                ("local_command", "echo edited; exec sleep 600"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["port"].is_null());
    assert!(r.json()["cpu_request"].is_null());
    assert!(cli_list(&app).contains("py\tdocker.io/library/python:3.13\t"));
    let r = root.post(update, &[("name", "nope"), ("image", "x")]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    // A session starts with the edited environment.
    let r = alice
        .post("/api/sessions/launch", &[("environment", "py")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.json()["id"].as_str().unwrap().to_string();

    // Remove: the running session keeps running; the name can no longer be launched.
    let r = root.post(delete, &[("name", "py")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(session_status(&alice, &session).await.0, "running");
    let r = alice
        .post("/api/sessions/launch", &[("environment", "py")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(root.post(delete, &[("name", "py")]).await.status, 404);
    assert_eq!(
        alice
            .post("/api/sessions/stop", &[("id", session.as_str())])
            .await
            .status,
        200
    );
    assert_eq!(names(&root.post(list, &[]).await), ["cli-made", "demo"]);

    let events: Vec<String> = common::query_column(
        &app,
        "SELECT actor_name || ' ' || action || ' ' || target || ' ' || COALESCE(detail, '') \
         FROM audit_events WHERE action LIKE 'environment.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        [
            "root environment.created py image docker.io/library/python:3.12; port 8888",
            "command line environment.created cli-made image busybox",
            "root environment.updated py image docker.io/library/python:3.13",
            "root environment.deleted py ",
        ]
    );

    // The page, without JavaScript.
    let r = alice.get("/admin/environments").await;
    assert_eq!(r.status, 403);
    let r = root.get("/admin/environments").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("data-environment=\"demo\""));
    assert!(r.body.contains("<label for=\"env-add-name\">Name</label>"));
    let r = root.get("/admin/environments?edit=demo").await;
    assert!(r.body.contains("action=\"/api/admin/environments/update\""));
    assert!(r.body.contains("value=\"docker.io/library/busybox:1.37\""));
    let r = root.get("/admin/environments?remove=demo").await;
    assert!(r.body.contains("action=\"/api/admin/environments/delete\""));
    let referer = format!("{}/admin/environments", root.base);
    let html = [("Accept", "text/html"), ("Referer", referer.as_str())];
    let r = root
        .post_with_headers(
            create,
            &[("name", "web"), ("image", "nginx"), ("port", "0")],
            &html,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/admin/environments");
    let body = root.get("/admin/environments").await.body;
    assert!(body.contains("id=\"env-add-port-error\""), "{body}");
    assert!(body.contains("value=\"web\""), "what was typed is kept");
    let r = root
        .post_with_headers(delete, &[("name", "cli-made")], &html)
        .await;
    assert_eq!(r.status, 302);
    let body = root.get("/admin/environments").await.body;
    assert!(body.contains("Environment cli-made removed."), "{body}");
}
both!(
    admin_manages_environments_with_the_cli_rules,
    crate::admin_manages_environments_with_the_cli_rules
);
