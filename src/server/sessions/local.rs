//! The local backend: each session is a child process of the server in its own process group.
//! File-mode secrets go into a private per-session directory (0700, files 0400) on a
//! memory-backed file system where there is one.

use super::{
    backend::{BackendError, Observed, SessionBackend, SessionRef, Started},
    logbuf::LogBuffer,
    spec::{self, LaunchSpec, Values},
};
use crate::model::session::InjectMode;
use nix::{sys::signal::Signal, unistd::Pid};
use std::{
    collections::HashMap,
    fs,
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::io::AsyncReadExt;

/// Output kept per session for the logs view.
const LOG_BYTES: usize = 64 * 1024;
/// How long a stopped session gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The only variables a session inherits: the server's own environment (which may hold the
/// master key or the database password) never reaches it.
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

struct Running {
    pgid: Pid,
    root: PathBuf,
    log: Arc<LogBuffer>,
    /// Set by the waiter when the process ends: `Ok(code)` or `Err(signal description)`.
    exit: Arc<Mutex<Option<Result<i32, String>>>>,
}

pub struct LocalBackend {
    /// `<run dir>/lockbox-<id of this installation>`; one directory per session inside.
    base: PathBuf,
    sessions: Mutex<HashMap<String, Running>>,
}

impl LocalBackend {
    /// `run_dir` is where session directories go (`/dev/shm` when it exists, else
    /// `<data dir>/run`); `installation` tells installations sharing it apart.
    pub fn new(run_dir: Option<PathBuf>, data_dir: &Path) -> std::io::Result<Self> {
        let run_dir = run_dir.unwrap_or_else(|| {
            let shm = Path::new("/dev/shm");
            if shm.is_dir() {
                shm.to_path_buf()
            } else {
                data_dir.join("run")
            }
        });
        let data_dir = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let base = run_dir.join(format!("lockbox-{}", installation_id(&data_dir)));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)?;
        Ok(Self {
            base,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    fn take(&self, id: &str) -> Option<Running> {
        self.sessions.lock().ok()?.remove(id)
    }
}

/// A short stable id for a data directory, so that two servers sharing `/dev/shm` never reap
/// each other's sessions.
fn installation_id(data_dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// A session id as a directory name: our own UUIDs only, nothing that could climb out.
fn checked_id(id: &str) -> Result<&str, BackendError> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(id)
    } else {
        Err(BackendError::Internal(format!("invalid session id {id:?}")))
    }
}

fn private_dir(path: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(path)
}

/// Writes a read-only (0400) file that must not exist yet.
fn write_secret_file(path: &Path, value: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(path)?;
    f.write_all(value)
}

/// A free TCP port on the loopback interface, for `PORT`.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

fn io_error(what: &str, e: std::io::Error) -> BackendError {
    BackendError::Internal(format!("{what}: {e}"))
}

/// Sends `signal` to the whole group; false when the group is gone.
fn signal_group(pgid: Pid, signal: Signal) -> bool {
    nix::sys::signal::killpg(pgid, signal).is_ok()
}

/// Whether any process of the group still runs. Zombies do not count: the group leader stays
/// one until the server's waiter reaps it, which can lag under load (and orphans wait for init).
pub fn group_alive(pgid: Pid) -> bool {
    if nix::sys::signal::killpg(pgid, None).is_err() {
        return false;
    }
    let Ok(procs) = fs::read_dir("/proc") else {
        return true;
    };
    procs.flatten().any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| live_member_of(&stat))
                .is_some_and(|pgrp| pgrp == pgid.as_raw())
    })
}

/// From `/proc/<pid>/stat`: the process group, unless the process is a zombie. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.
fn live_member_of(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    (state != "Z" && state != "X").then_some(pgrp)
}

/// Stops a process group: SIGTERM, then SIGKILL for what is left after the grace period.
async fn stop_group(pgid: Pid) {
    if !signal_group(pgid, Signal::SIGTERM) {
        return;
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal_group(pgid, Signal::SIGKILL);
}

/// Whether `pid` is still the session `id` (it carries `LOCKBOX_SESSION_ID=<id>`), so a reused
/// pid is never killed by mistake.
fn is_session_process(pid: i32, id: &str) -> bool {
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{}={id}", spec::ENV_SESSION_ID);
    environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes())
}

