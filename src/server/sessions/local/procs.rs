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
}

/// From `/proc/<pid>/stat`: parent and process group, unless the process is a zombie. The
/// command name (field 2) may hold spaces and parentheses, so fields are counted after the
/// last ')'.
pub fn parse_stat(pid: i32, stat: &str) -> Option<Proc> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    (state != "Z" && state != "X").then_some(Proc { pid, ppid, pgrp })
}

/// Every live process of the host.
pub fn table() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| parse_stat(pid, &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?))
        .collect()
}

/// The live descendants of `root` (not `root` itself), parents before children.
pub fn descendants(table: &[Proc], root: i32) -> Vec<i32> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(table.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    found.remove(0);
    found
}

/// Whether a process of the group still runs (zombies do not count).
pub fn group_alive(table: &[Proc], pgrp: i32) -> bool {
    table.iter().any(|p| p.pgrp == pgrp)
}

pub fn signal(pids: impl IntoIterator<Item = i32>, sig: Signal) {
    for pid in pids {
        if pid > 1 {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
        }
    }
}

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
        let p = |pid, ppid, pgrp| Some(Proc { pid, ppid, pgrp });
        assert_eq!(parse_stat(42, "42 (sh) S 1 42 42 0 -1"), p(42, 1, 42));
        assert_eq!(parse_stat(43, "43 (a) b) (c) R 42 41 41 0"), p(43, 42, 41));
        assert_eq!(parse_stat(44, "44 (sleep) Z 42 42 42 0"), None);
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[test]
    fn descendants_follow_the_tree() {
        let p = |pid, ppid| Proc { pid, ppid, pgrp: 0 };
        let t = [
            p(10, 1),
            p(11, 10),
            p(12, 11),
            p(13, 11),
            p(20, 1),
            p(14, 12),
        ];
        assert_eq!(descendants(&t, 10), [11, 12, 13, 14]);
        assert!(descendants(&t, 20).is_empty());
    }
}
