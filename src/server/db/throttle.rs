//! The shared sign-in throttle's rows (`sign_in_throttle`), for replicas on one database. A row
//! is keyed by its kind (`account`, `address`) and a keyed hash of the key, so the table holds
//! no username or client address. What an attempt does to a row is decided by the caller's
//! `step` (the throttle's pure policy); here it is applied under the row's lock, so the check
//! and the count are one step across every replica.
//!
//! On PostgreSQL these transactions commit asynchronously (`synchronous_commit = off`): they
//! are as atomic and as visible to other replicas as any, but do not wait for the WAL flush, so
//! a sign-in pays no disk flush for its throttle (two per sign-in
//! otherwise). A crash of PostgreSQL itself may lose the last fraction of a second of counts.

use super::{BeginWrite, Db};
use crate::{on_pool, server::auth::throttle::policy::Record};
use std::time::Duration;

/// Locks the key's row, creating it fresh if missing, and reads it. On PostgreSQL the upsert
/// locks the row until the transaction ends (a concurrent one waits, then reads what this one
/// wrote); SQLite has a single writer.
const LOCK_SQL: &str = "INSERT INTO sign_in_throttle (key_kind, key_mac, count, last_attempt, \
     locked_until) VALUES ($1, $2, 0, $3, NULL) ON CONFLICT (key_kind, key_mac) \
     DO UPDATE SET count = sign_in_throttle.count RETURNING count, last_attempt, locked_until";

/// Locks and reads an existing row (none: nothing to give back).
const LOCK_EXISTING_SQL: &str = "UPDATE sign_in_throttle SET count = count \
     WHERE key_kind = $1 AND key_mac = $2 RETURNING count, last_attempt, locked_until";

const WRITE_SQL: &str = "UPDATE sign_in_throttle SET count = $3, last_attempt = $4, \
     locked_until = $5 WHERE key_kind = $1 AND key_mac = $2";

const ASYNC_COMMIT_SQL: &str = "SET LOCAL synchronous_commit = off";

type Row = (i64, i64, Option<i64>);

fn record((count, last_attempt, locked_until): Row) -> Record {
    Record {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        last_attempt,
        locked_until,
    }
}

/// One key: its kind and keyed hash.
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    pub kind: &'static str,
    pub mac: &'a [u8],
}

/// Applies `step` to every key's record, in order, in one transaction: either every key counts
/// the attempt, or (the first `Err`, a lock's remaining time) none does. Callers pass keys in
/// one fixed order of kinds, so two transactions never wait on each other in a cycle.
pub async fn reserve(
    db: &Db,
    keys: &[Key<'_>],
    now: i64,
    step: impl Fn(usize, Record) -> Result<Record, Duration>,
) -> sqlx::Result<Result<(), Duration>> {
    let postgres = db.is_postgres();
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        if postgres {
            sqlx::query(ASYNC_COMMIT_SQL).execute(&mut *tx).await?;
        }
        for (i, key) in keys.iter().enumerate() {
            let row: Row = sqlx::query_as(LOCK_SQL)
                .bind(key.kind)
                .bind(key.mac)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            match step(i, record(row)) {
                Ok(next) => {
                    sqlx::query(WRITE_SQL)
                        .bind(key.kind)
                        .bind(key.mac)
                        .bind(i64::from(next.count))
                        .bind(next.last_attempt)
                        .bind(next.locked_until)
                        .execute(&mut *tx)
                        .await?;
                }
                Err(wait) => {
                    // Nothing counted: the rows (and any created here) go back as they were.
                    tx.rollback().await?;
                    return Ok(Err(wait));
                }
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    })
}

/// Settles an attempt in one transaction: forgets `clear` (a successful sign-in's account),
/// then applies `step` to each of `keys` that has a record, under its lock (in the same order of
/// kinds as [`reserve`]).
pub async fn settle(
    db: &Db,
    clear: Option<Key<'_>>,
    keys: &[Key<'_>],
    step: impl Fn(usize, Record) -> Record,
) -> sqlx::Result<()> {
    let postgres = db.is_postgres();
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        if postgres {
            sqlx::query(ASYNC_COMMIT_SQL).execute(&mut *tx).await?;
        }
        if let Some(key) = clear {
            sqlx::query("DELETE FROM sign_in_throttle WHERE key_kind = $1 AND key_mac = $2")
                .bind(key.kind)
                .bind(key.mac)
                .execute(&mut *tx)
                .await?;
        }
        for (i, key) in keys.iter().enumerate() {
            let row: Option<Row> = sqlx::query_as(LOCK_EXISTING_SQL)
                .bind(key.kind)
                .bind(key.mac)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                let next = step(i, record(row));
                sqlx::query(WRITE_SQL)
                    .bind(key.kind)
                    .bind(key.mac)
                    .bind(i64::from(next.count))
                    .bind(next.last_attempt)
                    .bind(next.locked_until)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    })
}

/// Deletes the rows of `kind` with no running lock and no attempt since `last_before`: what the
/// policy no longer keeps. Returns how many.
pub async fn prune(db: &Db, kind: &str, now: i64, last_before: i64) -> sqlx::Result<u64> {
    on_pool!(&db.write, |p| sqlx::query(
        "DELETE FROM sign_in_throttle WHERE key_kind = $1 AND last_attempt <= $2 \
         AND (locked_until IS NULL OR locked_until <= $3)"
    )
    .bind(kind)
    .bind(last_before)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))
}
