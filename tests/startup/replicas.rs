//! Replicas of one PostgreSQL installation: started at the same moment, as a Deployment's first
//! rollout starts them on a fresh database, every one comes up; they share the sign-in
//! throttle. Replicas run sessions on Kubernetes (here a stub configuration whose API server
//! never answers: nothing in these tests launches a session); the local backend runs as a
//! single replica.

use crate::common::{
    execute, postgres_available, query_column, random_master_key, Backend, Client, Server,
    ServerOptions, TestApp, TestDb, PASSWORD,
};
use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

const REPLICAS: usize = 4;
const ROUNDS: usize = 3;

/// Starts one server on `url` with `key` and its own data directory; the receiver gets
/// `Ok(address)` once it listens, or `Err(output)` if it exits first.
fn start(
    url: &str,
    key: &str,
    data: &std::path::Path,
    extra_env: &[(String, String)],
) -> (Child, mpsc::Receiver<Result<String, String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOCKBOX_DATA_DIR", data)
        .env("LOCKBOX_LISTEN", "127.0.0.1:0")
        .env("LOCKBOX_DATABASE_URL", url)
        .env("LOCKBOX_MASTER_KEY", key)
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lockbox");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(Ok(addr.to_string()));
                return;
            }
        }
        // Stdout closed without listening: the process ended; say why.
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(Err(text));
    });
    (child, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_a_fresh_database_all_start() {
    if !postgres_available().await {
        return;
    }
    for round in 0..ROUNDS {
        let db = TestDb::new(Backend::Postgres).await;
        let url = db.url.clone().unwrap();
        let kube = KubeStub::new();
        let key = random_master_key();
        let dirs: Vec<_> = (0..REPLICAS)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let started: Vec<_> = dirs
            .iter()
            .map(|d| start(&url, &key, d.path(), &kube.env()))
            .collect();
        let mut failures = Vec::new();
        for (i, (_, rx)) in started.iter().enumerate() {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(Ok(_)) => {}
                Ok(Err(output)) => failures.push(format!("replica {i} exited:\n{output}")),
                Err(_) => failures.push(format!("replica {i} did not listen within 60 s")),
            }
        }
        for (mut child, _) in started {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(
            failures.is_empty(),
            "round {round}:\n{}",
            failures.join("\n")
        );
    }
}

/// A Kubernetes configuration for replicas that must not use the local backend: its API server
/// address refuses connections, so the server starts (the backend contacts the API only for
/// sessions and the controllers, which retry).
struct KubeStub {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl KubeStub {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\n\
             clusters: [{name: stub, cluster: {server: 'http://127.0.0.1:9'}}]\n\
             users: [{name: stub, user: {token: stub}}]\n\
             contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: lockbox}}]\n\
             current-context: stub\n",
        )
        .unwrap();
        Self { _dir: dir, path }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LOCKBOX_KUBE".into(), "1".into()),
            ("KUBECONFIG".into(), self.path.display().to_string()),
        ]
    }
}

fn client_of(server: &Server) -> Client {
    Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: server.base.clone(),
    }
}

fn elsewhere(options: &ServerOptions) -> (ServerOptions, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options.clone();
    options
        .extra_env
        .push(("LOCKBOX_DATA_DIR".into(), dir.path().display().to_string()));
    (options, dir)
}

async fn sign_in(c: &Client, username: &str, password: &str) -> crate::common::Reply {
    c.post(
        "/api/login",
        &[("username", username), ("password", password)],
    )
    .await
}

fn throttled(r: &crate::common::Reply) -> bool {
    r.status == 429 && r.body.contains("Too many failed sign-ins")
}

