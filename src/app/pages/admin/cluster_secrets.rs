//! `/admin/cluster-secrets`: where each cluster-wide secret stands in each project namespace
//! (synced version and time, conflict, error), filtered by source or namespace and by state
//! (a GET form), paged by cursor; and how each store's propagation controller is doing. Names
//! and states only: a value is never part of it. Read-only: the sources are managed with
//! `lockbox cluster-secrets …` or in Kubernetes.

use super::{admin_only, with_query, AdminLayout};
use crate::{
    api::cluster_secrets::{admin_cluster_secrets_page, ClusterSecretsPageData},
    app::components::time::Timestamp,
    model::propagation::{PropagationHealth, PropagationRow, STATES},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminClusterSecretsPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| {
        (
            m.get("q").unwrap_or_default(),
            m.get("state").unwrap_or_default(),
            m.get("after").unwrap_or_default(),
        )
    });
    let page = Resource::new(
        move || args.clone(),
        |(q, state, after)| admin_cluster_secrets_page(q, state, after),
    );
    view! {
        <Title text="Cluster secrets · Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/cluster-secrets"><Loaded page/></AdminLayout>
        })}
    }
}

fn list_url(q: &str, state: &str, after: Option<&str>) -> String {
    with_query(
        "/admin/cluster-secrets",
        &[
            ("q", q),
            ("state", state),
            ("after", after.unwrap_or_default()),
        ],
    )
}

fn state_label(state: &str) -> &'static str {
    match state {
        "synced" => "Synced",
        "conflict" => "Conflict",
        "error" => "Error",
        "skipped" => "Skipped",
        _ => "Unknown",
    }
}

#[component]
fn Loaded(page: ClusterSecretsPageData) -> impl IntoView {
    let error = |field: &str| {
        page.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let q_error = error("q");
    let state_error = error("state");
    let (q, state) = (page.q.clone(), page.state.clone());
    let next = page
        .page
        .next
        .clone()
        .map(|n| list_url(&q, &state, Some(&n)));
    let summary = if page.counts.is_empty() {
        "No cluster-wide secret has been copied anywhere yet.".to_string()
    } else {
        let parts: Vec<String> = page
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {}", state_label(s).to_lowercase()))
            .collect();
        format!("Copies in all: {}.", parts.join(", "))
    };
    let options = std::iter::once(("", "Any state"))
        .chain(STATES.iter().map(|s| (*s, state_label(s))))
        .map(|(value, label)| {
            let selected = state.trim().eq_ignore_ascii_case(value);
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    let rows = page.page.items.clone();
    let empty = rows.is_empty();
    view! {
        <div class="page-head">
            <h1>"Cluster secrets"</h1>
            <p class="lead">"Secrets labelled cluster-wide in the Lockbox system namespace are copied into every project namespace. Where each copy stands; names only, never values."</p>
        </div>
        <Controllers controllers=page.controllers.clone()/>
        <p role="status">{summary}</p>
        <form method="get" action="/admin/cluster-secrets" role="search" aria-label="Filter cluster secrets"
            class="card admin-filter">
            <h2>"Filter"</h2>
            <div class="filter-fields">
                <div class="field" class:has-error=q_error.is_some()>
                    <label for="cluster-q">"Source or namespace"</label>
                    {q_error.clone().map(|e| view! { <p class="field-error" id="cluster-q-error">{e}</p> })}
                    <input id="cluster-q" type="search" name="q" value=q.clone() autocomplete="off"
                        spellcheck="false" aria-invalid=q_error.as_ref().map(|_| "true")
                        aria-describedby=q_error.as_ref().map(|_| "cluster-q-error")/>
                </div>
                <div class="field" class:has-error=state_error.is_some()>
                    <label for="cluster-state">"State"</label>
                    {state_error.clone().map(|e| view! { <p class="field-error" id="cluster-state-error">{e}</p> })}
                    <select id="cluster-state" name="state"
                        aria-invalid=state_error.as_ref().map(|_| "true")
                        aria-describedby=state_error.as_ref().map(|_| "cluster-state-error")>
                        {options}
                    </select>
                </div>
            </div>
            <div class="buttons">
                <button type="submit">"Filter"</button>
                <a href="/admin/cluster-secrets" rel="external">"Clear the filter"</a>
            </div>
        </form>
        {if empty {
            view! { <p class="empty card">"No copies match."</p> }.into_any()
        } else {
            view! { <CopyTable rows/> }.into_any()
        }}
        {next.map(|href| view! { <p class="buttons"><a href=href rel="external">"Next copies"</a></p> })}
    }
}

#[component]
fn Controllers(controllers: Vec<PropagationHealth>) -> impl IntoView {
    if controllers.is_empty() {
        return view! {
            <section class="card" aria-labelledby="controllers-heading">
                <h2 id="controllers-heading">"Propagation"</h2>
                <p>"No propagation controller has reported yet."</p>
            </section>
        }
        .into_any();
    }
    let items = controllers
        .into_iter()
        .map(|c| {
            let state = if c.stalled {
                view! { <strong class="danger">"Stalled: copies may be behind"</strong> }.into_any()
            } else {
                view! { <span>"Running"</span> }.into_any()
            };
            view! {
                <li>
                    <strong>{format!("{}: ", c.store)}</strong>{state}
                    {format!(" (replica {}; {} passes, {} writes, {} failed). Last pass: ",
                        c.holder, c.passes, c.writes, c.failed_writes)}
                    <Timestamp ms=c.last_pass_at/>"."
                    {c.detail.map(|d| view! { " " <span>{d}</span> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="controllers-heading">
            <h2 id="controllers-heading">"Propagation"</h2>
            <ul>{items}</ul>
        </section>
    }
    .into_any()
}

#[component]
fn CopyTable(rows: Vec<PropagationRow>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|r| {
            let class = match r.state.as_str() {
                "synced" => "status status-running",
                "conflict" | "error" => "status status-failed",
                _ => "status status-stopped",
            };
            view! {
                <tr>
                    <th scope="row"><code>{r.source.clone()}</code></th>
                    <td><code>{r.namespace.clone()}</code></td>
                    <td>{r.store.clone()}</td>
                    <td><span class=class>{state_label(&r.state)}</span></td>
                    <td>{r.synced_version.clone().unwrap_or_default()}</td>
                    <td><Timestamp ms=r.synced_at/></td>
                    <td>{r.detail.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Copies of cluster secrets">
            <table class="secrets">
                <caption class="visually-hidden">"Copies of cluster-wide secrets, by source and namespace"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Source"</th>
                        <th scope="col">"Namespace"</th>
                        <th scope="col">"Store"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Synced version"</th>
                        <th scope="col">"Synced"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
