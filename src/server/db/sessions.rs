//! Session rows and the names (never values) each session received. Queries that touch one
//! user's sessions are scoped by the owner's id.

use super::{
    audit::AuditEvent,
    bind::{apply, placeholder, Bind},
    BeginWrite, Db, Pool,
};
use crate::{
    model::{
        admin_sessions::SessionFilter,
        session::{InjectMode, Injection, SessionInfo, SessionStatus},
        sorting::{Key, SessionColumn},
    },
    on_pool,
};

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub environment: &'a str,
    /// The project's name; the insert refuses a project that no longer exists.
    pub project: &'a str,
    pub backend: &'a str,
    pub namespace: &'a str,
    pub mount_dir: &'a str,
    pub injections: &'a [Injection],
    pub now: i64,
}

/// Records a session as starting, with what it is to receive. Returns `false`, recording
/// nothing, when its project no longer exists (deleted while the launch was being checked).
///
/// A launch into a project and that project's deletion must not both succeed. SQLite runs the
/// insert (whose `EXISTS` reads the project) under its one write lock. On PostgreSQL the
/// project's row is first locked in share mode until the insert commits, and
/// [`super::projects::delete`] locks it for update before it looks for live sessions, so
/// whichever comes second sees what the first did.
pub async fn insert(db: &Db, s: &NewSession<'_>) -> sqlx::Result<bool> {
    let postgres = matches!(db.write, Pool::Postgres(_));
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        if postgres {
            sqlx::query("SELECT id FROM projects WHERE name = $1 FOR SHARE")
                .bind(s.project)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO sessions (id, user_id, environment, project, backend, namespace, \
             status, mount_dir, started_at) \
             SELECT $1, $2, $3, $4, $5, $6, 'starting', $7, $8 \
             WHERE EXISTS (SELECT 1 FROM projects WHERE name = $4)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.environment)
        .bind(s.project)
        .bind(s.backend)
        .bind(s.namespace)
        .bind(s.mount_dir)
        .bind(s.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            // Dropped unfinished: rolled back.
            return Ok(false);
        }
        for (i, inj) in s.injections.iter().enumerate() {
            sqlx::query(
                "INSERT INTO session_secrets (session_id, position, secret_name, mode, target) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(s.id)
            .bind(i as i32)
            .bind(&inj.secret)
            .bind(inj.mode.as_str())
            .bind(&inj.target)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// A successful start: the session runs, each secret it received was used now, and the trail
/// says so — in one transaction.
pub async fn started(
    db: &Db,
    user_id: &str,
    id: &str,
    url: Option<&str>,
    used_keys: &[String],
    events: &[AuditEvent<'_>],
) -> sqlx::Result<()> {
    let now = super::now_ms();
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE sessions SET status = 'running', url = $1 WHERE id = $2")
            .bind(url)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for key in used_keys {
            sqlx::query(
                "UPDATE secrets SET last_used_at = $1 WHERE user_id = $2 AND name_key = $3",
            )
            .bind(now)
            .bind(user_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        for event in events {
            crate::insert_audit!(db.audit, tx, event)?;
        }
        tx.commit().await
    })
}

/// Moves a session to `status` (with a reason), recording when it ended if it has, and an
/// audit event if given. Returns whether the session was still live (so it changed).
pub async fn finish(
    db: &Db,
    id: &str,
    status: SessionStatus,
    detail: Option<&str>,
    event: Option<&AuditEvent<'_>>,
) -> sqlx::Result<bool> {
    let now = super::now_ms();
    let stopped_at = (!status.is_live()).then_some(now);
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE sessions SET status = $1, status_detail = $2, \
             stopped_at = COALESCE(stopped_at, $3) \
             WHERE id = $4 AND status IN ('starting', 'running')",
        )
        .bind(status.as_str())
        .bind(detail)
        .bind(stopped_at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            if let Some(event) = event {
                crate::insert_audit!(db.audit, tx, event)?;
            }
        }
        tx.commit().await?;
        Ok(changed == 1)
    })
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    user_id: String,
    environment: String,
    project: String,
    backend: String,
    namespace: String,
    status: String,
    status_detail: Option<String>,
    mount_dir: String,
    url: Option<String>,
    started_at: i64,
    stopped_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    session_id: String,
    secret_name: String,
    mode: String,
    target: String,
}

/// A session row with what the backend needs to find it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub info: SessionInfo,
    pub user_id: String,
    pub namespace: String,
}

