//! The generated key files of the embedded default, in the data directory: `master.key` (the
//! active key), `master.key.previous` (keys a rotation retired, kept until nothing uses them),
//! and `master.key.lock`, which every change to them holds (an exclusive advisory lock), so a
//! `lockbox keys rotate` on the host and a running server's removal of unused previous keys
//! never rewrite `master.key.previous` at once.
//!
//! Everything here is blocking file work (reads, writes, fsyncs): async code runs it through
//! [`blocking`], never on the async worker threads.

use super::KeyError;
use crate::server::{
    config::{split_key_list, Config},
    crypto::Kek,
    db::rotation::KeyUse,
};
use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

const KEY_FILE: &str = "master.key";
const PREVIOUS_FILE: &str = "master.key.previous";
/// The lock file's name, as messages give it (never the full path: it reaches the browser).
pub const LOCK_FILE: &str = "master.key.lock";

/// Runs blocking key-file work on tokio's blocking threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| KeyError::Task(e.to_string()))?
}

pub(super) fn bad_file(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::BadKeyFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The key files of one data directory.
#[derive(Clone, Debug)]
pub struct KeyFiles {
    dir: PathBuf,
}

/// Holds the exclusive lock on `master.key.lock` until dropped (closing the file releases it).
/// Functions that change the key files take one as proof that the caller holds it.
#[derive(Debug)]
pub struct KeyFilesLock {
    _file: File,
}

/// What the key files held before a rotation, to put back if it cannot complete.
pub struct Backup {
    files: KeyFiles,
    key: Option<Zeroizing<Vec<u8>>>,
    previous: Option<Zeroizing<Vec<u8>>>,
}

impl KeyFiles {
    pub fn of(config: &Config) -> Self {
        Self {
            dir: config.data_dir.clone(),
        }
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    pub fn previous(&self) -> PathBuf {
        self.dir.join(PREVIOUS_FILE)
    }

    /// Takes the lock on the key files, or refuses at once when another process (or another
    /// task of this one) holds it: waiting would leave a command hanging behind a server.
    pub fn lock(&self) -> Result<KeyFilesLock, KeyError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| bad_file(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(KeyFilesLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(KeyError::KeyFilesBusy),
            Err(std::fs::TryLockError::Error(e)) => Err(bad_file(&path, e)),
        }
    }

    /// The active key in `master.key`, if the file exists.
    pub fn read_active(&self) -> Result<Option<Kek>, KeyError> {
        let path = self.key();
        match read_private(&path) {
            Ok(text) => Kek::from_base64(&text)
                .map(Some)
                .map_err(|e| bad_file(&path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad_file(&path, e)),
        }
    }

    /// The keys in `master.key.previous` (none if it does not exist).
    pub fn read_previous(&self) -> Result<Vec<Kek>, KeyError> {
        let path = self.previous();
        match read_private(&path) {
            Ok(text) => split_key_list(&text)
                .iter()
                .map(|k| Kek::from_base64(k).map_err(|e| bad_file(&path, e)))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(bad_file(&path, e)),
        }
    }

    /// Writes a first `master.key`; never replaces one (two first starts at once: one wins,
    /// the other fails and is restarted).
    pub fn create_active(&self, kek: &Kek) -> Result<(), KeyError> {
        let path = self.key();
        (|| {
            std::fs::create_dir_all(&self.dir)?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all(key_list_text(&[kek]).as_bytes())?;
            file.sync_all()
        })()
        .map_err(|e| bad_file(&path, e))
    }

    /// The current key joins `master.key.previous`, then a new key replaces `master.key` (both
    /// written atomically, 0600). In that order, a crash between the two leaves the old key in
    /// both files, never in neither. Returns what the files held before (for
    /// [`Backup::restore`]), and the old and the new key.
    pub fn rotate(&self, _lock: &KeyFilesLock) -> Result<(Backup, String, Kek), KeyError> {
        let backup = Backup::take(self)?;
        let result = (|| {
            let path = self.key();
            let old = self
                .read_active()?
                .ok_or_else(|| bad_file(&path, "it does not exist"))?;
            let mut previous = self.read_previous()?;
            let old_id = old.id().to_string();
            if !previous.iter().any(|k| k.id() == old_id) {
                previous.push(old);
            }
            let list: Vec<&Kek> = previous.iter().collect();
            let previous_path = self.previous();
            write_private_atomically(&previous_path, key_list_text(&list).as_bytes())
                .map_err(|e| bad_file(&previous_path, e))?;
            let new = Kek::generate();
            write_private_atomically(&path, key_list_text(&[&new]).as_bytes())
                .map_err(|e| bad_file(&path, e))?;
            Ok((old_id, new))
        })();
        match result {
            Ok((old_id, new)) => Ok((backup, old_id, new)),
            // Half done (the previous-keys file written, say): put both back.
            Err(e) => Err(match backup.restore() {
                Ok(()) => e,
                Err(restore) => KeyError::RestoreFailed {
                    cause: Box::new(e),
                    restore: restore.to_string(),
                },
            }),
        }
    }

    /// Removes from `master.key.previous` the keys that wrap nothing in `in_use`, except `keep`
    /// (the running server's own active key: after a `lockbox keys rotate` it sits in the
    /// previous-keys file while the server, not yet restarted, still wraps new keys with it).
    /// The file goes when it empties. This destroys them: a backup whose keys only they wrap can
    /// no longer be read. Returns the ids removed.
    pub fn forget_unused(
        &self,
        _lock: &KeyFilesLock,
        in_use: &[KeyUse],
        keep: &str,
    ) -> Result<Vec<String>, KeyError> {
        let path = self.previous();
        let previous = self.read_previous()?;
        let needed = |k: &Kek| k.id() == keep || in_use.iter().any(|u| u.key_id == k.id());
        let (kept, dropped): (Vec<&Kek>, Vec<&Kek>) = previous.iter().partition(|k| needed(k));
        if dropped.is_empty() {
            return Ok(Vec::new());
        }
        if kept.is_empty() {
            remove_durably(&path).map_err(|e| bad_file(&path, e))?;
        } else {
            write_private_atomically(&path, key_list_text(&kept).as_bytes())
                .map_err(|e| bad_file(&path, e))?;
        }
        Ok(dropped.iter().map(|k| k.id().to_string()).collect())
    }
}

impl Backup {
    fn take(files: &KeyFiles) -> Result<Self, KeyError> {
        let read = |path: PathBuf| match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad_file(&path, e)),
        };
        Ok(Self {
            files: files.clone(),
            key: read(files.key())?,
            previous: read(files.previous())?,
        })
    }

    /// Puts both files back as they were (atomically, 0600; a file that did not exist is
    /// removed). `master.key` first: a crash between the two leaves the old key active and
    /// still listed as previous, which is harmless.
    pub fn restore(&self) -> io::Result<()> {
        for (path, bytes) in [
            (self.files.key(), &self.key),
            (self.files.previous(), &self.previous),
        ] {
            match bytes {
                Some(bytes) => write_private_atomically(&path, bytes)?,
                None => match remove_durably(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

/// Reads a key file (one key, or a list for the previous-keys file) that must be private.
fn read_private(path: &Path) -> io::Result<Zeroizing<String>> {
    crate::server::data_dir::secure_existing_file(path)?;
    std::fs::read_to_string(path).map(Zeroizing::new)
}

fn key_list_text(keys: &[&Kek]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::new());
    for k in keys {
        text.push_str(&k.to_base64());
        text.push('\n');
    }
    text
}

/// Writes `contents` to `path` atomically with mode 0600: a private temporary file in the same
/// directory, synced, renamed over the target, and the directory synced.
fn write_private_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes `path` and syncs its directory, so the removal survives a crash.
fn remove_durably(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}
