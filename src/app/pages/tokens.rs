//! The personal access tokens page (`/settings/tokens`): create a token (name, expiry, scopes),
//! see it once, list tokens with their scopes, expiry and last use, revoke one.
//!
//! With JavaScript the create form stays on the page and shows the new token in place. Without
//! it the form posts to `/api/tokens/create`, which answers with a page of its own that shows
//! the token (`server::web::token_page`): the token never travels in the flash cookie or a URL.
//! Revoking is a plain form either way.

use crate::{
    api::tokens::{tokens_page, CreateToken, TokensPageData as Page},
    app::components::{
        form::{ErrorSummary, Field, FormState, Notice},
        signed_in::signed_in,
        time::Timestamp,
    },
    model::{
        tokens::{Scope, TokenInfo, DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, MAX_NAME_CHARS},
        AppError, Flash,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TokensPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| tokens_page());
    view! {
        <Title text="Tokens"/>
        {signed_in(page, |page| view! { <Loaded page/> })}
    }
}

#[component]
fn Loaded(page: Page) -> impl IntoView {
    let flash = page.flash;
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let create = ServerAction::<CreateToken>::new();
    // A new token, once created through the hydrated form: shown until the page is left, and
    // added to the list.
    let created = move || create.value().get().and_then(Result::ok);
    let failed = move || create.value().get().and_then(Result::err);
    let tokens = RwSignal::new(page.tokens);
    Effect::new(move |_| {
        if let Some(c) = created() {
            tokens.update(|list| {
                if !list.iter().any(|t| t.id == c.info.id) {
                    list.insert(0, c.info.clone());
                }
            });
        }
    });
    let now = page.now;
    let state = FormState::of(&flash, "tokens/create");
    view! {
        <div class="page-head">
            <h1>"Personal access tokens"</h1>
            <p class="lead">
                "A token lets the command-line client or a script use your secrets and sessions "
                "without a browser. Give each token only the scopes it needs; it expires after "
                "at most a year, and you can revoke it here at any time."
            </p>
        </div>
        <Notice message=notice/>
        {move || created().map(|c| view! { <TokenOnce name=c.info.name.clone() token=c.token.clone()/> })}
        {move || {
            let state = match failed() {
                Some(e) => form_state_of(&e),
                None => state.clone(),
            };
            view! { <CreateForm action=create state/> }
        }}
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Your tokens"</h2>
            {move || {
                let list = tokens.get();
                if list.is_empty() {
                    view! { <p class="empty">"You have no tokens."</p> }.into_any()
                } else {
                    view! { <TokenTable tokens=list now flash=flash.clone()/> }.into_any()
                }
            }}
        </section>
    }
}

/// The errors of a create attempt made without leaving the page.
fn form_state_of(e: &AppError) -> FormState {
    FormState {
        error: Some(e.to_string()),
        fields: e.field_errors(),
        values: Default::default(),
    }
}

/// The new token, shown once, in a read-only field with a Copy button (which also selects
/// the text, so Ctrl+C works where the clipboard is not available).
#[component]
pub fn TokenOnce(name: String, token: String) -> impl IntoView {
    let copied = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    let value = token.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = input.get() {
            el.select();
        }
        copied.set(if clipboard::write(&value) {
            "Copied to the clipboard.".into()
        } else {
            "Selected: press Ctrl+C to copy.".into()
        });
    };
    view! {
        <section class="card token-once" aria-labelledby="once-heading">
            <h2 id="once-heading">{format!("Copy your new token {name} now")}</h2>
            <form class="once" on:submit=|ev| ev.prevent_default()>
                <p class="hint" id="new-token-hint">
                    "This is the only time the token is shown. Copy it now and keep it somewhere "
                    "safe: Lockbox keeps only a hash of it and cannot show it again."
                </p>
                <label for="new-token">"Your new token"</label>
                <input id="new-token" node_ref=input type="text" readonly=true value=token
                    autocomplete="off" spellcheck="false" aria-describedby="new-token-hint"/>
                <div class="buttons">
                    <button type="button" id="copy-token" on:click=copy>"Copy"</button>
                    <span role="status" class="copied">{move || copied.get()}</span>
                </div>
            </form>
        </section>
    }
}