const COLUMNS: &str = "id, user_id, environment, project, backend, namespace, status, \
                       status_detail, mount_dir, url, started_at, stopped_at";

/// How many sessions a user's list shows (the newest).
pub const LIST_LIMIT: i64 = 50;

async fn with_secrets(db: &Db, rows: Vec<Row>) -> sqlx::Result<Vec<Stored>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT session_id, secret_name, mode, target FROM session_secrets \
         WHERE session_id IN ({}) ORDER BY session_id, position",
        placeholders.join(", ")
    );
    let secrets: Vec<SecretRow> = on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as(&sql);
        for r in &rows {
            q = q.bind(&r.id);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let injected = secrets
                .iter()
                .filter(|s| s.session_id == r.id)
                .map(|s| Injection {
                    secret: s.secret_name.clone(),
                    mode: InjectMode::parse(&s.mode).unwrap_or_default(),
                    target: s.target.clone(),
                })
                .collect();
            Stored {
                info: SessionInfo {
                    id: r.id,
                    environment: r.environment,
                    project: r.project,
                    backend: r.backend,
                    status: SessionStatus::parse(&r.status).unwrap_or(SessionStatus::Failed),
                    status_detail: r.status_detail,
                    injected,
                    mount_dir: r.mount_dir,
                    started_at: r.started_at,
                    stopped_at: r.stopped_at,
                    url: r.url,
                },
                user_id: r.user_id,
                namespace: r.namespace,
            }
        })
        .collect())
}

/// A session row joined with its owner's username (the admin's listing).
#[derive(sqlx::FromRow)]
struct OwnedRow {
    #[sqlx(flatten)]
    row: Row,
    username: String,
}

const OWNED_COLUMNS: &str = "s.id, s.user_id, s.environment, s.project, s.backend, \
                             s.namespace, s.status, s.status_detail, s.mount_dir, s.url, \
                             s.started_at, s.stopped_at, u.username";

async fn with_owners(db: &Db, rows: Vec<OwnedRow>) -> sqlx::Result<Vec<(Stored, String)>> {
    let (rows, owners): (Vec<Row>, Vec<String>) =
        rows.into_iter().map(|r| (r.row, r.username)).unzip();
    Ok(with_secrets(db, rows)
        .await?
        .into_iter()
        .zip(owners)
        .collect())
}

/// The user's newest sessions first.
pub async fn list(db: &Db, user_id: &str) -> sqlx::Result<Vec<Stored>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 \
         ORDER BY started_at DESC, id LIMIT {LIST_LIMIT}"
    );
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(user_id)
        .fetch_all(p)
        .await)?;
    with_secrets(db, rows).await
}

/// One of the user's sessions.
pub async fn get(db: &Db, user_id: &str, id: &str) -> sqlx::Result<Option<Stored>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND id = $2");
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(user_id)
        .bind(id)
        .fetch_all(p)
        .await)?;
    Ok(with_secrets(db, rows).await?.pop())
}

/// Any user's session by its id, with its owner's username (for admins; not owner-scoped).
pub async fn any_by_id(db: &Db, id: &str) -> sqlx::Result<Option<(Stored, String)>> {
    let sql = format!(
        "SELECT {OWNED_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
    );
    let rows: Vec<OwnedRow> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_all(p)
        .await)?;
    Ok(with_owners(db, rows).await?.pop())
}

/// The column a sessions sort orders by (the tiebreaker is always the session's id).
pub fn sort_column(column: SessionColumn) -> &'static str {
    match column {
        SessionColumn::Started => "s.started_at",
        SessionColumn::User => "u.username_key",
        SessionColumn::Status => "s.status",
    }
}

