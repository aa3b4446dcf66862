//! The login-session store: tower-sessions' SQLite or PostgreSQL store, whichever the database is.
//!
//! Rows are keyed by a hash of the cookie's session id, never by the id itself, so reading the
//! table (a backup, a leaked dump) yields no cookie that signs anyone in. tower-sessions hands
//! this store records whose `id` is the cookie value; they are stored under [`stored_id`] and
//! given back with the cookie value restored.
//!
//! With SQLite there is exactly one server process, so every session write passes through this
//! store: it keeps a write-through copy of recently used records in memory (at most
//! [`CACHE_ENTRIES`], least recently used dropped first) and most requests never read the
//! database for their session. PostgreSQL may have several replicas, so it is not cached
//! (a sign-out on one replica must end the session on all of them at once).

use super::{Db, Pool};
use crate::server::crypto;
use async_trait::async_trait;
use lru::LruCache;
use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Most login sessions kept in memory (a record is a few hundred bytes).
pub const CACHE_ENTRIES: usize = 10_000;

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Backend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Backend::Sqlite(s) => s.create(record).await,
            Backend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Backend::Sqlite(s) => s.save(record).await,
            Backend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Backend::Sqlite(s) => s.load(id).await,
            Backend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Backend::Sqlite(s) => s.delete(id).await,
            Backend::Postgres(s) => s.delete(id).await,
        }
    }
}

/// Stored records by stored id, least recently used first out.
#[derive(Debug)]
struct RecordCache(Mutex<LruCache<Id, Record>>);

impl RecordCache {
    fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Mutex::new(LruCache::new(capacity)))
    }

    // A panic while holding the lock leaves the map itself intact: keep using it.
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Id, Record>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, id: &Id) -> Option<Record> {
        self.lock().get(id).cloned()
    }

    fn put(&self, record: &Record) {
        self.lock().put(record.id, record.clone());
    }

    fn remove(&self, id: &Id) {
        self.lock().pop(id);
    }

    fn retain_live(&self) {
        let mut cache = self.lock();
        let expired: Vec<Id> = cache
            .iter()
            .filter(|(_, record)| !live(record))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            cache.pop(&id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[derive(Clone, Debug)]
pub struct LoginSessionStore {
    backend: Backend,
    cache: Option<Arc<RecordCache>>,
}

fn configuration(e: String) -> sqlx::Error {
    sqlx::Error::Configuration(e.into())
}

fn live(record: &Record) -> bool {
    record.expiry_date > time::OffsetDateTime::now_utc()
}

/// The key a session is stored under: the first 128 bits of SHA-256 of its cookie value. The
/// cookie id is 128 random bits, so this is as hard to guess as the id and cannot be reversed.
pub fn stored_id(cookie_id: &Id) -> Id {
    let digest = crypto::sha256(cookie_id.to_string().as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(first))
}

/// `record` as stored: the same data under its stored id.
fn to_stored(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        data: record.data.clone(),
        expiry_date: record.expiry_date,
    }
}

impl LoginSessionStore {
    pub async fn new(db: &Db) -> Result<Self, sqlx::Error> {
        // SQLite serves sessions from the reading pool, whose short single-statement writes
        // wait on the busy timeout rather than failing.
        Ok(match &db.read {
            Pool::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone())
                    .with_table_name("login_sessions")
                    .map_err(configuration)?;
                store.migrate().await?;
                Self {
                    backend: Backend::Sqlite(store),
                    cache: Some(Arc::new(RecordCache::new(CACHE_ENTRIES))),
                }
            }
            Pool::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone())
                    .with_table_name("login_sessions")
                    .map_err(configuration)?;
                store.migrate().await?;
                Self {
                    backend: Backend::Postgres(store),
                    cache: None,
                }
            }
        })
    }

    pub async fn delete_expired(&self) -> session_store::Result<()> {
        if let Some(cache) = &self.cache {
            cache.retain_live();
        }
        match &self.backend {
            Backend::Sqlite(s) => s.delete_expired().await,
            Backend::Postgres(s) => s.delete_expired().await,
        }
    }

    fn remember(&self, stored: &Record) {
        if let Some(cache) = &self.cache {
            cache.put(stored);
        }
    }
}

#[async_trait]
impl SessionStore for LoginSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let key = stored_id(&record.id);
            let mut stored = to_stored(record);
            self.backend.create(&mut stored).await?;
            if stored.id == key {
                self.remember(&stored);
                return Ok(());
            }
            // The key was taken, so the backend saved the record under a random id of its own,
            // which no cookie hashes to: remove that row and try again with a fresh cookie id.
            self.backend.delete(&stored.id).await?;
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = to_stored(record);
        self.backend.save(&stored).await?;
        self.remember(&stored);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let key = stored_id(id);
        let cached = self.cache.as_ref().and_then(|c| c.get(&key));
        let stored = match cached.filter(live) {
            Some(record) => Some(record),
            None => {
                let record = self.backend.load(&key).await?;
                if let Some(record) = &record {
                    self.remember(record);
                }
                record
            }
        };
        Ok(stored.map(|record| Record { id: *id, ..record }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let key = stored_id(id);
        // Forget first: a failed database delete must not leave the session usable here.
        if let Some(cache) = &self.cache {
            cache.remove(&key);
        }
        self.backend.delete(&key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    fn record(id: i128, expires_in: Duration) -> Record {
        Record {
            id: Id(id),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    #[test]
    fn the_memory_copy_is_bounded_and_drops_the_least_recently_used() {
        let cache = RecordCache::new(3);
        for id in 1..=3 {
            cache.put(&record(id, Duration::hours(1)));
        }
        // Using 1 makes 2 the least recently used.
        assert!(cache.get(&Id(1)).is_some());
        for id in 4..=1000 {
            cache.put(&record(id, Duration::hours(1)));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&Id(2)).is_none());
        assert!(cache.get(&Id(1000)).is_some());
    }

    #[test]
    fn expired_records_are_dropped_from_memory() {
        let cache = RecordCache::new(10);
        cache.put(&record(1, Duration::hours(1)));
        cache.put(&record(2, -Duration::seconds(1)));
        cache.retain_live();
        assert!(cache.get(&Id(1)).is_some());
        assert!(cache.get(&Id(2)).is_none());
    }

    #[test]
    fn the_stored_id_is_a_hash_of_the_cookie_id() {
        let cookie = Id::default();
        let stored = stored_id(&cookie);
        assert_ne!(stored, cookie);
        assert_eq!(stored, stored_id(&cookie), "stable");
        assert_ne!(stored, stored_id(&Id::default()));
        // What is stored is not itself a key to another stored row.
        assert_ne!(stored_id(&stored), stored);
    }
}
