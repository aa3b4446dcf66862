//! `/admin/environments`: what sessions run. List; add; edit (`?edit=NAME`); remove, confirmed
//! on the page (`?remove=NAME`). Plain forms that post to the API and come back, so every action
//! works with or without JavaScript. The rules are the command line's
//! (`crate::model::environments::validate`), and so are the messages.

use super::{admin_only, encode, AdminLayout};
use crate::{
    api::admin_pages::{admin_environments_page, EnvironmentsPageData},
    app::components::form::{ErrorSummary, Field, FormState, Notice},
    model::{environments::EnvironmentSpec, Flash},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminEnvironmentsPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| (m.get("edit"), m.get("remove")));
    let page = Resource::new(
        move || args.clone(),
        |(edit, remove)| admin_environments_page(edit, remove),
    );
    view! {
        <Title text="Environments · Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/environments"><Loaded page/></AdminLayout>
        })}
    }
}

/// Which panel a failed post reopens (its form's name in the flash), else the address's.
fn reopened(flash: &Option<Flash>, prefix: &str) -> Option<String> {
    flash
        .as_ref()
        .filter(|f| f.error.is_some())
        .and_then(|f| f.form.strip_prefix(prefix).map(str::to_string))
}

#[component]
fn Loaded(page: EnvironmentsPageData) -> impl IntoView {
    let flash = page.flash.clone();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let edit_name = reopened(&flash, "environment:update:").or(page.edit.clone());
    let remove_name = reopened(&flash, "environment:delete:").or(page.remove.clone());
    let find = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| page.environments.iter().find(|e| &e.name == n).cloned())
    };
    let missing = [&edit_name, &remove_name]
        .into_iter()
        .flatten()
        .find(|n| !page.environments.iter().any(|e| &e.name == *n))
        .map(|n| format!("There is no environment named {n:?}."));
    let edit = find(&edit_name).map(|env| {
        let state = FormState::of(&flash, &format!("environment:update:{}", env.name));
        view! { <EditPanel env state/> }
    });
    let remove = find(&remove_name).map(|env| {
        let state = FormState::of(&flash, &format!("environment:delete:{}", env.name));
        view! { <RemovePanel name=env.name state/> }
    });
    let count = page.environments.len();
    view! {
        <div class="page-head">
            <h1>"Environments"</h1>
            <p class="lead">"What a session runs: a container image for Kubernetes, a shell command for the local backend, a port, default resources. The same rules as "<code>"lockbox environments add"</code>"."</p>
        </div>
        <Notice message=notice/>
        {missing.map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
        {edit}
        {remove}
        <section class="card" aria-labelledby="env-list-heading">
            <h2 id="env-list-heading">"Environments " <span class="count">{format!("({count})")}</span></h2>
            {if page.environments.is_empty() {
                view! { <p class="empty">"There are no environments: no session can start. Add one below."</p> }.into_any()
            } else {
                view! { <EnvironmentTable envs=page.environments.clone()/> }.into_any()
            }}
        </section>
        <AddForm state=FormState::of(&flash, "environment:create")/>
    }
}

fn resources(e: &EnvironmentSpec) -> String {
    let parts: Vec<String> = [
        ("CPU request", &e.cpu_request),
        ("memory request", &e.memory_request),
        ("CPU limit", &e.cpu_limit),
        ("memory limit", &e.memory_limit),
    ]
    .iter()
    .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
    .collect();
    parts.join(", ")
}

