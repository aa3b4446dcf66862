use crate::api::accounts::whoami;
use leptos::prelude::*;

/// The site header: the name, the user's name and sign-out when signed in.
#[component]
pub fn Header() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <header class="site-header">
            <a class="brand" href="/">"Lockbox"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) => view! {
                            <nav aria-label="Main">
                                // Until a one-time password is replaced, only the account page.
                                {(!user.must_change_password).then(|| view! {
                                    <a href="/settings/secrets">"Secrets"</a>
                                    <a href="/sessions">"Sessions"</a>
                                    <a href="/settings/tokens">"Tokens"</a>
                                })}
                                <a href="/settings/account">"Account"</a>
                                {(user.is_admin && !user.must_change_password)
                                    .then(|| view! { <a href="/admin">"Admin"</a> })}
                            </nav>
                            <div class="account">
                                <span class="whoami">"Signed in as " <strong>{user.username}</strong></span>
                                <form method="post" action="/api/logout">
                                    <button type="submit" class="secondary">"Sign out"</button>
                                </form>
                            </div>
                        }
                        .into_any(),
                        _ => view! {
                            <nav aria-label="Main">
                                <a href="/login">"Sign in"</a>
                            </nav>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}
