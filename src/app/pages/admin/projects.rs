//! `/admin/projects`: every project with its namespace, members and live sessions, searched and
//! paged by cursor; create one; delete one after a confirmation (with JavaScript a dialog on
//! this page, without it the same question on the page itself, `?delete=NAME`). A project with
//! live sessions is refused (409, naming how many), shown at the top of the page. Members are
//! managed on each project's own page (`/admin/projects/NAME`). Plain forms that post to the
//! projects API and come back, so everything works without JavaScript.

use super::{admin_only, encode, with_query, AdminLayout};
use crate::{
    api::admin_project_pages::{admin_projects_page, ProjectsPageData},
    app::components::{
        confirm_dialog::{ConfirmDialog, ConfirmLink, Confirmer, Question},
        form::{ErrorSummary, Field, FormState, Notice},
        time::Timestamp,
    },
    model::projects::{ProjectDetail, MAX_DESCRIPTION},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminProjectsPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| {
        (
            m.get("q").unwrap_or_default(),
            m.get("after").unwrap_or_default(),
            m.get("delete"),
        )
    });
    let page = Resource::new(
        move || args.clone(),
        |(q, after, delete)| admin_projects_page(q, after, delete),
    );
    view! {
        <Title text="Projects · Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/projects"><Loaded page/></AdminLayout>
        })}
    }
}

/// The list's address with the search, and optionally a cursor or a project to confirm.
fn list_url(q: &str, after: Option<&str>, delete: Option<&str>) -> String {
    with_query(
        "/admin/projects",
        &[
            ("q", q),
            ("after", after.unwrap_or_default()),
            ("delete", delete.unwrap_or_default()),
        ],
    )
}

/// What deleting a project does, as the confirmation says it.
fn consequence(p: &ProjectDetail) -> String {
    let namespace = if p.namespace_created {
        format!(
            "Its namespace {} is deleted with everything in it.",
            p.namespace
        )
    } else {
        format!(
            "Its namespace {} was adopted, so it stays; Lockbox's objects in it are removed.",
            p.namespace
        )
    };
    format!(
        "Its {} members can no longer launch into it. {namespace} A project with live sessions \
         cannot be deleted.",
        p.members
    )
}

#[component]
fn Loaded(page: ProjectsPageData) -> impl IntoView {
    let flash = page.flash.clone();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let delete_error = FormState::of(&flash, "admin/projects/delete").error;
    let create = FormState::of(&flash, "admin/projects/create");
    let q = page.q.clone();
    let invalid = page.query_error.is_some();
    let next = page.page.next.clone().map(|n| list_url(&q, Some(&n), None));
    let first = (!q.is_empty() || next.is_some()).then(|| list_url("", None, None));
    let confirm = page.confirm.clone().map(|c| match c {
        Ok(p) => view! { <ConfirmDelete project=p back=list_url(&q, None, None)/> }.into_any(),
        Err(m) => view! { <p class="field-error" role="alert">{m}</p> }.into_any(),
    });
    let confirmer = Confirmer::new();
    let rows = page.page.items.clone();
    let empty = rows.is_empty();
    view! {
        <div class="page-head">
            <h1>"Projects"</h1>
            <p class="lead">"A project is a group of users with a namespace of its own: its members launch sessions there. Every user may use the default project."</p>
        </div>
        <Notice message=notice/>
        {delete_error.map(|e| view! {
            <div class="error-summary" role="alert" aria-labelledby="project-delete-error">
                <h2 id="project-delete-error">"The project was not deleted"</h2>
                <p>{e}</p>
            </div>
        })}
        {confirm}
        <CreateForm state=create/>
        <form method="get" action="/admin/projects" role="search" class="card audit-search">
            <label for="projects-q">"Search projects"</label>
            <p class="hint" id="projects-q-hint">"Part of a name, namespace or description, any case."</p>
            {page.query_error.clone().map(|e| view! {
                <p class="field-error" id="projects-q-error" role="alert">{e}</p>
            })}
            <div class="row">
                <input id="projects-q" name="q" type="search" value=q.clone() autocomplete="off"
                    aria-invalid=invalid.then_some("true")
                    aria-describedby=if invalid { "projects-q-hint projects-q-error" } else { "projects-q-hint" }/>
                <button type="submit">"Search"</button>
            </div>
        </form>
        {if empty {
            view! { <p class="empty card">"No projects match."</p> }.into_any()
        } else {
            view! { <ProjectTable rows q=q.clone() confirmer/> }.into_any()
        }}
        <p class="buttons">
            {first.map(|href| view! { <a href=href rel="external">"All projects from the start"</a> })}
            {next.map(|href| view! { <a href=href rel="external">"Next projects"</a> })}
        </p>
        <ConfirmDialog confirmer/>
    }
}

