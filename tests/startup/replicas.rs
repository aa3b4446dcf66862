//! Replicas of one PostgreSQL installation started at the same moment, as a Deployment's first
//! rollout starts them on a fresh database: every one comes up.

use crate::common::{postgres_available, random_master_key, Backend, TestDb};
use std::{
    io::{BufRead, BufReader, Read},
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
) -> (Child, mpsc::Receiver<Result<String, String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOCKBOX_DATA_DIR", data)
        .env("LOCKBOX_LISTEN", "127.0.0.1:0")
        .env("LOCKBOX_DATABASE_URL", url)
        .env("LOCKBOX_MASTER_KEY", key)
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
        let key = random_master_key();
        let dirs: Vec<_> = (0..REPLICAS)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let started: Vec<_> = dirs.iter().map(|d| start(&url, &key, d.path())).collect();
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
