//! The secrets settings page: list, add, replace value, delete. Plain forms that post to the API
//! and come back, so every action works with or without JavaScript.

use crate::app::components::signed_in::signed_in;
use crate::{
    api::pages::{secrets_page, SecretsPageData as Page},
    app::components::{
        form::{ErrorSummary, Field, FormState, Notice},
        time::Timestamp,
    },
    model::{Flash, SecretMeta},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SecretsPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| secrets_page());
    view! {
        <Title text="Secrets"/>
        {signed_in(page, |page| view! { <Loaded page/> })}
    }
}

#[component]
fn Loaded(page: Page) -> impl IntoView {
    let flash = page.flash;
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let count = page.secrets.len();
    let max = page.limits.max_secrets_per_user;
    let max_kib = page.limits.max_value_bytes / 1024;
    view! {
        <div class="page-head">
            <h1>"Secrets"</h1>
            <p class="lead">
                "Values are encrypted as soon as you save them and are never shown again. "
                "Names work as environment variable names and as file names."
            </p>
        </div>
        <Notice message=notice/>
        <AddForm state=FormState::of(&flash, "create") max_kib/>
        <section class="card" aria-labelledby="list-heading">
            <h2 id="list-heading">"Your secrets " <span class="count">{format!("({count} of {max})")}</span></h2>
            {if page.secrets.is_empty() {
                view! { <p class="empty">"You have no secrets yet. Add one above."</p> }.into_any()
            } else {
                view! { <SecretTable secrets=page.secrets flash/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn AddForm(state: FormState, max_kib: usize) -> impl IntoView {
    let value_hint = format!(
        "Text up to {max_kib} KiB; several lines are fine (PEM keys, kubeconfigs). Never shown again after saving."
    );
    view! {
        <section class="card" aria-labelledby="add-heading">
            <h2 id="add-heading">"Add a secret"</h2>
            <form method="post" action="/api/secrets/upload" enctype="multipart/form-data" novalidate>
                <ErrorSummary state=state.clone() prefix="add"/>
                <input type="hidden" name="text_area" value="true"/>
                <Field prefix="add" name="name" label="Name" required=true maxlength=64
                    hint="Letters A–Z, digits and underscores, not starting with a digit or LOCKBOX_."
                    value=state.value("name") error=state.error_for("name")/>
                <Field prefix="add" name="value" label="Value" kind="textarea"
                    hint=value_hint error=state.error_for("value")/>
                <Field prefix="add" name="file" label="Or upload a file" kind="file"
                    hint="The file's content becomes the value (it wins over typed text)."/>
                <Field prefix="add" name="description" label="Description" maxlength=200
                    hint="Optional: what it is for." value=state.value("description")
                    error=state.error_for("description")/>
                <button type="submit">"Add secret"</button>
            </form>
        </section>
    }
}

/// What the page is asked to do with one secret: from the address (`?replace=NAME`,
/// `?delete=NAME`), or from a failed attempt the flash reports.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Manage {
    Replace(String),
    Delete(String),
}

impl Manage {
    fn from_page(query: &leptos_router::params::ParamsMap, flash: &Option<Flash>) -> Option<Self> {
        if let Some(failed) = flash.as_ref().filter(|f| f.error.is_some()).and_then(|f| {
            f.form
                .strip_prefix("replace:")
                .map(|n| Self::Replace(n.to_string()))
                .or_else(|| {
                    f.form
                        .strip_prefix("delete:")
                        .map(|n| Self::Delete(n.to_string()))
                })
        }) {
            return Some(failed);
        }
        query
            .get("replace")
            .map(Self::Replace)
            .or_else(|| query.get("delete").map(Self::Delete))
    }

    fn name(&self) -> &str {
        match self {
            Self::Replace(n) | Self::Delete(n) => n,
        }
    }
}

#[component]
fn SecretTable(secrets: Vec<SecretMeta>, flash: Option<Flash>) -> impl IntoView {
    // Read once: the action links load a whole page (they work the same without JavaScript).
    let manage =
        leptos_router::hooks::use_query_map().with_untracked(|q| Manage::from_page(q, &flash));
    let rows = secrets
        .into_iter()
        .map(|s| {
            let panel = manage.as_ref().filter(|m| m.name() == s.name).cloned();
            view! { <SecretRow secret=s panel flash=flash.clone()/> }.into_any()
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="secrets">
                <caption class="visually-hidden">"Your secrets, by name"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last replaced"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One secret's row: kept small (a page may list a hundred), with links that open the replace
/// or delete form for just that secret underneath it.
#[component]
fn SecretRow(secret: SecretMeta, panel: Option<Manage>, flash: Option<Flash>) -> impl IntoView {
    let name = secret.name;
    let replaced = (secret.updated_at != secret.created_at).then_some(secret.updated_at);
    let panel = panel.map(|m| match m {
        Manage::Replace(_) => view! { <ReplacePanel name=name.clone() flash/> }.into_any(),
        Manage::Delete(_) => view! { <DeletePanel name=name.clone() flash/> }.into_any(),
    });
    view! {
        <tr data-secret=name.clone()>
            <th scope="row"><code>{name.clone()}</code></th>
            <td>{secret.description}</td>
            <td><Timestamp ms=Some(secret.created_at)/></td>
            <td><Timestamp ms=replaced/></td>
            <td><Timestamp ms=secret.last_used_at/></td>
            <td class="actions">
                <a href=format!("?replace={name}") rel="external"
                    aria-label=format!("Replace value of {name}")>"Replace value"</a>
                <a href=format!("?delete={name}") rel="external" class="danger"
                    aria-label=format!("Delete {name}")>"Delete"</a>
            </td>
        </tr>
        {panel}
    }
}

#[component]
fn ReplacePanel(name: String, flash: Option<Flash>) -> impl IntoView {
    let state = FormState::of(&flash, &format!("replace:{name}"));
    view! {
        <tr class="panel" data-manage=name.clone()>
            <td colspan="6">
                <form method="post" action="/api/secrets/replace" novalidate aria-labelledby="manage-title">
                    <h3 id="manage-title">"Replace the value of " <code>{name.clone()}</code></h3>
                    <ErrorSummary state=state.clone() prefix="replace"/>
                    <input type="hidden" name="name" value=name.clone()/>
                    <input type="hidden" name="text_area" value="true"/>
                    <Field prefix="replace" name="value" label="Value" kind="textarea" autofocus=true
                        hint="The new value replaces the old one for good; sessions started from now on get it."
                        error=state.error_for("value")/>
                    <div class="buttons">
                        <button type="submit">"Replace value"</button>
                        <a href="/settings/secrets" rel="external">"Cancel"</a>
                    </div>
                </form>
            </td>
        </tr>
    }
}

#[component]
fn DeletePanel(name: String, flash: Option<Flash>) -> impl IntoView {
    let state = FormState::of(&flash, &format!("delete:{name}"));
    view! {
        <tr class="panel danger" data-manage=name.clone()>
            <td colspan="6">
                <form method="post" action="/api/secrets/delete" role="group" aria-labelledby="manage-title">
                    <h3 id="manage-title">"Delete " <code>{name.clone()}</code> "?"</h3>
                    {state.error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                    <p>"Sessions will no longer receive it. This cannot be undone."</p>
                    <input type="hidden" name="name" value=name.clone()/>
                    <div class="buttons">
                        <button type="submit" class="danger" autofocus=true
                            aria-label=format!("Delete {name} permanently")>"Delete"</button>
                        <a href="/settings/secrets" rel="external">"Cancel"</a>
                    </div>
                </form>
            </td>
        </tr>
    }
}
