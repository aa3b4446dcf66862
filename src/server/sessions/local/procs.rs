//! Finding and signalling a session's processes. A sandboxed session is everything below its
//! `pasta` process: pasta's child is the init of the session's PID namespace, so orphans
//! re-parent inside the tree, `setsid` changes nothing, and killing that init ends them all.
//! An uncontained session (`LOCKBOX_LOCAL_SANDBOX=off`) is also its process group.

use nix::{sys::signal::Signal, unistd::Pid};
use std::fs;

/// One live process from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    /// Start time in clock ticks since boot: with the pid, it names one process (a pid freed and
    /// reused belongs to a process that started later).
    pub start: u64,
}

/// From `/proc/<pid>/stat`: parent, process group and start time, unless the process is a
/// zombie. The command name (field 2) may hold spaces and parentheses, so fields are counted
/// after the last ')'.
pub fn parse_stat(pid: i32, stat: &str) -> Option<Proc> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Field 22 (starttime) is the 19th after the state.
    let start = fields.nth(16)?.parse().ok()?;
    (state != "Z" && state != "X").then_some(Proc {
        pid,
        ppid,
        pgrp,
        start,
    })
}

fn stat_of(pid: i32) -> Option<Proc> {
    parse_stat(pid, &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every live process of the host.
pub fn table() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat_of)
        .collect()
}

/// The live descendants of `root` (not `root` itself), parents before children.
pub fn descendants(table: &[Proc], root: i32) -> Vec<Proc> {
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![root];
    let mut i = 0;
    while i < parents.len() {
        let parent = parents[i];
        for p in table.iter().filter(|p| p.ppid == parent) {
            found.push(*p);
            parents.push(p.pid);
        }
        i += 1;
    }
    found
}

/// Signals processes of a listing, each only if it is still the process listed: a listed
/// process may have ended and its pid been given to another since (see [`signal_if`]).
pub fn signal(procs: impl IntoIterator<Item = Proc>, sig: Signal) {
    for listed in procs {
        signal_if(listed.pid, sig, |now| now.start == listed.start);
    }
}

/// Sends `sig` to `pid` only if `is_it` holds for the process that has that pid, and only to
/// that process: a pidfd pins the process first, the check reads `/proc/<pid>`, and the pidfd
/// then shows the pinned process still alive (so the check read that process, not one that
/// got its pid later); the signal goes through the pidfd. Returns whether it was sent.
pub fn signal_if(pid: i32, sig: Signal, is_it: impl FnOnce(&Proc) -> bool) -> bool {
    if pid <= 1 {
        return false;
    }
    let Some(raw) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    let Ok(fd) = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()) else {
        return false;
    };
    let checked = stat_of(pid).is_some_and(|p| is_it(&p));
    if !checked || !pidfd_alive(&fd) {
        return false;
    }
    // SAFETY: a nix `Signal` is a valid signal number.
    let sig = unsafe { rustix::process::Signal::from_raw_unchecked(sig as i32) };
    rustix::process::pidfd_send_signal(&fd, sig).is_ok()
}

/// Whether the process a pidfd pins is still running (not yet exited): its `fdinfo` shows its
/// pid, or -1 once it has exited.
fn pidfd_alive(fd: &std::os::fd::OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).is_ok_and(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|v| v.trim().parse::<i32>().ok())
            .is_some_and(|p| p > 0)
    })
}

/// Signals one process by pid, without a check: only for a child of this server that has not
/// been reaped (a zombie keeps its pid), see `process::Reaped`.
pub fn signal_child(pid: i32, sig: Signal) {
    if pid > 1 {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
    }
}

/// Signals a process group by number: only for the group of a child of this server that has
/// not been reaped (its leader keeps the number), see `process::Reaped`.
pub fn signal_group(pgrp: i32, sig: Signal) {
    if pgrp > 1 {
        let _ = nix::sys::signal::killpg(Pid::from_raw(pgrp), sig);
    }
}

/// Whether `pid` carries `LOCKBOX_SESSION_ID=<id>` in its environment, so that a reused pid is
/// never killed by mistake after a crash.
pub fn is_session_process(pid: i32, id: &str) -> bool {
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{}={id}", super::super::spec::ENV_SESSION_ID);
    environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_fields() {
        let p = |pid, ppid, pgrp| {
            Some(Proc {
                pid,
                ppid,
                pgrp,
                start: 7_777,
            })
        };
        let tail = "0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 7777 2420736 133";
        assert_eq!(
            parse_stat(42, &format!("42 (sh) S 1 42 42 {tail}")),
            p(42, 1, 42)
        );
        assert_eq!(
            parse_stat(43, &format!("43 (a) b) (c) R 42 41 41 {tail}")),
            p(43, 42, 41)
        );
        assert_eq!(
            parse_stat(44, &format!("44 (sleep) Z 42 42 42 {tail}")),
            None
        );
        assert_eq!(parse_stat(45, "45 (sh) S 1 45 45 0 -1"), None, "too short");
        assert_eq!(parse_stat(1, "garbage"), None);
        // This process, read for real: its start time does not change between two reads.
        let me = std::process::id() as i32;
        let a = stat_of(me).unwrap();
        assert_eq!(a.pid, me);
        assert!(a.start > 0);
        assert_eq!(stat_of(me), Some(a));
    }

    #[test]
    fn descendants_follow_the_tree() {
        let p = |pid, ppid| Proc {
            pid,
            ppid,
            pgrp: 0,
            start: 0,
        };
        let t = [
            p(10, 1),
            p(11, 10),
            p(12, 11),
            p(13, 11),
            p(20, 1),
            p(14, 12),
        ];
        let pids: Vec<i32> = descendants(&t, 10).iter().map(|p| p.pid).collect();
        assert_eq!(pids, [11, 12, 13, 14]);
        assert!(descendants(&t, 20).is_empty());
    }
}
