//! The keyring: where the master keys (KEKs) come from, the start-up key check that refuses a
//! key set which cannot open this database before anything is written, and the rotation of the
//! generated key files of the embedded default ([`files`]), all or nothing.

mod files;
mod live;
#[cfg(test)]
mod tests;

pub use files::LOCK_FILE;
pub use live::{online_rotation_refusal, LiveKeyring};

use crate::server::{
    config::Config,
    crypto::{CryptoError, Kek},
    db::{self, audit::AuditEvent, rotation::KeyUse, Db},
    projects::By,
};
use files::{blocking, KeyFiles};
use std::path::PathBuf;

/// Why the keys cannot be used, or a rotation was refused or failed. Each message is written
/// once, here: the command line prints it and the admin page shows it ([`KeyError::into_app_error`]).
/// A message names key ids and paths, never a key.
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
        "This server's master key comes from LOCKBOX_MASTER_KEY or LOCKBOX_MASTER_KEY_FILE, so \
         Lockbox does not rotate it itself: follow the rolling procedure. Nothing was changed."
    )]
    NotAKeyFile,
    #[error(
        "This server does not rotate its generated key file online: {why}, and every server \
         that shares the key file would have to switch to the new key at once. Stop every \
         server, run `lockbox keys rotate` on the host that holds the data directory, and start \
         them again; or give the keys through LOCKBOX_MASTER_KEY and follow the rolling \
         procedure. Nothing was changed."
    )]
    SharedKeyFile { why: &'static str },
    #[error(
        "A key rotation is still rewrapping ({done} of {total} wrapped keys are under the active \
         key). Start another once it has completed. Nothing was changed."
    )]
    RotationInProgress { done: i64, total: i64 },
    #[error(
        "The key file master.key holds key id {on_disk}, but this server runs with active key id \
         {active}: the key file was changed after the server started (by `lockbox keys rotate`, \
         say). Restart the server so that it runs with the key file; a rotation from here would \
         retire the wrong key. Nothing was changed."
    )]
    KeyFileChanged { on_disk: String, active: String },
    #[error(
        "Another process is changing the key files (it holds {lock} in the data directory): a \
         `lockbox keys rotate` or `forget-previous`, or a server removing unused previous keys. \
         Try again once it has finished. Nothing was changed.",
        lock = files::LOCK_FILE
    )]
    KeyFilesBusy,
    #[error("{UNDONE} The cause: {0}")]
    RotationFailed(Box<KeyError>),
    #[error(
        "The key rotation failed ({cause}), and putting the key files back failed too \
         ({restore}). {NOTHING_LOST}"
    )]
    RestoreFailed {
        cause: Box<KeyError>,
        restore: String,
    },
    #[error("a task working on the key files failed: {0}")]
    Task(String),
    #[error("database error during the key check: {0}")]
    Db(#[from] sqlx::Error),
}

/// What a failed rotation that was undone left behind, said the same way by the command line
/// and the admin page.
const UNDONE: &str = "The key rotation failed and was undone: master.key and master.key.previous \
                      hold what they held before, and nothing was changed.";
/// What a failed rotation whose undoing failed too left behind.
const NOTHING_LOST: &str = "The old key is still in master.key.previous, so nothing is lost: the \
                            next start accepts whichever key master.key holds and rewraps \
                            everything under it.";

