//! Starting a session's process from a thread of its own that lives exactly as long as the
//! process: the parent-death signal follows the thread that forked, so a session dies with
//! the server (even on SIGKILL) and never with some pool thread that happened to spawn it.
//! The same thread collects the output, waits for the end and runs the clean-up at once.

use super::super::logbuf::LogBuffer;
use std::{
    io::Read,
    os::{
        fd::{OwnedFd, RawFd},
        unix::process::CommandExt,
    },
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Instant,
};
use tokio::sync::{oneshot, watch};

/// The most processes a session with a uid of its own may run at once.
const MAX_PROCESSES: u64 = 1024;

/// How a session ended: `Ok(code)` or `Err(signal description)`.
pub type Outcome = Result<i32, String>;

/// Credentials and descriptors the child takes on between fork and exec.
pub struct Contain {
    /// Host uid (and gid) to drop to; `None` keeps the server's (when it is not root).
    pub uid: Option<u32>,
    /// A descriptor the program must inherit (bwrap's `--args`).
    pub keep_fd: Option<RawFd>,
    /// Its own process group (the uncontained mode stops sessions by group).
    pub own_group: bool,
}

pub struct Spawned {
    pub pid: i32,
    pub exit: watch::Receiver<Option<Outcome>>,
    pub reaped: Reaped,
}

/// Keeps signals by pid from reaching anyone but the session. Until the session's process is
/// reaped it keeps its pid (as a zombie, once it has exited), and, as a group leader, its
/// group's number; once reaped, both may be given to any new process. The session's thread
/// reaps only while holding this lock, and marks it; a stop signals only under the lock and
/// only when not marked.
#[derive(Clone, Default)]
pub struct Reaped(Arc<Mutex<bool>>);

impl Reaped {
    /// Runs `signal` while the process is not reaped, and keeps it unreaped meanwhile;
    /// returns whether it ran.
    pub fn unless_reaped(&self, signal: impl FnOnce()) -> bool {
        let reaped = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if *reaped {
            return false;
        }
        signal();
        true
    }
}

/// Applies `contain` in the child. Only async-signal-safe calls (raw syscalls) run there.
fn contain(cmd: &mut Command, contain: Contain) {
    let server = rustix::process::getpid();
    if contain.own_group {
        cmd.process_group(0);
    }
    // SAFETY: the closure runs in the forked child before exec and makes only raw system
    // calls through rustix: no allocation, no locks.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(uid) = contain.uid {
                let id = rustix::fs::Gid::from_raw(uid);
                rustix::thread::set_thread_groups(&[])?;
                rustix::thread::set_thread_res_gid(id, id, id)?;
                let id = rustix::fs::Uid::from_raw(uid);
                rustix::thread::set_thread_res_uid(id, id, id)?;
                // The uid is the session's alone, so this caps the session's processes (a
                // fork bomb) without touching anyone else's.
                let most = Some(MAX_PROCESSES);
                rustix::process::setrlimit(
                    rustix::process::Resource::Nproc,
                    rustix::process::Rlimit {
                        current: most,
                        maximum: most,
                    },
                )?;
            }
            // After the uid change, which clears it.
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            if rustix::process::getppid() != Some(server) {
                // The server died between fork and here.
                return Err(std::io::Error::other("the server is gone"));
            }
            if let Some(fd) = contain.keep_fd {
                let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            }
            Ok(())
        });
    }
}

/// Starts `cmd` on a new thread; `on_exit` runs on that thread when the process has ended,
/// before the outcome is published.
pub async fn spawn(
    mut cmd: Command,
    how: Contain,
    keep: Option<OwnedFd>,
    log: Arc<LogBuffer>,
    session: String,
    on_exit: impl FnOnce() + Send + 'static,
) -> std::io::Result<Spawned> {
    let (reader, writer) = std::io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer));
    let own_group = how.own_group;
    contain(&mut cmd, how);
    let (started_tx, started_rx) = oneshot::channel();
    let (exit_tx, exit_rx) = watch::channel(None);
    let reaped = Reaped::default();
    let reaper = reaped.clone();
    std::thread::Builder::new()
        .name(format!("session-{}", &session[..8.min(session.len())]))
        .stack_size(256 * 1024)
        .spawn(move || {
            let child = cmd.spawn();
            // The command's copy of the environment and the descriptors go now.
            drop(cmd);
            drop(keep);
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            let spawned = Instant::now();
            let pid = child.id() as i32;
            let _ = started_tx.send(Ok(pid));
            pump(reader, &log, &session, spawned);
            wait_unreaped(pid);
            let waited = {
                let mut marked = reaper.0.lock().unwrap_or_else(|e| e.into_inner());
                if own_group {
                    // The session has ended: what it left running in its group ends with it (as
                    // a sandbox's namespace does), now, while the group's number is its own.
                    super::procs::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
                }
                let waited = child.wait();
                *marked = true;
                waited
            };
            let outcome = match waited {
                Ok(status) => match status.code() {
                    Some(code) => Ok(code),
                    None => Err(describe_signal(&status)),
                },
                Err(e) => Err(format!("lost track of the process: {e}")),
            };
            on_exit();
            let _ = exit_tx.send(Some(outcome));
        })?;
    let pid = started_rx
        .await
        .map_err(|_| std::io::Error::other("the session thread ended early"))??;
    Ok(Spawned {
        pid,
        exit: exit_rx,
        reaped,
    })
}

/// Waits until the child `pid` has exited, leaving it to be reaped.
fn wait_unreaped(pid: i32) {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    loop {
        match waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            // Exited, or an error (no such child): the reaping wait says which.
            _ => return,
        }
    }
}

/// Copies output into the log until every writer has closed it.
fn pump(mut reader: std::io::PipeReader, log: &LogBuffer, session: &str, spawned: Instant) {
    let mut seen = false;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !seen {
                    seen = true;
                    let after_spawn_ms = spawned.elapsed().as_secs_f64() * 1000.0;
                    tracing::debug!(session = %session, after_spawn_ms, "first output");
                }
                log.push(&buf[..n]);
            }
        }
    }
}

fn describe_signal(status: &std::process::ExitStatus) -> String {
    use nix::sys::signal::Signal;
    use std::os::unix::process::ExitStatusExt;
    match status.signal().and_then(|s| Signal::try_from(s).ok()) {
        Some(sig) => format!("killed by {sig}"),
        None => "ended abnormally".into(),
    }
}
