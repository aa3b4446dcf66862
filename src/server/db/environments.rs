//! Environment rows. Command, arguments and resources are stored as JSON text, which both
//! databases hold alike.

use super::Db;
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

/// Adds an environment; `false` when the name is taken.
pub async fn insert(db: &Db, env: &Environment, now: i64) -> sqlx::Result<bool> {
    let json = |e: serde_json::Error| sqlx::Error::Encode(Box::new(e));
    let command = serde_json::to_string(&env.command).map_err(json)?;
    let args = serde_json::to_string(&env.args).map_err(json)?;
    let resources = serde_json::to_string(&env.resources).map_err(json)?;
    let inserted = on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO environments (name, description, image, command, args, port, resources, \
         local_command, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (name) DO NOTHING"
    )
    .bind(&env.name)
    .bind(&env.description)
    .bind(&env.image)
    .bind(&command)
    .bind(&args)
    .bind(env.port.map(i32::from))
    .bind(&resources)
    .bind(&env.local_command)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
}

/// Removes an environment; `false` when there was none. Sessions keep its name.
pub async fn delete(db: &Db, name: &str) -> sqlx::Result<bool> {
    let deleted = on_pool!(&db.write, |p| sqlx::query(
        "DELETE FROM environments WHERE name = $1"
    )
    .bind(name)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
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
    insert(db, &Environment::demo(), now).await
}
