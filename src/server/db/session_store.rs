//! The login-session store: tower-sessions' SQLite or PostgreSQL store, whichever the database is.
//!
//! With SQLite there is exactly one server process, so every session write passes through this
//! store: it keeps a write-through copy of live records in memory and most requests never read
//! the database for their session. PostgreSQL may have several replicas, so it is not cached
//! (a sign-out on one replica must end the session on all of them at once).

use super::{Db, Pool};
use async_trait::async_trait;
use dashmap::DashMap;
use std::sync::Arc;
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[derive(Clone, Debug)]
pub struct LoginSessionStore {
    backend: Backend,
    cache: Option<Arc<DashMap<Id, Record>>>,
}

fn configuration(e: String) -> sqlx::Error {
    sqlx::Error::Configuration(e.into())
}

fn live(record: &Record) -> bool {
    record.expiry_date > time::OffsetDateTime::now_utc()
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
                    cache: Some(Arc::new(DashMap::new())),
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
            cache.retain(|_, record| live(record));
        }
        match &self.backend {
            Backend::Sqlite(s) => s.delete_expired().await,
            Backend::Postgres(s) => s.delete_expired().await,
        }
    }

    fn remember(&self, record: &Record) {
        if let Some(cache) = &self.cache {
            cache.insert(record.id, record.clone());
        }
    }
}

#[async_trait]
impl SessionStore for LoginSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.create(record).await,
            Backend::Postgres(s) => s.create(record).await,
        }?;
        self.remember(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.save(record).await,
            Backend::Postgres(s) => s.save(record).await,
        }?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(cached) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(id).map(|r| r.clone()))
        {
            if live(&cached) {
                return Ok(Some(cached));
            }
        }
        let record = match &self.backend {
            Backend::Sqlite(s) => s.load(id).await,
            Backend::Postgres(s) => s.load(id).await,
        }?;
        if let Some(record) = &record {
            self.remember(record);
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        // Forget first: a failed database delete must not leave the session usable here.
        if let Some(cache) = &self.cache {
            cache.remove(id);
        }
        match &self.backend {
            Backend::Sqlite(s) => s.delete(id).await,
            Backend::Postgres(s) => s.delete(id).await,
        }
    }
}