/// The browser's clipboard (`navigator.clipboard.writeText`), called without extra web-sys
/// features.
mod clipboard {
    #[cfg(feature = "hydrate")]
    mod js {
        use wasm_bindgen::prelude::*;
        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
            pub fn write_text(text: &str) -> Result<JsValue, JsValue>;
        }
    }

    /// Whether the text was handed to the clipboard.
    pub fn write(_text: &str) -> bool {
        #[cfg(feature = "hydrate")]
        {
            js::write_text(_text).is_ok()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            false
        }
    }
}

#[component]
fn CreateForm(action: ServerAction<CreateToken>, state: FormState) -> impl IntoView {
    let chosen = state.value("scopes");
    let checked = |s: Scope| chosen.split([' ', ',']).any(|w| w == s.as_str());
    let scope_error = state.error_for("scopes");
    let scopes_invalid = scope_error.is_some();
    let scopes_described = if scope_error.is_some() {
        "create-scopes-hint create-scopes-error"
    } else {
        "create-scopes-hint"
    };
    let boxes = Scope::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = format!("create-scope-{i}");
            view! {
                <div class="choice">
                    <input type="checkbox" id=id.clone() name=format!("scopes[{i}]")
                        value=s.as_str() checked=checked(*s)/>
                    <label for=id><code>{s.as_str()}</code> " — " {s.describe()}</label>
                </div>
            }
        })
        .collect_view();
    let expiry_hint =
        format!("From 1 to {MAX_EXPIRY_DAYS} days; {DEFAULT_EXPIRY_DAYS} if left empty.");
    let expires = {
        let v = state.value("expires_days");
        if v.is_empty() {
            DEFAULT_EXPIRY_DAYS.to_string()
        } else {
            v
        }
    };
    view! {
        <section class="card" aria-labelledby="create-heading">
            <h2 id="create-heading">"Create a token"</h2>
            <ActionForm action=action>
                <ErrorSummary state=state.clone() prefix="create"/>
                <Field prefix="create" name="name" label="Name" required=true maxlength=MAX_NAME_CHARS
                    hint="What uses it, for example \"laptop\" or \"nightly job\"."
                    value=state.value("name") error=state.error_for("name")/>
                <Field prefix="create" name="expires_days" label="Expires after (days)"
                    hint=expiry_hint value=expires error=state.error_for("expires_days")/>
                <fieldset class="field" class:has-error=scopes_invalid id="create-scopes"
                    aria-describedby=scopes_described>
                    <legend>"Scopes"</legend>
                    <p class="hint" id="create-scopes-hint">"What the token may do. Choose at least one."</p>
                    {scope_error.map(|e| view! { <p class="field-error" id="create-scopes-error">{e}</p> })}
                    {boxes}
                </fieldset>
                <button type="submit">"Create token"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenInfo>, now: i64, flash: Option<Flash>) -> impl IntoView {
    let error = flash
        .as_ref()
        .filter(|f| f.form == "tokens/revoke")
        .and_then(|f| f.error.clone());
    let rows = tokens
        .into_iter()
        .map(|t| view! { <TokenRow token=t now/> })
        .collect_view();
    view! {
        {error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        <div class="table-wrap">
            <table class="tokens">
                <caption class="visually-hidden">"Your tokens, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Expires"</th>
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
fn TokenRow(token: TokenInfo, now: i64) -> impl IntoView {
    let name = token.name;
    let scopes = token
        .scopes
        .iter()
        .map(|s| view! { <code>{s.as_str()}</code> " " })
        .collect_view();
    let expired = token.expires_at <= now;
    view! {
        <tr data-token=name.clone()>
            <th scope="row">{name.clone()}</th>
            <td><code>{format!("{}…", token.display)}</code></td>
            <td>{scopes}</td>
            <td>
                <Timestamp ms=Some(token.expires_at)/>
                {expired.then(|| view! { " " <strong class="danger">"(expired)"</strong> })}
            </td>
            <td><Timestamp ms=token.last_used_at/></td>
            <td class="actions">
                <form method="post" action="/api/tokens/revoke">
                    <input type="hidden" name="id" value=token.id/>
                    <button type="submit" class="danger"
                        aria-label=format!("Revoke token {name}")>"Revoke"</button>
                </form>
            </td>
        </tr>
    }
}
