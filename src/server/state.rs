//! What every request handler shares.

use crate::{
    model::Limits,
    server::{
        auth::throttle::Throttle, config::Config, db::Db, keys::LiveKeyring,
        sessions::backend::SessionBackend, web::page_cache::PageCache,
    },
};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The master keys; an online rotation switches them (take a snapshot per operation).
    pub keyring: LiveKeyring,
    pub config: Arc<Config>,
    pub throttle: Arc<Throttle>,
    pub leptos_options: LeptosOptions,
    /// Rendered secrets pages (see `web::page_cache`).
    pub page_cache: Arc<PageCache>,
    /// Where sessions run: local processes, or Kubernetes.
    pub backend: Arc<dyn SessionBackend>,
    /// The signed cookie that carries a plain form post's outcome to the next page.
    pub flash: crate::server::web::flash::FlashCookie,
    /// The propagation controller of cluster-wide secrets, once `serve` has started it.
    pub propagation: crate::server::propagation::Running,
}

impl AppState {
    pub fn limits(&self) -> Limits {
        self.config.limits
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