/// The query of [`page_all`] and its bound values, in placeholder order: every user's sessions
/// matching `filter`, in its order (then by id), after the filter's cursor, at most `limit`.
///
/// Each order reads an index rather than sorting every session: `sessions_started` (started_at,
/// id) and `sessions_status_id` (status, id) for the session's own columns; by user, the users
/// in username_key order from its unique index, then each one's sessions from
/// `sessions_user_id` (user_id, id). Below a cursor by user, the bound on `u.username_key`
/// alone (implied by the row comparison) is what lets PostgreSQL enter that index at the cursor.
pub fn page_sql(filter: &SessionFilter, limit: i64) -> (String, Vec<Bind>) {
    let mut binds: Vec<Bind> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    if let Some(user) = &filter.user {
        let n = placeholder(&mut binds, Bind::Text(user.to_ascii_lowercase()));
        conds.push(format!("u.username_key = {n}"));
    }
    if let Some(env) = &filter.environment {
        let n = placeholder(&mut binds, Bind::Text(env.clone()));
        conds.push(format!("s.environment = {n}"));
    }
    if let Some(project) = &filter.project {
        let n = placeholder(&mut binds, Bind::Text(project.clone()));
        conds.push(format!("s.project = {n}"));
    }
    if let Some(status) = filter.status {
        let ns: Vec<String> = status
            .statuses()
            .iter()
            .map(|s| placeholder(&mut binds, Bind::Text(s.to_string())))
            .collect();
        conds.push(format!("s.status IN ({})", ns.join(", ")));
    }
    let column = sort_column(filter.sort.column);
    if let Some(after) = &filter.after {
        // Keyset paging: the rows after (sort key, id) in the order, as one row comparison.
        let a = placeholder(
            &mut binds,
            match &after.key {
                Key::Int(n) => Bind::Int(*n),
                Key::Text(t) => Bind::Text(t.clone()),
            },
        );
        let b = placeholder(&mut binds, Bind::Text(after.id.clone()));
        let op = filter.sort.dir.after_op();
        if filter.sort.column == SessionColumn::User {
            // The comparison spans two tables, so no index can take it whole: its first half,
            // on the users' index alone, starts the scan at the cursor's user.
            conds.push(format!("{column} {op}= {a}"));
        }
        conds.push(format!("({column}, s.id) {op} ({a}, {b})"));
    }
    let limit_n = placeholder(&mut binds, Bind::Int(limit));
    let where_ = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let dir = filter.sort.dir.sql();
    let sql = format!(
        "SELECT {OWNED_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id {where_} \
         ORDER BY {column} {dir}, s.id {dir} LIMIT {limit_n}"
    );
    (sql, binds)
}

/// One page of every user's sessions matching `filter`, in its order (then by id), with each
/// owner's username: at most `limit`, after the filter's cursor.
pub async fn page_all(
    db: &Db,
    filter: &SessionFilter,
    limit: i64,
) -> sqlx::Result<Vec<(Stored, String)>> {
    let (sql, binds) = page_sql(filter, limit);
    let rows: Vec<OwnedRow> = on_pool!(&db.read, |p| {
        apply(sqlx::query_as(&sql), &binds).fetch_all(p).await
    })?;
    with_owners(db, rows).await
}

/// Every session still marked starting or running on `backend` (for the start-up reaper).
pub async fn live(db: &Db, backend: &str) -> sqlx::Result<Vec<Stored>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE backend = $1 \
         AND status IN ('starting', 'running')"
    );
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(backend)
        .fetch_all(p)
        .await)?;
    with_secrets(db, rows).await
}

/// Records a live session's new state (starting → running).
pub async fn set_live_status(db: &Db, id: &str, status: SessionStatus) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| sqlx::query(
        "UPDATE sessions SET status = $1 WHERE id = $2 AND status IN ('starting', 'running')"
    )
    .bind(status.as_str())
    .bind(id)
    .execute(p)
    .await
    .map(|_| ()))
}

/// How many sessions a user has starting or running (for the per-user cap).
pub async fn count_live(db: &Db, user_id: &str) -> sqlx::Result<i64> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND status IN ('starting', 'running')"
    )
    .bind(user_id)
    .fetch_one(p)
    .await)
}

/// Live sessions per backend (for the metrics).
pub async fn count_all_live(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT backend, COUNT(*) FROM sessions WHERE status IN ('starting', 'running') \
         GROUP BY backend ORDER BY backend"
    )
    .fetch_all(p)
    .await)
}

/// The ids of every session still marked starting or running on `backend` (for the sweep).
pub async fn live_ids(db: &Db, backend: &str) -> sqlx::Result<std::collections::HashSet<String>> {
    let ids: Vec<String> = on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT id FROM sessions WHERE backend = $1 AND status IN ('starting', 'running')"
    )
    .bind(backend)
    .fetch_all(p)
    .await)?;
    Ok(ids.into_iter().collect())
}

/// This installation's id: random, made once by the migration that created its table, so it
/// is the same for every replica sharing the database and across restarts.
pub async fn installation_id(db: &Db) -> sqlx::Result<String> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT id FROM installation WHERE singleton = 1"
    )
    .fetch_one(p)
    .await)
}
