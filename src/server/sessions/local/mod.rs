//! The local backend: each session runs in a sandbox (see `sandbox`) as a host uid of its own
//! when the server is root, with its file secrets in a private directory on a memory-backed
//! file system, bound read-only at the mount directory. `LOCKBOX_LOCAL_SANDBOX=off` runs
//! sessions uncontained instead, as plain child processes (one-user development only).

mod process;
pub mod procs;
pub mod rundir;
pub mod sandbox;
pub mod uids;

use super::{
    backend::{BackendError, Observed, SessionBackend, SessionRef, Started},
    logbuf::LogBuffer,
    spec::{self, LaunchSpec, Values},
};
use crate::model::{extra_env::EnvSource, session::InjectMode};
use nix::sys::signal::Signal;
use process::{Contain, Outcome};
use rundir::RunDir;
use std::{
    collections::HashMap,
    io::{Seek, Write},
    os::fd::{AsRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};
use tokio::sync::watch;

/// Output kept per session for the logs view.
const LOG_BYTES: usize = 64 * 1024;
/// How long a stopped session gets to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// How the local backend runs sessions.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where session directories go (`/dev/shm` when it exists, else `<data dir>/run`).
    pub run_dir: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// `false` only with `LOCKBOX_LOCAL_SANDBOX=off`.
    pub sandbox: bool,
    pub uids: std::ops::RangeInclusive<u32>,
    pub outbound: bool,
}

struct Running {
    /// pasta (sandboxed) or the shell (uncontained): the root of the session's process tree.
    pid: i32,
    /// The process group, for uncontained sessions.
    group: Option<i32>,
    log: Arc<LogBuffer>,
    exit: watch::Receiver<Option<Outcome>>,
    /// Signals to `pid` and `group` go under this, so never after the process was reaped.
    reaped: process::Reaped,
}

impl Running {
    /// Signals the session while its process is not reaped; false once it is.
    fn signal(&self, sig: Signal) -> bool {
        self.reaped
            .unless_reaped(|| signal_session(self.pid, self.group, sig))
    }
}

/// What `start_up` opened.
struct Ready {
    run: Arc<RunDir>,
    /// Session uids, when the server is root and sandboxes.
    uids: Option<uids::UidPool>,
    layout: sandbox::HostLayout,
}

pub struct LocalBackend {
    options: Options,
    base: PathBuf,
    ready: OnceLock<Ready>,
    sessions: Mutex<HashMap<String, Running>>,
}

