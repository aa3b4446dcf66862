//! The `propagation_status` rows (one per store, source and namespace) and the controllers'
//! heartbeats.

use crate::{
    model::propagation::{PropagationHealth, PropagationRow},
    on_pool,
    server::db::{BeginWrite, Db},
};
#[derive(sqlx::FromRow)]
struct Row {
    store: String,
    source_uid: String,
    source: String,
    namespace: String,
    state: String,
    synced_version: Option<String>,
    synced_at: Option<i64>,
    detail: Option<String>,
    updated_at: i64,
}

impl From<Row> for PropagationRow {
    fn from(r: Row) -> Self {
        Self {
            store: r.store,
            source_uid: r.source_uid,
            source: r.source,
            namespace: r.namespace,
            state: r.state,
            synced_version: r.synced_version,
            synced_at: r.synced_at,
            detail: r.detail,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str =
    "store, source_uid, source, namespace, state, synced_version, synced_at, detail, updated_at";

/// Every row, by store, source and namespace.
pub async fn list(db: &Db) -> sqlx::Result<Vec<PropagationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM propagation_status ORDER BY store, source, namespace, source_uid"
    );
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// How many copies are in each state (synced, conflict, error, skipped), for the metrics.
pub async fn count_by_state(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT state, COUNT(*) FROM propagation_status GROUP BY state ORDER BY state"
    )
    .fetch_all(p)
    .await)
}

/// One store's rows.
pub async fn load(db: &Db, store: &str) -> sqlx::Result<Vec<PropagationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM propagation_status WHERE store = $1");
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(store)
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Writes changed rows and removes rows of `store` keyed `(source_uid, namespace)`, in one
/// transaction.
pub async fn write(
    db: &Db,
    store: &str,
    upserts: &[PropagationRow],
    deletes: &[(String, String)],
) -> sqlx::Result<()> {
    if upserts.is_empty() && deletes.is_empty() {
        return Ok(());
    }
    let upsert = format!(
        "INSERT INTO propagation_status ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (store, source_uid, namespace) DO UPDATE SET
           source = excluded.source, state = excluded.state,
           synced_version = excluded.synced_version, synced_at = excluded.synced_at,
           detail = excluded.detail, updated_at = excluded.updated_at"
    );
    let delete =
        "DELETE FROM propagation_status WHERE store = $1 AND source_uid = $2 AND namespace = $3";
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        for r in upserts {
            sqlx::query(&upsert)
                .bind(&r.store)
                .bind(&r.source_uid)
                .bind(&r.source)
                .bind(&r.namespace)
                .bind(&r.state)
                .bind(&r.synced_version)
                .bind(r.synced_at)
                .bind(&r.detail)
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await?;
        }
        for (uid, ns) in deletes {
            sqlx::query(delete)
                .bind(store)
                .bind(uid)
                .bind(ns)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// The rows as a table for the command line.
pub fn table(rows: &[PropagationRow]) -> String {
    if rows.is_empty() {
        return "no cluster-wide secrets are propagated".into();
    }
    let header = [
        "STORE",
        "SOURCE",
        "NAMESPACE",
        "STATE",
        "VERSION",
        "SYNCED",
        "DETAIL",
    ];
    let lines: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.store.clone(),
                r.source.clone(),
                r.namespace.clone(),
                r.state.clone(),
                r.synced_version.clone().unwrap_or_else(|| "-".into()),
                r.synced_at
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "-".into()),
                r.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt = |cells: &[String]| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = vec![fmt(&header.map(String::from))];
    out.extend(lines.iter().map(|l| fmt(l)));
    out.join("\n")
}

/// A heartbeat older than this is a stall, whatever it says.
pub const HEARTBEAT_STALE_MS: i64 = 120_000;

#[derive(sqlx::FromRow)]
struct Beat {
    store: String,
    holder: String,
    last_pass_at: Option<i64>,
    stalled: bool,
    detail: Option<String>,
    passes: i64,
    writes: i64,
    failed_writes: i64,
    updated_at: i64,
}

/// Records the controller's heartbeat (`heartbeat_at` is taken as the time of writing).
pub async fn beat(db: &Db, h: &PropagationHealth) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO propagation_controller (store, holder, last_pass_at, stalled, detail,
           passes, writes, failed_writes, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (store) DO UPDATE SET holder = excluded.holder,
           last_pass_at = excluded.last_pass_at, stalled = excluded.stalled,
           detail = excluded.detail, passes = excluded.passes, writes = excluded.writes,
           failed_writes = excluded.failed_writes, updated_at = excluded.updated_at"
    )
    .bind(&h.store)
    .bind(&h.holder)
    .bind(h.last_pass_at)
    .bind(h.stalled)
    .bind(&h.detail)
    .bind(h.passes)
    .bind(h.writes)
    .bind(h.failed_writes)
    .bind(h.heartbeat_at)
    .execute(p)
    .await
    .map(drop))
}

/// Every store's controller as last reported; a heartbeat older than
/// [`HEARTBEAT_STALE_MS`] at `now` counts as a stall.
pub async fn controllers(db: &Db, now: i64) -> sqlx::Result<Vec<PropagationHealth>> {
    let rows: Vec<Beat> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT store, holder, last_pass_at, stalled, detail, passes, writes, failed_writes,
                updated_at FROM propagation_controller ORDER BY store"
    )
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|b| {
            let silent = now - b.updated_at;
            let stale = silent > HEARTBEAT_STALE_MS;
            PropagationHealth {
                detail: if stale {
                    Some(format!(
                        "stalled: no replica has reported for {} s (last: {})",
                        silent / 1000,
                        b.holder
                    ))
                } else {
                    b.detail
                },
                stalled: b.stalled || stale,
                store: b.store,
                holder: b.holder,
                last_pass_at: b.last_pass_at,
                heartbeat_at: b.updated_at,
                passes: b.passes,
                writes: b.writes,
                failed_writes: b.failed_writes,
            }
        })
        .collect())
}

/// The controllers' health as lines for the command line.
pub fn health_lines(controllers: &[PropagationHealth]) -> String {
    controllers
        .iter()
        .map(|c| {
            let when = |t: Option<i64>| {
                t.and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "never".into())
            };
            format!(
                "{} controller on {}: {}; last pass {}; {} passes, {} writes ({} failed){}",
                c.store,
                c.holder,
                if c.stalled { "STALLED" } else { "running" },
                when(c.last_pass_at),
                c.passes,
                c.writes,
                c.failed_writes,
                c.detail
                    .as_deref()
                    .map(|d| format!("\n  {d}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