fn spawn_reader(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    log: Arc<LogBuffer>,
    first: Arc<Mutex<Option<Instant>>>,
    session: String,
    spawned: Instant,
) {
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut f) = first.lock() {
                        if f.is_none() {
                            *f = Some(Instant::now());
                            let after_spawn_ms = spawned.elapsed().as_secs_f64() * 1000.0;
                            tracing::debug!(session = %session, after_spawn_ms, "first output");
                        }
                    }
                    log.push(&buf[..n]);
                }
            }
        }
    });
}

impl LocalBackend {
    /// Prepares the directories and the command; fails without leaving anything behind.
    fn prepare(
        &self,
        spec: &LaunchSpec,
        values: &Values,
        root: &Path,
    ) -> Result<(tokio::process::Command, Option<u16>), BackendError> {
        private_dir(root).map_err(|e| io_error("cannot create the session directory", e))?;
        let home = root.join("home");
        private_dir(&home).map_err(|e| io_error("cannot create the session home", e))?;
        let secrets_dir = root.join("secrets");
        private_dir(&secrets_dir)
            .map_err(|e| io_error("cannot create the secrets directory", e))?;

        let port = spec
            .environment
            .port
            .map(|_| free_port())
            .transpose()
            .map_err(|e| io_error("cannot find a free port", e))?;
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&spec.environment.local_command)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &home)
            .env("LANG", "C.UTF-8")
            .env(spec::ENV_SESSION_ID, &spec.session_id)
            .env(spec::ENV_SECRET_ENV, spec.env_targets().join(" "))
            .env(spec::ENV_SECRETS_DIR, &secrets_dir)
            .current_dir(&home)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0);
        if let Some(port) = port {
            cmd.env(spec::ENV_PORT, port.to_string());
        }
        for extra in &spec.extra_env {
            match &extra.source {
                crate::model::extra_env::EnvSource::Literal(v) => {
                    cmd.env(&extra.name, v);
                }
                crate::model::extra_env::EnvSource::SecretRef { .. } => {
                    return Err(BackendError::Rejected(format!(
                        "{}: references to Kubernetes Secrets need the Kubernetes backend.",
                        extra.name
                    )));
                }
            }
        }
        for (injection, value) in spec.injections.iter().zip(&values.0) {
            match injection.mode {
                InjectMode::Env => {
                    cmd.env(&injection.target, value.expose());
                }
                InjectMode::File => {
                    write_secret_file(
                        &secrets_dir.join(&injection.target),
                        value.expose().as_bytes(),
                    )
                    .map_err(|e| io_error("cannot write a secret file", e))?;
                }
            }
        }
        Ok((cmd, port))
    }
}

