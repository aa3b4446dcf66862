//! What the admin projects pages need in one call (admins only: 401 signed out, 403 for anyone
//! else). The changes themselves are the projects API's (`crate::api::projects`).

use crate::model::{
    paging::Page,
    projects::{ProjectDetail, ProjectMember},
    AppError, Flash,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectsPageData {
    /// The search text as typed (shown back in the search field).
    pub q: String,
    /// Why the search was refused, if it was (the list is then empty).
    pub query_error: Option<String>,
    pub page: Page<ProjectDetail>,
    /// The project whose deletion is being confirmed (`?delete=NAME`), or why it cannot be.
    pub confirm: Option<Result<ProjectDetail, String>>,
    pub flash: Option<Flash>,
}

/// Projects whose name, namespace or description contains `q` (ignoring case), by name, from
/// after the cursor `after`.
#[server(endpoint = "pages/admin/projects")]
pub async fn admin_projects_page(
    #[server(default)] q: String,
    #[server(default)] after: String,
    #[server(default)] delete: Option<String>,
) -> Result<ProjectsPageData, AppError> {
    use crate::model::paging::{self, contains_any, PAGE_SIZE};
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let all = crate::server::projects::Projects::of(&ctx.state)
        .list()
        .await?;
    let confirm = delete.map(|name| {
        let name = name.trim().to_string();
        all.iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| crate::model::projects::unknown_message(&name))
    });
    let (page, query_error) = match paging::search(&q) {
        Ok(needle) => (
            paging::page(
                all,
                |p| p.name.clone(),
                |p| contains_any(&[&p.name, &p.namespace, &p.description], &needle),
                after.trim(),
                PAGE_SIZE,
            ),
            None,
        ),
        Err(e) => (Page::default(), Some(e.message)),
    };
    Ok(ProjectsPageData {
        q,
        query_error,
        page,
        confirm,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectPageData {
    pub project: ProjectDetail,
    /// Members by name, one page of them.
    pub members: Page<ProjectMember>,
    /// The member whose removal is being confirmed (`?remove=USERNAME`), or why it cannot be.
    pub confirm: Option<Result<ProjectMember, String>>,
    pub flash: Option<Flash>,
}

/// One project and its members (404 naming the project if there is none).
#[server(endpoint = "pages/admin/projects/detail")]
pub async fn admin_project_page(
    name: String,
    #[server(default)] after: String,
    #[server(default)] remove: Option<String>,
) -> Result<ProjectPageData, AppError> {
    use crate::model::paging::{self, PAGE_SIZE};
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let projects = crate::server::projects::Projects::of(&ctx.state);
    let name = name.trim();
    let project = projects
        .list()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| AppError::not_found(crate::model::projects::unknown_message(name)))?;
    let all = projects.members(name).await?;
    let confirm = remove.map(|username| {
        let username = username.trim().to_string();
        all.iter()
            .find(|m| m.username == username)
            .cloned()
            .ok_or_else(|| format!("{username:?} is not a member of {name}."))
    });
    let members = paging::page(
        all,
        |m| m.username.clone(),
        |_| true,
        after.trim(),
        PAGE_SIZE,
    );
    Ok(ProjectPageData {
        project,
        members,
        confirm,
        flash: ctx.take_flash(),
    })
}
