//! `/admin/keys`: the master keys (key ids, what each wraps, never a key), how far the
//! background rewrap towards the active key has got, and the steps an operator takes to rotate:
//! `lockbox keys rotate` for the generated key file, the rolling procedure for keys from the
//! environment. With the generated key file the page also starts a rotation ("Start a
//! rotation", after a confirmation: with JavaScript a dialog, without it the same question on
//! the page, `?confirm=rotate`); the server switches to the new key at once and rewraps in the
//! background. With keys from the environment it only shows the procedure; where several
//! servers may share the key file (PostgreSQL, Kubernetes) it says why there is no button.

use super::{admin_only, AdminLayout};
use crate::{
    api::admin_keys::admin_keys_status,
    app::components::{
        confirm_dialog::{ConfirmDialog, ConfirmLink, Confirmer, Question},
        form::{FormState, Notice},
        time::Timestamp,
    },
    model::keys::{KeySource, KeyState, KeysReport, RotationStatus},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The server function the confirmation posts to (no arguments).
const ROTATE: &str = "/api/admin/keys/rotate";
/// The page with the confirmation on it, for browsers without JavaScript.
const CONFIRM_PAGE: &str = "/admin/keys?confirm=rotate";

#[component]
pub fn AdminKeysPage() -> impl IntoView {
    let confirm = use_query_map().with_untracked(|m| m.get("confirm").as_deref() == Some("rotate"));
    let page = Resource::new(|| (), |_| admin_keys_status());
    view! {
        <Title text="Keys · Admin"/>
        {admin_only(page, move |page| view! {
            <AdminLayout current="/admin/keys"><Loaded page confirm/></AdminLayout>
        })}
    }
}

const ROTATE_TITLE: &str = "Start a master-key rotation?";

fn rotate_consequence() -> String {
    "A new master key is generated and becomes the active key at once; the current key is kept \
     as a previous key. Every wrapped key is then rewrapped under the new key in the background \
     while Lockbox serves, and once nothing uses the old key it is destroyed (backups taken \
     before can then no longer be read). Keep a copy of the data directory's key files with \
     your backups."
        .to_string()
}

fn key_state(k: &KeyState) -> &'static str {
    match (k.active, k.held, k.wraps()) {
        (true, _, _) => "Active",
        (false, false, _) => "Not held by this server",
        (false, true, 0) => "Previous, wraps nothing: can be dropped",
        (false, true, _) => "Previous, still needed",
    }
}

#[component]
fn Loaded(page: KeysReport, confirm: bool) -> impl IntoView {
    let s = page.status.clone();
    let notice = page.flash.as_ref().and_then(|f| f.notice.clone());
    let error = FormState::of(&page.flash, "admin/keys/rotate").error;
    // A rotation can start with the generated key file where no other server may share it,
    // once the last one has finished.
    let refused = page.online_rotation_refused.clone();
    let online = refused.is_none();
    let can_start = page.source == KeySource::GeneratedFile && online && !s.rotation_needed;
    let confirmer = Confirmer::new();
    let start = (page.source == KeySource::GeneratedFile)
        .then(|| view! { <Start can_start refused confirmer/> });
    view! {
        <div class="page-head">
            <h1>"Encryption keys"</h1>
            <p class="lead">"Every user's data key, and every purpose key, is stored wrapped by a master key. Rotating the master key rewraps them in the background while Lockbox serves; no value is re-encrypted."</p>
        </div>
        <Notice message=notice/>
        {error.map(|e| view! { <p class="field-error" role="alert" id="rotate-error">{e}</p> })}
        {(confirm && can_start).then(|| view! { <ConfirmRotate/> })}
        <Progress status=s.clone()/>
        {start}
        <KeyTable keys=s.keys.clone()/>
        <Steps source=page.source online droppable=s.droppable.clone()/>
        <ConfirmDialog confirmer/>
    }
}

