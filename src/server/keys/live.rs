//! The keyring of a running server, which an online rotation switches to a new active key
//! without a restart.

use super::{rotate, Keyring, Rotated};
use crate::server::{
    config::Config,
    db::{rotation::KeyUse, Db},
    keys::KeyError,
    projects::By,
};
use std::{
    sync::{Arc, Mutex, RwLock, Weak},
    time::{Duration, Instant},
};

/// Callers take a snapshot ([`LiveKeyring::current`]) per operation and use it throughout, so
/// one operation never mixes two keyrings; an operation that took its snapshot just before a
/// switch may still wrap one key under the old active key, which stays held as a previous key,
/// and the background rewrap moves it on its next pass.
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

fn unpoisoned<T>(r: std::sync::LockResult<T>) -> T {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
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
        unpoisoned(self.0.current.read()).clone()
    }

    /// Switches to `keyring` and wakes the background rewrap.
    pub(super) fn switch(&self, keyring: Keyring) {
        let old = std::mem::replace(&mut *unpoisoned(self.0.current.write()), Arc::new(keyring));
        unpoisoned(self.0.retired.lock()).push(Arc::downgrade(&old));
        drop(old);
        *unpoisoned(self.0.switched_at.lock()) = Some(Instant::now());
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
        let waited = unpoisoned(self.0.switched_at.lock()).is_none_or(|at| at.elapsed() >= grace);
        // And no operation still holds a keyring from before a switch: a timer alone would
        // trust that none takes longer than `grace` (one waiting on a busy database may).
        let mut retired = unpoisoned(self.0.retired.lock());
        retired.retain(|old| old.strong_count() > 0);
        waited && retired.is_empty()
    }

    /// Holds off rotations in this process (until the guard drops) while previous keys are
    /// forgotten: a rotation's new previous key must not be dropped meanwhile. (Other processes
    /// are held off by the key files' lock, which [`super::forget_unused_previous`] takes.)
    pub async fn hold_rotations(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.rotating.lock().await
    }

    /// Starts a rotation of the generated key file from the running server (see [`rotate`]),
    /// then switches this server to the new keyring and wakes the background rewrap. Refused
    /// where other servers may hold the same key file ([`online_rotation_refusal`]).
    pub async fn rotate(&self, config: &Config, db: &Db, by: &By<'_>) -> Result<Rotated, KeyError> {
        if let Some(refusal) = online_rotation_refusal(config) {
            return Err(refusal);
        }
        let _one_at_a_time = self.0.rotating.lock().await;
        let (keyring, rotated) = rotate(config, db, &self.current(), by).await?;
        self.switch(keyring);
        Ok(rotated)
    }

    /// Forgets the previous keys in the key files that wrap nothing in `in_use`, never this
    /// server's own active key (see [`super::forget_unused_previous`]).
    pub async fn forget_unused_previous(
        &self,
        config: &Config,
        in_use: &[KeyUse],
    ) -> Result<Vec<String>, KeyError> {
        let active = self.current().active().id().to_string();
        super::forget_unused_previous(config, in_use, &active).await
    }
}

/// Why this server must not rotate the generated key file online, if it must not: keys from
/// the environment are not Lockbox's to rotate, and where several servers may run on one
/// database, each holding (a copy of) the key file, one that switched alone would leave the
/// others wrapping new keys under the old key, which it would then destroy once its own rows no
/// longer need it. The local backend's lease rules out a second local-backend server, but not a
/// Kubernetes-backend one (which takes none) on a shared database, so the rule is conservative:
/// only SQLite (whose database lives in this data directory) with the local backend.
pub fn online_rotation_refusal(config: &Config) -> Option<KeyError> {
    if config.master_key.is_some() {
        Some(KeyError::NotAKeyFile)
    } else if config.kube {
        Some(KeyError::SharedKeyFile {
            why: "it runs sessions on Kubernetes (LOCKBOX_KUBE=1), where Lockbox runs as \
                  several replicas",
        })
    } else if config.is_postgres() {
        Some(KeyError::SharedKeyFile {
            why: "its database is PostgreSQL, which several servers can share",
        })
    } else {
        None
    }
}
