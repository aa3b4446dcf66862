//! The keyring: where the master keys (KEKs) come from, the start-up key check that refuses a
//! key set which cannot open this database before anything is written, and the generated key
//! files of the embedded default (`master.key`, `master.key.previous`).

use crate::server::{
    config::{split_key_list, Config},
    crypto::{CryptoError, Kek},
    db::{self, audit::AuditEvent, rotation::KeyUse, Db},
    projects::By,
};
use std::{
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock, Weak},
    time::{Duration, Instant},
};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("LOCKBOX_MASTER_KEY is not usable: {0} (it must be 32 random bytes in base64, e.g. from `openssl rand -base64 32`)")]
    BadKey(CryptoError),
    #[error("the key file {path} is not usable: {reason}")]
    BadKeyFile { path: String, reason: String },
    #[error(
        "the master key does not match this database: its data was encrypted with key id {expected}, \
         but the key given has id {given}. Start Lockbox with the original LOCKBOX_MASTER_KEY (or \
         LOCKBOX_MASTER_KEY_FILE). Nothing was changed."
    )]
    WrongKey { expected: String, given: String },
    #[error(
        "the master key does not match this database: it holds data keys wrapped by key id \
         {missing}, which this server does not hold (it holds {held}). Give that key as \
         LOCKBOX_MASTER_KEY, or list it in LOCKBOX_PREVIOUS_MASTER_KEYS while a rotation moves \
         everything to the new key. Nothing was changed."
    )]
    MissingKeys { missing: String, held: String },
    #[error(
        "this database holds encrypted data (key id {expected}) but no master key was given and \
         {path} does not exist. Set LOCKBOX_MASTER_KEY (or LOCKBOX_MASTER_KEY_FILE) to the original \
         key. Nothing was changed."
    )]
    MissingKey { expected: String, path: String },
    #[error("the key check for key id {0} failed: the stored check does not open with this key")]
    CheckFailed(String),
    #[error(
        "the master key comes from LOCKBOX_MASTER_KEY or LOCKBOX_MASTER_KEY_FILE, so Lockbox \
         does not rotate it itself; follow the rolling procedure instead (nothing was changed)"
    )]
    NotAKeyFile,
    #[error(
        "a key rotation is still rewrapping ({done} of {total} wrapped keys are under the active \
         key); start another once it has completed. Nothing was changed."
    )]
    RotationInProgress { done: i64, total: i64 },
    #[error("database error during the key check: {0}")]
    Db(#[from] sqlx::Error),
}

/// The keys this server holds: one active KEK wraps new data keys; previous ones still unwrap
/// data keys that rotation has not yet moved to the active one.
pub struct Keyring {
    active: Kek,
    previous: Vec<Kek>,
}

impl Keyring {
    pub fn new(active: Kek) -> Self {
        Self::with_previous(active, Vec::new())
    }

    /// Duplicates (and the active key listed again as previous) are dropped.
    pub fn with_previous(active: Kek, previous: Vec<Kek>) -> Self {
        let mut kept: Vec<Kek> = Vec::new();
        for k in previous {
            if k.id() != active.id() && !kept.iter().any(|p| p.id() == k.id()) {
                kept.push(k);
            }
        }
        Self {
            active,
            previous: kept,
        }
    }

    pub fn active(&self) -> &Kek {
        &self.active
    }

    pub fn previous(&self) -> &[Kek] {
        &self.previous
    }

    /// The KEK with this id, if held.
    pub fn get(&self, key_id: &str) -> Option<&Kek> {
        std::iter::once(&self.active)
            .chain(&self.previous)
            .find(|k| k.id() == key_id)
    }

    pub fn holds(&self, key_id: &str) -> bool {
        self.get(key_id).is_some()
    }

    /// Every held key id, the active one first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(&self.active)
            .chain(&self.previous)
            .map(Kek::id)
            .collect()
    }
}

