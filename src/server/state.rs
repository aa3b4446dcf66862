//! What every request handler shares.

use crate::{
    model::Limits,
    server::{auth::throttle::Throttle, config::Config, db::Db, keys::Keyring},
};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub config: Arc<Config>,
    pub throttle: Arc<Throttle>,
    pub leptos_options: LeptosOptions,
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