#[component]
fn EnvironmentTable(envs: Vec<EnvironmentSpec>) -> impl IntoView {
    let rows = envs
        .into_iter()
        .map(|e| {
            let name = e.name.clone();
            let local = if e.local_command.trim().is_empty() { "no" } else { "yes" };
            view! {
                <tr data-environment=name.clone()>
                    <th scope="row"><code>{name.clone()}</code></th>
                    <td><code>{e.image.clone()}</code></td>
                    <td>{e.port.map(|p| p.to_string()).unwrap_or_default()}</td>
                    <td>{local}</td>
                    <td>{resources(&e)}</td>
                    <td>{e.description.clone()}</td>
                    <td class="actions">
                        <a href=format!("/admin/environments?edit={}", encode(&name)) rel="external"
                            aria-label=format!("Edit {name}")>"Edit"</a>
                        <a href=format!("/admin/environments?remove={}", encode(&name)) rel="external"
                            class="danger" aria-label=format!("Remove {name}")>"Remove"</a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Environments">
            <table class="secrets">
                <caption class="visually-hidden">"Environments, by name"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Image"</th>
                        <th scope="col">"Port"</th>
                        <th scope="col">"Runs locally"</th>
                        <th scope="col">"Resources"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The fields every environment form has but the name; values from a failed post, else from
/// `env` (editing), else empty.
#[component]
fn EnvironmentFields(
    prefix: &'static str,
    state: FormState,
    env: Option<EnvironmentSpec>,
) -> impl IntoView {
    let failed = state.error.is_some();
    let pick = |field: &str, stored: String| {
        if failed {
            state.value(field)
        } else {
            stored
        }
    };
    let e = env.unwrap_or(EnvironmentSpec {
        name: String::new(),
        description: String::new(),
        image: String::new(),
        command: Vec::new(),
        args: Vec::new(),
        port: None,
        local_command: String::new(),
        cpu_request: None,
        memory_request: None,
        cpu_limit: None,
        memory_limit: None,
    });
    view! {
        <Field prefix=prefix name="image" label="Image" required=true
            hint="The container image on Kubernetes, such as docker.io/library/python:3.12."
            value=pick("image", e.image.clone()) error=state.error_for("image")/>
        <Field prefix=prefix name="description" label="Description" kind="textarea"
            hint="Optional: what it is for (at most 500 characters)."
            value=pick("description", e.description.clone()) error=state.error_for("description")/>
        <Field prefix=prefix name="local_command" label="Local command" kind="textarea"
            hint="A shell command line the local backend runs with /bin/sh -c. Empty: the environment runs on Kubernetes only."
            value=pick("local_command", e.local_command.clone()) error=state.error_for("local_command")/>
        <Field prefix=prefix name="command" label="Container command" kind="textarea"
            hint="One word per line; empty for the image's own."
            value=pick("command", e.command.join("\n")) error=state.error_for("command")/>
        <Field prefix=prefix name="args" label="Container arguments" kind="textarea"
            hint="One per line."
            value=pick("args", e.args.join("\n")) error=state.error_for("args")/>
        <Field prefix=prefix name="port" label="Port"
            hint="The port the session serves on, 1 to 65535; empty for none."
            value=pick("port", e.port.map(|p| p.to_string()).unwrap_or_default())
            error=state.error_for("port")/>
        <fieldset class="field">
            <legend>"Default resources (Kubernetes quantities, optional)"</legend>
            <Field prefix=prefix name="cpu_request" label="CPU request" hint="Such as 500m or 2."
                value=pick("cpu_request", e.cpu_request.clone().unwrap_or_default())
                error=state.error_for("cpu_request")/>
            <Field prefix=prefix name="memory_request" label="Memory request" hint="Such as 256Mi or 1Gi."
                value=pick("memory_request", e.memory_request.clone().unwrap_or_default())
                error=state.error_for("memory_request")/>
            <Field prefix=prefix name="cpu_limit" label="CPU limit" hint="Such as 500m or 2."
                value=pick("cpu_limit", e.cpu_limit.clone().unwrap_or_default())
                error=state.error_for("cpu_limit")/>
            <Field prefix=prefix name="memory_limit" label="Memory limit" hint="Such as 256Mi or 1Gi."
                value=pick("memory_limit", e.memory_limit.clone().unwrap_or_default())
                error=state.error_for("memory_limit")/>
        </fieldset>
    }
}

#[component]
fn AddForm(state: FormState) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="env-add-heading">
            <h2 id="env-add-heading">"Add an environment"</h2>
            <form method="post" action="/api/admin/environments/create" novalidate>
                <ErrorSummary state=state.clone() prefix="env-add"/>
                <Field prefix="env-add" name="name" label="Name" required=true maxlength=63
                    hint="Lower-case letters, digits and '-', starting and ending with a letter or digit."
                    value=state.value("name") error=state.error_for("name")/>
                <EnvironmentFields prefix="env-add" state=state.clone() env=None/>
                <button type="submit">"Add environment"</button>
            </form>
        </section>
    }
}

#[component]
fn EditPanel(env: EnvironmentSpec, state: FormState) -> impl IntoView {
    let name = env.name.clone();
    view! {
        <section class="card panel" aria-labelledby="env-edit-heading" id="env-edit">
            <h2 id="env-edit-heading">"Edit " <code>{name.clone()}</code></h2>
            <p class="hint">"Sessions already started keep what they run; new sessions get the changes."</p>
            <form method="post" action="/api/admin/environments/update" novalidate>
                <ErrorSummary state=state.clone() prefix="env-edit"/>
                {state.error_for("name").map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <input type="hidden" name="name" value=name.clone()/>
                <EnvironmentFields prefix="env-edit" state=state.clone() env=Some(env)/>
                <div class="buttons">
                    <button type="submit">"Save changes"</button>
                    <a href="/admin/environments" rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}

#[component]
fn RemovePanel(name: String, state: FormState) -> impl IntoView {
    view! {
        <section class="card confirm danger" aria-labelledby="env-remove-heading" id="env-remove">
            <h2 id="env-remove-heading">"Remove " <code>{name.clone()}</code> "?"</h2>
            {state.error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <p>"No new session can start with it. Sessions already started keep running."</p>
            <form method="post" action="/api/admin/environments/delete">
                <input type="hidden" name="name" value=name.clone()/>
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true
                        aria-label=format!("Remove {name} now")>"Remove"</button>
                    <a href="/admin/environments" rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}
