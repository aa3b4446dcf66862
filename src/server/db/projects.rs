//! Project rows and their members. The default project (made by the migration) is open to
//! every user; any other is open to its members. Every change is written in one transaction
//! with its audit event.

use super::{audit::AuditEvent, BeginWrite, Db, Pool};
use crate::on_pool;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    /// `<prefix><name>` as it was at creation; `None` for the default project, whose namespace
    /// is the configured one.
    pub namespace: Option<String>,
    pub namespace_created: bool,
    pub created_at: i64,
}

/// A project with the counts the admin list shows.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProjectListed {
    #[sqlx(flatten)]
    pub project: ProjectRow,
    pub members: i64,
    pub live_sessions: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub username: String,
    pub added_at: i64,
}

pub struct NewProject<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub namespace: &'a str,
    pub namespace_created: bool,
    pub now: i64,
}

const COLUMNS: &str =
    "p.id, p.name, p.description, p.is_default, p.namespace, p.namespace_created, p.created_at";

/// Sessions that still hold (or may yet hold) resources in their project.
const LIVE: &str = "status IN ('starting', 'running')";

/// Logs a failed query with what it was doing (the caller turns it into a user-safe error).
fn logged<T>(what: &'static str, r: sqlx::Result<T>) -> sqlx::Result<T> {
    if let Err(e) = &r {
        tracing::error!(error = %e, operation = what, "project query failed");
    }
    r
}

/// Every project, the default one first, then by name, with member and live-session counts.
pub async fn list(db: &Db) -> sqlx::Result<Vec<ProjectListed>> {
    let sql = format!(
        "SELECT {COLUMNS}, \
         (SELECT COUNT(*) FROM project_members m WHERE m.project_id = p.id) AS members, \
         (SELECT COUNT(*) FROM sessions s WHERE s.project = p.name AND s.{LIVE}) AS live_sessions \
         FROM projects p ORDER BY p.is_default DESC, p.name"
    );
    logged(
        "listing projects",
        on_pool!(&db.read, |p| sqlx::query_as(&sql).fetch_all(p).await),
    )
}

pub async fn get(db: &Db, name: &str) -> sqlx::Result<Option<ProjectRow>> {
    let sql = format!("SELECT {COLUMNS} FROM projects p WHERE p.name = $1");
    logged(
        "reading a project",
        on_pool!(&db.read, |p| sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(p)
            .await),
    )
}

/// The namespaces of every project that is not the default one (whose namespace is the
/// configured one).
pub async fn namespaces(db: &Db) -> sqlx::Result<Vec<String>> {
    logged(
        "listing project namespaces",
        on_pool!(&db.read, |p| sqlx::query_scalar(
            "SELECT namespace FROM projects WHERE namespace IS NOT NULL ORDER BY namespace"
        )
        .fetch_all(p)
        .await),
    )
}

/// Adds a project and its audit event. `false` (and nothing written) when the name or the
/// namespace is taken.
pub async fn insert(db: &Db, new: &NewProject<'_>, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    logged("creating a project", insert_tx(db, new, event).await)
}

