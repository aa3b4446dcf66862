//! `/admin/users`: accounts, searched by name and paged by cursor; create one with a one-time
//! password; disable and enable, grant and revoke admin, delete. Plain forms and links, so it all
//! works without JavaScript: destructive actions link to a confirmation page
//! (`/admin/users/confirm`), which JavaScript replaces with a dialog on this page.

use super::{admin_only, sort_header, with_query, AdminLayout};
use crate::{
    api::{
        admin_pages::{
            admin_users_confirm_page, admin_users_page, ConfirmUserActionData, UsersPageData,
        },
        users::USERS_PAGE,
    },
    app::components::{
        confirm_dialog::{ConfirmDialog, ConfirmLink, Confirmer, Question},
        form::{ErrorSummary, Field, FormState, Notice},
        time::Timestamp,
    },
    model::{
        sorting::{return_to, Column, Sort, UserColumn},
        users::{UserAction, UserSummary},
        Flash, Username,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let args = use_query_map().with_untracked(|m| {
        let get = |k: &str| m.get(k).unwrap_or_default();
        (m.get("q"), m.get("after"), get("sort"), get("dir"))
    });
    let page = Resource::new(
        move || args.clone(),
        |(q, after, sort, dir)| admin_users_page(q, after, sort, dir),
    );
    view! {
        <Title text="Users"/>
        {admin_only(page, |page| view! {
            <AdminLayout current="/admin/users"><Loaded page/></AdminLayout>
        })}
    }
}

/// The outcome of an action on a user, as a plain form post left it.
fn action_outcome(flash: &Option<Flash>) -> (Option<String>, Option<String>) {
    match flash {
        Some(f) if f.form.starts_with("admin/users/") && f.form != "admin/users/create" => {
            (f.notice.clone(), f.error.clone())
        }
        _ => (None, None),
    }
}

/// The list's address with the search, the order and optionally a cursor.
fn list_url(q: &str, sort: Sort<UserColumn>, after: Option<&str>) -> String {
    with_query(
        "/admin/users",
        &[
            ("q", q),
            ("sort", sort.column.as_str()),
            ("dir", sort.dir.as_str()),
            ("after", after.unwrap_or_default()),
        ],
    )
}

#[component]
fn Loaded(page: UsersPageData) -> impl IntoView {
    let (notice, error) = action_outcome(&page.flash);
    let create = FormState::of(&page.flash, "admin/users/create");
    let q = page.q.clone();
    let sort = page.page.sort;
    let field_error = |field: &str| {
        page.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let q_error = field_error("q");
    // A refused order or page link: said above the (empty) list.
    let list_errors: Vec<String> = page
        .errors
        .iter()
        .filter(|e| e.field != "q")
        .map(|e| e.message.clone())
        .collect();
    let invalid = q_error.is_some();
    let next = page.page.next.clone().map(|n| list_url(&q, sort, Some(&n)));
    // Where an action on a row returns to: this list as it is (search, order and page).
    let here = list_url(&q, sort, Some(&page.after));
    let confirmer = Confirmer::new();
    let rows = page.page.users;
    let empty = rows.is_empty();
    let me = page.me;
    view! {
        <div class="page-head">
            <h1>"Users"</h1>
            <p class="lead">"Accounts on this server. Admins manage accounts, never their secrets' values."</p>
        </div>
        <Notice message=notice/>
        {error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        <CreateForm state=create/>
        <form method="get" action="/admin/users" role="search" class="card audit-search">
            <label for="users-q">"Search users"</label>
            <p class="hint" id="users-q-hint">"Part of a username, any case."</p>
            {q_error.clone().map(|e| view! {
                <p class="field-error" id="users-q-error" role="alert">{e}</p>
            })}
            // The search keeps the order.
            <input type="hidden" name="sort" value=sort.column.as_str()/>
            <input type="hidden" name="dir" value=sort.dir.as_str()/>
            <div class="row">
                <input id="users-q" name="q" type="search" value=q.clone() autocomplete="off"
                    aria-invalid=invalid.then_some("true")
                    aria-describedby=if invalid { "users-q-hint users-q-error" } else { "users-q-hint" }/>
                <button type="submit">"Search"</button>
            </div>
        </form>
        {(!list_errors.is_empty()).then(|| view! {
            <div class="field-error" role="alert">
                {list_errors.into_iter().map(|e| view! { <p>{e}</p> }).collect_view()}
                <p><a href=list_url(&q, sort, None) rel="external">"Show the first page"</a></p>
            </div>
        })}
        {if empty {
            view! { <p class="empty card">"No users match."</p> }.into_any()
        } else {
            view! { <UserTable rows me confirmer q=q.clone() sort here/> }.into_any()
        }}
        {next.map(|href| view! {
            <p class="buttons"><a href=href rel="external">"Next users"</a></p>
        })}
        <ConfirmDialog confirmer/>
    }
}

#[component]
fn CreateForm(state: FormState) -> impl IntoView {
    let admin = crate::model::users::checked(&state.value("admin"));
    let hint = format!(
        "{} to {} characters: letters, digits, '.', '_' and '-'. A one-time password is made \
         for the account and shown to you once; its owner replaces it at first sign-in.",
        Username::MIN,
        Username::MAX
    );
    view! {
        <section class="card" aria-labelledby="create-user-heading">
            <h2 id="create-user-heading">"Create a user"</h2>
            <form method="post" action="/api/admin/users/create" novalidate>
                <ErrorSummary state=state.clone() prefix="create-user"/>
                <Field prefix="create-user" name="username" label="Username" required=true
                    maxlength=Username::MAX autocomplete="off" hint=hint
                    value=state.value("username") error=state.error_for("username")/>
                <div class="field choice">
                    <input type="checkbox" id="create-user-admin" name="admin" value="on" checked=admin/>
                    <label for="create-user-admin">"Make this account an admin"</label>
                </div>
                <button type="submit">"Create user"</button>
            </form>
        </section>
    }
}

#[component]
fn UserTable(
    rows: Vec<UserSummary>,
    me: String,
    confirmer: Confirmer,
    q: String,
    sort: Sort<UserColumn>,
    here: String,
) -> impl IntoView {
    // A header leads back to the table (the sequential focus point after the page loads).
    let header = |label: &'static str, column: UserColumn| {
        let href = format!("{}#users-table", list_url(&q, sort.toggled(column), None));
        sort_header(label, column, sort, href)
    };
    let body = rows
        .into_iter()
        .map(|u| {
            let you = (u.username == me).then(|| view! { " " <span class="muted">"(you)"</span> });
            let actions = UserAction::available(&u)
                .into_iter()
                .map(|a| view! {
                    <ActionControl action=a username=u.username.clone() confirmer back=here.clone()/>
                })
                .collect_view();
            view! {
                <tr data-user=u.username.clone()>
                    <th scope="row">{u.username.clone()}{you}</th>
                    <td>{if u.is_admin { "Admin" } else { "User" }}</td>
                    <td>{if u.disabled {
                        view! { <strong class="danger">"Disabled"</strong> }.into_any()
                    } else {
                        view! { <span>"Active"</span> }.into_any()
                    }}</td>
                    <td>{if u.must_change_password { "One-time, not yet replaced" } else { "Own" }}</td>
                    <td><Timestamp ms=Some(u.created_at)/></td>
                    <td><Timestamp ms=u.last_sign_in_at/></td>
                    <td class="actions"><div class="buttons">{actions}</div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Users" id="users-table">
            <table class="secrets users">
                <caption class="visually-hidden">{format!("Users. {}.", sort.describe())}</caption>
                <thead>
                    <tr>
                        {header("Username", UserColumn::Name)}
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Password"</th>
                        {header("Created", UserColumn::Created)}
                        {header("Last sign-in", UserColumn::LastSignIn)}
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn confirm_href(action: UserAction, username: &str, back: &str) -> String {
    with_query(
        "/admin/users/confirm",
        &[
            ("action", action.as_str()),
            ("username", username),
            ("return_to", back),
        ],
    )
}

/// The list an action returns to: `raw` if it is the users list's own address, else the list.
fn back_to(raw: &str) -> String {
    return_to(raw, USERS_PAGE).unwrap_or(USERS_PAGE).to_string()
}

fn title(action: UserAction, username: &str) -> String {
    match action {
        UserAction::Disable => format!("Disable {username}?"),
        UserAction::Enable => format!("Enable {username}?"),
        UserAction::GrantAdmin => format!("Make {username} an admin?"),
        UserAction::RevokeAdmin => format!("Revoke admin from {username}?"),
        UserAction::Delete => format!("Delete {username}?"),
    }
}

/// A button that posts at once, or, for what takes something away, a link to confirm first.
/// Either way the form carries `back` (the list as it is) as `return_to`, where the browser is
/// sent after the action.
#[component]
fn ActionControl(
    action: UserAction,
    username: String,
    confirmer: Confirmer,
    back: String,
) -> impl IntoView {
    let aria = format!("{} {username}", action.label());
    if action.destructive() {
        let question = Question {
            endpoint: action.endpoint(),
            title: title(action, &username),
            consequence: action.consequence(&username),
            confirm: action.label().to_string(),
            fields: vec![
                ("username".into(), username.clone()),
                ("return_to".into(), back.clone()),
            ],
            trigger: format!("{}-{username}", action.as_str()),
        };
        view! {
            <ConfirmLink confirmer href=confirm_href(action, &username, &back) question
                label=action.label() aria_label=aria/>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action=action.endpoint()>
                <input type="hidden" name="username" value=username/>
                <input type="hidden" name="return_to" value=back/>
                <button type="submit" class="secondary" aria-label=aria>{action.label()}</button>
            </form>
        }
        .into_any()
    }
}

/// `/admin/users/confirm?action=…&username=…&return_to=…`: the confirmation page, for browsers
/// without JavaScript (a GET page with the POST form). Both the action and Cancel go back to
/// the list as it was (`return_to`, if it is the users list's address).
#[component]
pub fn AdminUserConfirmPage() -> impl IntoView {
    let (username, action, back) = use_query_map().with_untracked(|m| {
        (
            m.get("username"),
            m.get("action"),
            back_to(&m.get("return_to").unwrap_or_default()),
        )
    });
    let page = Resource::new(
        move || (username.clone(), action.clone()),
        |(username, action)| admin_users_confirm_page(username, action),
    );
    view! {
        <Title text="Confirm"/>
        {admin_only(page, move |page| {
            let back = back.clone();
            view! { <AdminLayout current="/admin/users"><Confirm page back/></AdminLayout> }
        })}
    }
}

#[component]
fn Confirm(page: ConfirmUserActionData, back: String) -> impl IntoView {
    let action = page.action;
    let name = page.user.username.clone();
    let button_class = if action.destructive() { "danger" } else { "" };
    view! {
        <section class="card narrow" aria-labelledby="confirm-page-title">
            <h1 id="confirm-page-title">{title(action, &name)}</h1>
            <p id="confirm-page-body">{action.consequence(&name)}</p>
            <form method="post" action=action.endpoint() aria-describedby="confirm-page-body">
                <input type="hidden" name="username" value=name.clone()/>
                <input type="hidden" name="return_to" value=back.clone()/>
                <div class="buttons">
                    <button type="submit" class=button_class autofocus=true>{action.label()}</button>
                    <a href=back.clone()>"Cancel"</a>
                </div>
            </form>
        </section>
    }
}