impl LocalBackend {
    /// Cheap: nothing is created until `start_up` (the command-line tools never call it).
    pub fn new(options: Options) -> Self {
        let run_dir = options.run_dir.clone().unwrap_or_else(|| {
            let shm = Path::new("/dev/shm");
            if shm.is_dir() {
                shm.to_path_buf()
            } else {
                options.data_dir.join("run")
            }
        });
        let data_dir =
            std::fs::canonicalize(&options.data_dir).unwrap_or_else(|_| options.data_dir.clone());
        let base = run_dir.join(format!("lockbox-{}", installation_id(&data_dir)));
        Self {
            options,
            base,
            ready: OnceLock::new(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    fn ready(&self) -> Result<&Ready, BackendError> {
        self.ready
            .get()
            .ok_or_else(|| BackendError::Internal("the local backend was not started".into()))
    }

    fn take(&self, id: &str) -> Option<Running> {
        self.sessions.lock().ok()?.remove(id)
    }

    fn as_root() -> bool {
        rustix::process::geteuid().is_root()
    }
}

/// A short stable id for a data directory, so that two servers sharing `/dev/shm` never reap
/// each other's sessions.
pub fn installation_id(data_dir: &Path) -> String {
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

/// A free TCP port on the loopback interface, for `PORT`.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

fn io_error(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Internal(format!("{what}: {e}"))
}

/// How to fix a sandbox that does not work, for the start-up refusal.
const SANDBOX_HELP: &str = "install bubblewrap and passt (apt-get install bubblewrap passt), \
     make /dev/net/tun readable and writable by the session uids (chmod 0666 /dev/net/tun), \
     or set LOCKBOX_LOCAL_SANDBOX=off to run sessions uncontained (one-user development only)";

/// A memory file holding `bytes`, read from the start by whoever inherits it.
fn memfd_with(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    let fd = rustix::fs::memfd_create("lockbox-session-env", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    file.rewind()?;
    Ok(file.into())
}

impl LocalBackend {
    /// Every variable the session gets, values included, in a fixed order.
    fn session_env<'a>(
        spec: &'a LaunchSpec,
        values: &'a Values,
        home: &'a str,
        secrets_dir: &'a str,
        port: &'a Option<String>,
        secret_env: &'a str,
    ) -> Result<Vec<(&'a str, &'a str)>, BackendError> {
        let mut env = vec![
            ("PATH", sandbox::PATH),
            ("HOME", home),
            ("LANG", "C.UTF-8"),
            (spec::ENV_SESSION_ID, spec.session_id.as_str()),
            (spec::ENV_SECRET_ENV, secret_env),
            (spec::ENV_SECRETS_DIR, secrets_dir),
        ];
        if let Some(port) = port {
            env.push((spec::ENV_PORT, port.as_str()));
        }
        // References were resolved from the project's namespace secrets before the start.
        let mut referenced = values.referenced(spec).iter();
        for extra in &spec.extra_env {
            match &extra.source {
                EnvSource::Literal(v) => env.push((extra.name.as_str(), v.as_str())),
                EnvSource::SecretRef { .. } => {
                    let value = referenced.next().ok_or_else(|| {
                        BackendError::Internal(format!(
                            "{}: a SECRET: reference reached the local backend unresolved",
                            extra.name
                        ))
                    })?;
                    env.push((extra.name.as_str(), value.expose()));
                }
            }
        }
        for (injection, value) in spec.injections.iter().zip(values.chosen(spec)) {
            if injection.mode == InjectMode::Env {
                env.push((injection.target.as_str(), value.expose()));
            }
        }
        Ok(env)
    }

    /// Writes the session's files and builds its command; the caller removes the directory
    /// if anything fails.
    fn prepare(
        &self,
        ready: &Ready,
        spec: &LaunchSpec,
        values: &Values,
        uid: Option<u32>,
    ) -> Result<(std::process::Command, Option<OwnedFd>, Option<u16>), BackendError> {
        let id = spec.session_id.as_str();
        let session_dir = ready
            .run
            .make_session(id, uid)
            .map_err(|e| io_error("cannot create the session directory", e))?;
        let host_dir = ready.run.session_path(id);
        // Sandboxed, the session directory itself is bound at the mount directory;
        // uncontained, it holds the secrets and a home side by side.
        let secrets = if self.options.sandbox {
            session_dir
        } else {
            for sub in ["secrets", "home"] {
                rustix::fs::mkdirat(&session_dir, sub, rustix::fs::Mode::from_raw_mode(0o700))
                    .map_err(|e| io_error("cannot create the session directory", e))?;
            }
            rustix::fs::openat(
                &session_dir,
                "secrets",
                rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::NOFOLLOW
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| io_error("cannot open the secrets directory", e))?
        };
        for (injection, value) in spec.injections.iter().zip(values.chosen(spec)) {
            if injection.mode == InjectMode::File {
                RunDir::write_secret(&secrets, &injection.target, value.expose().as_bytes(), uid)
                    .map_err(|e| io_error("cannot write a secret file", e))?;
            }
        }
        let port = spec
            .environment
            .port
            .map(|_| free_port())
            .transpose()
            .map_err(|e| io_error("cannot find a free port", e))?;
        let port_text = port.map(|p| p.to_string());
        let secret_env = spec.env_targets().join(" ");
        if !self.options.sandbox {
            let home = host_dir.join("home").display().to_string();
            let secrets_dir = host_dir.join("secrets").display().to_string();
            let env =
                Self::session_env(spec, values, &home, &secrets_dir, &port_text, &secret_env)?;
            let mut cmd = std::process::Command::new("/bin/sh");
            cmd.arg("-c")
                .arg(&spec.environment.local_command)
                .env_clear()
                .envs(env)
                .current_dir(&home);
            return Ok((cmd, None, port));
        }
        let env = Self::session_env(
            spec,
            values,
            sandbox::HOME,
            &spec.mount_dir,
            &port_text,
            &secret_env,
        )?;
        let args =
            sandbox::env_args(&env).map_err(|e| io_error("cannot pass the environment", e))?;
        let memfd = memfd_with(&args).map_err(|e| io_error("cannot pass the environment", e))?;
        let built = sandbox::Plan {
            layout: &ready.layout,
            secrets_dir: &host_dir,
            mount_dir: &spec.mount_dir,
            port,
            outbound: self.options.outbound,
            command: &spec.environment.local_command,
            // The memfd keeps its number in the child (only its close-on-exec flag is cleared).
            env_fd: memfd.as_raw_fd(),
        }
        .build();
        let mut cmd = std::process::Command::new(&built.program);
        cmd.args(&built.args)
            .env_clear()
            .env("PATH", sandbox::PATH)
            // Marks pasta as this session's, for the reaper after a crash.
            .env(spec::ENV_SESSION_ID, id)
            .current_dir("/");
        Ok((cmd, Some(memfd), port))
    }

    /// Starts a sandbox that runs `true`, to refuse start-up when sandboxes cannot work.
    async fn self_test(&self, ready: &Ready) -> Result<(), String> {
        for tool in [&ready.layout.pasta, &ready.layout.bwrap] {
            if !tool.is_file() {
                return Err(format!("{} is missing", tool.display()));
            }
        }
        if Self::as_root() {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata("/dev/net/tun")
                .map_err(|e| format!("/dev/net/tun: {e}"))?
                .permissions()
                .mode();
            if mode & 0o006 != 0o006 {
                return Err(format!(
                    "/dev/net/tun has mode {:o}: session uids cannot open it",
                    mode & 0o777
                ));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let spec = LaunchSpec {
            session_id: id.clone(),
            user_id: String::new(),
            project: crate::model::projects::DEFAULT_PROJECT.into(),
            namespace: String::new(),
            environment: crate::server::environments::Environment {
                name: "self-test".into(),
                description: String::new(),
                image: String::new(),
                command: Vec::new(),
                args: Vec::new(),
                port: None,
                resources: Default::default(),
                // The secrets are there; the server's run directory is not.
                local_command: format!("test -d /secrets && test ! -e '{}'", self.base.display()),
            },
            mount_dir: "/secrets".into(),
            injections: Vec::new(),
            extra_env: Vec::new(),
        };
        let log = Arc::new(LogBuffer::new(4096));
        let outcome = match self
            .spawn(ready, &spec, Values(Vec::new()), log.clone())
            .await
        {
            Ok((running, _)) => {
                let mut exit = running.exit;
                let waited =
                    tokio::time::timeout(Duration::from_secs(10), exit.wait_for(Option::is_some))
                        .await;
                match waited {
                    Ok(Ok(o)) => o.clone().unwrap_or(Err("no outcome".into())),
                    _ => Err("timed out".into()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let _ = ready.run.remove_session(&id);
        match outcome {
            Ok(0) => Ok(()),
            Ok(code) => Err(format!(
                "a test sandbox exited with status {code}: {}",
                log.tail(1024).trim()
            )),
            Err(why) => Err(format!(
                "a test sandbox failed: {why} {}",
                log.tail(1024).trim()
            )),
        }
    }

    /// Prepares and starts one session; on failure nothing it created is left.
    async fn spawn(
        &self,
        ready: &Ready,
        spec: &LaunchSpec,
        values: Values,
        log: Arc<LogBuffer>,
    ) -> Result<(Running, Option<u16>), BackendError> {
        let id = checked_id(&spec.session_id)?.to_string();
        let lease = match &ready.uids {
            Some(pool) => Some(pool.claim().map_err(|e| io_error("no session uid", e))?),
            None => None,
        };
        let uid = lease.as_ref().map(|l| l.uid);
        let prepared = self.prepare(ready, spec, &values, uid);
        drop(values);
        let (cmd, keep, port) = match prepared {
            Ok(ok) => ok,
            Err(e) => {
                let _ = ready.run.remove_session(&id);
                return Err(e);
            }
        };
        let how = Contain {
            uid,
            keep_fd: keep.as_ref().map(|fd| fd.as_raw_fd()),
            own_group: !self.options.sandbox,
        };
        let run = ready.run.clone();
        let cleanup_id = id.clone();
        // When the session has ended: its files go at once, then its uid is free again.
        let on_exit = move || {
            if let Err(e) = run.remove_session(&cleanup_id) {
                tracing::warn!(session = %cleanup_id, error = %e, "cannot remove an ended session's directory");
            }
            drop(lease);
        };
        let spawned = process::spawn(cmd, how, keep, log.clone(), id.clone(), on_exit).await;
        let spawned = match spawned {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.run.remove_session(&id);
                return Err(io_error("cannot start the session's command", e));
            }
        };
        if let Err(e) = ready.run.write_pid(&id, spawned.pid) {
            tracing::warn!(session = %id, error = %e, "cannot record a session's pid");
        }
        Ok((
            Running {
                pid: spawned.pid,
                group: (!self.options.sandbox).then_some(spawned.pid),
                log,
                exit: spawned.exit,
                reaped: spawned.reaped,
            },
            port,
        ))
    }
}

/// Signals a session: sandboxed, everything below pasta (pasta's child is the namespace's
/// init, which ignores SIGTERM from outside but takes the whole namespace down on SIGKILL);
/// uncontained, its group and its descendants. `pid` must be an unreaped child of this server
/// (see [`Running::signal`]) so that it and its group number are still the session's; each
/// descendant is signalled only if it is still the process listed.
fn signal_session(pid: i32, group: Option<i32>, sig: Signal) {
    let table = procs::table();
    let below = procs::descendants(&table, pid);
    procs::signal(below, sig);
    if let Some(g) = group {
        procs::signal_group(g, sig);
    }
    if sig == Signal::SIGKILL {
        procs::signal_child(pid, sig);
    }
}

/// Stops a running session: SIGTERM, then SIGKILL after the grace period; returns when its
/// process has ended (the clean-up has run by then). SIGTERM is repeated during the grace
/// period: a session stopped right after its launch may not have started its command yet.
async fn stop_running(running: &mut Running) {
    const SLICE: Duration = Duration::from_millis(100);
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    while running.exit.borrow().is_none() && tokio::time::Instant::now() < deadline {
        running.signal(Signal::SIGTERM);
        let wait = running.exit.wait_for(Option::is_some);
        let _ = tokio::time::timeout(SLICE, wait).await;
    }
    // Ended (on its own, long ago maybe): nothing to signal. Its pid and group number may
    // belong to someone else by now; what its group left running ended with it (see
    // `process::spawn`).
    if running.exit.borrow().is_some() {
        return;
    }
    running.signal(Signal::SIGKILL);
    let wait = running.exit.wait_for(Option::is_some);
    if tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .is_err()
    {
        tracing::warn!(pid = running.pid, "a session survived SIGKILL for 5 s");
    }
}

#[async_trait::async_trait]
impl SessionBackend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn start_up(&self) -> Result<(), BackendError> {
        let root = Self::as_root();
        if !self.options.sandbox {
            tracing::warn!(
                "LOCKBOX_LOCAL_SANDBOX=off: LOCAL SESSIONS RUN UNCONTAINED, as the server's own \
                 user, and can read the server's files, memory and every other session. Use \
                 this for one-user development only."
            );
        } else if !root {
            tracing::info!(
                "the server is not root: sessions run sandboxed in user namespaces as the \
                 server's own uid (LOCKBOX_SESSION_UIDS applies only to a root server)"
            );
        }
        // Session uids must traverse the run directory to reach their own directory (bwrap
        // binds it as the session's uid), so it is 0711 then: traversable, not listable.
        let mode = if self.options.sandbox && root {
            0o711
        } else {
            0o700
        };
        if let Some(parent) = self.base.parent() {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|e| io_error("run directory", e))?;
            }
        }
        let run = RunDir::open(self.base.clone(), mode)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        let uids = if self.options.sandbox && root {
            uids::check_unused(&self.options.uids).map_err(BackendError::Internal)?;
            Some(
                uids::UidPool::open(Path::new(uids::CLAIMS_DIR), self.options.uids.clone())
                    .map_err(|e| BackendError::Internal(e.to_string()))?,
            )
        } else {
            None
        };
        let ready = Ready {
            run: Arc::new(run),
            uids,
            layout: sandbox::HostLayout::probe(),
        };
        if self.options.sandbox {
            if let Err(why) = self.self_test(&ready).await {
                let _ = ready.run.remove_all();
                return Err(BackendError::Internal(format!(
                    "local sessions cannot be sandboxed: {why}. To fix it: {SANDBOX_HELP}"
                )));
            }
        }
        let _ = self.ready.set(ready);
        Ok(())
    }

    async fn start(&self, spec: &LaunchSpec, values: Values) -> Result<Started, BackendError> {
        let ready = self.ready()?;
        let log = Arc::new(LogBuffer::new(LOG_BYTES));
        let (running, port) = self.spawn(ready, spec, values, log).await?;
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(spec.session_id.clone(), running);
        }
        Ok(Started {
            url: port.map(|p| format!("http://127.0.0.1:{p}/")),
        })
    }

    async fn stop(&self, session: &SessionRef) -> Result<(), BackendError> {
        let id = checked_id(&session.session_id)?;
        let ready = self.ready()?;
        if let Some(mut running) = self.take(id) {
            stop_running(&mut running).await;
        } else {
            // Not started by this server process: whatever its pid file says is left.
            reap_session(&ready.run, id);
        }
        ready
            .run
            .remove_session(id)
            .map_err(|e| io_error("cannot remove the session directory", e))
    }

    async fn status(&self, session: &SessionRef) -> Result<Observed, BackendError> {
        let sessions = self
            .sessions
            .lock()
            .map_err(|_| BackendError::Internal("session table poisoned".into()))?;
        let Some(running) = sessions.get(&session.session_id) else {
            return Ok(Observed::Exited("no longer running".into()));
        };
        let exit = running.exit.borrow().clone();
        Ok(match exit {
            None => Observed::Running,
            Some(Ok(0)) => Observed::Exited("exited with status 0".into()),
            Some(Ok(code)) => Observed::Failed(format!("exited with status {code}")),
            Some(Err(why)) => Observed::Failed(why),
        })
    }

    async fn logs(
        &self,
        session: &SessionRef,
        after: Option<u64>,
        max_bytes: usize,
    ) -> Result<crate::model::session::LogChunk, BackendError> {
        let sessions = self
            .sessions
            .lock()
            .map_err(|_| BackendError::Internal("session table poisoned".into()))?;
        Ok(sessions
            .get(&session.session_id)
            .map(|s| s.log.read(after, max_bytes))
            .unwrap_or_default())
    }

    async fn reap(&self, live: &[SessionRef]) -> Result<Vec<String>, BackendError> {
        // Right after start-up this server runs no session: every directory is stale and every
        // session the database still marks live is gone (its processes died with the server;
        // any that did not are killed here).
        let ready = self.ready()?;
        let names = ready
            .run
            .entries()
            .map_err(|e| io_error("cannot read the run directory", e))?;
        for name in names {
            let id = name.strip_suffix(".pid").unwrap_or(&name);
            if checked_id(id).is_ok() {
                reap_session(&ready.run, id);
                ready
                    .run
                    .remove_session(id)
                    .map_err(|e| io_error("cannot remove a stale session directory", e))?;
            }
        }
        Ok(live.iter().map(|s| s.session_id.clone()).collect())
    }

    async fn shutdown(&self) {
        let running: Vec<(String, Running)> = match self.sessions.lock() {
            Ok(mut s) => s.drain().collect(),
            Err(_) => Vec::new(),
        };
        let mut stops = tokio::task::JoinSet::new();
        for (_, mut r) in running {
            stops.spawn(async move { stop_running(&mut r).await });
        }
        let stopped = stops.join_all().await;
        if let Some(ready) = self.ready.get() {
            if let Err(e) = ready.run.remove_all() {
                tracing::warn!(error = %e, "cannot remove the run directory");
            }
        }
        tracing::info!(sessions = stopped.len(), "local sessions stopped");
    }
}

/// Kills what a session's pid file names, if it is still that session (a crashed server's
/// session died with it, so its pid may well belong to another process by now): the process
/// only if it carries the session's id, its group (uncontained) while it is that group's
/// leader, and everything listed below it that is still what was listed.
fn reap_session(run: &RunDir, id: &str) {
    if let Some(pid) = run.read_pid(id).filter(|p| *p > 1) {
        let table = procs::table();
        let below = procs::descendants(&table, pid);
        let ours = procs::signal_if(pid, Signal::SIGKILL, |p| {
            let ours = procs::is_session_process(pid, id);
            if ours && p.pgrp == pid {
                // Checked just now: the group's number is this leader's.
                procs::signal_group(pid, Signal::SIGKILL);
            }
            ours
        });
        if ours {
            procs::signal(below, Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{extra_env, session::Injection, SecretValue};

    fn spec(extra: &str) -> LaunchSpec {
        LaunchSpec {
            session_id: "s".into(),
            user_id: "u".into(),
            project: "default".into(),
            namespace: "lockbox-sessions".into(),
            environment: crate::server::environments::Environment::demo(),
            mount_dir: "/secrets".into(),
            injections: vec![Injection {
                secret: "DB".into(),
                mode: InjectMode::Env,
                target: "PGPASSWORD".into(),
            }],
            extra_env: extra_env::parse(extra).unwrap(),
        }
    }

    fn values(v: &[&str]) -> Values {
        Values(v.iter().map(|s| SecretValue::new(s.to_string())).collect())
    }

    #[test]
    fn references_become_variables_in_the_order_typed() {
        let spec = spec("A=SECRET:creds,user\nB=plain\nC=SECRET:creds,password");
        let values = values(&["chosen", "ref-user", "ref-password"]);
        let env =
            LocalBackend::session_env(&spec, &values, "/home", "/secrets", &None, "PGPASSWORD")
                .unwrap();
        let get = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        assert_eq!(get("A"), Some("ref-user"));
        assert_eq!(get("B"), Some("plain"));
        assert_eq!(get("C"), Some("ref-password"));
        assert_eq!(get("PGPASSWORD"), Some("chosen"));
    }

    #[test]
    fn an_unresolved_reference_is_an_internal_error() {
        let spec = spec("A=SECRET:creds,user");
        let values = values(&["chosen"]);
        let err =
            LocalBackend::session_env(&spec, &values, "/home", "/secrets", &None, "").unwrap_err();
        assert!(matches!(err, BackendError::Internal(m) if m.contains("unresolved")));
    }
}