async fn insert_tx(db: &Db, new: &NewProject<'_>, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO projects (id, name, description, is_default, namespace, \
                 namespace_created, created_at) \
                 SELECT $1, $2, $3, FALSE, $4, $5, $6 \
                 WHERE NOT EXISTS (SELECT 1 FROM projects WHERE name = $2 OR namespace = $4)",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.description)
        .bind(new.namespace)
        .bind(new.namespace_created)
        .bind(new.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// What deleting a project's row came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// There is no project of that name (or it is the default one, which is never deleted).
    NotFound,
    /// It has this many live sessions (one started since the caller last looked).
    Live(i64),
}

/// Deletes a project (members go with it) and writes its audit event, unless it has live
/// sessions or is the default project. See [`super::sessions::insert`] for why a launch into
/// it cannot slip in between the check and the delete.
pub async fn delete(db: &Db, name: &str, event: &AuditEvent<'_>) -> sqlx::Result<Deleted> {
    logged("deleting a project", delete_tx(db, name, event).await)
}

async fn delete_tx(db: &Db, name: &str, event: &AuditEvent<'_>) -> sqlx::Result<Deleted> {
    let postgres = matches!(db.write, Pool::Postgres(_));
    let delete_sql = format!(
        "DELETE FROM projects WHERE name = $1 AND NOT is_default \
         AND NOT EXISTS (SELECT 1 FROM sessions WHERE project = $1 AND {LIVE})"
    );
    let live_sql = format!("SELECT COUNT(*) FROM sessions WHERE project = $1 AND {LIVE}");
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        if postgres {
            sqlx::query("SELECT id FROM projects WHERE name = $1 FOR UPDATE")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query(&delete_sql)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted != 1 {
            let live: i64 = sqlx::query_scalar(&live_sql)
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(if live > 0 {
                Deleted::Live(live)
            } else {
                Deleted::NotFound
            });
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(Deleted::Yes)
    })
}

/// Whether the user may use the project: the default project is open to everyone, any other
/// to its members.
pub async fn may_use(db: &Db, user_id: &str, project: &ProjectRow) -> sqlx::Result<bool> {
    if project.is_default {
        return Ok(true);
    }
    let found: Option<i32> = logged(
        "checking project membership",
        on_pool!(&db.read, |p| sqlx::query_scalar(
            "SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2"
        )
        .bind(&project.id)
        .bind(user_id)
        .fetch_optional(p)
        .await),
    )?;
    Ok(found.is_some())
}

/// The projects the user may use: the default one first, then their projects by name.
pub async fn usable_by(db: &Db, user_id: &str) -> sqlx::Result<Vec<ProjectRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM projects p WHERE p.is_default OR EXISTS \
         (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $1) \
         ORDER BY p.is_default DESC, p.name"
    );
    logged(
        "listing a user's projects",
        on_pool!(&db.read, |p| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(p)
            .await),
    )
}

/// How many sessions in the project are starting or running.
pub async fn count_live(db: &Db, project: &str) -> sqlx::Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM sessions WHERE project = $1 AND {LIVE}");
    logged(
        "counting a project's live sessions",
        on_pool!(&db.read, |p| sqlx::query_scalar(&sql)
            .bind(project)
            .fetch_one(p)
            .await),
    )
}

/// The project's members by username.
pub async fn members(db: &Db, project_id: &str) -> sqlx::Result<Vec<MemberRow>> {
    logged(
        "listing project members",
        on_pool!(&db.read, |p| sqlx::query_as(
            "SELECT m.user_id, u.username, m.added_at FROM project_members m \
             JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.username_key"
        )
        .bind(project_id)
        .fetch_all(p)
        .await),
    )
}

/// Adds a member and the audit event; `false` (nothing written) when they already were one
/// or the project is gone.
pub async fn add_member(
    db: &Db,
    project_id: &str,
    user_id: &str,
    now: i64,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    logged(
        "adding a project member",
        add_member_tx(db, project_id, user_id, now, event).await,
    )
}

async fn add_member_tx(
    db: &Db,
    project_id: &str,
    user_id: &str,
    now: i64,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO project_members (project_id, user_id, added_at) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM projects WHERE id = $1) \
                 ON CONFLICT (project_id, user_id) DO NOTHING",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Removes a member and writes the audit event; `false` (nothing written) when they were not
/// one. Their running sessions keep running.
pub async fn remove_member(
    db: &Db,
    project_id: &str,
    user_id: &str,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    logged(
        "removing a project member",
        remove_member_tx(db, project_id, user_id, event).await,
    )
}

async fn remove_member_tx(
    db: &Db,
    project_id: &str,
    user_id: &str,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let removed =
            sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if removed != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}
