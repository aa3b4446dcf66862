use crate::{
    api::{accounts::HOME_AFTER_SIGN_IN, pages::auth_page},
    app::components::form::{ErrorSummary, Field, FormState},
    model::Username,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn SignupPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| auth_page());
    view! {
        <Title text="Create account"/>
        <section class="card narrow">
            <h1>"Create account"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let page = match page.await {
                        Ok(page) => page,
                        Err(e) => return view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    };
                    if page.user.is_some() {
                        return view! { <Redirect path=HOME_AFTER_SIGN_IN/> }.into_any();
                    }
                    if !page.signup_open {
                        return view! {
                            <p>"Sign-up is closed on this server. Ask an admin to create your account, then "
                               <a href="/login">"sign in"</a>"."</p>
                        }
                        .into_any();
                    }
                    let state = FormState::of(&page.flash, "signup");
                    view! {
                        <form method="post" action="/api/signup" novalidate>
                            <ErrorSummary state=state.clone() prefix="signup"/>
                            <Field prefix="signup" name="username" label="Username"
                                hint="3 to 32 characters: letters, digits, '.', '_' and '-'." autocomplete="username" required=true
                                maxlength=Username::MAX value=state.value("username")
                                error=state.error_for("username")/>
                            <Field prefix="signup" name="password" label="Password" kind="password"
                                hint="At least 12 characters. A passphrase of a few words works well."
                                autocomplete="new-password" required=true
                                error=state.error_for("password")/>
                            <button type="submit">"Create account"</button>
                        </form>
                        <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a>"."</p>
                    }
                    .into_any()
                })}
            </Suspense>
        </section>
    }
}
