//! The admin view: one layout (a navigation landmark listing its sections) around each admin
//! page, and the plain "not allowed" page (status 403) that anyone else gets.

pub mod audit;
pub mod cluster_secrets;
pub mod environments;
pub mod keys;
pub mod project_members;
pub mod projects;
pub mod sessions;
pub mod tokens;
pub mod users;

use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{de::DeserializeOwned, Serialize};

/// The sections of the admin view, in the order the navigation lists them.
const SECTIONS: &[(&str, &str)] = &[
    ("/admin/users", "Users"),
    ("/admin/sessions", "Sessions"),
    ("/admin/projects", "Projects"),
    ("/admin/environments", "Environments"),
    ("/admin/cluster-secrets", "Cluster secrets"),
    ("/admin/tokens", "Tokens"),
    ("/admin/audit", "Audit log"),
    ("/admin/keys", "Keys"),
];

/// Escapes text for a URL's query string (what a search line or a username can hold).
pub fn encode(q: &str) -> String {
    q.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' => c.to_string(),
            ' ' => "+".to_string(),
            c => {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

/// `path` with the pairs whose value is not blank as its query string, values trimmed and
/// encoded: the address of a list page with its filters, cursor and confirmation.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v.trim())))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The admin layout around `content`; `current` is the section's path (marked for screen
/// readers with `aria-current`).
#[component]
pub fn AdminLayout(current: &'static str, children: Children) -> impl IntoView {
    let links = SECTIONS
        .iter()
        .map(|(href, label)| {
            let here = (*href == current).then_some("page");
            view! { <li><a href=*href aria-current=here>{*label}</a></li> }
        })
        .collect_view();
    view! {
        <div class="admin">
            <nav class="admin-nav" aria-label="Admin sections">
                <h2 class="visually-hidden">"Admin"</h2>
                <ul>{links}</ul>
            </nav>
            <div class="admin-content">{children()}</div>
        </div>
    }
}

/// An admin page: waits for its data, then shows it with `loaded`; sends a signed-out visitor to
/// /login and answers anyone who is not an admin with the "not allowed" page.
pub fn admin_only<T, V>(
    page: Resource<Result<T, AppError>>,
    loaded: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let loaded = loaded.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(data) => loaded(data).into_any(),
                        Err(AppError::Unauthorized) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(AppError::PasswordChangeRequired) => {
                            view! { <Redirect path=crate::api::users::ACCOUNT_PAGE/> }.into_any()
                        }
                        Err(AppError::Forbidden { .. }) => view! { <NotAllowed/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn NotAllowed() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Not allowed"/>
        <section class="card narrow">
            <h1>"Not allowed"</h1>
            <p>"This page is for Lockbox admins. " <a href="/">"Go to the start page"</a>"."</p>
        </section>
    }
}
