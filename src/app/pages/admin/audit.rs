//! `/admin/audit`: the audit log, newest first, filtered by a query line
//! (`actor:alice action:secret.used since:2026-11-01 session:<id>`), paged by cursor, exported
//! as NDJSON, and its hash chain checked on request. A GET form and links: it works the same
//! without JavaScript.

use super::{admin_only, encode, AdminLayout};
use crate::{
    api::admin_pages::{admin_audit_page, AuditPageData},
    app::components::time::Timestamp,
    model::audit::AuditEntry,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let (q, before, verify) = use_query_map().with_untracked(|m| {
        (
            m.get("q"),
            m.get("before").and_then(|b| b.parse::<i64>().ok()),
            m.get("verify").is_some_and(|v| v == "1"),
        )
    });
    let page = Resource::new(
        move || (q.clone(), before, verify),
        |(q, before, verify)| admin_audit_page(q, before, verify),
    );
    view! {
        <Title text="Audit log"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/audit"><Loaded page/></AdminLayout>
        })}
    }
}

#[component]
fn Loaded(page: AuditPageData) -> impl IntoView {
    let q = page.q.clone();
    let invalid = page.query_error.is_some();
    let export = format!("/admin/audit/export.ndjson?q={}", encode(&q));
    let verify = format!("/admin/audit?q={}&verify=1", encode(&q));
    let older = page
        .page
        .next
        .map(|n| format!("/admin/audit?q={}&before={n}", encode(&q)));
    let verdict = page.verdict.map(|v| match v.broken {
        None => view! {
            <p class="notice" role="status" id="chain-verdict">
                {v.describe()}
            </p>
        }
        .into_any(),
        Some(_) => view! {
            <p class="field-error" role="alert" id="chain-verdict">
                {v.describe()}
            </p>
        }
        .into_any(),
    });
    let rows = page.page.events;
    let empty = rows.is_empty();
    view! {
        <div class="page-head">
            <h1>"Audit log"</h1>
            <p class="lead">"Every sign-in, secret change and use, session and admin action, newest first. Names only, never values."</p>
        </div>
        {verdict}
        <form method="get" action="/admin/audit" role="search" class="card audit-search">
            <label for="audit-q">"Filter events"</label>
            <p class="hint" id="audit-q-hint">
                "For example " <code>"actor:alice action:secret.used since:2026-11-01"</code>
                ". Filters: actor, action (" <code>"secret.*"</code> " for a prefix), target, session, since, until."
            </p>
            {page.query_error.clone().map(|e| view! {
                <p class="field-error" id="audit-q-error" role="alert">{e}</p>
            })}
            <div class="row">
                <input id="audit-q" name="q" type="search" value=q.clone() autocomplete="off"
                    aria-invalid=invalid.then_some("true")
                    aria-describedby=if invalid { "audit-q-hint audit-q-error" } else { "audit-q-hint" }/>
                <button type="submit">"Filter"</button>
            </div>
        </form>
        <p class="buttons">
            <a href=export rel="external" download="lockbox-audit.ndjson">"Export as NDJSON"</a>
            <a href=verify rel="external">"Check the chain"</a>
        </p>
        {if empty {
            view! { <p class="empty card">"No events match."</p> }.into_any()
        } else {
            view! { <EventTable rows/> }.into_any()
        }}
        {older.map(|href| view! {
            <p class="buttons"><a href=href rel="external">"Older events"</a></p>
        })}
    }
}

#[component]
fn EventTable(rows: Vec<AuditEntry>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td><Timestamp ms=Some(e.at)/></td>
                    <td>{e.actor_name.unwrap_or_default()}</td>
                    <td><code>{e.action}</code></td>
                    <td>{e.target.unwrap_or_default()}</td>
                    <td>{e.detail.unwrap_or_default()}</td>
                    <td>{e.client_addr.unwrap_or_default()}</td>
                    <td class="num">{e.seq}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        // Focusable, so a keyboard can scroll a table wider than the screen.
        <div class="table-wrap" tabindex="0" role="region" aria-label="Audit events">
            <table class="secrets audit">
                <caption class="visually-hidden">"Audit events, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Detail"</th>
                        <th scope="col">"Client"</th>
                        <th scope="col">"Event"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
