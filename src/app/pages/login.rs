use crate::{
    api::{accounts::HOME_AFTER_SIGN_IN, pages::auth_page},
    app::components::form::{ErrorSummary, Field, FormState},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn LoginPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| auth_page());
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let page = match page.await {
                        Ok(page) => page,
                        Err(e) => return view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    };
                    if page.user.is_some() {
                        return view! { <Redirect path=HOME_AFTER_SIGN_IN/> }.into_any();
                    }
                    let state = FormState::of(&page.flash, "login");
                    view! {
                        <form method="post" action="/api/login" novalidate>
                            <ErrorSummary state=state.clone() prefix="login"/>
                            <Field prefix="login" name="username" label="Username"
                                autocomplete="username" required=true value=state.value("username")/>
                            <Field prefix="login" name="password" label="Password" kind="password"
                                autocomplete="current-password" required=true/>
                            <button type="submit">"Sign in"</button>
                        </form>
                        {page.signup_open.then(|| view! {
                            <p class="aside">"New here? " <a href="/signup">"Create an account"</a>"."</p>
                        })}
                    }
                    .into_any()
                })}
            </Suspense>
        </section>
    }
}