/// Two replicas on one PostgreSQL database share the sign-in throttle: wrong passwords spread
/// over both, in parallel and then one by one, are verified exactly as often as the allowance
/// (5) lets, and a success through one replica clears the count that the other sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_sign_in_throttle() {
    if !postgres_available().await {
        return;
    }
    let kube = KubeStub::new();
    let options = ServerOptions {
        extra_env: kube.env(),
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Postgres, options.clone()).await;
    let (second, _dir) = elsewhere(&options);
    let b = app.launch(&second).expect("the second replica starts");
    let replicas = [app.client(), client_of(&b)];
    app.user("alice").await;
    app.user("bob").await;

    let guesses = (0..40).map(|i| {
        let c = Client {
            http: reqwest::Client::new(),
            base: replicas[i % 2].base.clone(),
        };
        async move { sign_in(&c, "alice", &format!("wrong guess {i}")).await }
    });
    let replies = futures::future::join_all(guesses).await;
    let mut verified = replies.iter().filter(|r| r.status == 401).count();
    assert!(
        replies.iter().all(|r| r.status == 401 || r.status == 429),
        "only 401 or 429: {replies:?}"
    );
    assert!(
        verified <= 5,
        "{verified} parallel guesses verified, at most 5 allowed"
    );
    // Guesses refused because the hashers were busy were given back: one by one, alternating
    // replicas, the rest of the allowance and not one guess more.
    for i in 0.. {
        let r = sign_in(&replicas[i % 2], "alice", "one more wrong guess").await;
        if throttled(&r) {
            break;
        }
        assert_eq!(r.status, 401, "{}\n{}", r.body, app.log_tail());
        verified += 1;
        assert!(
            verified <= 5,
            "guess {verified} verified, at most 5 allowed"
        );
    }
    assert_eq!(verified, 5, "the allowance is 5 across both replicas");
    for c in &replicas {
        assert!(
            throttled(&sign_in(c, "alice", PASSWORD).await),
            "locked on both"
        );
    }

    // Four failures through one replica, then the right password through the other: the count
    // is cleared for both, so five more failures are verified before the lock.
    for _ in 0..4 {
        assert_eq!(sign_in(&replicas[0], "bob", "wrong").await.status, 401);
    }
    assert_eq!(sign_in(&replicas[1], "bob", PASSWORD).await.status, 200);
    for _ in 0..5 {
        let r = sign_in(&replicas[0], "bob", "wrong").await;
        assert_eq!(
            r.status, 401,
            "the success through the other replica cleared the count"
        );
    }
    assert!(throttled(&sign_in(&replicas[1], "bob", PASSWORD).await));

    // The table names neither account nor address.
    let kinds: Vec<String> = query_column(
        &app,
        "SELECT DISTINCT key_kind FROM sign_in_throttle ORDER BY 1",
    )
    .await;
    assert_eq!(kinds, vec!["account", "address"]);
    let sizes: Vec<i32> = query_column(
        &app,
        "SELECT DISTINCT length(key_mac) FROM sign_in_throttle",
    )
    .await;
    assert_eq!(sizes, vec![32]);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The local backend runs sessions as processes on its server's host: a second server using it
/// on the same database (on SQLite, the same data directory) refuses to start and names the
/// first; the Kubernetes backend is not limited. A clean stop releases the lease; a server that
/// died is taken over at once on the same host, and elsewhere once its lease has expired.
async fn the_local_backend_runs_as_a_single_replica(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let first_pid = app.server.as_ref().unwrap().child.id();
    let (second, _dir) = match backend {
        Backend::Postgres => elsewhere(&app.options),
        Backend::Sqlite => (app.options.clone(), tempfile::tempdir().unwrap()),
    };
    let Err(failure) = app.launch(&second) else {
        panic!("a second local-backend server must not start");
    };
    assert!(!failure.status.expect("exited").success());
    for needle in [
        format!("pid {first_pid} on host"),
        "already runs sessions with the local backend".into(),
        "single replica".into(),
    ] {
        assert!(
            failure.output.contains(&needle),
            "{needle}:\n{}",
            failure.output
        );
    }
    assert_eq!(app.client().get("/healthz").await.status, 200);
    if backend == Backend::Postgres {
        let kube = KubeStub::new();
        let (mut on_kube, _dir) = elsewhere(&app.options);
        on_kube.extra_env.extend(kube.env());
        let other = app
            .launch(&on_kube)
            .expect("a Kubernetes-backend replica starts beside it");
        drop(other);
    }

    // A clean stop (SIGTERM) releases the lease, and the next server starts.
    drop(app.server.take());
    let leases: Vec<i64> = query_column(&app, "SELECT COUNT(*) FROM instance_leases").await;
    assert_eq!(leases, vec![0], "released on a clean stop");
    app.start().expect("starts once the first stopped cleanly");

    // Killed, on another host as far as the lease says: held until it expires.
    app.stop();
    let until = now_ms() + 4_000;
    execute(
        &app,
        &[&format!(
            "UPDATE instance_leases SET host = 'elsewhere.example', expires_at = {until}"
        )],
    )
    .await;
    let failure = app.start().expect_err("a lease held elsewhere holds");
    assert!(
        failure.output.contains("on host elsewhere.example"),
        "{}",
        failure.output
    );
    tokio::time::sleep(std::time::Duration::from_millis(
        (until - now_ms()).max(0) as u64 + 500,
    ))
    .await;
    app.start().expect("an expired lease is taken over");

    // Killed on this host: its process is gone, so the next server takes over at once.
    app.stop();
    app.start()
        .expect("a dead holder on this host is taken over at once");
}
crate::both!(
    the_local_backend_runs_as_a_single_replica,
    crate::replicas::the_local_backend_runs_as_a_single_replica
);
