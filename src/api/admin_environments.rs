//! Environments, for admins (401 signed out or with a token, 403 for anyone else): list, create,
//! edit, remove. The same service and rules as `lockbox environments …`; every change audited.
// A form's fields are a server function's arguments (on the browser's side too).
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use crate::model::environments::EnvironmentForm;
use crate::model::{environments::EnvironmentSpec, AppError};
#[cfg(feature = "ssr")]
use crate::server::{environments_service as service, projects::By};
use leptos::prelude::*;

#[server(endpoint = "admin/environments/list")]
pub async fn admin_list_environments() -> Result<Vec<EnvironmentSpec>, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    service::list(&ctx.state.db).await
}

/// The form as typed: `command` and `args` one per line; empty fields mean none.
#[cfg(feature = "ssr")]
fn form(
    name: String,
    description: String,
    image: String,
    command: &str,
    args: &str,
    port: String,
    local_command: String,
    resources: [String; 4],
) -> EnvironmentForm {
    use crate::model::environments::lines;
    let [cpu_request, memory_request, cpu_limit, memory_limit] = resources;
    EnvironmentForm {
        name,
        description,
        image,
        command: lines(command),
        args: lines(args),
        port,
        // Text areas send CRLF line breaks; the shell wants LF.
        local_command: local_command.replace("\r\n", "\n"),
        cpu_request,
        memory_request,
        cpu_limit,
        memory_limit,
    }
}

/// What a failed form keeps (nothing here is secret).
#[cfg(feature = "ssr")]
fn typed(f: &EnvironmentForm) -> Vec<(&'static str, String)> {
    vec![
        ("name", f.name.clone()),
        ("description", f.description.clone()),
        ("image", f.image.clone()),
        ("command", f.command.join("\n")),
        ("args", f.args.join("\n")),
        ("port", f.port.clone()),
        ("local_command", f.local_command.clone()),
        ("cpu_request", f.cpu_request.clone()),
        ("memory_request", f.memory_request.clone()),
        ("cpu_limit", f.cpu_limit.clone()),
        ("memory_limit", f.memory_limit.clone()),
    ]
}

/// Adds an environment (422 naming each field that breaks a rule; 409 if the name is taken).
#[server(endpoint = "admin/environments/create")]
pub async fn admin_create_environment(
    name: String,
    #[server(default)] description: String,
    #[server(default)] image: String,
    #[server(default)] command: String,
    #[server(default)] args: String,
    #[server(default)] port: String,
    #[server(default)] local_command: String,
    #[server(default)] cpu_request: String,
    #[server(default)] memory_request: String,
    #[server(default)] cpu_limit: String,
    #[server(default)] memory_limit: String,
) -> Result<EnvironmentSpec, AppError> {
    let ctx = super::ctx::ctx()?;
    let f = form(
        name,
        description,
        image,
        &command,
        &args,
        port,
        local_command,
        [cpu_request, memory_request, cpu_limit, memory_limit],
    );
    let result = async {
        let admin = ctx.require_admin().await?;
        service::create(&ctx.state.db, &By::User(&admin), &f).await
    }
    .await;
    let values = typed(&f);
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ctx.finish(
        "environment:create",
        result,
        &values,
        |e| format!("Environment {} added.", e.name),
        Some("/admin/environments"),
    )
    .await
}

/// Replaces everything but the name of an environment (sessions already started keep what
/// they run).
#[server(endpoint = "admin/environments/update")]
pub async fn admin_update_environment(
    name: String,
    #[server(default)] description: String,
    #[server(default)] image: String,
    #[server(default)] command: String,
    #[server(default)] args: String,
    #[server(default)] port: String,
    #[server(default)] local_command: String,
    #[server(default)] cpu_request: String,
    #[server(default)] memory_request: String,
    #[server(default)] cpu_limit: String,
    #[server(default)] memory_limit: String,
) -> Result<EnvironmentSpec, AppError> {
    let ctx = super::ctx::ctx()?;
    let f = form(
        name,
        description,
        image,
        &command,
        &args,
        port,
        local_command,
        [cpu_request, memory_request, cpu_limit, memory_limit],
    );
    let result = async {
        let admin = ctx.require_admin().await?;
        service::update(&ctx.state.db, &By::User(&admin), &f).await
    }
    .await;
    let values = typed(&f);
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ctx.finish(
        &format!("environment:update:{}", f.name.trim()),
        result,
        &values,
        |e| format!("Environment {} saved.", e.name),
        Some("/admin/environments"),
    )
    .await
}

/// Removes an environment (sessions already started keep running).
#[server(endpoint = "admin/environments/delete")]
pub async fn admin_delete_environment(name: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let admin = ctx.require_admin().await?;
        service::delete(&ctx.state.db, &By::User(&admin), &name).await
    }
    .await;
    let shown = name.trim().to_string();
    ctx.finish(
        &format!("environment:delete:{shown}"),
        result,
        &[("name", name.as_str())],
        |_| format!("Environment {shown} removed."),
        Some("/admin/environments"),
    )
    .await
}
