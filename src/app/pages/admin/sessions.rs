//! `/admin/sessions`: every user's sessions, newest first or sorted by user or status (header
//! links, `sort` and `dir`), filtered by user, environment,
//! project and status (a GET form), paged by cursor; Stop opens a confirmation (`?stop=ID`)
//! whose form posts to the API. Links and plain forms only: the same with or without
//! JavaScript. What a session received is shown by name and mode, never a value.

use super::{admin_only, sort_header, with_query, AdminLayout};
use crate::{
    api::admin_pages::{admin_sessions_page, SessionsPageData},
    app::components::{
        form::{FormState, Notice},
        time::Timestamp,
    },
    model::{
        admin_sessions::{AdminSession, FilterInput, StatusFilter},
        session::{InjectMode, SessionInfo, SessionStatus},
        sorting::{Column, SessionColumn, Sort},
        FieldError,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminSessionsPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| {
        let get = |k: &str| m.get(k).unwrap_or_default();
        (
            get("user"),
            get("environment"),
            get("project"),
            get("status"),
            get("after"),
            m.get("stop"),
            get("sort"),
            get("dir"),
        )
    });
    let page = Resource::new(
        move || args.clone(),
        |(user, environment, project, status, after, stop, sort, dir)| {
            admin_sessions_page(user, environment, project, status, after, stop, sort, dir)
        },
    );
    view! {
        <Title text="Sessions · Admin"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/sessions"><Loaded page/></AdminLayout>
        })}
    }
}

/// The list's address with the filter and the order, and optionally a cursor or a session to
/// confirm.
fn list_url(
    filter: &FilterInput,
    sort: Sort<SessionColumn>,
    after: Option<&str>,
    stop: Option<&str>,
) -> String {
    with_query(
        "/admin/sessions",
        &[
            ("user", filter.user.as_str()),
            ("environment", filter.environment.as_str()),
            ("project", filter.project.as_str()),
            ("status", filter.status.as_str()),
            ("sort", sort.column.as_str()),
            ("dir", sort.dir.as_str()),
            ("after", after.unwrap_or_default()),
            ("stop", stop.unwrap_or_default()),
        ],
    )
}

fn status_label(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Starting => "Starting",
        SessionStatus::Running => "Running",
        SessionStatus::Failed => "Failed",
        SessionStatus::Stopped => "Stopped",
    }
}

/// Whether Stop applies (a failed session may still hold objects: stopping cleans up).
fn stoppable(s: &SessionInfo) -> bool {
    s.status.is_live() || s.status == SessionStatus::Failed
}

/// A short name for a session, for labels that must tell rows apart.
fn which(s: &AdminSession) -> String {
    let started = chrono::DateTime::from_timestamp_millis(s.session.started_at)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    format!(
        "{}'s {} session started {started}",
        s.owner, s.session.environment
    )
}

