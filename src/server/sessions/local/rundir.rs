//! The run directory and the session directories in it. The run directory is made with a plain
//! `mkdir` and accepted only if it is ours and not a symlink; everything under it is reached
//! relative to its directory handle without following symlinks, so nobody can redirect a write.

use rustix::fs::{
    fchmod, fchown, fstat, mkdir, mkdirat, openat, unlinkat, AtFlags, Dir, FileType, Gid, Mode,
    OFlags, Uid, CWD,
};
use std::{
    io::Write,
    os::fd::{AsFd, OwnedFd},
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{0} is a symbolic link or not a directory: refusing to use it (remove it, or set LOCKBOX_RUN_DIR)")]
    NotADirectory(PathBuf),
    #[error("{path} belongs to uid {owner}, not to this server (uid {us}): refusing to use it (remove it, or set LOCKBOX_RUN_DIR)")]
    NotOurs { path: PathBuf, owner: u32, us: u32 },
    #[error("{path} (owner uid {owner}, mode {mode:o}) lets others rename what is in it, so a session's directory could be swapped between its checks and its use: choose a LOCKBOX_RUN_DIR whose every parent only root or this server can write to (or is sticky, as /dev/shm is)")]
    UnsafeParent {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Whether a directory keeps others from renaming or replacing its entries: owned by root or
/// us, and writable by nobody else unless sticky (as `/tmp` and `/dev/shm` are). The sandbox
/// binds a session's directory by path, so every directory above it must be like this.
fn guards_its_entries(owner: u32, mode: u32, us: u32) -> bool {
    (owner == 0 || owner == us) && (mode & 0o022 == 0 || mode & 0o1000 != 0)
}

/// Checks every directory above `path` with [`guards_its_entries`].
fn check_parents(path: &Path, us: u32) -> Result<(), RunDirError> {
    use std::os::unix::fs::MetadataExt;
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let canonical =
        std::fs::canonicalize(parent).map_err(|e| RunDirError::Io(parent.to_path_buf(), e))?;
    for dir in canonical.ancestors() {
        let meta = std::fs::metadata(dir).map_err(|e| RunDirError::Io(dir.to_path_buf(), e))?;
        if !guards_its_entries(meta.uid(), meta.mode(), us) {
            return Err(RunDirError::UnsafeParent {
                path: dir.to_path_buf(),
                owner: meta.uid(),
                mode: meta.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::RDONLY);

/// Makes `path` (its parent must exist) or accepts an existing one, only if it is a directory
/// of ours and not a symlink; then sets its mode to `mode`.
pub fn own_dir(path: &Path, mode: u32) -> Result<OwnedFd, RunDirError> {
    let io = |e: rustix::io::Errno| RunDirError::Io(path.to_path_buf(), e.into());
    let us = rustix::process::geteuid().as_raw();
    check_parents(path, us)?;
    match mkdir(path, Mode::from_raw_mode(mode)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(io(e)),
    }
    let fd = match openat(CWD, path, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
            return Err(RunDirError::NotADirectory(path.to_path_buf()))
        }
        Err(e) => return Err(io(e)),
    };
    let st = fstat(&fd).map_err(io)?;
    if st.st_uid != us {
        return Err(RunDirError::NotOurs {
            path: path.to_path_buf(),
            owner: st.st_uid,
            us,
        });
    }
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(RunDirError::NotADirectory(path.to_path_buf()));
    }
    if st.st_mode & 0o7777 != mode {
        fchmod(&fd, Mode::from_raw_mode(mode)).map_err(io)?;
    }
    Ok(fd)
}

/// `<run dir>/lockbox-<installation>`, open.
pub struct RunDir {
    pub path: PathBuf,
    fd: OwnedFd,
}

impl RunDir {
    pub fn open(path: PathBuf, mode: u32) -> Result<Self, RunDirError> {
        let fd = own_dir(&path, mode)?;
        Ok(Self { path, fd })
    }

    /// Host path of a session's directory (what the sandbox binds at the mount directory).
    pub fn session_path(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Makes a session's directory, 0700, owned by `owner` (the session's uid) when given.
    pub fn make_session(&self, id: &str, owner: Option<u32>) -> std::io::Result<OwnedFd> {
        mkdirat(&self.fd, id, Mode::from_raw_mode(0o700))?;
        let dir = openat(&self.fd, id, DIR_FLAGS, Mode::empty())?;
        if let Some(uid) = owner {
            chown(&dir, uid)?;
        }
        Ok(dir)
    }

    /// Writes a read-only (0400) secret file that must not exist yet, owned by `owner`.
    pub fn write_secret(
        dir: &OwnedFd,
        name: &str,
        value: &[u8],
        owner: Option<u32>,
    ) -> std::io::Result<()> {
        if name.contains('/') || name == "." || name == ".." {
            return Err(std::io::Error::other("not a plain file name"));
        }
        let fd = openat(
            dir,
            name,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o400),
        )?;
        if let Some(uid) = owner {
            chown(&fd, uid)?;
        }
        std::fs::File::from(fd).write_all(value)
    }

    /// Writes `<id>.pid` (for the reaper after a crash), readable by the server only.
    pub fn write_pid(&self, id: &str, pid: i32) -> std::io::Result<()> {
        let fd = openat(
            &self.fd,
            format!("{id}.pid"),
            OFlags::CREATE | OFlags::TRUNC | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        std::fs::File::from(fd).write_all(pid.to_string().as_bytes())
    }

    pub fn read_pid(&self, id: &str) -> Option<i32> {
        let fd = openat(
            &self.fd,
            format!("{id}.pid"),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        std::io::read_to_string(std::fs::File::from(fd))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Removes a session's directory, its files and its pid file; gone already is fine.
    pub fn remove_session(&self, id: &str) -> std::io::Result<()> {
        remove_tree(&self.fd, id)?;
        ignore_missing(unlinkat(&self.fd, format!("{id}.pid"), AtFlags::empty()))
    }

    /// The names in the run directory (session directories and pid files).
    pub fn entries(&self) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in Dir::read_from(&self.fd)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Removes everything in it, then the directory itself (at shutdown).
    pub fn remove_all(&self) -> std::io::Result<()> {
        for name in self.entries()? {
            remove_tree(&self.fd, &name)?;
        }
        ignore_missing(rustix::fs::rmdir(&self.path))
    }
}

fn chown(fd: impl AsFd, uid: u32) -> std::io::Result<()> {
    // SAFETY-free: rustix takes raw ids; the uid comes from the configured range.
    fchown(fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(uid)))?;
    Ok(())
}

fn ignore_missing(r: rustix::io::Result<()>) -> std::io::Result<()> {
    match r {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` under `parent`: a file, or a directory with everything in it, never
/// following a symlink.
fn remove_tree(parent: &OwnedFd, name: &str) -> std::io::Result<()> {
    match unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(rustix::io::Errno::ISDIR) | Err(rustix::io::Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let dir = match openat(parent, name, DIR_FLAGS, Mode::empty()) {
        Ok(d) => d,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in Dir::read_from(&dir)? {
        let entry = entry?;
        let child = entry.file_name().to_string_lossy().into_owned();
        if child != "." && child != ".." {
            remove_tree(&dir, &child)?;
        }
    }
    ignore_missing(unlinkat(parent, name, AtFlags::REMOVEDIR))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn parents_must_keep_others_from_renaming() {
        assert!(guards_its_entries(0, 0o40755, 1000));
        assert!(guards_its_entries(1000, 0o40700, 1000));
        assert!(guards_its_entries(0, 0o41777, 1000), "sticky, as /dev/shm");
        assert!(
            !guards_its_entries(0, 0o40777, 1000),
            "world-writable, not sticky"
        );
        assert!(!guards_its_entries(0, 0o40775, 1000), "group-writable");
        assert!(!guards_its_entries(4242, 0o40755, 1000), "someone else's");
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = RunDir::open(open.join("lockbox-x"), 0o700).err().unwrap();
        assert!(matches!(e, RunDirError::UnsafeParent { .. }), "{e}");
        assert!(!open.join("lockbox-x").exists(), "nothing made there");
        let e = RunDir::open(tmp.path().join("fine"), 0o700);
        assert!(e.is_ok(), "{:?}", e.err());
    }

    #[test]
    fn a_planted_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = tmp.path().join("lockbox-x");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = RunDir::open(link, 0o700).err().unwrap();
        assert!(matches!(e, RunDirError::NotADirectory(_)), "{e}");
        assert!(e.to_string().contains("symbolic link"));
    }

    #[test]
    fn a_planted_directory_of_another_owner_is_refused() {
        if !rustix::process::geteuid().is_root() {
            return; // only root can make a directory someone else owns
        }
        let tmp = tempfile::tempdir().unwrap();
        let planted = tmp.path().join("lockbox-x");
        std::fs::create_dir(&planted).unwrap();
        std::os::unix::fs::chown(&planted, Some(4242), Some(4242)).unwrap();
        let e = RunDir::open(planted, 0o700).err().unwrap();
        assert!(e.to_string().contains("uid 4242"), "{e}");
    }

    #[test]
    fn sessions_are_made_and_removed_under_the_handle() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lockbox-x");
        let run = RunDir::open(path.clone(), 0o711).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o711);
        let dir = run.make_session("abc", None).unwrap();
        RunDir::write_secret(&dir, "token.txt", b"v", None).unwrap();
        assert!(RunDir::write_secret(&dir, "token.txt", b"v", None).is_err());
        assert!(RunDir::write_secret(&dir, "../x", b"v", None).is_err());
        let file = std::fs::metadata(path.join("abc/token.txt")).unwrap();
        assert_eq!(file.mode() & 0o7777, 0o400);
        assert_eq!(
            std::fs::metadata(path.join("abc")).unwrap().mode() & 0o7777,
            0o700
        );
        run.write_pid("abc", 42).unwrap();
        assert_eq!(run.read_pid("abc"), Some(42));
        run.remove_session("abc").unwrap();
        assert!(run.entries().unwrap().is_empty());
        run.make_session("def", None).unwrap();
        run.remove_all().unwrap();
        assert!(!path.exists());
    }
}