impl KeyError {
    /// What a server function answers: the two refusals of a rotation with their codes; any
    /// other failure is logged (its text names key ids and paths, never a key) and answered 500.
    pub fn into_app_error(self) -> crate::model::AppError {
        use crate::model::{AppError, Code, RuleError};
        match self {
            KeyError::NotAKeyFile => AppError::field(
                "rotation",
                RuleError::new(
                    Code::Unsupported,
                    "This server's master key comes from LOCKBOX_MASTER_KEY or \
                     LOCKBOX_MASTER_KEY_FILE, so Lockbox does not rotate it itself: follow the \
                     rolling procedure. Nothing was changed.",
                ),
            ),
            KeyError::RotationInProgress { done, total } => AppError::Conflict {
                field: "rotation".into(),
                message: format!(
                    "A key rotation is still rewrapping ({done} of {total} wrapped keys are under \
                     the active key). Start another once it has completed. Nothing was changed."
                ),
            },
            other => crate::server::error::internal("starting a key rotation", other),
        }
    }
}

/// The keyring of a running server, which an online rotation switches to a new active key
/// without a restart. Callers take a snapshot ([`LiveKeyring::current`]) per operation and use
/// it throughout, so one operation never mixes two keyrings; an operation that took its
/// snapshot just before a switch may still wrap one key under the old active key, which stays
/// held as a previous key, and the background rewrap moves it on its next pass.
#[derive(Clone)]
pub struct LiveKeyring(Arc<Live>);

struct Live {
    current: RwLock<Arc<Keyring>>,
    /// When the keyring was last switched (none since start-up: `None`).
    switched_at: Mutex<Option<Instant>>,
    /// The keyrings switched away from, while any operation may still hold one as its snapshot
    /// (and so may still wrap a key with its active key).
    retired: Mutex<Vec<Weak<Keyring>>>,
    /// Wakes the background rewrap after a switch.
    wake: tokio::sync::Notify,
    /// One rotation at a time in this process.
    rotating: tokio::sync::Mutex<()>,
}

impl LiveKeyring {
    pub fn new(keyring: Keyring) -> Self {
        Self(Arc::new(Live {
            current: RwLock::new(Arc::new(keyring)),
            switched_at: Mutex::new(None),
            retired: Mutex::new(Vec::new()),
            wake: tokio::sync::Notify::new(),
            rotating: tokio::sync::Mutex::new(()),
        }))
    }

    /// The keyring now: a snapshot to use for one whole operation.
    pub fn current(&self) -> Arc<Keyring> {
        self.0
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Switches to `keyring` and wakes the background rewrap.
    fn switch(&self, keyring: Keyring) {
        let old = std::mem::replace(
            &mut *self
                .0
                .current
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Arc::new(keyring),
        );
        self.0
            .retired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::downgrade(&old));
        drop(old);
        *self
            .0
            .switched_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        self.0.wake.notify_one();
    }

    /// Resolves when a switch asks the background rewrap to look again (at once if one
    /// happened since the last wait).
    pub async fn switched(&self) {
        self.0.wake.notified().await
    }

    /// Whether the keyring has stayed the same for at least `grace`: only then may previous
    /// keys that wrap nothing be destroyed, since an operation holding an older snapshot may
    /// still be about to wrap a key with one of them.
    pub fn settled_for(&self, grace: Duration) -> bool {
        let waited = self
            .0
            .switched_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none_or(|at| at.elapsed() >= grace);
        // And no operation still holds a keyring from before a switch: a timer alone would
        // trust that none takes longer than `grace` (one waiting on a busy database may).
        let mut retired = self
            .0
            .retired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        retired.retain(|old| old.strong_count() > 0);
        waited && retired.is_empty()
    }

    /// Holds off rotations (until the guard drops) while previous keys are forgotten: both
    /// rewrite the key files, and a rotation's new previous key must not be dropped meanwhile.
    pub async fn hold_rotations(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.rotating.lock().await
    }

