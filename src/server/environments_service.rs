//! Changing environments: the one path for the admin page and `lockbox environments …`. Input
//! is checked by [`environments::validate`] (the one owner of the rules), and every change is
//! audited in the transaction that makes it.
//!
//! [`environments::validate`]: crate::model::environments::validate

use crate::{
    model::{
        environments::{self as rules, EnvironmentForm, EnvironmentSpec},
        AppError,
    },
    server::{db, environments::Environment, projects::By},
};

pub async fn list(db: &db::Db) -> Result<Vec<EnvironmentSpec>, AppError> {
    Ok(db::environments::list(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

fn unknown(name: &str) -> AppError {
    AppError::not_found(format!("There is no environment named {name:?}."))
}

/// One environment, or 404.
pub async fn get(db: &db::Db, name: &str) -> Result<EnvironmentSpec, AppError> {
    db::environments::get(db, name.trim())
        .await?
        .map(Into::into)
        .ok_or_else(|| unknown(name.trim()))
}

fn detail(env: &Environment) -> String {
    let port = env.port.map(|p| format!("; port {p}")).unwrap_or_default();
    format!("image {}{port}", env.image)
}

pub async fn create(
    db: &db::Db,
    by: &By<'_>,
    form: &EnvironmentForm,
) -> Result<EnvironmentSpec, AppError> {
    by.check()?;
    let env: Environment = rules::validate(form).map_err(AppError::fields)?.into();
    let detail = detail(&env);
    let event = by.event("environment.created", &env.name, &detail);
    if !db::environments::insert(db, &env, db::now_ms(), Some(&event)).await? {
        return Err(AppError::Conflict {
            field: "name".into(),
            message: format!("An environment named {} already exists.", env.name),
        });
    }
    Ok(env.into())
}

/// Replaces everything but the name (sessions already started keep what they run).
pub async fn update(
    db: &db::Db,
    by: &By<'_>,
    form: &EnvironmentForm,
) -> Result<EnvironmentSpec, AppError> {
    by.check()?;
    let env: Environment = rules::validate(form).map_err(AppError::fields)?.into();
    let detail = detail(&env);
    let event = by.event("environment.updated", &env.name, &detail);
    if !db::environments::update(db, &env, &event).await? {
        return Err(unknown(&env.name));
    }
    Ok(env.into())
}

/// Removes an environment (sessions already started keep running, and keep its name).
pub async fn delete(db: &db::Db, by: &By<'_>, name: &str) -> Result<(), AppError> {
    by.check()?;
    let name = name.trim();
    let event = by.event("environment.deleted", name, "");
    if !db::environments::delete(db, name, &event).await? {
        return Err(unknown(name));
    }
    Ok(())
}
