//! The database: SQLite by default, PostgreSQL for more than one replica. Queries are written once
//! in SQL both understand (`$1` placeholders, `RETURNING`, `ON CONFLICT`) and run on either
//! through the [`on_pool!`] macro, which expands the same code once per driver.

pub mod audit;
pub mod audit_chain;
pub mod bind;
pub mod environments;
pub mod group_commit;
pub mod instance_lease;
pub mod keyring;
pub mod namespace_copies;
pub mod namespace_secrets;
pub mod projects;
pub mod rotation;
pub mod secrets;
pub mod session_store;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod wrapped_keys;

use crate::server::{
    config::{Config, SqliteSync},
    data_dir,
};
use sqlx::{
    postgres::{PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use std::{str::FromStr, time::Duration};

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool (or transaction), whatever the driver.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::server::db::Pool::Sqlite($p) => $body,
            $crate::server::db::Pool::Postgres($p) => $body,
        }
    };
}

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// deferred transaction that reads first pins a snapshot, and if another process (the `lockbox`
/// command line, say) commits before it writes, the write fails with `SQLITE_BUSY_SNAPSHOT`,
/// which the busy timeout does not retry. Taking the lock first makes it wait instead.
pub trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Database>>> + Send;
}

/// The statement [`BeginWrite`] opens SQLite write transactions with.
pub const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>>> + Send
    {
        self.begin_with(SQLITE_BEGIN_WRITE)
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>>> + Send
    {
        self.begin()
    }
}

/// Connections for reading and for writing. SQLite allows one writer at a time, so writes go
/// through a single connection and never wait on a lock; PostgreSQL uses one pool for both.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: Pool,
    pub write: Pool,
    /// The audit key, loaded at start-up; every audit event is sealed with it.
    pub audit: audit::AuditSeal,
    /// SQLite only: secret creates go through one group-commit writer, so a burst of them
    /// shares one synced commit. (PostgreSQL commits each on its own; see `secrets::insert`.)
    pub creates: Option<secrets::CreateQueue>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create or secure the data directory or database file {0}: {1}")]
    DataDir(String, #[source] std::io::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    pub async fn connect(config: &Config) -> Result<Self, DbError> {
        let url = config.database_url.0.as_str();
        if config.is_postgres() {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(DbError::Connect)?;
            let pool = Pool::Postgres(pool);
            return Ok(Self {
                read: pool.clone(),
                write: pool,
                audit: Default::default(),
                creates: None,
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(DbError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .synchronous(match config.sqlite_sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            // Bytes a row leaves behind inside its page when it is rewritten elsewhere (say the
            // account row, whose page version every change bumps) are zeroed: otherwise old
            // copies of a wrapped data key would outlive the account's deletion.
            .pragma("secure_delete", "FAST");
        let file = options.get_filename();
        if file != std::path::Path::new(":memory:") {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                data_dir::secure_dir(parent)
                    .map_err(|e| DbError::DataDir(parent.display().to_string(), e))?;
            }
            data_dir::secure_sqlite_files(file)
                .map_err(|e| DbError::DataDir(file.display().to_string(), e))?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(DbError::Connect)?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        let write = Pool::Sqlite(write);
        let audit = audit::AuditSeal::default();
        Ok(Self {
            creates: Some(secrets::spawn_create_queue(write.clone(), audit.clone())),
            read: Pool::Sqlite(read),
            write,
            audit,
        })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match &self.write {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .map_err(DbError::Migrate)
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.write, Pool::Postgres(_))
    }
}

/// Milliseconds since the Unix epoch: the one time format stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