#[component]
fn CreateForm(state: FormState) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="create-project-heading">
            <h2 id="create-project-heading">"Create a project"</h2>
            <form method="post" action="/api/admin/projects/create" novalidate>
                <ErrorSummary state=state.clone() prefix="create-project"/>
                <Field prefix="create-project" name="name" label="Project name" required=true
                    maxlength=63 autocomplete="off"
                    hint="Lower-case letters, digits and '-', starting and ending with a letter or digit. Its namespace is the configured prefix and the name."
                    value=state.value("name") error=state.error_for("name")/>
                <Field prefix="create-project" name="description" label="Description" kind="textarea"
                    hint=format!("Optional: what the project is for (at most {MAX_DESCRIPTION} characters).")
                    value=state.value("description") error=state.error_for("description")/>
                <button type="submit">"Create project"</button>
            </form>
        </section>
    }
}

#[component]
fn ProjectTable(rows: Vec<ProjectDetail>, q: String, confirmer: Confirmer) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|p| {
            let name = p.name.clone();
            let members = if p.is_default {
                "Everyone".to_string()
            } else {
                p.members.to_string()
            };
            let namespace_note = if p.namespace_created {
                ""
            } else {
                " (adopted)"
            };
            let actions = (!p.is_default).then(|| {
                let question = Question {
                    endpoint: "/api/admin/projects/delete".into(),
                    title: format!("Delete the project {name}?"),
                    consequence: consequence(&p),
                    confirm: "Delete".into(),
                    fields: vec![("name".into(), name.clone())],
                    trigger: format!("delete-project-{name}"),
                };
                view! {
                    <a href=format!("/admin/projects/{}", encode(&name)) rel="external"
                        aria-label=format!("Manage members of {name}")>"Members"</a>
                    <ConfirmLink confirmer href=list_url(&q, None, Some(&name)) question
                        label="Delete" aria_label=format!("Delete {name}")/>
                }
            });
            view! {
                <tr data-project=name.clone()>
                    <th scope="row"><code>{name.clone()}</code>
                        {p.is_default.then(|| view! { " " <span class="muted">"(default)"</span> })}
                    </th>
                    <td>{p.description.clone()}</td>
                    <td><code>{p.namespace.clone()}</code>{namespace_note}</td>
                    <td>{members}</td>
                    <td>{p.live_sessions}</td>
                    <td>{if p.created_at > 0 {
                        view! { <Timestamp ms=Some(p.created_at)/> }.into_any()
                    } else {
                        view! { <span class="muted">"At installation"</span> }.into_any()
                    }}</td>
                    <td class="actions"><div class="buttons">{actions}</div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Projects">
            <table class="secrets">
                <caption class="visually-hidden">"Projects, by name"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Namespace"</th>
                        <th scope="col">"Members"</th>
                        <th scope="col">"Live sessions"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

/// The question asked on the page itself (`?delete=NAME`), for browsers without JavaScript.
#[component]
fn ConfirmDelete(project: ProjectDetail, back: String) -> impl IntoView {
    let name = project.name.clone();
    view! {
        <section class="card confirm danger" aria-labelledby="project-delete-title" id="confirm-delete">
            <h2 id="project-delete-title">{format!("Delete the project {name}?")}</h2>
            <p id="project-delete-body">{consequence(&project)}</p>
            <form method="post" action="/api/admin/projects/delete" aria-describedby="project-delete-body">
                <input type="hidden" name="name" value=name.clone()/>
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true>"Delete"</button>
                    <a href=back rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}
