//! The launch-with-options form, `/sessions/new`: an environment, a project (the default one
//! preselected), the secrets to inject (none chosen by default), each as a variable or a file,
//! a mount directory and extra variables. A plain form that posts to the API, so it works with
//! or without JavaScript.

use crate::app::components::signed_in::signed_in;
use crate::{
    api::pages::{launch_page, LaunchPageData as Page},
    app::components::form::{ErrorSummary, Field, FormState},
    model::{
        projects::{ProjectInfo, DEFAULT_PROJECT},
        session::{row_field, EnvironmentInfo},
        SecretMeta,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LaunchPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| launch_page());
    view! {
        <Title text="Start a session"/>
        {signed_in(page, |page| view! { <Loaded page/> })}
    }
}

#[component]
fn Loaded(page: Page) -> impl IntoView {
    let state = FormState::of(&page.flash, "launch");
    let mount_hint = if page.kube {
        "Where file secrets are mounted, read-only, in the session's container."
    } else {
        "Where file secrets are mounted on Kubernetes. Sessions on this server run as local \
         processes: their files are in a private directory named by SECRETS_DIR."
    };
    let mount_value = match state.value("mount_dir") {
        v if v.is_empty() => "/secrets".to_string(),
        v => v,
    };
    let max_kib = page.limits.max_session_bytes / 1024;
    view! {
        <div class="page-head">
            <h1>"Start a session"</h1>
            <p class="lead">
                "Choose what to run and which secrets it receives. Nothing is injected unless you tick it."
            </p>
        </div>
        <form class="card" method="post" action="/api/sessions/launch" novalidate>
            <ErrorSummary state=state.clone() prefix="launch"/>
            <EnvironmentField environments=page.environments state=state.clone()/>
            <ProjectField projects=page.projects state=state.clone()/>
            <SecretsField secrets=page.secrets state=state.clone() max_kib/>
            <Field prefix="launch" name="mount_dir" label="Mount directory" value=mount_value
                hint=mount_hint error=state.error_for("mount_dir") maxlength=1024/>
            <Field prefix="launch" name="extra_env" label="Extra environment variables" kind="textarea"
                hint="One per line: NAME=value, or NAME=SECRET:<secret>,<key> for a key of a Secret in the project's namespace. Plain values are not secret: use a secret above for anything sensitive."
                value=state.value("extra_env") error=state.error_for("extra_env")/>
            <div class="buttons">
                <button type="submit">"Start session"</button>
                <a href="/sessions">"Cancel"</a>
            </div>
        </form>
    }
}

#[component]
fn EnvironmentField(environments: Vec<EnvironmentInfo>, state: FormState) -> impl IntoView {
    let chosen = state.value("environment");
    let error = state.error_for("environment");
    let described = error.as_ref().map(|_| "launch-environment-error");
    let options = environments
        .into_iter()
        .map(|e| {
            let selected = e.name == chosen;
            let label = if e.description.is_empty() {
                e.name.clone()
            } else {
                format!("{} — {}", e.name, e.description)
            };
            view! { <option value=e.name selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <div class="field" class:has-error=error.is_some()>
            <label for="launch-environment">"Environment"</label>
            {error.clone().map(|e| view! { <p class="field-error" id="launch-environment-error">{e}</p> })}
            <select id="launch-environment" name="environment" aria-describedby=described
                aria-invalid=error.as_ref().map(|_| "true")>
                {options}
            </select>
        </div>
    }
}

/// The project to launch into: only those the user may use, the default one chosen unless the
/// form came back with another.
#[component]
fn ProjectField(projects: Vec<ProjectInfo>, state: FormState) -> impl IntoView {
    let chosen = state.value("project");
    let chosen = if projects.iter().any(|p| p.name == chosen) {
        chosen
    } else {
        DEFAULT_PROJECT.to_string()
    };
    let error = state.error_for("project");
    let described = match &error {
        Some(_) => "launch-project-hint launch-project-error",
        None => "launch-project-hint",
    };
    let options = projects
        .into_iter()
        .map(|p| {
            let selected = p.name == chosen;
            let label = if p.description.is_empty() {
                p.name.clone()
            } else {
                format!("{} — {}", p.name, p.description)
            };
            view! { <option value=p.name selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <div class="field" class:has-error=error.is_some()>
            <label for="launch-project">"Project"</label>
            <p class="hint" id="launch-project-hint">
                "The session runs in the project's namespace, where SECRET: references are looked up."
            </p>
            {error.clone().map(|e| view! { <p class="field-error" id="launch-project-error">{e}</p> })}
            <select id="launch-project" name="project" aria-describedby=described
                aria-invalid=error.as_ref().map(|_| "true")>
                {options}
            </select>
        </div>
    }
}

#[component]
fn SecretsField(secrets: Vec<SecretMeta>, state: FormState, max_kib: usize) -> impl IntoView {
    let error = state.error_for("secrets");
    let has_error = error.is_some();
    let body = if secrets.is_empty() {
        view! {
            <p class="empty">
                "You have no secrets yet. " <a href="/settings/secrets">"Add one"</a>
                " to inject it into a session."
            </p>
        }
        .into_any()
    } else {
        let rows = secrets
            .into_iter()
            .enumerate()
            .map(|(i, s)| view! { <SecretRow i secret=s state=state.clone()/> })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="choices">
                    <thead>
                        <tr>
                            <th scope="col">"Inject"</th>
                            <th scope="col">"As"</th>
                            <th scope="col">"Variable or file name"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <fieldset class="field" class:has-error=has_error id="launch-secrets"
            aria-describedby="launch-secrets-hint">
            <legend>"Secrets"</legend>
            <p class="hint" id="launch-secrets-hint">
                {format!("Tick each secret the session should receive (at most {max_kib} KiB in all). \
                  Names default to the secret's own name.")}
            </p>
            {error.map(|e| view! { <p class="field-error">{e}</p> })}
            {body}
        </fieldset>
    }
}

#[component]
fn SecretRow(i: usize, secret: SecretMeta, state: FormState) -> impl IntoView {
    let name = secret.name;
    let key = |field: &str| format!("secrets[{i}][{field}]");
    let checked = state.value(&key("secret")) == name;
    let file = state.value(&key("mode")) == "file";
    let target = state.value(&key("name"));
    let field = row_field(i);
    let error = state.error_for(&field);
    let check_id = format!("launch-pick-{i}");
    let mode_id = format!("launch-mode-{i}");
    let name_id = format!("launch-{field}");
    let error_id = format!("{name_id}-error");
    view! {
        <tr class:has-error=error.is_some() data-choice=name.clone()>
            <td>
                <input type="checkbox" id=check_id.clone() name=key("secret") value=name.clone() checked=checked/>
                <label for=check_id><code>{name.clone()}</code></label>
            </td>
            <td>
                <label class="visually-hidden" for=mode_id.clone()>{format!("How {name} is given")}</label>
                <select id=mode_id name=key("mode")>
                    <option value="env" selected=!file>"Environment variable"</option>
                    <option value="file" selected=file>"File"</option>
                </select>
            </td>
            <td>
                <label class="visually-hidden" for=name_id.clone()>{format!("Variable or file name for {name}")}</label>
                {error.clone().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
                <input type="text" id=name_id name=key("name") value=target placeholder=name.clone()
                    spellcheck="false" autocomplete="off" maxlength="128"
                    aria-invalid=error.as_ref().map(|_| "true")
                    aria-describedby=error.as_ref().map(|_| error_id.clone())/>
            </td>
        </tr>
    }
}
