//! `/settings/account`: every signed-in user changes their password here (the current one, the
//! new one twice); the account's other sign-ins end. An account created with a one-time
//! password is sent here first and can do nothing else until it has chosen its own.

use crate::{
    api::pages::{account_page, AccountPageData},
    app::components::{
        form::{ErrorSummary, Field, FormState, Notice},
        signed_in::signed_in,
    },
    model::Password,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| account_page());
    view! {
        <Title text="Your account"/>
        {signed_in(page, |page| view! { <Loaded page/> })}
    }
}

#[component]
fn Loaded(page: AccountPageData) -> impl IntoView {
    let state = FormState::of(&page.flash, "account/password");
    let notice = page
        .flash
        .as_ref()
        .filter(|f| f.form == "account/password" || f.form == "login")
        .and_then(|f| f.notice.clone());
    let must_change = page.user.must_change_password;
    let hint = format!(
        "At least {} characters. A long passphrase is easiest to remember.",
        Password::MIN
    );
    view! {
        <div class="page-head">
            <h1>"Your account"</h1>
            <p class="lead">"Signed in as " <strong>{page.user.username.clone()}</strong>"."</p>
        </div>
        <Notice message=notice/>
        {must_change.then(|| view! {
            <p class="notice" role="alert" id="must-change">
                "You signed in with a one-time password. Choose your own password to continue: "
                "until you do, nothing else in Lockbox is available."
            </p>
        })}
        <section class="card narrow" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change your password"</h2>
            <p class="hint">"Changing it signs you out everywhere else; you stay signed in here."</p>
            <form method="post" action="/api/account/password" novalidate>
                <ErrorSummary state=state.clone() prefix="password"/>
                <Field prefix="password" name="current_password" label="Current password"
                    kind="password" autocomplete="current-password" required=true
                    autofocus=must_change error=state.error_for("current_password")/>
                <Field prefix="password" name="new_password" label="New password" kind="password"
                    autocomplete="new-password" required=true hint=hint
                    error=state.error_for("new_password")/>
                <Field prefix="password" name="new_password_confirm" label="New password again"
                    kind="password" autocomplete="new-password" required=true
                    error=state.error_for("new_password_confirm")/>
                <button type="submit">"Change password"</button>
            </form>
        </section>
    }
}
