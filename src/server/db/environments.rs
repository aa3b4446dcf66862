//! Environment rows. Command, arguments and resources are stored as JSON text, which both
//! databases hold alike.

use super::{audit::AuditEvent, BeginWrite, Db};
use crate::{
    on_pool,
    server::environments::{Environment, Resources},
};

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    description: String,
    image: String,
    command: String,
    args: String,
    port: Option<i32>,
    resources: String,
    local_command: String,
}

impl TryFrom<Row> for Environment {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let json = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(Self {
            command: serde_json::from_str(&r.command).map_err(json)?,
            args: serde_json::from_str(&r.args).map_err(json)?,
            resources: serde_json::from_str::<Resources>(&r.resources).map_err(json)?,
            port: r.port.and_then(|p| u16::try_from(p).ok()),
            name: r.name,
            description: r.description,
            image: r.image,
            local_command: r.local_command,
        })
    }
}

const COLUMNS: &str = "name, description, image, command, args, port, resources, local_command";

pub async fn list(db: &Db) -> sqlx::Result<Vec<Environment>> {
    let sql = format!("SELECT {COLUMNS} FROM environments ORDER BY name");
    let rows: Vec<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql).fetch_all(p).await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub async fn get(db: &Db, name: &str) -> sqlx::Result<Option<Environment>> {
    let sql = format!("SELECT {COLUMNS} FROM environments WHERE name = $1");
    let row: Option<Row> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(name)
        .fetch_optional(p)
        .await)?;
    row.map(TryInto::try_into).transpose()
}

/// The stored form of the JSON columns.
struct Encoded {
    command: String,
    args: String,
    resources: String,
}

fn encode(env: &Environment) -> sqlx::Result<Encoded> {
    let json = |e: serde_json::Error| sqlx::Error::Encode(Box::new(e));
    Ok(Encoded {
        command: serde_json::to_string(&env.command).map_err(json)?,
        args: serde_json::to_string(&env.args).map_err(json)?,
        resources: serde_json::to_string(&env.resources).map_err(json)?,
    })
}

/// Adds an environment, with its audit event (if any) in the same transaction; `false` (and
/// nothing written) when the name is taken.
pub async fn insert(
    db: &Db,
    env: &Environment,
    now: i64,
    event: Option<&AuditEvent<'_>>,
) -> sqlx::Result<bool> {
    let e = encode(env)?;
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO environments (name, description, image, command, args, port, \
             resources, local_command, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&env.name)
        .bind(&env.description)
        .bind(&env.image)
        .bind(&e.command)
        .bind(&e.args)
        .bind(env.port.map(i32::from))
        .bind(&e.resources)
        .bind(&env.local_command)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            return Ok(false);
        }
        if let Some(event) = event {
            crate::insert_audit!(db.audit, tx, event)?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Replaces everything but the name of an environment, with its audit event in the same
/// transaction; `false` (and nothing written) when there is none of that name. Sessions
/// already started keep what they run.
pub async fn update(db: &Db, env: &Environment, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    let e = encode(env)?;
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE environments SET description = $1, image = $2, command = $3, args = $4, \
             port = $5, resources = $6, local_command = $7 WHERE name = $8",
        )
        .bind(&env.description)
        .bind(&env.image)
        .bind(&e.command)
        .bind(&e.args)
        .bind(env.port.map(i32::from))
        .bind(&e.resources)
        .bind(&env.local_command)
        .bind(&env.name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Removes an environment, with its audit event in the same transaction; `false` (and nothing
/// written) when there was none. Sessions keep its name.
pub async fn delete(db: &Db, name: &str, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM environments WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Seeds the demo environment on a fresh install (no accounts and no environments yet), so
/// removing it later is not undone by a restart.
pub async fn seed_demo(db: &Db, now: i64) -> sqlx::Result<bool> {
    let fresh: i64 = on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM environments)"
    )
    .fetch_one(p)
    .await)?;
    if fresh != 0 {
        return Ok(false);
    }
    insert(db, &Environment::demo(), now, None).await
}