    /// Starts a rotation of the generated key file from the running server (see [`rotate`]),
    /// then switches this server to the new keyring and wakes the background rewrap.
    pub async fn rotate(&self, config: &Config, db: &Db, by: &By<'_>) -> Result<Rotated, KeyError> {
        let _one_at_a_time = self.0.rotating.lock().await;
        let (keyring, rotated) = rotate(config, db, &self.current(), by).await?;
        self.switch(keyring);
        Ok(rotated)
    }
}

pub fn key_file_path(config: &Config) -> PathBuf {
    config.data_dir.join("master.key")
}

/// The generated keys that `lockbox keys rotate` retired, kept until nothing uses them.
pub fn previous_key_file_path(config: &Config) -> PathBuf {
    config.data_dir.join("master.key.previous")
}

fn bad_file(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::BadKeyFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads a key file (one key, or a list for the previous-keys file) that must be private.
fn read_key_file(path: &Path) -> std::io::Result<zeroize::Zeroizing<String>> {
    crate::server::data_dir::secure_existing_file(path)?;
    std::fs::read_to_string(path).map(zeroize::Zeroizing::new)
}

fn read_previous_file(path: &Path) -> Result<Vec<Kek>, KeyError> {
    match read_key_file(path) {
        Ok(text) => split_key_list(&text)
            .iter()
            .map(|k| Kek::from_base64(k).map_err(|e| bad_file(path, e)))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(bad_file(path, e)),
    }
}

/// The previous keys: `LOCKBOX_PREVIOUS_MASTER_KEYS`, and with the generated key file, the
/// keys `lockbox keys rotate` retired.
fn previous_keys(config: &Config) -> Result<Vec<Kek>, KeyError> {
    let mut keys = Vec::new();
    for k in &config.previous_master_keys {
        // Checked while parsing the configuration already.
        keys.push(Kek::from_base64(&k.0).map_err(KeyError::BadKey)?);
    }
    if config.master_key.is_none() {
        keys.extend(read_previous_file(&previous_key_file_path(config))?);
    }
    Ok(keys)
}

/// What the start-up check found: which keys wrap something, and whether a rotation is needed.
pub struct CheckReport {
    pub in_use: Vec<KeyUse>,
}

/// Loads the keyring and checks it against the database. Generates a key file only for a
/// database that holds no encrypted data yet. Refuses, changing nothing, a key set that lacks a
/// key some row needs.
pub async fn load(config: &Config, db: &Db) -> Result<Keyring, KeyError> {
    load_with(config, db, None).await
}

/// [`load`], recording `introduced` (the audit event of a rotation) in the transaction that
/// stores the active key's check.
async fn load_with(
    config: &Config,
    db: &Db,
    introduced: Option<&AuditEvent<'_>>,
) -> Result<Keyring, KeyError> {
    let checks = db::keyring::all(db).await?;
    let in_use = db::rotation::use_by_key(db).await?;
    let mut known: Vec<String> = checks.iter().map(|c| c.key_id.clone()).collect();
    for u in &in_use {
        if !known.contains(&u.key_id) {
            known.push(u.key_id.clone());
        }
    }
    let expected = known.join(", ");

    let active = match &config.master_key {
        Some(text) => Kek::from_base64(&text.0).map_err(KeyError::BadKey)?,
        None => {
            let path = key_file_path(config);
            match read_key_file(&path) {
                Ok(text) => Kek::from_base64(&text).map_err(|e| bad_file(&path, e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !known.is_empty() {
                        return Err(KeyError::MissingKey {
                            expected,
                            path: path.display().to_string(),
                        });
                    }
                    let kek = Kek::generate();
                    write_key_file_new(&path, &kek).map_err(|e| bad_file(&path, e))?;
                    tracing::warn!(
                        path = %path.display(),
                        "generated a master key file for the embedded default; keep it safe and \
                         set LOCKBOX_MASTER_KEY or LOCKBOX_MASTER_KEY_FILE in production"
                    );
                    kek
                }
                Err(e) => return Err(bad_file(&path, e)),
            }
        }
    };
    let keyring = Keyring::with_previous(active, previous_keys(config)?);
    check(&keyring, &known, &in_use, &checks)?;
    let kek = keyring.active();
    if let Some(event) = introduced {
        db::keyring::introduce(db, kek.id(), &kek.check_blob(), event).await?;
    } else if !checks.iter().any(|c| c.key_id == kek.id()) {
        db::keyring::insert(db, kek.id(), &kek.check_blob(), db::now_ms()).await?;
    }
    log_report(&keyring, &CheckReport { in_use });
    Ok(keyring)
}

/// The rules of the start-up check, with no side effects.
fn check(
    keyring: &Keyring,
    known: &[String],
    in_use: &[KeyUse],
    checks: &[db::keyring::KeyCheck],
) -> Result<(), KeyError> {
    let missing: Vec<&str> = in_use
        .iter()
        .filter(|u| !keyring.holds(&u.key_id))
        .map(|u| u.key_id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(KeyError::MissingKeys {
            missing: missing.join(", "),
            held: keyring.ids().join(", "),
        });
    }
    // A database that knows keys but wraps nothing yet still refuses a key set that shares
    // none of them: a wrong key is caught before it writes anything.
    if !known.is_empty() && !known.iter().any(|id| keyring.holds(id)) {
        return Err(KeyError::WrongKey {
            expected: known.join(", "),
            given: keyring.active().id().to_string(),
        });
    }
    for c in checks {
        if let Some(kek) = keyring.get(&c.key_id) {
            if !kek.verify_check_blob(&c.check_blob) {
                return Err(KeyError::CheckFailed(c.key_id.clone()));
            }
        }
    }
    Ok(())
}

fn log_report(keyring: &Keyring, report: &CheckReport) {
    let active = keyring.active().id();
    for u in &report.in_use {
        tracing::info!(
            key_id = %u.key_id,
            active = u.key_id == active,
            user_keys = u.user_keys,
            purpose_keys = u.purpose_keys,
            "master key in use"
        );
    }
    let retiring: Vec<&str> = report
        .in_use
        .iter()
        .filter(|u| u.key_id != active)
        .map(|u| u.key_id.as_str())
        .collect();
    if retiring.is_empty() {
        tracing::info!(key_id = active, "master key checked; no rotation needed");
    } else {
        tracing::warn!(
            key_id = active,
            still_needed = %retiring.join(", "),
            "master key checked; keys are still wrapped by previous master keys, a rotation is \
             needed (it runs in the background while serving)"
        );
    }
    let unused: Vec<&str> = keyring
        .previous()
        .iter()
        .map(Kek::id)
        .filter(|id| !report.in_use.iter().any(|u| u.key_id == *id))
        .collect();
    if !unused.is_empty() {
        tracing::info!(
            key_ids = %unused.join(", "),
            "previous master keys that no longer wrap anything can be dropped"
        );
    }
}

/// Writes `contents` to `path` atomically with mode 0600: a private temporary file in the same
/// directory, synced, renamed over the target, and the directory synced.
fn write_private_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_key_file_new(path: &Path, kek: &Kek) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(kek.to_base64().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn key_list_text(keys: &[&Kek]) -> zeroize::Zeroizing<String> {
    let mut text = zeroize::Zeroizing::new(String::new());
    for k in keys {
        text.push_str(&k.to_base64());
        text.push('\n');
    }
    text
}

/// Rotates the generated key file: the current key joins `master.key.previous`, then a new key
/// replaces `master.key` (both written atomically, 0600). In that order, a crash between the
/// two leaves the old key in both files, never in neither. Returns (old id, new id).
fn rotate_key_file(config: &Config) -> Result<(String, String), KeyError> {
    if config.master_key.is_some() {
        return Err(KeyError::NotAKeyFile);
    }
    let path = key_file_path(config);
    let current = read_key_file(&path).map_err(|e| bad_file(&path, e))?;
    let old = Kek::from_base64(&current).map_err(|e| bad_file(&path, e))?;
    let previous_path = previous_key_file_path(config);
    let mut previous = read_previous_file(&previous_path)?;
    if !previous.iter().any(|k| k.id() == old.id()) {
        previous.push(Kek::from_base64(&current).map_err(|e| bad_file(&path, e))?);
    }
    let list: Vec<&Kek> = previous.iter().collect();
    write_private_atomically(&previous_path, key_list_text(&list).as_bytes())
        .map_err(|e| bad_file(&previous_path, e))?;
    let new = Kek::generate();
    write_private_atomically(&path, key_list_text(&[&new]).as_bytes())
        .map_err(|e| bad_file(&path, e))?;
    tracing::info!(
        old_key_id = old.id(),
        new_key_id = new.id(),
        "rotated the master key file"
    );
    Ok((old.id().to_string(), new.id().to_string()))
}

/// What [`rotate`] did: key ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
}

/// The audit action of a rotation that an admin or the command line started.
pub const ROTATION_REQUESTED: &str = "key.rotation.requested";

/// Starts a rotation of the generated key file, for `lockbox keys rotate` and the admin page
/// alike: refuses keys from the environment and a rotation that is still rewrapping (judged
/// with `current`, the keyring in use), writes the new key file keeping the old key as a
/// previous one ([`rotate_key_file`]), then loads the new keyring the way a restart would
/// (the start-up key check included), storing the new key's check together with the audit
/// event. Returns the new keyring; the caller switches to it.
pub async fn rotate(
    config: &Config,
    db: &Db,
    current: &Keyring,
    by: &By<'_>,
) -> Result<(Keyring, Rotated), KeyError> {
    if config.master_key.is_some() {
        return Err(KeyError::NotAKeyFile);
    }
    let status = crate::server::rotation::summarise(current, &db::rotation::use_by_key(db).await?);
    if status.rotation_needed {
        return Err(KeyError::RotationInProgress {
            done: status.done,
            total: status.total,
        });
    }
    let (old_key_id, new_key_id) = rotate_key_file(config)?;
    let detail = format!(
        "new active master key id {new_key_id}; key id {old_key_id} is kept as a previous key \
         until nothing uses it"
    );
    let event = by.event(ROTATION_REQUESTED, &new_key_id, &detail);
    let keyring = load_with(config, db, Some(&event)).await?;
    Ok((
        keyring,
        Rotated {
            old_key_id,
            new_key_id,
        },
    ))
}

/// Removes from `master.key.previous` the keys that wrap nothing in `in_use` (the file goes when
/// it empties). This destroys them: a backup whose keys only they wrap can no longer be read.
/// Returns the ids removed.
pub fn forget_unused_previous(config: &Config, in_use: &[KeyUse]) -> Result<Vec<String>, KeyError> {
    if config.master_key.is_some() {
        return Ok(Vec::new());
    }
    let path = previous_key_file_path(config);
    let previous = read_previous_file(&path)?;
    let used = |k: &Kek| in_use.iter().any(|u| u.key_id == k.id());
    let (keep, drop): (Vec<&Kek>, Vec<&Kek>) = previous.iter().partition(|k| used(k));
    if drop.is_empty() {
        return Ok(Vec::new());
    }
    if keep.is_empty() {
        std::fs::remove_file(&path).map_err(|e| bad_file(&path, e))?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
    } else {
        write_private_atomically(&path, key_list_text(&keep).as_bytes())
            .map_err(|e| bad_file(&path, e))?;
    }
    let ids: Vec<String> = drop.iter().map(|k| k.id().to_string()).collect();
    tracing::info!(key_ids = %ids.join(", "), "destroyed previous master keys that no longer wrap anything");
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(ids: &[&str]) -> Vec<KeyUse> {
        ids.iter()
            .map(|id| KeyUse {
                key_id: id.to_string(),
                user_keys: 1,
                purpose_keys: 0,
            })
            .collect()
    }

    #[test]
    fn keyring_finds_active_and_previous_and_drops_duplicates() {
        let a = Kek::from_bytes(&[1; 32]).unwrap();
        let b = Kek::from_bytes(&[2; 32]).unwrap();
        let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
        let ring = Keyring::with_previous(
            b,
            vec![
                a,
                Kek::from_bytes(&[1; 32]).unwrap(),
                Kek::from_bytes(&[2; 32]).unwrap(),
            ],
        );
        assert_eq!(ring.ids(), [b_id.as_str(), a_id.as_str()]);
        assert_eq!(ring.get(&a_id).unwrap().id(), a_id);
        assert!(ring.get("0000").is_none());
    }

    #[tokio::test]
    async fn live_keyring_switches_for_new_snapshots_only_and_wakes_the_rewrap() {
        let a = Kek::from_bytes(&[1; 32]).unwrap();
        let a_id = a.id().to_string();
        let live = LiveKeyring::new(Keyring::new(a));
        assert!(
            live.settled_for(Duration::from_secs(3600)),
            "nothing switched yet"
        );
        let before = live.current();
        let b = Kek::from_bytes(&[2; 32]).unwrap();
        let b_id = b.id().to_string();
        live.switch(Keyring::with_previous(
            b,
            vec![Kek::from_bytes(&[1; 32]).unwrap()],
        ));
        // A snapshot taken before keeps its keyring; a new one has the new active key and
        // still holds the old one.
        assert_eq!(before.active().id(), a_id);
        let after = live.current();
        assert_eq!(after.ids(), [b_id.as_str(), a_id.as_str()]);
        assert!(!live.settled_for(Duration::from_secs(3600)));
        // However long ago the switch, not settled while an operation holds the old keyring.
        assert!(
            !live.settled_for(Duration::ZERO),
            "the old snapshot is held"
        );
        drop(before);
        assert!(live.settled_for(Duration::ZERO));
        // The switch left a wake-up for the rewrap task, even though it was not waiting yet.
        tokio::time::timeout(Duration::from_secs(1), live.switched())
            .await
            .expect("woken");
    }

    #[test]
    fn check_names_a_missing_key_and_accepts_any_held_one() {
        let a = Kek::from_bytes(&[1; 32]).unwrap();
        let a_id = a.id().to_string();
        let b = Kek::from_bytes(&[2; 32]).unwrap();
        let b_id = b.id().to_string();
        let checks = vec![db::keyring::KeyCheck {
            key_id: a_id.clone(),
            check_blob: a.check_blob(),
        }];
        let known = vec![a_id.clone()];
        // Only B: the rows need A.
        let only_b = Keyring::new(Kek::from_bytes(&[2; 32]).unwrap());
        let e = check(&only_b, &known, &uses(&[&a_id]), &checks)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&a_id) && e.contains("Nothing was changed"),
            "{e}"
        );
        // B active, A previous: accepted.
        let both = Keyring::with_previous(b, vec![Kek::from_bytes(&[1; 32]).unwrap()]);
        check(&both, &known, &uses(&[&a_id]), &checks).unwrap();
        // Nothing wrapped yet, but the database knows only A: B alone is a wrong key.
        let e = check(&only_b, &known, &[], &checks).unwrap_err();
        assert!(matches!(e, KeyError::WrongKey { .. }), "{e}");
        // After the rotation (rows under B, A's check row kept): B alone is fine.
        let known = vec![a_id.clone(), b_id.clone()];
        check(&only_b, &known, &uses(&[&b_id]), &checks).unwrap();
    }
}
