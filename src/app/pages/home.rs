use crate::api::accounts::whoami;
use leptos::prelude::*;
use leptos_meta::Title;

/// What Lockbox is, and the way in.
#[component]
pub fn HomePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Lockbox"</h1>
            <p class="lead">
                "Keep your database passwords, tokens and keys in one place, encrypted, and hand "
                "the ones you choose to your sessions and jobs — as environment variables or as "
                "read-only files — without a value ever showing up again after you save it."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(_)) => view! {
                            <p><a class="button" href="/settings/secrets">"Manage your secrets"</a></p>
                        }
                        .into_any(),
                        _ => view! {
                            <p>
                                <a class="button" href="/login">"Sign in"</a>
                                " or "
                                <a href="/signup">"create an account"</a>
                                "."
                            </p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="features" aria-label="How it works">
            <div class="card">
                <h2>"Encrypted at rest"</h2>
                <p>"Each value is sealed with XChaCha20-Poly1305 under your own data key, which is itself wrapped by the server's master key."</p>
            </div>
            <div class="card">
                <h2>"Write-only"</h2>
                <p>"After saving you see names, descriptions and dates — never the value. Rotate a value by replacing it."</p>
            </div>
            <div class="card">
                <h2>"Yours alone"</h2>
                <p>"No other user can list, read or use your secrets; admins manage accounts, not values."</p>
            </div>
        </section>
    }
}
