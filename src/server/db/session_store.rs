//! The login-session store: tower-sessions' SQLite or PostgreSQL store, whichever the database is.

use super::{Db, Pool};
use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub enum LoginSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl LoginSessionStore {
    pub async fn new(db: &Db) -> Result<Self, sqlx::Error> {
        // Sessions are read on every request: SQLite serves them from the reading pool, whose
        // short single-statement writes wait on the busy timeout rather than failing.
        Ok(match &db.read {
            Pool::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone())
                    .with_table_name("login_sessions")
                    .map_err(|e| sqlx::Error::Configuration(e.into()))?;
                store.migrate().await?;
                Self::Sqlite(store)
            }
            Pool::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone())
                    .with_table_name("login_sessions")
                    .map_err(|e| sqlx::Error::Configuration(e.into()))?;
                store.migrate().await?;
                Self::Postgres(store)
            }
        })
    }

    pub async fn delete_expired(&self) -> session_store::Result<()> {
        use tower_sessions::ExpiredDeletion;
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[async_trait]
impl SessionStore for LoginSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}
