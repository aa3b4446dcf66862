use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use serde::{de::DeserializeOwned, Serialize};

/// A signed-in page: waits for its data, then shows it with `loaded`; sends a signed-out
/// visitor to /login and shows any other error in place.
pub fn signed_in<T, V>(
    page: Resource<Result<T, AppError>>,
    loaded: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let loaded = loaded.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(data) => loaded(data).into_any(),
                        Err(AppError::Unauthorized) => view! { <Redirect path="/login"/> }.into_any(),
                        // A one-time password must be replaced before anything else.
                        Err(AppError::PasswordChangeRequired) => {
                            view! { <Redirect path=crate::api::users::ACCOUNT_PAGE/> }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
