use leptos::prelude::*;

/// A stored time (Unix milliseconds) as a readable UTC date, in a `<time>` element.
#[component]
pub fn Timestamp(ms: Option<i64>) -> impl IntoView {
    match ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => view! {
            <time datetime=t.to_rfc3339()>{t.format("%Y-%m-%d %H:%M UTC").to_string()}</time>
        }
        .into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    }
}
