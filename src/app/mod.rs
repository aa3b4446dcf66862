//! The web interface: the HTML shell, the routes and the pages. UI only; data comes from the
//! server functions in `crate::api`.

mod components;
mod pages;

use components::header::Header;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};
use pages::{
    account::AccountPage,
    admin::{
        audit::AdminAuditPage,
        cluster_secrets::AdminClusterSecretsPage,
        environments::AdminEnvironmentsPage,
        keys::AdminKeysPage,
        overview::AdminOverviewPage,
        project_members::AdminProjectPage,
        projects::AdminProjectsPage,
        sessions::AdminSessionsPage,
        tokens::AdminTokensPage,
        users::{AdminUserConfirmPage, AdminUsersPage},
    },
    home::HomePage,
    launch::LaunchPage,
    login::LoginPage,
    not_found::NotFound,
    secrets::SecretsPage,
    sessions::SessionsPage,
    signup::SignupPage,
    tokens::TokensPage,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // Both link the content-hashed names when the site was built with them, so
                // browsers can keep the files for good (see `server::web::assets`).
                <HashedStylesheet id="leptos" options=options.clone()/>
                <HydrationScripts options/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Pages render whole on the server (async mode) so they work without JavaScript.
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Lockbox".to_string() } else { format!("{page} · Lockbox") }/>
        <Router>
            <a class="skip-link" href="#main">"Skip to main content"</a>
            <Header/>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/secrets") view=SecretsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/tokens") view=TokensPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions") view=SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions/new") view=LaunchPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminOverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/confirm") view=AdminUserConfirmPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/sessions") view=AdminSessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/environments") view=AdminEnvironmentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/tokens") view=AdminTokensPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/projects") view=AdminProjectsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/projects/:name") view=AdminProjectPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/cluster-secrets") view=AdminClusterSecretsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/keys") view=AdminKeysPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
