//! `/admin/tokens`: every user's personal access tokens (owner, name, scopes, expiry, last use;
//! never the token), filtered by owner (a GET form), paged by cursor; Revoke opens a
//! confirmation (`?revoke=ID`) whose form posts to the API. Works without JavaScript.

use super::{admin_only, with_query, AdminLayout};
use crate::{
    api::admin_pages::{admin_tokens_page, TokensPageData},
    app::components::{
        form::{FormState, Notice},
        time::Timestamp,
    },
    model::admin_tokens::AdminToken,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminTokensPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| {
        (
            m.get("user").unwrap_or_default(),
            m.get("after").unwrap_or_default(),
            m.get("revoke"),
        )
    });
    let page = Resource::new(
        move || args.clone(),
        |(user, after, revoke)| admin_tokens_page(user, after, revoke),
    );
    view! {
        <Title text="Tokens · Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/tokens"><Loaded page/></AdminLayout>
        })}
    }
}

fn list_url(user: &str, after: Option<&str>, revoke: Option<&str>) -> String {
    with_query(
        "/admin/tokens",
        &[
            ("user", user),
            ("after", after.unwrap_or_default()),
            ("revoke", revoke.unwrap_or_default()),
        ],
    )
}

fn scopes(t: &AdminToken) -> String {
    t.token
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
fn Loaded(page: TokensPageData) -> impl IntoView {
    let flash = page.flash.clone();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let revoke_error = FormState::of(&flash, "admin/tokens/revoke").error;
    let user = page.user.clone();
    let error = |field: &str| {
        page.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let user_error = error("user");
    let after_error = error("after");
    let next = page
        .page
        .next
        .clone()
        .map(|n| list_url(&user, Some(&n), None));
    let first = (!page.after.trim().is_empty()).then(|| list_url(&user, None, None));
    let confirm = page.confirm.clone().map(|c| match c {
        Ok(t) => view! { <ConfirmRevoke token=t back=list_url(&user, None, None)/> }.into_any(),
        Err(m) => view! { <p class="field-error" role="alert">{m}</p> }.into_any(),
    });
    let rows = page.page.tokens.clone();
    let empty = rows.is_empty();
    let now = page.now;
    view! {
        <div class="page-head">
            <h1>"Tokens"</h1>
            <p class="lead">"Personal access tokens of every user, newest first: what each may do, when it expires and when it was last used. The tokens themselves are never shown."</p>
        </div>
        <Notice message=notice/>
        {revoke_error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        {confirm}
        <form method="get" action="/admin/tokens" role="search" aria-label="Filter tokens"
            class="card admin-filter">
            {after_error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <div class="field" class:has-error=user_error.is_some()>
                <label for="tokens-user">"Owner"</label>
                {user_error.clone().map(|e| view! { <p class="field-error" id="tokens-user-error">{e}</p> })}
                <input id="tokens-user" type="text" name="user" value=user.clone() autocomplete="off"
                    spellcheck="false" aria-invalid=user_error.as_ref().map(|_| "true")
                    aria-describedby=user_error.as_ref().map(|_| "tokens-user-error")/>
            </div>
            <div class="buttons">
                <button type="submit">"Filter"</button>
                <a href="/admin/tokens" rel="external">"Clear the filter"</a>
            </div>
        </form>
        {if empty {
            view! { <p class="empty card">"No tokens match."</p> }.into_any()
        } else {
            view! { <TokenTable rows user=user.clone() now/> }.into_any()
        }}
        <p class="buttons">
            {first.map(|href| view! { <a href=href rel="external">"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="external">"Older tokens"</a> })}
        </p>
    }
}

#[component]
fn TokenTable(rows: Vec<AdminToken>, user: String, now: i64) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|t| {
            let href = list_url(&user, None, Some(&t.token.id));
            let label = format!("Revoke {}'s token {}", t.owner, t.token.name);
            let expired = t.token.expires_at <= now;
            view! {
                <tr data-token=t.token.id.clone()>
                    <th scope="row">{t.owner.clone()}</th>
                    <td>{t.token.name.clone()}</td>
                    <td><code>{format!("{}…", t.token.display)}</code></td>
                    <td>{scopes(&t)}</td>
                    <td><Timestamp ms=Some(t.token.created_at)/></td>
                    <td>
                        <Timestamp ms=Some(t.token.expires_at)/>
                        {expired.then(|| view! { <span class="muted">" (expired)"</span> })}
                    </td>
                    <td><Timestamp ms=t.token.last_used_at/></td>
                    <td class="actions">
                        <a href=href rel="external" class="danger" aria-label=label>"Revoke"</a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Tokens of all users">
            <table class="secrets">
                <caption class="visually-hidden">"Personal access tokens of all users, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Owner"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Starts with"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

#[component]
fn ConfirmRevoke(token: AdminToken, back: String) -> impl IntoView {
    let title = format!("Revoke {}'s token {}?", token.owner, token.token.name);
    view! {
        <section class="card confirm danger" aria-labelledby="revoke-title" id="confirm-revoke">
            <h2 id="revoke-title">{title}</h2>
            <p>{format!("Scopes: {}. Every request made with it is refused from now on; its owner can create a new one.", scopes(&token))}</p>
            <form method="post" action="/api/admin/tokens/revoke">
                <input type="hidden" name="id" value=token.token.id.clone()/>
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true>"Revoke the token"</button>
                    <a href=back rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}