#[component]
fn Loaded(page: SessionsPageData) -> impl IntoView {
    let flash = page.flash.clone();
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let stop_error = FormState::of(&flash, "admin/sessions/stop").error;
    let filter = page.filter.clone();
    let sort = page.page.sort;
    let next = page
        .page
        .next
        .clone()
        .map(|n| list_url(&filter, sort, Some(&n), None));
    let paged = !filter.after.trim().is_empty();
    let first = paged.then(|| list_url(&filter, sort, None, None));
    // The page link this page shows (none when something was refused), kept by Stop's
    // confirmation and its form so that a stop returns to this very page.
    let after = if page.errors.is_empty() {
        filter.after.clone()
    } else {
        String::new()
    };
    let confirm = page.confirm.clone().map(|c| match c {
        Ok(s) => view! { <ConfirmStop session=s filter=filter.clone() sort after=after.clone()/> }
            .into_any(),
        Err(message) => view! { <p class="field-error" role="alert">{message}</p> }.into_any(),
    });
    let rows = page.page.sessions.clone();
    let empty = rows.is_empty();
    view! {
        <div class="page-head">
            <h1>"Sessions"</h1>
            <p class="lead">"The sessions of every user (newest first unless sorted otherwise), with the names of the secrets each received and how. Values are never shown."</p>
        </div>
        <Notice message=notice/>
        {stop_error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        {confirm}
        <FilterForm filter=filter.clone() errors=page.errors.clone()
            environments=page.environments.clone() projects=page.projects.clone() sort/>
        {if empty {
            view! { <p class="empty card">"No sessions match."</p> }.into_any()
        } else {
            view! { <SessionTable rows filter=filter.clone() sort after=after.clone()/> }.into_any()
        }}
        <p class="buttons">
            {first.map(|href| view! { <a href=href rel="external">"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="external">"Older sessions"</a> })}
        </p>
    }
}

#[component]
fn FilterForm(
    filter: FilterInput,
    errors: Vec<FieldError>,
    environments: Vec<String>,
    projects: Vec<String>,
    sort: Sort<SessionColumn>,
) -> impl IntoView {
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let text = |name: &'static str,
                label: &'static str,
                value: String,
                list: Option<&'static str>| {
        let id = format!("sessions-{name}");
        let error_id = format!("{id}-error");
        let err = error(name);
        let invalid = err.as_ref().map(|_| "true");
        let described = err.as_ref().map(|_| error_id.clone());
        view! {
            <div class="field" class:has-error=err.is_some()>
                <label for=id.clone()>{label}</label>
                {err.clone().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
                <input id=id type="text" name=name value=value list=list autocomplete="off"
                    spellcheck="false" aria-invalid=invalid aria-describedby=described/>
            </div>
        }
    };
    let status_err = error("status");
    // Refused outside the form's fields: the page link and the order.
    let list_errs: Vec<String> = ["after", "sort", "dir"]
        .into_iter()
        .filter_map(&error)
        .collect();
    // Clearing the filter keeps the order.
    let clear = with_query(
        "/admin/sessions",
        &[("sort", sort.column.as_str()), ("dir", sort.dir.as_str())],
    );
    let options = StatusFilter::ALL
        .iter()
        .map(|s| {
            let selected = filter.status.trim() == s.as_str();
            view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
        })
        .collect_view();
    let env_options = environments
        .into_iter()
        .map(|n| view! { <option value=n/> })
        .collect_view();
    let project_options = projects
        .into_iter()
        .map(|n| view! { <option value=n/> })
        .collect_view();
    view! {
        <form method="get" action="/admin/sessions" role="search" aria-label="Filter sessions"
            class="card admin-filter">
            <h2>"Filter"</h2>
            {list_errs.into_iter().map(|e| view! { <p class="field-error" role="alert">{e}</p> }).collect_view()}
            // The filter keeps the order.
            <input type="hidden" name="sort" value=sort.column.as_str()/>
            <input type="hidden" name="dir" value=sort.dir.as_str()/>
            <div class="filter-fields">
                {text("user", "User", filter.user.clone(), None)}
                {text("environment", "Environment", filter.environment.clone(), Some("sessions-environments"))}
                {text("project", "Project", filter.project.clone(), Some("sessions-projects"))}
                <div class="field" class:has-error=status_err.is_some()>
                    <label for="sessions-status">"Status"</label>
                    {status_err.clone().map(|e| view! { <p class="field-error" id="sessions-status-error">{e}</p> })}
                    <select id="sessions-status" name="status"
                        aria-invalid=status_err.as_ref().map(|_| "true")
                        aria-describedby=status_err.as_ref().map(|_| "sessions-status-error")>
                        <option value="" selected=filter.status.trim().is_empty()>"Any"</option>
                        {options}
                    </select>
                </div>
            </div>
            <datalist id="sessions-environments">{env_options}</datalist>
            <datalist id="sessions-projects">{project_options}</datalist>
            <div class="buttons">
                <button type="submit">"Filter"</button>
                <a href=clear rel="external">"Clear the filter"</a>
            </div>
        </form>
    }
}

fn injected_view(s: &SessionInfo) -> AnyView {
    if s.injected.is_empty() {
        return view! { <span class="muted">"none"</span> }.into_any();
    }
    let items = s
        .injected
        .iter()
        .map(|i| {
            let how = match i.mode {
                InjectMode::Env => format!("env {}", i.target),
                InjectMode::File => format!("file {}", i.target),
            };
            view! { <li><code>{i.secret.clone()}</code>" as "{how}</li> }
        })
        .collect_view();
    view! { <ul class="injected">{items}</ul> }.into_any()
}

#[component]
fn SessionTable(
    rows: Vec<AdminSession>,
    filter: FilterInput,
    sort: Sort<SessionColumn>,
    after: String,
) -> impl IntoView {
    // A header leads back to the table (the sequential focus point after the page loads).
    let header = |label: &'static str, column: SessionColumn| {
        let href = format!(
            "{}#sessions-table",
            list_url(&filter, sort.toggled(column), None, None)
        );
        sort_header(label, column, sort, href)
    };
    let headers = (
        header("User", SessionColumn::User),
        header("Status", SessionColumn::Status),
        header("Started", SessionColumn::Started),
    );
    let body = rows
        .into_iter()
        .map(|s| {
            let info = &s.session;
            let stop = stoppable(info).then(|| {
                let href = list_url(&filter, sort, Some(&after), Some(&info.id));
                let label = format!("Stop {}", which(&s));
                view! { <a href=href rel="external" class="danger" aria-label=label>"Stop"</a> }
            });
            view! {
                <tr data-session=info.id.clone() data-status=info.status.as_str()>
                    <th scope="row">{s.owner.clone()}</th>
                    <td>{info.environment.clone()}</td>
                    <td>{info.project.clone()}</td>
                    <td>
                        <span class=format!("status status-{}", info.status.as_str())>
                            {status_label(info.status)}
                        </span>
                        {info.status_detail.clone().map(|d| view! { <span class="muted">" "{d}</span> })}
                    </td>
                    <td>{injected_view(info)}</td>
                    <td><Timestamp ms=Some(info.started_at)/></td>
                    <td>{info.stopped_at.map(|t| view! { <Timestamp ms=Some(t)/> })}</td>
                    <td class="actions">{stop}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Sessions of all users"
            id="sessions-table">
            <table class="secrets admin-sessions">
                <caption class="visually-hidden">
                    {format!("Sessions of all users. {}.", sort.describe())}
                </caption>
                <thead>
                    <tr>
                        {headers.0}
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Project"</th>
                        {headers.1}
                        <th scope="col">"Secrets received (names and modes)"</th>
                        {headers.2}
                        <th scope="col">"Ended"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

/// The confirmation of a stop: what will stop, and a form that posts it. Cancel, and the stop
/// itself (its `return_to`), return to the list as it was: filter, order and page.
#[component]
fn ConfirmStop(
    session: AdminSession,
    filter: FilterInput,
    sort: Sort<SessionColumn>,
    after: String,
) -> impl IntoView {
    let back = list_url(&filter, sort, Some(&after), None);
    let info = session.session.clone();
    let title = format!(
        "Stop {}'s {} session?",
        session.owner, session.session.environment
    );
    let body = if stoppable(&info) {
        view! {
            <p>"Its processes end and everything it was given is removed. Its owner sees it as stopped by an admin."</p>
            <form method="post" action="/api/admin/sessions/stop">
                <input type="hidden" name="id" value=info.id.clone()/>
                <input type="hidden" name="return_to" value=back.clone()/>
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true
                        aria-label=format!("Stop {} now", which(&session))>"Stop the session"</button>
                    <a href=back.clone() rel="external">"Cancel"</a>
                </div>
            </form>
        }
        .into_any()
    } else {
        view! {
            <p>"This session has already ended: there is nothing to stop."</p>
            <p class="buttons"><a href=back.clone() rel="external">"Back to the list"</a></p>
        }
        .into_any()
    };
    view! {
        <section class="card confirm danger" aria-labelledby="confirm-title" id="confirm-stop">
            <h2 id="confirm-title">{title}</h2>
            <dl class="facts">
                <dt>"Project"</dt><dd>{info.project.clone()}</dd>
                <dt>"Status"</dt><dd>{status_label(info.status)}</dd>
                <dt>"Started"</dt><dd><Timestamp ms=Some(info.started_at)/></dd>
                <dt>"Secrets"</dt><dd>{injected_view(&info)}</dd>
                <dt>"Session id"</dt><dd><code>{info.id.clone()}</code></dd>
            </dl>
            {body}
        </section>
    }
}
