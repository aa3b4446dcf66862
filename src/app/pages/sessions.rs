//! `/sessions`: the user's sessions with status, what each received (names and modes), start
//! time, Open, recent output (`?output=ID`) and Stop. Links and plain forms only, so it works
//! the same with or without JavaScript.

use crate::app::components::signed_in::signed_in;
use crate::{
    api::pages::{sessions_page, SessionsPageData as Page},
    app::components::{form::Notice, log_follow::SessionOutput, time::Timestamp},
    model::{
        session::{InjectMode, SessionInfo, SessionStatus},
        Flash,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let output = use_query_map().with_untracked(|q| q.get("output"));
    let page = Resource::new(move || output.clone(), sessions_page);
    view! {
        <Title text="Sessions"/>
        {signed_in(page, |page| view! { <Loaded page/> })}
    }
}

#[component]
fn Loaded(page: Page) -> impl IntoView {
    let flash = page.flash;
    let notice = flash.as_ref().and_then(|f| f.notice.clone());
    let error = flash.as_ref().and_then(|f| f.error.clone());
    let output = page.output;
    let list = if page.sessions.is_empty() {
        view! { <p class="empty card">"You have no sessions yet."</p> }.into_any()
    } else {
        page.sessions
            .into_iter()
            .map(|s| {
                let shown = output
                    .as_ref()
                    .filter(|(id, _)| *id == s.id)
                    .map(|(_, text)| text.clone());
                view! { <SessionCard session=s output=shown flash=flash.clone()/> }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="page-head">
            <h1>"Sessions"</h1>
            <p class="lead">"Your sessions, newest first, with the secret names each received."</p>
            <p class="buttons">
                <a class="button" href="/sessions/new">"Start a session"</a>
                <a href="/sessions" rel="external">"Refresh"</a>
            </p>
        </div>
        {page.uncontained.then(|| view! {
            <p class="field-error" role="alert" id="uncontained">
                "Sessions on this server run uncontained (LOCKBOX_LOCAL_SANDBOX=off): they can read \
                 the server's files and every other session. For one-user development only."
            </p>
        })}
        <Notice message=notice/>
        {error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        <div class="sessions">{list}</div>
    }
}

fn status_label(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Starting => "Starting",
        SessionStatus::Running => "Running",
        SessionStatus::Failed => "Failed",
        SessionStatus::Stopped => "Stopped",
    }
}

#[component]
fn SessionCard(
    session: SessionInfo,
    output: Option<String>,
    flash: Option<Flash>,
) -> impl IntoView {
    let id = session.id.clone();
    let heading_id = format!("session-{id}");
    let status = session.status;
    let stoppable = status.is_live() || status == SessionStatus::Failed;
    let open = session
        .url
        .clone()
        .filter(|_| status == SessionStatus::Running);
    let env = session.environment.clone();
    let mount = session.mount_dir.clone();
    let local = session.backend == "local";
    // Names that tell apart several sessions of one environment, for screen readers.
    let started = chrono::DateTime::from_timestamp_millis(session.started_at)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let which = format!("{} session started {started}", session.environment);
    let injected = if session.injected.is_empty() {
        view! { <p class="muted">"No secrets."</p> }.into_any()
    } else {
        let items = session
            .injected
            .iter()
            .map(|i| {
                let how = match (i.mode, local) {
                    (InjectMode::Env, _) => format!("environment variable {}", i.target),
                    (InjectMode::File, true) => format!("file $SECRETS_DIR/{}", i.target),
                    (InjectMode::File, false) => format!("file {mount}/{}", i.target),
                };
                view! { <li><code>{i.secret.clone()}</code>" as "{how}</li> }
            })
            .collect_view();
        view! { <ul class="injected">{items}</ul> }.into_any()
    };
    let failed_stop = flash
        .as_ref()
        .filter(|f| f.form == format!("stop:{id}"))
        .and_then(|f| f.error.clone());
    let output_view = output.map(|text| {
        view! { <SessionOutput id=id.clone() env=env.clone() text/> }
    });
    view! {
        <article class="card session" data-session=id.clone() data-status=status.as_str()
            aria-labelledby=heading_id.clone()>
            <h2 id=heading_id.clone()>
                {session.environment.clone()}
                " "
                <span class=format!("status status-{}", status.as_str())>{status_label(status)}</span>
            </h2>
            <dl class="facts">
                <dt>"Project"</dt>
                <dd class="project">{session.project.clone()}</dd>
                <dt>"Started"</dt>
                <dd><Timestamp ms=Some(session.started_at)/></dd>
                {session.stopped_at.map(|t| view! { <dt>"Ended"</dt><dd><Timestamp ms=Some(t)/></dd> })}
                {session.status_detail.clone().map(|d| view! { <dt>"Detail"</dt><dd>{d}</dd> })}
                <dt>"Secrets"</dt>
                <dd>{injected}</dd>
            </dl>
            {failed_stop.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <div class="buttons">
                {open.map(|url| view! {
                    <a class="button" href=url target="_blank" rel="noopener noreferrer">"Open"</a>
                })}
                <a href=format!("/sessions?output={id}") rel="external"
                    aria-label=format!("Show output of {which}")>
                    "Show output"
                </a>
                {stoppable.then(|| view! {
                    <form method="post" action="/api/sessions/stop">
                        <input type="hidden" name="id" value=id.clone()/>
                        <button type="submit" class="danger"
                            aria-label=format!("Stop {which}")>"Stop"</button>
                    </form>
                })}
            </div>
            {output_view}
        </article>
    }
}
