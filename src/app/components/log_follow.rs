//! A session's recent output, followed live with JavaScript: a "Follow output" button (shown
//! only once the page is hydrated, so without JavaScript the page is exactly the static view)
//! asks the log cursor (`/api/sessions/logs`) every second for what follows and appends it,
//! until "Pause following". The output is a polite live region, so screen readers read new
//! lines without interrupting.

use leptos::prelude::*;
use std::time::Duration;

/// How often the output is asked for while following.
const POLL: Duration = Duration::from_secs(1);
/// The most output kept on the page (the oldest goes first).
const KEEP_BYTES: usize = 64 * 1024;

/// Appends `more` to `text`, keeping at most [`KEEP_BYTES`] (cut at a character boundary).
pub fn append(text: &mut String, more: &str) {
    text.push_str(more);
    if text.len() > KEEP_BYTES {
        let mut cut = text.len() - KEEP_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
}

#[component]
pub fn SessionOutput(id: String, env: String, text: String) -> impl IntoView {
    let text = RwSignal::new(text);
    let hydrated = RwSignal::new(false);
    let following = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    // The offset to ask after; `None` until the first answer (which replaces the text shown).
    let cursor = StoredValue::new(None::<u64>);
    let busy = StoredValue::new(false);
    let interval = StoredValue::new(None::<IntervalHandle>);
    let pre_id = format!("output-{id}");
    // Effects run only in the browser, once the page is hydrated.
    Effect::new(move |_| {
        hydrated.set(true);
        let id = id.clone();
        let tick = move || {
            if !following.get_untracked() || busy.get_value() {
                return;
            }
            busy.set_value(true);
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let after = cursor.get_value();
                match crate::api::sessions::session_logs(id, after).await {
                    Ok(chunk) => {
                        let _ = text.try_update(|t| match after {
                            None => *t = chunk.text,
                            Some(_) => append(t, &chunk.text),
                        });
                        cursor.set_value(Some(chunk.next));
                        let _ = problem.try_set(None);
                    }
                    Err(_) => {
                        let _ = problem.try_set(Some(
                            "The output could not be read just now; trying again.".into(),
                        ));
                    }
                }
                busy.set_value(false);
            });
        };
        if let Ok(handle) = set_interval_with_handle(tick, POLL) {
            interval.set_value(Some(handle));
        }
    });
    on_cleanup(move || {
        if let Some(handle) = interval.try_get_value().flatten() {
            handle.clear();
        }
    });
    let controls = pre_id.clone();
    let shown = move || {
        let t = text.get();
        if t.is_empty() {
            "(no output yet)".to_string()
        } else {
            t
        }
    };
    let toggle = move |_| following.update(|f| *f = !*f);
    view! {
        <section class="output" aria-label=format!("Recent output of {env}")>
            <h3>"Recent output"</h3>
            {move || hydrated.get().then(|| view! {
                <p class="buttons">
                    <button type="button" aria-controls=controls.clone() on:click=toggle>
                        {move || if following.get() { "Pause following" } else { "Follow output" }}
                    </button>
                </p>
                <p class="visually-hidden" role="status">
                    {move || if following.get() { "Following the output." } else { "" }}
                </p>
            })}
            {move || problem.get().map(|p| view! { <p class="field-error">{p}</p> })}
            <pre id=pre_id tabindex="0" aria-live="polite">{shown}</pre>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_output_keeps_only_the_newest_bytes_whole_characters() {
        let mut t = "a".repeat(KEEP_BYTES - 1);
        append(&mut t, "é!");
        assert_eq!(t.len(), KEEP_BYTES);
        assert!(t.ends_with("é!"));
        let mut t = String::new();
        append(&mut t, "one\n");
        append(&mut t, "two\n");
        assert_eq!(t, "one\ntwo\n");
        // A cut that would split a character moves past it.
        let mut t = "é".repeat(KEEP_BYTES / 2);
        append(&mut t, "x");
        assert!(t.len() <= KEEP_BYTES && t.ends_with('x'));
    }
}
