//! `/admin`: where the admin view starts: each section, what it holds, and a count where one
//! is cheap to give.

use super::{admin_only, AdminLayout, SECTIONS};
use crate::api::admin_pages::{admin_overview_page, OverviewData};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| admin_overview_page());
    view! {
        <Title text="Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin"><Loaded page/></AdminLayout>
        })}
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The count shown beside a section, if it has one.
fn count(page: &OverviewData, href: &str) -> Option<String> {
    match href {
        "/admin/users" => Some(format!(
            "{}, {}",
            plural(page.users, "account", "accounts"),
            plural(page.admins, "active admin", "active admins")
        )),
        "/admin/sessions" => Some(plural(page.live_sessions, "live session", "live sessions")),
        "/admin/projects" => Some(plural(page.projects, "project", "projects")),
        "/admin/environments" => Some(plural(page.environments, "environment", "environments")),
        _ => None,
    }
}

#[component]
fn Loaded(page: OverviewData) -> impl IntoView {
    let items = SECTIONS
        .iter()
        .map(|(href, label, holds)| {
            let id = format!("overview-{}", href.trim_start_matches("/admin/"));
            let counted = count(&page, href);
            view! {
                <li>
                    <a href=*href aria-describedby=id.clone()>{*label}</a>
                    {counted.map(|c| view! { " " <span class="muted">"("{c}")"</span> })}
                    <p id=id class="hint">{*holds}</p>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="page-head">
            <h1>"Admin"</h1>
            <p class="lead">"Manage accounts, sessions, projects and keys. Admins never see another user's secret values."</p>
        </div>
        <ul class="admin-overview card">{items}</ul>
    }
}
