//! The `lockbox` client commands end to end against the spawned server: login from standard
//! input, secrets set from standard input and from a file, submit with a variable and a file
//! secret to the local demo (the hashes it prints match), `--output json`, `--follow` (the
//! whole output exactly once; Ctrl-C leaves the session running), each refusal's message and
//! exit code. Every command's output and arguments are checked for the token and the values.

use crate::common::{Backend, Client, TestApp};
use sha2::{Digest, Sha256};
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Mutex,
    time::Duration,
};

const ENV_SENTINEL: &str = "cli-env-sentinel-4b1f9e-do-not-leak";
/// Exactly as a file holds it, trailing line break included.
const FILE_SENTINEL: &str = "-----BEGIN KEY-----\ncli-file-sentinel-a93c07\n-----END KEY-----\n";
const REPLACED_SENTINEL: &str = "cli-replaced-sentinel-77d2e1";

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Runs the client as a user would: its own home and config directory, nothing of the
/// server's environment. Records every argument list and every output, for the leak checks.
struct User {
    base: String,
    home: tempfile::TempDir,
    seen_args: Mutex<Vec<String>>,
    seen_output: Mutex<Vec<String>>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl User {
    fn new(app: &TestApp) -> Self {
        Self {
            base: app.base().to_string(),
            home: tempfile::tempdir().unwrap(),
            seen_args: Mutex::new(Vec::new()),
            seen_output: Mutex::new(Vec::new()),
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.seen_args
            .lock()
            .unwrap()
            .extend(args.iter().map(|a| a.to_string()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockbox"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn record(&self, out: Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let mut seen = self.seen_output.lock().unwrap();
        seen.push(run.stdout.clone());
        seen.push(run.stderr.clone());
        run
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.record(self.command(args, env).output().expect("run lockbox"))
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args, &[])
            .stdin(Stdio::piped())
            .spawn()
            .expect("run lockbox");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        self.record(child.wait_with_output().unwrap())
    }

    fn config_file(&self) -> PathBuf {
        self.home.path().join("config/lockbox/config.json")
    }

    fn login(&self, token: &str) -> Run {
        self.run_stdin(&["login", "--server", &self.base], &format!("{token}\n"))
    }

    /// Neither the arguments of any command run nor anything any printed holds a secret.
    fn assert_never_shown(&self, secrets: &[&str]) {
        let args = self.seen_args.lock().unwrap();
        let output = self.seen_output.lock().unwrap();
        for secret in secrets {
            // A multi-line value could only leak line by line, too.
            for needle in secret.lines().filter(|l| l.len() > 12) {
                for a in args.iter() {
                    assert!(!a.contains(needle), "an argument holds a secret: {a}");
                }
                for o in output.iter() {
                    assert!(!o.contains(needle), "output holds a secret: {o}");
                }
            }
        }
    }
}

/// Mints a token on the signed-in client's account, with these scopes (under a name of its
/// own: a user's live tokens have distinct names).
async fn token(client: &Client, scopes: &[&str]) -> String {
    static MINTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MINTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("cli test {n}");
    let keys: Vec<String> = (0..scopes.len()).map(|i| format!("scopes[{i}]")).collect();
    let mut form = vec![("name", name.as_str())];
    form.extend(keys.iter().map(String::as_str).zip(scopes.iter().copied()));
    let r = client.post("/api/tokens/create", &form).await;
    assert_eq!(r.status, 200, "minting a token: {}", r.body);
    r.json()["token"].as_str().expect("the token").to_string()
}

const ALL: [&str; 3] = ["secrets:read", "secrets:write", "sessions"];

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn login_and_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let full = token(&alice, &ALL).await;
    let me = User::new(&app);

    // Nothing saved yet: a usage error that says how to log in.
    let r = me.run(&["secrets", "list"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("lockbox login --server URL"),
        "{}",
        r.stderr
    );

    // A token the server does not know: 401, exit 4, nothing saved.
    let r = me.login("lbx_pat_not-a-real-token-at-all-0000000000000000");
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(!me.config_file().exists());

    // Login from standard input; the saved file is private.
    let r = me.login(&full).ok();
    assert!(r.stdout.contains("as alice"), "{}", r.stdout);
    assert_eq!(mode(&me.config_file()), 0o600);
    assert_eq!(mode(me.config_file().parent().unwrap()), 0o700);
    let r = me
        .run_stdin(&["login", "--server", &me.base, "-o", "json"], &full)
        .ok();
    assert_eq!(r.json()["user"]["username"], "alice");

    // secrets set: from standard input (exactly as sent) and from a file.
    let r = me
        .run_stdin(&["secrets", "set", "DB_PASSWORD"], ENV_SENTINEL)
        .ok();
    assert_eq!(r.stdout.trim(), "Secret DB_PASSWORD added.");
    let file = me.home.path().join("tls.key");
    std::fs::write(&file, FILE_SENTINEL).unwrap();
    me.run(&[
        "secrets",
        "set",
        "TLS_KEY",
        "--from-file",
        file.to_str().unwrap(),
        "--description",
        "Service key",
    ])
    .ok();

    // --output json is the server's list, parsed.
    let list = me.run(&["secrets", "list", "--output", "json"]).ok().json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DB_PASSWORD", "TLS_KEY"]);
    assert_eq!(list[1]["description"], "Service key");
    let table = me.run(&["secrets", "list"]).ok().stdout;
    assert!(table.starts_with("NAME "), "{table}");
    assert!(
        table.contains("TLS_KEY") && table.contains("Service key"),
        "{table}"
    );

    // set on an existing name replaces the value.
    let r = me
        .run_stdin(&["secrets", "set", "db_password"], REPLACED_SENTINEL)
        .ok();
    assert_eq!(r.stdout.trim(), "Value of DB_PASSWORD replaced.");
    let stored = crate::common::decrypt_all(&app).await;
    assert_eq!(
        stored,
        [
            (
                "alice".into(),
                "DB_PASSWORD".into(),
                REPLACED_SENTINEL.into()
            ),
            ("alice".into(), "TLS_KEY".into(), FILE_SENTINEL.into()),
        ]
    );

    // Refusals: the server's message and field, exit 3.
    let r = me.run_stdin(&["secrets", "set", "9LIVES"], "v");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("name: Name must start with a letter"),
        "{}",
        r.stderr
    );
    let r = me.run_stdin(&["secrets", "set", "EMPTY"], "");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("value: Value is required"),
        "{}",
        r.stderr
    );
    let r = me.run(&["secrets", "rm", "NOPE"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = me.run(&["secrets", "rm", "NOPE", "-o", "json"]);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(
        (err["error"].as_str(), err["status"].as_u64()),
        (Some("refused"), Some(404))
    );
    // A missing file is the command's fault: exit 2, nothing sent.
    let r = me.run(&["secrets", "set", "X", "--from-file", "/nonexistent/file"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A usage error of the command line itself: clap's exit 2.
    assert_eq!(me.run(&["secrets", "set"]).code, 2);

    me.run(&["secrets", "rm", "TLS_KEY"]).ok();
    assert_eq!(alice.names().await, ["DB_PASSWORD"]);

    // A token without the scope: 403 naming it, exit 4.
    let read_only = token(&alice, &["secrets:read"]).await;
    let r = me.run_env(
        &["secrets", "rm", "DB_PASSWORD"],
        &[("LOCKBOX_TOKEN", &read_only)],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("secrets:write"), "{}", r.stderr);
    // The variables win over the saved login: a bad token there is refused (401, exit 4).
    let r = me.run_env(&["secrets", "list"], &[("LOCKBOX_TOKEN", "lbx_pat_wrong")]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let token_file = me.home.path().join("token");
    std::fs::write(&token_file, format!("{read_only}\n")).unwrap();
    let r = me
        .run_env(
            &["secrets", "list", "-o", "json"],
            &[("LOCKBOX_TOKEN_FILE", token_file.to_str().unwrap())],
        )
        .ok();
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = me.run_env(
        &["secrets", "list"],
        &[
            ("LOCKBOX_TOKEN_FILE", token_file.to_str().unwrap()),
            ("LOCKBOX_TOKEN", &read_only),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Login with --token-file; a token without secrets:read is still proven genuine (403).
    let sessions_only = token(&alice, &["sessions"]).await;
    std::fs::write(&token_file, &sessions_only).unwrap();
    let r = me
        .run(&[
            "login",
            "--server",
            &me.base,
            "--token-file",
            token_file.to_str().unwrap(),
        ])
        .ok();
    assert!(r.stderr.contains("cannot say whose it is"), "{}", r.stderr);
    assert_eq!(me.run(&["secrets", "list"]).code, 4);
    // No server answers: exit 5.
    let gone = format!("http://127.0.0.1:{}", closed_port());
    let r = me.run_env(&["sessions", "list"], &[("LOCKBOX_SERVER", &gone)]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be reached"), "{}", r.stderr);

    me.assert_never_shown(&[
        &full,
        &read_only,
        &sessions_only,
        ENV_SENTINEL,
        FILE_SENTINEL,
        REPLACED_SENTINEL,
    ]);
    let logs = app.all_logs();
    for s in [ENV_SENTINEL, REPLACED_SENTINEL, &full] {
        assert!(!logs.contains(s), "the server logged a secret");
    }
}
crate::both!(
    login_and_secrets_end_to_end,
    crate::client::login_and_secrets
);

/// Polls the demo session's output (through the client) until it is ready.
fn demo_report(me: &User, id: &str) -> String {
    for _ in 0..200 {
        let out = me.run(&["sessions", "logs", id]).ok().stdout;
        if out.contains("ready\n") {
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the demo session never got ready");
}

/// Counts to 40 and ends by itself.
const COUNT: &str = "i=1; while [ $i -le 40 ]; do echo line-$i; i=$((i+1)); sleep 0.02; done";

async fn submit_and_follow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = app.cli(&[
        "environments",
        "add",
        "count",
        "--image",
        "busybox",
        "--local-command",
        COUNT,
    ]);
    assert!(out.status.success(), "{out:?}");
    let alice = app.user("alice").await;
    let full = token(&alice, &ALL).await;
    let me = User::new(&app);
    me.login(&full).ok();
    me.run_stdin(&["secrets", "set", "DB_PASSWORD"], ENV_SENTINEL)
        .ok();
    let file = me.home.path().join("key.pem");
    std::fs::write(&file, FILE_SENTINEL).unwrap();
    me.run(&[
        "secrets",
        "set",
        "API_KEY",
        "--from-file",
        file.to_str().unwrap(),
    ])
    .ok();

    // Submit the demo with a variable secret, a file secret and an extra variable.
    let session = me
        .run(&[
            "submit",
            "demo",
            "--secret",
            "DB_PASSWORD",
            "--secret",
            "API_KEY:file=key.pem",
            "-e",
            "GREETING=hello",
            "--output",
            "json",
        ])
        .ok()
        .json();
    let id = session["id"].as_str().unwrap().to_string();
    assert_eq!(session["status"], "running");
    assert_eq!(
        session["injected"],
        serde_json::json!([
            {"secret": "DB_PASSWORD", "mode": "env", "target": "DB_PASSWORD"},
            {"secret": "API_KEY", "mode": "file", "target": "key.pem"},
        ])
    );
    let report = demo_report(&me, &id);
    assert!(
        report.contains(&format!("env  DB_PASSWORD sha256={}", sha256(ENV_SENTINEL))),
        "{report}"
    );
    assert!(
        report.contains(&format!("file key.pem sha256={}", sha256(FILE_SENTINEL))),
        "{report}"
    );
    let table = me.run(&["sessions", "list"]).ok().stdout;
    let row = table.lines().find(|l| l.starts_with(&id)).expect("listed");
    assert!(
        row.contains("running") && row.contains("API_KEY→key.pem (file)"),
        "{table}"
    );

    // Ctrl-C while following: the session keeps running and the client says how to stop it.
    let mut child = me
        .command(&["sessions", "logs", "--follow", &id], &[])
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if text.contains("ready\n") {
                break;
            }
        }
        (text, stdout)
    });
    let (seen, _stdout) = reader.join().unwrap();
    assert!(seen.contains("ready"), "{seen}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let r = me.record(out);
    assert_eq!(r.code, 130, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("lockbox sessions stop {id}")),
        "{}",
        r.stderr
    );
    let list = me.run(&["sessions", "list", "-o", "json"]).ok().json();
    let status = |list: &serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&list), "running", "Ctrl-C left it running");
    let r = me.run(&["sessions", "stop", &id]).ok();
    assert!(r.stdout.contains("stopped"), "{}", r.stdout);
    let list = me.run(&["sessions", "list", "-o", "json"]).ok().json();
    assert_eq!(status(&list), "stopped");

    // --follow sees the whole output of a session that ends by itself, exactly once.
    let expected: String = (1..=40).map(|i| format!("line-{i}\n")).collect();
    let r = me.run(&["submit", "count", "--follow"]).ok();
    assert_eq!(r.stdout, expected, "stderr: {}", r.stderr);
    assert!(r.stderr.contains("ended: stopped"), "{}", r.stderr);
    // Following it again afterwards reads it all once more, and ends at once.
    let count_id = me.run(&["sessions", "list", "-o", "json"]).ok().json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = me.run(&["sessions", "logs", &count_id, "--follow"]).ok();
    assert_eq!(r.stdout, expected);
    // JSON Lines with --follow: the session, then reads whose texts join to the output.
    let r = me.run(&["submit", "count", "--follow", "-o", "json"]).ok();
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["environment"], "count");
    let text: String = lines[1..]
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, expected);

    // Refusals, with the launch form's words. What the command's text breaks: exit 2 before
    // any request (proven: the server named here does not exist).
    let gone = format!("http://127.0.0.1:{}", closed_port());
    let offline = [("LOCKBOX_SERVER", gone.as_str())];
    let r = me.run_env(&["submit", "-e", "9X=1"], &offline);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("-e: Line 1: variable name \"9X\""),
        "{}",
        r.stderr
    );
    let r = me.run_env(&["submit", "--mount-dir", "/etc/keys"], &offline);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--mount-dir: Mount directory must not be inside the system directory /etc."),
        "{}",
        r.stderr
    );
    let r = me.run_env(
        &[
            "submit",
            "--secret",
            "DB_PASSWORD",
            "--secret",
            "db_password:file",
        ],
        &offline,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--secret db_password:file: db_password is chosen more than once."),
        "{}",
        r.stderr
    );
    let r = me.run_env(&["submit", "-e", "X=SECRET:lockbox-s-1234,DB"], &offline);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // What only the server knows: exit 3 with its message and field.
    let r = me.run(&["submit", "nope"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("There is no environment named \"nope\"."),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("ENVIRONMENT"), "{}", r.stderr);
    let r = me.run(&["submit", "--secret", "MISSING:file"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--secret MISSING:file: You have no secret named \"MISSING\"."),
        "{}",
        r.stderr
    );
    let r = me.run(&["submit", "-e", "X=SECRET:no-such-secret,key"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("-e: "), "{}", r.stderr);
    // A project that does not exist: refused at its field, exit 3.
    let r = me.run(&["submit", "--project", "ghost"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--project: There is no project named \"ghost\"."),
        "{}",
        r.stderr
    );
    // A token without `sessions`: 403 naming it, exit 4.
    let read_only = token(&alice, &["secrets:read"]).await;
    let r = me.run_env(&["submit"], &[("LOCKBOX_TOKEN", &read_only)]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("sessions"), "{}", r.stderr);
    let r = me.run(&["sessions", "stop", "3f2b8c1d-5e6a-4b7c-9d8e-0f1a2b3c4d5e"]);
    assert_eq!(r.code, 3, "{}", r.stderr);

    me.assert_never_shown(&[&full, &read_only, ENV_SENTINEL, FILE_SENTINEL]);
    let logs = app.all_logs();
    for s in [ENV_SENTINEL, "cli-file-sentinel-a93c07", &full] {
        assert!(!logs.contains(s), "the server logged a secret");
    }
}
crate::both!(
    submit_and_follow_end_to_end,
    crate::client::submit_and_follow
);

/// `lockbox --help` lists operator and client commands in two groups; `sessions render` stays
/// with the operators.
#[test]
fn help_shows_two_groups() {
    let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let operator = help.find("Operator commands").expect("operator group");
    let client = help.find("Client commands").expect("client group");
    let (ops, clients) = (&help[operator..client], &help[client..]);
    for c in [
        "serve",
        "admin",
        "environments",
        "projects",
        "namespace-secrets",
        "sessions render",
    ] {
        assert!(
            ops.contains(&format!("  {c} ")),
            "{c} in the operator group:\n{help}"
        );
    }
    for c in ["login", "secrets", "submit", "sessions list|logs|stop"] {
        assert!(
            clients.contains(&format!("  {c} ")),
            "{c} in the client group:\n{help}"
        );
    }
    assert!(!clients.contains("render"), "{help}");
}