impl KeyError {
    /// What a server function answers: a refusal with its code and the message above; a failed
    /// rotation says what it left behind (500, the cause logged: its text may name paths or
    /// SQL); any other failure is logged and answered 500.
    pub fn into_app_error(self) -> crate::model::AppError {
        use crate::model::{AppError, Code, RuleError};
        let failed = |what: &str, e: &KeyError| {
            tracing::error!(error = %e, "starting a key rotation");
            AppError::Failed {
                message: format!("{what} The cause is in the server's log."),
            }
        };
        match self {
            KeyError::RotationFailed(_) => failed(UNDONE, &self),
            KeyError::RestoreFailed { .. } => failed(
                &format!("The key rotation failed, and putting the key files back failed too. {NOTHING_LOST}"),
                &self,
            ),
            KeyError::NotAKeyFile | KeyError::SharedKeyFile { .. } => AppError::field(
                "rotation",
                RuleError::new(Code::Unsupported, self.to_string()),
            ),
            KeyError::RotationInProgress { .. }
            | KeyError::KeyFileChanged { .. }
            | KeyError::KeyFilesBusy => AppError::Conflict {
                field: "rotation".into(),
                message: self.to_string(),
            },
            other => crate::server::error::internal("starting a key rotation", other),
        }
    }
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

pub fn key_file_path(config: &Config) -> PathBuf {
    KeyFiles::of(config).key()
}

/// The generated keys that `lockbox keys rotate` retired, kept until nothing uses them.
pub fn previous_key_file_path(config: &Config) -> PathBuf {
    KeyFiles::of(config).previous()
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
    let keyring = read_keyring(config, known.join(", ")).await?;
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

/// The keys the configuration gives: from the environment, or from the generated key files
/// (read, and for a database that knows no key yet, `expected` empty, created, on a blocking
/// thread).
async fn read_keyring(config: &Config, expected: String) -> Result<Keyring, KeyError> {
    let mut previous = Vec::new();
    for k in &config.previous_master_keys {
        // Checked while parsing the configuration already.
        previous.push(Kek::from_base64(&k.0).map_err(KeyError::BadKey)?);
    }
    let active = match &config.master_key {
        Some(text) => Kek::from_base64(&text.0).map_err(KeyError::BadKey)?,
        None => {
            let files = KeyFiles::of(config);
            let (active, retired) = blocking(move || {
                let active = match files.read_active()? {
                    Some(kek) => kek,
                    None if !expected.is_empty() => {
                        return Err(KeyError::MissingKey {
                            expected,
                            path: files.key().display().to_string(),
                        })
                    }
                    None => {
                        let kek = Kek::generate();
                        files.create_active(&kek)?;
                        tracing::warn!(
                            path = %files.key().display(),
                            "generated a master key file for the embedded default; keep it safe \
                             and set LOCKBOX_MASTER_KEY or LOCKBOX_MASTER_KEY_FILE in production"
                        );
                        kek
                    }
                };
                Ok((active, files.read_previous()?))
            })
            .await?;
            previous.extend(retired);
            active
        }
    };
    Ok(Keyring::with_previous(active, previous))
}

/// What the start-up check found: which keys wrap something, and whether a rotation is needed.
pub struct CheckReport {
    pub in_use: Vec<KeyUse>,
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

/// What [`rotate`] did: key ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
}

/// The audit action of a rotation that an admin or the command line started.
pub const ROTATION_REQUESTED: &str = "key.rotation.requested";

/// Rotates the generated key file, for `lockbox keys rotate` and the admin page alike, all or
/// nothing, holding the key files' lock throughout. Refuses keys from the environment, a key
/// file whose key is not `current`'s active key (changed since this process loaded it), and a
/// rotation that is still rewrapping (judged with `current`, the keyring in use). Then writes
/// the new key file keeping the old key as a previous one ([`KeyFiles::rotate`]) and loads the
/// new keyring the way a restart would (the start-up key check included), storing the new
/// key's check together with the audit event. If that fails, the key files are put back as
/// they were: a new key that is neither audited nor in use never stays behind. Returns the new
/// keyring; the caller switches to it.
pub async fn rotate(
    config: &Config,
    db: &Db,
    current: &Keyring,
    by: &By<'_>,
) -> Result<(Keyring, Rotated), KeyError> {
    if config.master_key.is_some() {
        return Err(KeyError::NotAKeyFile);
    }
    let files = KeyFiles::of(config);
    let (lock, on_disk) = blocking({
        let files = files.clone();
        move || {
            let lock = files.lock()?;
            let path = files.key();
            let on_disk = files
                .read_active()?
                .ok_or_else(|| files::bad_file(&path, "it does not exist"))?;
            Ok((lock, on_disk.id().to_string()))
        }
    })
    .await?;
    if on_disk != current.active().id() {
        return Err(KeyError::KeyFileChanged {
            on_disk,
            active: current.active().id().to_string(),
        });
    }
    let status = crate::server::rotation::summarise(current, &db::rotation::use_by_key(db).await?);
    if status.rotation_needed {
        return Err(KeyError::RotationInProgress {
            done: status.done,
            total: status.total,
        });
    }
    let (backup, old_key_id, new_key_id, lock) = blocking(move || {
        let (backup, old, new) = files.rotate(&lock)?;
        Ok((backup, old, new.id().to_string(), lock))
    })
    .await?;
    let detail = format!(
        "new active master key id {new_key_id}; key id {old_key_id} is kept as a previous key \
         until nothing uses it"
    );
    let event = by.event(ROTATION_REQUESTED, &new_key_id, &detail);
    match load_with(config, db, Some(&event)).await {
        Ok(keyring) => {
            drop(lock);
            tracing::info!(
                old_key_id = %old_key_id,
                new_key_id = %new_key_id,
                "rotated the master key file"
            );
            Ok((
                keyring,
                Rotated {
                    old_key_id,
                    new_key_id,
                },
            ))
        }
        // Should the database step have committed although it reported a failure (the
        // connection lost at COMMIT), the database keeps the new key's check and the requested
        // event, but nothing is wrapped under the new key (this keyring is never installed), so
        // the restored files still open everything and a start skips the check of a key it
        // does not hold.
        Err(cause) => {
            let restored = blocking(move || {
                let restored = backup.restore();
                drop(lock);
                Ok(restored)
            })
            .await?;
            Err(match restored {
                Ok(()) => KeyError::RotationFailed(Box::new(cause)),
                Err(e) => KeyError::RestoreFailed {
                    cause: Box::new(cause),
                    restore: e.to_string(),
                },
            })
        }
    }
}

/// Removes from `master.key.previous` the keys that wrap nothing in `in_use`, never `keep` (the
/// running server's active key), holding the key files' lock: refused ([`KeyError::KeyFilesBusy`])
/// while another process holds it. This destroys them. Returns the ids removed.
pub async fn forget_unused_previous(
    config: &Config,
    in_use: &[KeyUse],
    keep: &str,
) -> Result<Vec<String>, KeyError> {
    if config.master_key.is_some() {
        return Ok(Vec::new());
    }
    let files = KeyFiles::of(config);
    let (in_use, keep) = (in_use.to_vec(), keep.to_string());
    let ids = blocking(move || {
        let lock = files.lock()?;
        files.forget_unused(&lock, &in_use, &keep)
    })
    .await?;
    if !ids.is_empty() {
        tracing::info!(key_ids = %ids.join(", "), "destroyed previous master keys that no longer wrap anything");
    }
    Ok(ids)
}
