//! The admin view: one layout (a navigation landmark listing its sections) around each admin
//! page, and the plain "not allowed" page (status 403) that anyone else gets.

pub mod audit;
pub mod cluster_secrets;
pub mod environments;
pub mod keys;
pub mod overview;
pub mod project_members;
pub mod projects;
pub mod sessions;
pub mod tokens;
pub mod users;

use crate::model::{
    sorting::{Column, Sort},
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{de::DeserializeOwned, Serialize};

/// The sections of the admin view, in the order the navigation lists them, each with what it
/// holds (said on the overview page).
pub const SECTIONS: &[(&str, &str, &str)] = &[
    (
        "/admin/users",
        "Users",
        "Accounts: create one, disable or enable, grant or revoke admin, delete.",
    ),
    (
        "/admin/sessions",
        "Sessions",
        "Every user's sessions, with the names of the secrets each received; stop any.",
    ),
    (
        "/admin/projects",
        "Projects",
        "Projects and their members, who may launch sessions in them.",
    ),
    (
        "/admin/environments",
        "Environments",
        "What a session can be launched as: image, command, resources.",
    ),
    (
        "/admin/cluster-secrets",
        "Cluster secrets",
        "Secrets copied to namespaces, and where each copy stands.",
    ),
    (
        "/admin/tokens",
        "Tokens",
        "Every user's personal access tokens: scopes, expiry, last use; revoke any.",
    ),
    (
        "/admin/audit",
        "Audit log",
        "Who did what and when; search it, export it, check its chain.",
    ),
    (
        "/admin/keys",
        "Keys",
        "The master keys in use, and rotation to a new one.",
    ),
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

/// The header of a sortable column (`aria-sort` says how the list is sorted by it): a link to
/// the list sorted by it, `href`, whose name says what following it does ("Username, sort
/// descending"). A plain link, so it works without JavaScript.
pub fn sort_header<C: Column>(
    label: &'static str,
    column: C,
    sort: Sort<C>,
    href: String,
) -> impl IntoView {
    let next = sort.toggled(column);
    let aria = sort.aria(column);
    let mark = match aria {
        "ascending" => "\u{25B2}",
        "descending" => "\u{25BC}",
        _ => "\u{2195}",
    };
    // The name in one piece: a hidden span beside the label was read as "User , sort ...".
    let name = format!("{label}, sort {}", next.dir.label());
    view! {
        <th scope="col" aria-sort=aria>
            <a href=href rel="external" class="sort-link" data-sort=column.as_str() aria-label=name>
                {label}
                <span class="sort-mark" aria-hidden="true">{mark}</span>
            </a>
        </th>
    }
}

/// The admin layout around `content`; `current` is the section's path (marked for screen
/// readers with `aria-current`).
#[component]
pub fn AdminLayout(current: &'static str, children: Children) -> impl IntoView {
    let links = std::iter::once(&("/admin", "Overview", ""))
        .chain(SECTIONS)
        .map(|(href, label, _)| {
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
