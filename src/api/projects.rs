//! The projects API: the projects a signed-in user may launch into, and (admins only) creating
//! and deleting projects and managing their members. Names, descriptions and usernames only.

use crate::model::{
    projects::{ProjectCreated, ProjectDetail, ProjectInfo, ProjectMember},
    AppError,
};
#[cfg(feature = "ssr")]
use crate::server::projects::{self as service, By, Projects};
use leptos::prelude::*;

/// The projects the signed-in user may use (the default one first).
#[server(endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    // The launch form's data: a token with `sessions` may read it.
    let user = ctx.user_with(crate::model::tokens::Scope::Sessions).await?;
    service::usable(&ctx.state.db, &user).await
}

/// Every project with its namespace, member count and live sessions.
#[server(endpoint = "admin/projects/list")]
pub async fn admin_list_projects() -> Result<Vec<ProjectDetail>, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    Projects::of(&ctx.state).list().await
}

/// Creates a project and prepares its namespace; returns it with any warnings (an adopted
/// namespace that is not Pod Security `restricted`, say).
#[server(endpoint = "admin/projects/create")]
pub async fn admin_create_project(
    name: String,
    #[server(default)] description: String,
) -> Result<ProjectCreated, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        let created = Projects::of(&ctx.state)
            .create(&By::User(&actor), &name, &description)
            .await?;
        ctx.state.propagation.changed();
        Ok(created)
    }
    .await;
    let values = [
        ("name", name.as_str()),
        ("description", description.as_str()),
    ];
    ctx.finish(
        "admin/projects/create",
        result,
        &values,
        |c| format!("Project {} created.", c.project.name),
        None,
    )
    .await
}

/// Deletes a project without live sessions (409 naming how many there are otherwise).
#[server(endpoint = "admin/projects/delete")]
pub async fn admin_delete_project(name: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        Projects::of(&ctx.state)
            .delete(&By::User(&actor), &name)
            .await?;
        ctx.state.propagation.changed();
        Ok(())
    }
    .await;
    let shown = name.trim().to_string();
    ctx.finish(
        "admin/projects/delete",
        result,
        &[("name", name.as_str())],
        |_| format!("Project {shown} deleted."),
        None,
    )
    .await
}

/// A project's members.
#[server(endpoint = "admin/projects/members")]
pub async fn admin_project_members(name: String) -> Result<Vec<ProjectMember>, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    Projects::of(&ctx.state).members(&name).await
}

#[server(endpoint = "admin/projects/add-member")]
pub async fn admin_add_project_member(
    name: String,
    username: String,
) -> Result<ProjectMember, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        Projects::of(&ctx.state)
            .add_member(&By::User(&actor), &name, &username)
            .await
    }
    .await;
    let shown = name.trim().to_string();
    ctx.finish(
        "admin/projects/add-member",
        result,
        &[("name", name.as_str()), ("username", username.as_str())],
        |m| format!("{} may now use {shown}.", m.username),
        None,
    )
    .await
}

#[server(endpoint = "admin/projects/remove-member")]
pub async fn admin_remove_project_member(name: String, username: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        Projects::of(&ctx.state)
            .remove_member(&By::User(&actor), &name, &username)
            .await
    }
    .await;
    let (shown_user, shown) = (username.trim().to_string(), name.trim().to_string());
    ctx.finish(
        "admin/projects/remove-member",
        result,
        &[("name", name.as_str()), ("username", username.as_str())],
        |_| format!("{shown_user} was removed from {shown}."),
        None,
    )
    .await
}
