//! Host uids for sessions, one per live session, when the server runs as root. A uid is
//! claimed by an exclusive `flock` on a file named after it in a root-only directory shared by
//! every Lockbox server on the machine, so servers running side by side never hand out the
//! same uid; the kernel releases the lock when the session ends or its server dies.

use super::rundir;
use rustix::fs::{flock, openat, FlockOperation, Mode, OFlags};
use std::{ops::RangeInclusive, os::fd::OwnedFd, path::Path};

/// Where the claims live: under /run, which only root can write to.
pub const CLAIMS_DIR: &str = "/run/lockbox-session-uids";
/// How many uids one claim tries before giving up (the range is searched from a random point).
const MAX_TRIES: u32 = 4096;

pub struct UidPool {
    dir: OwnedFd,
    range: RangeInclusive<u32>,
}

/// A claimed uid; dropping it releases the claim.
#[derive(Debug)]
pub struct UidLease {
    pub uid: u32,
    _lock: OwnedFd,
}

impl UidPool {
    /// Opens (creating if needed) the claims directory: owned by root, 0700, not a symlink.
    pub fn open(path: &Path, range: RangeInclusive<u32>) -> Result<Self, rundir::RunDirError> {
        let dir = rundir::own_dir(path, 0o700)?;
        Ok(Self { dir, range })
    }

    /// Claims a free uid of the range.
    pub fn claim(&self) -> std::io::Result<UidLease> {
        let (first, last) = (*self.range.start(), *self.range.end());
        let size = last - first + 1;
        let start = (uuid::Uuid::new_v4().as_u128() % u128::from(size)) as u32;
        for i in 0..size.min(MAX_TRIES) {
            let uid = first + (start + i) % size;
            let lock = openat(
                &self.dir,
                uid.to_string(),
                OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            match flock(&lock, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(UidLease { uid, _lock: lock }),
                Err(rustix::io::Errno::WOULDBLOCK) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(std::io::Error::other(
            "every session uid of LOCKBOX_SESSION_UIDS is in use",
        ))
    }
}

/// The host files that hand out uids and gids to people: a session uid (also used as its gid)
/// must be in none of them, or that person could become the session's uid (a sub-uid range
/// through `newuidmap`, or simply by being that user) and read its secret files.
pub const ID_FILES: [&str; 4] = ["/etc/subuid", "/etc/subgid", "/etc/passwd", "/etc/group"];

/// Where `range` meets an id that `text` (one of [`ID_FILES`], named `file`) gives out, if
/// anywhere. Sub-id files hold `name:first:count`; passwd and group files `name:x:id:…`.
pub fn overlap(range: &RangeInclusive<u32>, file: &str, text: &str) -> Option<String> {
    let sub_ids = file.ends_with("/subuid") || file.ends_with("/subgid");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let (first, last) = if sub_ids {
                let first: u64 = fields.get(1)?.trim().parse().ok()?;
                let count: u64 = fields.get(2)?.trim().parse().ok()?;
                (first, (first + count).checked_sub(1)?)
            } else {
                let id: u64 = fields.get(2)?.trim().parse().ok()?;
                (id, id)
            };
            let meets = first <= u64::from(*range.end()) && last >= u64::from(*range.start());
            meets.then(|| format!("{file} gives {} the ids {first}-{last}", fields[0]))
        })
}

/// Checks `range` against the host's [`ID_FILES`] (a missing file holds nothing).
pub fn check_unused(range: &RangeInclusive<u32>) -> Result<(), String> {
    for file in ID_FILES {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if let Some(found) = overlap(range, file, &text) {
            return Err(format!(
                "LOCKBOX_SESSION_UIDS ({}-{}) overlaps ids in use: {found}; choose a range \
                 no user, group or sub-id range holds",
                range.start(),
                range.end()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_handed_to_people_overlap() {
        let range = 200_000..=265_535;
        let subuid = "alice:100000:65536\nbob:165536:65536\n";
        assert_eq!(
            overlap(&range, "/etc/subuid", subuid).unwrap(),
            "/etc/subuid gives bob the ids 165536-231071"
        );
        assert!(overlap(&range, "/etc/subuid", "alice:100000:65536\n").is_none());
        let passwd = "root:x:0:0::/root:/bin/sh\n# note\nsvc:x:265535:265535::/:/bin/false\n";
        assert!(overlap(&range, "/etc/passwd", passwd)
            .unwrap()
            .contains("svc the ids 265535-265535"));
        assert!(overlap(&range, "/etc/group", "staff:x:50:\n").is_none());
        // Garbage lines are skipped, not trusted.
        assert!(overlap(&range, "/etc/subgid", "junk\n:x:y\n").is_none());
    }

    #[test]
    fn claims_are_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let claims = dir.path().join("claims");
        // Two pools on one directory stand for two servers.
        let a = UidPool::open(&claims, 5000..=5002).unwrap();
        let b = UidPool::open(&claims, 5000..=5002).unwrap();
        let l1 = a.claim().unwrap();
        let l2 = b.claim().unwrap();
        let l3 = a.claim().unwrap();
        let mut uids = vec![l1.uid, l2.uid, l3.uid];
        uids.sort();
        assert_eq!(uids, [5000, 5001, 5002]);
        assert!(b.claim().is_err(), "the range is exhausted");
        let freed = l2.uid;
        drop(l2);
        assert_eq!(b.claim().unwrap().uid, freed);
    }
}
