//! The keyring: where the master key (KEK) comes from, and the start-up key check that refuses a
//! wrong key before anything is written.

use crate::server::{
    config::Config,
    crypto::{CryptoError, Kek},
    db::{self, Db},
};
use std::{io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf};

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
        "this database holds encrypted data (key id {expected}) but no master key was given and \
         {path} does not exist. Set LOCKBOX_MASTER_KEY (or LOCKBOX_MASTER_KEY_FILE) to the original \
         key. Nothing was changed."
    )]
    MissingKey { expected: String, path: String },
    #[error("the key check for key id {0} failed: the stored check does not open with this key")]
    CheckFailed(String),
    #[error("database error during the key check: {0}")]
    Db(#[from] sqlx::Error),
}

/// The keys this server holds. One active KEK wraps new data keys; rotation (a later issue)
/// will add retired ones that still unwrap old data keys.
pub struct Keyring {
    active: Kek,
}

impl Keyring {
    pub fn new(active: Kek) -> Self {
        Self { active }
    }

    pub fn active(&self) -> &Kek {
        &self.active
    }

    /// The KEK with this id, if held.
    pub fn get(&self, key_id: &str) -> Option<&Kek> {
        (self.active.id() == key_id).then_some(&self.active)
    }
}

pub fn key_file_path(config: &Config) -> PathBuf {
    config.data_dir.join("master.key")
}

/// Loads the KEK and checks it against the database. Generates a key file only for a database
/// that holds no encrypted data yet.
pub async fn load(config: &Config, db: &Db) -> Result<Keyring, KeyError> {
    let checks = db::keyring::all(db).await?;
    let mut known: Vec<String> = checks.iter().map(|c| c.key_id.clone()).collect();
    let wrapping = db::users::key_ids_in_use(db)
        .await?
        .into_iter()
        .chain(db::wrapped_keys::key_ids_in_use(db).await?);
    for id in wrapping {
        if !known.contains(&id) {
            known.push(id);
        }
    }
    let expected = known.join(", ");

    let kek = match &config.master_key {
        Some(text) => Kek::from_base64(&text.0).map_err(KeyError::BadKey)?,
        None => {
            let path = key_file_path(config);
            let read = crate::server::data_dir::secure_existing_file(&path)
                .and_then(|()| std::fs::read_to_string(&path));
            match read {
                Ok(text) => Kek::from_base64(&text).map_err(|e| KeyError::BadKeyFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !known.is_empty() {
                        return Err(KeyError::MissingKey {
                            expected,
                            path: path.display().to_string(),
                        });
                    }
                    let kek = Kek::generate();
                    write_key_file(&path, &kek).map_err(|e| KeyError::BadKeyFile {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?;
                    tracing::warn!(
                        path = %path.display(),
                        "generated a master key file for the embedded default; keep it safe and \
                         set LOCKBOX_MASTER_KEY or LOCKBOX_MASTER_KEY_FILE in production"
                    );
                    kek
                }
                Err(e) => {
                    return Err(KeyError::BadKeyFile {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
    };

    if !known.is_empty() && !known.iter().any(|id| id == kek.id()) {
        return Err(KeyError::WrongKey {
            expected,
            given: kek.id().to_string(),
        });
    }
    match checks.iter().find(|c| c.key_id == kek.id()) {
        Some(check) if !kek.verify_check_blob(&check.check_blob) => {
            return Err(KeyError::CheckFailed(kek.id().to_string()))
        }
        Some(_) => {}
        None => db::keyring::insert(db, kek.id(), &kek.check_blob(), db::now_ms()).await?,
    }
    tracing::info!(key_id = kek.id(), "master key checked");
    Ok(Keyring::new(kek))
}

fn write_key_file(path: &std::path::Path, kek: &Kek) -> std::io::Result<()> {
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
