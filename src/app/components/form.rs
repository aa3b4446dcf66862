//! Form pieces that tie each error to its field and collect them in a summary.

use crate::model::{FieldError, Flash};
use leptos::prelude::*;

/// The outcome of the last post of one form, taken from the flash.
#[derive(Clone, Default)]
pub struct FormState {
    pub error: Option<String>,
    pub fields: Vec<FieldError>,
    pub values: std::collections::BTreeMap<String, String>,
}

impl FormState {
    /// The flash's content if it belongs to `form`.
    pub fn of(flash: &Option<Flash>, form: &str) -> Self {
        match flash {
            Some(f) if f.form == form => Self {
                error: f.error.clone(),
                fields: f.fields.clone(),
                values: f.values.clone(),
            },
            _ => Self::default(),
        }
    }

    pub fn error_for(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }

    pub fn value(&self, field: &str) -> String {
        self.values.get(field).cloned().unwrap_or_default()
    }
}

/// Lists every problem with links to the fields, announced when the page loads.
/// `prefix` turns a field name into its element id.
#[component]
pub fn ErrorSummary(state: FormState, #[prop(into)] prefix: String) -> impl IntoView {
    state.error.clone().map(|error| {
        let items = if state.fields.is_empty() {
            vec![view! { <li>{error}</li> }.into_any()]
        } else {
            state
                .fields
                .iter()
                .map(|f| {
                    let href = format!("#{prefix}-{}", f.field);
                    view! { <li><a href=href>{f.message.clone()}</a></li> }.into_any()
                })
                .collect()
        };
        view! {
            <div class="error-summary" role="alert" aria-labelledby=format!("{prefix}-summary")>
                <h3 id=format!("{prefix}-summary")>"There is a problem"</h3>
                <ul>{items}</ul>
            </div>
        }
    })
}

/// A success message, announced politely.
#[component]
pub fn Notice(message: Option<String>) -> impl IntoView {
    message.map(|m| view! { <p class="notice" role="status">{m}</p> })
}

/// A labelled input (or textarea) with its hint and its error.
#[component]
pub fn Field(
    /// Element id prefix of the form.
    #[prop(into)]
    prefix: String,
    /// The form field name (and the argument name of the server function).
    name: &'static str,
    label: &'static str,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(default = None)] error: Option<String>,
    #[prop(optional, into)] value: String,
    /// `text`, `password`, `file` or `textarea`.
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<usize>,
    /// Focus on page load (the field the page is about).
    #[prop(optional)]
    autofocus: bool,
) -> impl IntoView {
    let id = format!("{prefix}-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let mut described = Vec::new();
    if hint.is_some() {
        described.push(hint_id.clone());
    }
    if error.is_some() {
        described.push(error_id.clone());
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let invalid = error.as_ref().map(|_| "true");
    let control = if kind == "textarea" {
        view! {
            <textarea id=id.clone() name=name rows="4" spellcheck="false" autocomplete="off"
                required=required aria-invalid=invalid aria-describedby=described.clone()
                autofocus=autofocus
            >{value}</textarea>
        }
        .into_any()
    } else {
        let value = (kind != "password" && kind != "file").then_some(value);
        view! {
            <input id=id.clone() name=name type=kind value=value autocomplete=autocomplete
                required=required maxlength=maxlength aria-invalid=invalid
                aria-describedby=described.clone() spellcheck="false" autofocus=autofocus/>
        }
        .into_any()
    };
    let has_error = error.is_some();
    view! {
        <div class="field" class:has-error=has_error>
            <label for=id>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            {error.map(|e| view! { <p class="field-error" id=error_id>{e}</p> })}
            {control}
        </div>
    }
}
