//! Lockbox: keep your secrets and hand chosen ones to your sessions and jobs.
//!
//! The crate builds twice: with `ssr` as the server binary, with `hydrate` as the browser bundle.
//! `model` and `api` are shared by both; `server` exists only on the server.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
/// The `lockbox` client commands (login, secrets, submit, sessions), over HTTP with a token.
#[cfg(feature = "ssr")]
pub mod client;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
