//! The secrets settings page: list, add, replace value, delete. Plain forms that post to the API
//! and come back, so every action works with or without JavaScript.

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
use leptos_router::components::Redirect;

#[component]
pub fn SecretsPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| secrets_page());
    view! {
        <Title text="Secrets"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Loaded page/> }.into_any(),
                    Err(crate::model::AppError::Unauthorized) => {
                        view! { <Redirect path="/login"/> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
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

#[component]
fn SecretTable(secrets: Vec<SecretMeta>, flash: Option<Flash>) -> impl IntoView {
    let rows = secrets
        .into_iter()
        .map(|s| view! { <SecretRow secret=s flash=flash.clone()/> }.into_any())
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

#[component]
fn SecretRow(secret: SecretMeta, flash: Option<Flash>) -> impl IntoView {
    let name = secret.name.clone();
    let replace = FormState::of(&flash, &format!("replace:{name}"));
    let delete = FormState::of(&flash, &format!("delete:{name}"));
    let slug = format!("s-{}", name.to_ascii_lowercase());
    let replace_prefix = format!("{slug}-replace");
    let delete_label = format!("Delete {name} permanently");
    let delete_question =
        format!("Delete {name}? Sessions will no longer receive it. This cannot be undone.");
    let delete_failed = delete.failed();
    let replaced = (secret.updated_at != secret.created_at).then_some(secret.updated_at);
    view! {
        <tr data-secret=name.clone()>
            <th scope="row"><code>{name.clone()}</code></th>
            <td>{secret.description}</td>
            <td><Timestamp ms=Some(secret.created_at)/></td>
            <td><Timestamp ms=replaced/></td>
            <td><Timestamp ms=secret.last_used_at/></td>
            <td class="actions">
                <details class="action" open=replace.failed()>
                    <summary>"Replace value"</summary>
                    <form method="post" action="/api/secrets/replace" novalidate>
                        <ErrorSummary state=replace.clone() prefix=replace_prefix.clone()/>
                        <input type="hidden" name="name" value=name.clone()/>
                        <Field prefix=replace_prefix name="value" label="Value" kind="textarea"
                            error=replace.error_for("value")/>
                        <button type="submit">"Replace value"</button>
                    </form>
                </details>
                <details class="action danger" open=delete_failed>
                    <summary>"Delete"</summary>
                    <form method="post" action="/api/secrets/delete" role="group"
                        aria-label=format!("Confirm deleting {name}")>
                        {delete.error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        <p>{delete_question}</p>
                        <input type="hidden" name="name" value=name.clone()/>
                        <button type="submit" class="danger" aria-label=delete_label>"Delete"</button>
                    </form>
                </details>
            </td>
        </tr>
    }
}
