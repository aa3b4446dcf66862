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

#[cfg(test)]
mod tests {
    use super::*;

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