/// The start of a rotation (generated key file only): the button, or why there is none now.
#[component]
fn Start(can_start: bool, refused: Option<String>, confirmer: Confirmer) -> impl IntoView {
    if let Some(why) = refused {
        return view! {
            <section class="card" aria-labelledby="start-heading">
                <h2 id="start-heading">"Rotate now"</h2>
                <p id="online-rotation-refused">{why}</p>
            </section>
        }
        .into_any();
    }
    let action = if can_start {
        let question = Question {
            endpoint: ROTATE.into(),
            title: ROTATE_TITLE.into(),
            consequence: rotate_consequence(),
            confirm: "Start the rotation".into(),
            fields: Vec::new(),
            trigger: "start-rotation".into(),
        };
        view! {
            <p class="buttons">
                <ConfirmLink confirmer href=CONFIRM_PAGE.to_string() question
                    label="Start a rotation" aria_label="Start a rotation"/>
            </p>
        }
        .into_any()
    } else {
        view! {
            <p>"A rotation is still rewrapping; another can start once it has completed. "
                <a href="/admin/keys" rel="external">"Refresh the progress"</a></p>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="start-heading">
            <h2 id="start-heading">"Rotate now"</h2>
            <p>"This server uses the generated key file, so it can rotate its master key itself, without a restart: a new key becomes active at once and the rewrap runs in the background."</p>
            {action}
        </section>
    }
    .into_any()
}

/// The question asked on the page itself (`?confirm=rotate`), for browsers without JavaScript.
#[component]
fn ConfirmRotate() -> impl IntoView {
    view! {
        <section class="card confirm danger" aria-labelledby="rotate-confirm-title" id="confirm-rotate">
            <h2 id="rotate-confirm-title">{ROTATE_TITLE}</h2>
            <p id="rotate-confirm-body">{rotate_consequence()}</p>
            <form method="post" action=ROTATE aria-describedby="rotate-confirm-body">
                <div class="buttons">
                    <button type="submit" class="danger" autofocus=true>"Start the rotation"</button>
                    <a href="/admin/keys" rel="external">"Cancel"</a>
                </div>
            </form>
        </section>
    }
}

#[component]
fn Progress(status: RotationStatus) -> impl IntoView {
    let percent = status.percent();
    let line = if status.rotation_needed {
        format!(
            "Rotation in progress: {} of {} wrapped keys are under the active key ({percent} %). \
             A running server moves the rest in the background.",
            status.done, status.total
        )
    } else {
        format!(
            "No rotation needed: all {} wrapped keys are under the active key.",
            status.total
        )
    };
    view! {
        <section class="card" aria-labelledby="progress-heading">
            <h2 id="progress-heading">"Rotation progress"</h2>
            <dl class="facts">
                <dt>"Active key id"</dt>
                <dd><code>{status.active_key_id.clone()}</code></dd>
                <dt>"Rotation to it started"</dt>
                <dd>{match status.started_at {
                    Some(_) => view! { <Timestamp ms=status.started_at/> }.into_any(),
                    None => view! { <span class="muted">"No rotation has been recorded for it"</span> }.into_any(),
                }}</dd>
                <dt>"Completed"</dt>
                <dd>{match (status.started_at, status.completed_at) {
                    (_, Some(_)) => view! { <Timestamp ms=status.completed_at/> }.into_any(),
                    (Some(_), None) => view! { <span>"Not yet"</span> }.into_any(),
                    (None, None) => view! { <span class="muted">"—"</span> }.into_any(),
                }}</dd>
            </dl>
            <label for="rotation-progress">"Wrapped keys under the active key"</label>
            <progress id="rotation-progress" max=status.total.max(1).to_string()
                value=if status.total == 0 { "1".to_string() } else { status.done.to_string() }>{format!("{percent} %")}</progress>
            <p role="status">{line}</p>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<KeyState>) -> impl IntoView {
    let body = keys
        .into_iter()
        .map(|k| {
            view! {
                <tr data-key=k.key_id.clone()>
                    <th scope="row"><code>{k.key_id.clone()}</code></th>
                    <td>{k.user_keys}</td>
                    <td>{k.purpose_keys}</td>
                    <td>{key_state(&k)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Master keys"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Master keys">
                <table class="secrets">
                    <caption class="visually-hidden">"Master keys by id, the active one first, and what each wraps"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Key id"</th>
                            <th scope="col">"User data keys"</th>
                            <th scope="col">"Purpose keys"</th>
                            <th scope="col">"State"</th>
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Steps(source: KeySource, online: bool, droppable: Vec<String>) -> impl IntoView {
    let drop_note = (!droppable.is_empty()).then(|| {
        view! {
            <p>{format!("Previous key ids that wrap nothing any more and can be dropped: {}.", droppable.join(", "))}</p>
        }
    });
    let steps = match source {
        KeySource::GeneratedFile if !online => view! {
            <p>"This server uses the generated key file in its data directory, which other servers may share."</p>
            <ol>
                <li>"Stop every server, run " <code>"lockbox keys rotate"</code> " on the host that holds the data directory, and start them again. It writes a new " <code>"master.key"</code> " and keeps the old key in " <code>"master.key.previous"</code> " (both atomically, readable by the owner only)."</li>
                <li>"The servers rewrap every wrapped key under the new key in the background; this page and " <code>"lockbox keys status"</code> " show the progress."</li>
                <li>"Once nothing uses the old key, it is deleted from " <code>"master.key.previous"</code> ". That destroys it: keep a copy only if you must still read older backups."</li>
            </ol>
        }
        .into_any(),
        KeySource::GeneratedFile => view! {
            <p>"This server uses the generated key file in its data directory."</p>
            <ol>
                <li>"Press " <strong>"Start a rotation"</strong> " above, or run " <code>"lockbox keys rotate"</code> " on the server's host and restart " <code>"lockbox serve"</code> ". Either writes a new " <code>"master.key"</code> " and keeps the old key in " <code>"master.key.previous"</code> " (both atomically, readable by the owner only)."</li>
                <li>"The server rewraps every wrapped key under the new key in the background (after the button at once, after the command once restarted); this page and " <code>"lockbox keys status"</code> " show the progress."</li>
                <li>"Once nothing uses the old key, the server deletes it from " <code>"master.key.previous"</code> " (" <code>"lockbox keys forget-previous"</code> " does the same while the server is stopped). That destroys it: keep a copy only if you must still read older backups."</li>
            </ol>
        }
        .into_any(),
        KeySource::Environment => view! {
            <p>"This server's keys come from " <code>"LOCKBOX_MASTER_KEY"</code> " and " <code>"LOCKBOX_PREVIOUS_MASTER_KEYS"</code> ", so Lockbox does not rotate them itself. The rolling procedure, on every replica:"</p>
            <ol>
                <li>"Generate a new key (" <code>"openssl rand -base64 32"</code> ") and add it to " <code>"LOCKBOX_PREVIOUS_MASTER_KEYS"</code> " everywhere; restart the replicas one by one."</li>
                <li>"Make the new key " <code>"LOCKBOX_MASTER_KEY"</code> " and move the old one into " <code>"LOCKBOX_PREVIOUS_MASTER_KEYS"</code> "; restart the replicas one by one. The rewrap starts in the background."</li>
                <li>"Wait until this page says no rotation is needed and lists the old key as one that can be dropped."</li>
                <li>"Remove the old key from " <code>"LOCKBOX_PREVIOUS_MASTER_KEYS"</code> " everywhere, restart, and destroy it (this is what makes backups taken before unreadable)."</li>
            </ol>
        }
        .into_any(),
    };
    view! {
        <section class="card" aria-labelledby="steps-heading">
            <h2 id="steps-heading">"How to rotate"</h2>
            {steps}
            {drop_note}
        </section>
    }
}