#[async_trait::async_trait]
impl SessionBackend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn start(&self, spec: &LaunchSpec, values: Values) -> Result<Started, BackendError> {
        let id = checked_id(&spec.session_id)?;
        let root = self.base.join(id);
        let prepared = self.prepare(spec, &values, &root);
        let spawned = prepared.and_then(|(mut cmd, port)| {
            let child = cmd
                .spawn()
                .map_err(|e| io_error("cannot start the session's command", e));
            // The command's copy of the environment (values included) goes with it.
            drop(cmd);
            child.map(|c| (c, port))
        });
        drop(values);
        let (mut child, port) = match spawned {
            Ok(ok) => ok,
            Err(e) => {
                let _ = fs::remove_dir_all(&root);
                return Err(e);
            }
        };
        let pid = child.id().unwrap_or_default() as i32;
        let pgid = Pid::from_raw(pid);
        // For the reaper after a crash: which process group this directory belongs to.
        let _ = fs::write(root.join("pid"), pid.to_string());
        let spawned = Instant::now();
        let log = Arc::new(LogBuffer::new(LOG_BYTES));
        // When the first output arrived, logged for the launch benchmark.
        let first_output = Arc::new(Mutex::new(None));
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, log.clone(), first_output.clone(), id.into(), spawned);
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, log.clone(), first_output.clone(), id.into(), spawned);
        }
        let exit = Arc::new(Mutex::new(None));
        let exit_slot = exit.clone();
        tokio::spawn(async move {
            let outcome = match child.wait().await {
                Ok(status) => match status.code() {
                    Some(code) => Ok(code),
                    None => Err(describe_signal(&status)),
                },
                Err(e) => Err(format!("lost track of the process: {e}")),
            };
            if let Ok(mut slot) = exit_slot.lock() {
                *slot = Some(outcome);
            }
        });
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(
                id.to_string(),
                Running {
                    pgid,
                    root,
                    log,
                    exit,
                },
            );
        }
        Ok(Started {
            url: port.map(|p| format!("http://127.0.0.1:{p}/")),
        })
    }

    async fn stop(&self, session: &SessionRef) -> Result<(), BackendError> {
        let id = checked_id(&session.session_id)?;
        if let Some(running) = self.take(id) {
            stop_group(running.pgid).await;
            remove_root(&running.root)?;
        } else {
            // Not started by this server process: whatever the directory says is left.
            reap_dir(&self.base.join(id), id).await?;
        }
        Ok(())
    }

    async fn status(&self, session: &SessionRef) -> Result<Observed, BackendError> {
        let sessions = self
            .sessions
            .lock()
            .map_err(|_| BackendError::Internal("session table poisoned".into()))?;
        let Some(running) = sessions.get(&session.session_id) else {
            return Ok(Observed::Exited("no longer running".into()));
        };
        let exit = running.exit.lock().ok().and_then(|e| e.clone());
        Ok(match exit {
            None => Observed::Running,
            Some(Ok(0)) => Observed::Exited("exited with status 0".into()),
            Some(Ok(code)) => Observed::Failed(format!("exited with status {code}")),
            Some(Err(why)) => Observed::Failed(why),
        })
    }

    async fn logs(&self, session: &SessionRef, max_bytes: usize) -> Result<String, BackendError> {
        let sessions = self
            .sessions
            .lock()
            .map_err(|_| BackendError::Internal("session table poisoned".into()))?;
        Ok(sessions
            .get(&session.session_id)
            .map(|s| s.log.tail(max_bytes))
            .unwrap_or_default())
    }

    async fn reap(&self, _live: &[SessionRef]) -> Result<Vec<String>, BackendError> {
        // Right after start-up this server runs no session: every directory is stale and every
        // session the database still marks live is gone (its process, if it survived the
        // crash, is killed here).
        let entries =
            fs::read_dir(&self.base).map_err(|e| io_error("cannot read the run directory", e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str() else { continue };
            if checked_id(id).is_ok() {
                reap_dir(&entry.path(), id).await?;
            }
        }
        Ok(_live.iter().map(|s| s.session_id.clone()).collect())
    }
}

/// Kills what a session directory's pid file names (if it is still that session) and removes
/// the directory.
async fn reap_dir(root: &Path, id: &str) -> Result<(), BackendError> {
    if let Some(pid) = fs::read_to_string(root.join("pid"))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 1)
    {
        if is_session_process(pid, id) {
            stop_group(Pid::from_raw(pid)).await;
        }
    }
    remove_root(root)
}

/// Removes a session directory. Its files are read-only, but the directories are ours.
fn remove_root(root: &Path) -> Result<(), BackendError> {
    match fs::remove_dir_all(root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("cannot remove the session directory", e)),
    }
}

fn describe_signal(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal().and_then(|s| Signal::try_from(s).ok()) {
        Some(sig) => format!("killed by {sig}"),
        None => "ended abnormally".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_fields() {
        assert_eq!(live_member_of("42 (sh) S 1 42 42 0 -1"), Some(42));
        assert_eq!(live_member_of("43 (a) b) (c) R 42 41 41 0"), Some(41));
        assert_eq!(live_member_of("44 (sleep) Z 42 42 42 0"), None);
        assert_eq!(live_member_of("garbage"), None);
    }

    #[tokio::test]
    async fn stop_group_ends_the_whole_group() {
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("sleep 600 & sleep 600")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::from_raw(child.id().unwrap() as i32);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(group_alive(pgid));
        // Reap the leader concurrently, as the backend's waiter does.
        let waiter = tokio::spawn(async move { child.wait().await });
        stop_group(pgid).await;
        assert!(!group_alive(pgid));
        assert!(waiter.await.unwrap().is_ok());
    }
}
