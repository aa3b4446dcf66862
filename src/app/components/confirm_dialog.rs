//! Confirmation before a destructive action. Each trigger is a link to a confirmation page (a
//! GET page holding the POST form), which is all a browser without JavaScript needs. With
//! JavaScript the link opens a modal dialog holding the same POST form instead: focus starts on
//! Cancel and stays inside (Tab and Shift+Tab wrap between its two buttons; the modal dialog
//! makes the rest of the page inert), Escape or Cancel closes it, and focus goes back to the
//! link.

use leptos::{html, prelude::*};

/// What the dialog asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The server function the form posts to.
    pub endpoint: String,
    pub title: String,
    pub consequence: String,
    /// The confirm button's text.
    pub confirm: String,
    /// The form's hidden fields.
    pub fields: Vec<(String, String)>,
    /// The id of the link that asked, to give focus back to.
    pub trigger: String,
}

/// The page's one dialog and what it currently asks.
#[derive(Clone, Copy)]
pub struct Confirmer {
    question: RwSignal<Option<Question>>,
    dialog: NodeRef<html::Dialog>,
    cancel: NodeRef<html::Button>,
}

impl Confirmer {
    pub fn new() -> Self {
        Self {
            question: RwSignal::new(None),
            dialog: NodeRef::new(),
            cancel: NodeRef::new(),
        }
    }

    /// Opens the dialog with `question` (called from a trigger link's click).
    fn open(&self, question: Question) {
        self.question.set(Some(question));
        #[cfg(feature = "hydrate")]
        if let Some(dialog) = self.dialog.get() {
            if !dialog.open() {
                let _ = dialog.show_modal();
            }
            if let Some(cancel) = self.cancel.get() {
                let _ = cancel.focus();
            }
        }
    }

    fn close(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(dialog) = self.dialog.get() {
            dialog.close();
        }
    }

    /// Gives focus back to the link that opened the dialog.
    fn restore_focus(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(id) = self.question.get_untracked().map(|q| q.trigger) {
            use leptos::wasm_bindgen::JsCast;
            if let Some(el) = document()
                .get_element_by_id(&id)
                .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        }
    }
}

impl Default for Confirmer {
    fn default() -> Self {
        Self::new()
    }
}

/// A link to the confirmation page `href` that, with JavaScript, opens the dialog instead.
#[component]
pub fn ConfirmLink(
    confirmer: Confirmer,
    href: String,
    question: Question,
    #[prop(into)] label: String,
    #[prop(into)] aria_label: String,
) -> impl IntoView {
    let id = question.trigger.clone();
    let on_click = move |ev: leptos::ev::MouseEvent| {
        // A modified click (new tab, say) follows the link as usual.
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        confirmer.open(question.clone());
    };
    view! {
        <a id=id href=href class="button danger" rel="external" aria-label=aria_label
            aria-haspopup="dialog" on:click=on_click>{label}</a>
    }
}

/// The dialog itself: rendered once per page, closed until a [`ConfirmLink`] opens it.
#[component]
pub fn ConfirmDialog(confirmer: Confirmer) -> impl IntoView {
    let question = confirmer.question;
    let confirm_button = NodeRef::<html::Button>::new();
    let cancel_button = confirmer.cancel;
    // Escape closes (the browser's own cancel does too; this also covers a second Escape).
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            confirmer.close();
        }
    };
    // Tab from the last button goes to the first, Shift+Tab from the first to the last.
    let wrap_forward = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Tab" && !ev.shift_key() {
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            if let Some(b) = confirm_button.get() {
                let _ = b.focus();
            }
        }
    };
    let wrap_back = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Tab" && ev.shift_key() {
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            if let Some(b) = cancel_button.get() {
                let _ = b.focus();
            }
        }
    };
    let text = move |f: fn(&Question) -> String| question.with(|q| q.as_ref().map(f));
    let fields = move || {
        question.with(|q| {
            q.as_ref().map(|q| {
                q.fields
                    .iter()
                    .map(|(k, v)| view! { <input type="hidden" name=k.clone() value=v.clone()/> })
                    .collect_view()
            })
        })
    };
    view! {
        <dialog node_ref=confirmer.dialog class="confirm card" aria-labelledby="confirm-title"
            aria-describedby="confirm-body" on:keydown=on_keydown
            on:close=move |_| confirmer.restore_focus()>
            <h2 id="confirm-title">{move || text(|q| q.title.clone())}</h2>
            <p id="confirm-body">{move || text(|q| q.consequence.clone())}</p>
            <form method="post" action=move || text(|q| q.endpoint.clone())>
                {fields}
                <div class="buttons">
                    <button type="submit" class="danger" node_ref=confirm_button
                        on:keydown=wrap_back>{move || text(|q| q.confirm.clone())}</button>
                    <button type="button" class="secondary" node_ref=cancel_button
                        on:keydown=wrap_forward on:click=move |_| confirmer.close()>"Cancel"</button>
                </div>
            </form>
        </dialog>
    }
}
