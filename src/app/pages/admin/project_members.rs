//! `/admin/projects/NAME`: one project and its members (by name, paged by cursor); add a member
//! by username; remove one after a confirmation (with JavaScript a dialog, without it the same
//! question on the page, `?remove=USERNAME`). The project's name is in the path, so a plain form
//! post comes back here. Removing a member leaves their running sessions alone; they cannot
//! launch into the project again.

use super::{admin_only, encode, AdminLayout};
use crate::{
    api::admin_project_pages::{admin_project_page, ProjectPageData},
    app::components::{
        confirm_dialog::{ConfirmDialog, ConfirmLink, Confirmer, Question},
        form::{ErrorSummary, Field, FormState, Notice},
        time::Timestamp,
    },
    model::{projects::ProjectMember, Username},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AdminProjectPage() -> impl IntoView {
    let name = use_params_map().with_untracked(|m| m.get("name").unwrap_or_default());
    let args =
        use_query_map().with_untracked(|m| (m.get("after").unwrap_or_default(), m.get("remove")));
    let title = format!("Project {name} · Admin");
    let page = Resource::new(
        move || (name.clone(), args.clone()),
        |(name, (after, remove))| admin_project_page(name, after, remove),
    );
    view! {
        <Title text=title/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/projects"><Loaded page/></AdminLayout>
        })}
    }
}

fn page_url(project: &str, after: Option<&str>, remove: Option<&str>) -> String {
    let query: Vec<String> = [
        ("after", after.unwrap_or_default()),
        ("remove", remove.unwrap_or_default()),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect();
    let base = format!("/admin/projects/{}", encode(project));
    if query.is_empty() {
        base
    } else {
        format!("{base}?{}", query.join("&"))
    }
}

fn consequence(username: &str, project: &str) -> String {
    format!(
        "{username} can no longer launch sessions into {project}. Their sessions already \
         running there keep running."
    )
}

#[component]
fn Loaded(page: ProjectPageData) -> impl IntoView {
    let flash = page.flash.clone();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let remove_error = FormState::of(&flash, "admin/projects/remove-member").error;
    let add = FormState::of(&flash, "admin/projects/add-member");
    let p = page.project.clone();
    let name = p.name.clone();
    let confirm = page.confirm.clone().map(|c| match c {
        Ok(m) => view! { <ConfirmRemove member=m project=name.clone()/> }.into_any(),
        Err(m) => view! { <p class="field-error" role="alert">{m}</p> }.into_any(),
    });
    let next = page
        .members
        .next
        .clone()
        .map(|n| page_url(&name, Some(&n), None));
    let confirmer = Confirmer::new();
    let rows = page.members.items.clone();
    let count = p.members;
    let members = if p.is_default {
        view! { <p class="card">"Every user may use the default project: it has no members to add or remove."</p> }.into_any()
    } else {
        view! {
            <AddForm state=add project=name.clone()/>
            <section class="card" aria-labelledby="members-heading">
                <h2 id="members-heading">"Members " <span class="count">{format!("({count})")}</span></h2>
                {if rows.is_empty() {
                    view! { <p class="empty">"No members yet: only admins can launch into this project. Add one above."</p> }.into_any()
                } else {
                    view! { <MemberTable rows project=name.clone() confirmer/> }.into_any()
                }}
                {next.map(|href| view! { <p class="buttons"><a href=href rel="external">"Next members"</a></p> })}
            </section>
        }
        .into_any()
    };
    view! {
        <div class="page-head">
            <p><a href="/admin/projects">"All projects"</a></p>
            <h1>"Project " <code>{name.clone()}</code></h1>
            {(!p.description.is_empty()).then(|| view! { <p class="lead">{p.description.clone()}</p> })}
        </div>
        <Notice message=notice/>
        {remove_error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        {confirm}
        <dl class="facts">
            <dt>"Namespace"</dt>
            <dd><code>{p.namespace.clone()}</code>{if p.namespace_created { " (created by Lockbox)" } else { " (adopted)" }}</dd>
            <dt>"Live sessions"</dt>
            <dd>{p.live_sessions}</dd>
        </dl>
        {members}
        <ConfirmDialog confirmer/>
    }
}

#[component]
fn AddForm(state: FormState, project: String) -> impl IntoView {
    let hint = format!(
        "The username of an existing account ({} to {} characters).",
        Username::MIN,
        Username::MAX
    );
    view! {
        <section class="card" aria-labelledby="add-member-heading">
            <h2 id="add-member-heading">"Add a member"</h2>
            <form method="post" action="/api/admin/projects/add-member" novalidate>
                <ErrorSummary state=state.clone() prefix="add-member"/>
                <input type="hidden" name="name" value=project/>
                <Field prefix="add-member" name="username" label="Username" required=true
                    maxlength=Username::MAX autocomplete="off" hint=hint
                    value=state.value("username") error=state.error_for("username")/>
                <button type="submit">"Add member"</button>
            </form>
        </section>
    }
}

#[component]
fn MemberTable(rows: Vec<ProjectMember>, project: String, confirmer: Confirmer) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|m| {
            let username = m.username.clone();
            let question = Question {
                endpoint: "/api/admin/projects/remove-member".into(),
                title: format!("Remove {username} from {project}?"),
                consequence: consequence(&username, &project),
                confirm: "Remove".into(),
                fields: vec![
                    ("name".into(), project.clone()),
                    ("username".into(), username.clone()),
                ],
                trigger: format!("remove-member-{username}"),
            };
            view! {
                <tr data-member=username.clone()>
                    <th scope="row">{username.clone()}</th>
                    <td><Timestamp ms=Some(m.added_at)/></td>
                    <td class="actions">
                        <ConfirmLink confirmer href=page_url(&project, None, Some(&username)) question
                            label="Remove" aria_label=format!("Remove {username} from {project}")/>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Members">
            <table class="secrets">
                <caption class="visually-hidden">{format!("Members of {project}, by name")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Username"</th>
                        <th scope="col">"Added"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

/// The question asked on the page itself (`?remove=USERNAME`), for browsers without JavaScript.
#[component]
fn ConfirmRemove(member: ProjectMember, project: String) -> impl IntoView {
    let username = member.username.clone();
    view! {
        <section class="card confirm danger" aria-labelledby="member-remove-title" id="confirm-remove">
            <h2 id="member-remove-title">{format!("Remove {username} from {project}?")}</h2>
            <p id="member-remove-body">{consequence(&username, &project)}</p>
            <form method="post" action="/api/admin/projects/remove-member" aria-describedby="member-remove-body">
                <input type="hidden" name="name" value=project.clone()/>
                <input type="hidden" name="username" value=username.clone()/>
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true>"Remove"</button>
                    <a href=page_url(&project, None, None) rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}
