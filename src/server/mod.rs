//! Everything that runs only on the server.

pub mod account_deletion;
pub mod accounts;
pub mod admin_tokens;
pub mod app;
pub mod audit_cli;
pub mod audit_log;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod data_dir;
pub mod db;
pub mod environments;
pub mod environments_cli;
pub mod environments_service;
pub mod error;
pub mod instance_lease;
/// The fuzzing invariants of server-only parsers (see `model::invariants`).
#[cfg(any(test, feature = "fuzzing"))]
pub mod invariants;
pub mod keys;
pub mod keys_cli;
pub mod kube;
pub mod metrics;
pub mod namespace_secrets;
pub mod namespace_secrets_cli;
pub mod projects;
pub mod projects_cli;
pub mod propagation;
pub mod rotation;
pub mod secrets;
pub mod sessions;
pub mod state;
pub mod telemetry;
pub mod tokens;
pub mod users_admin;
pub mod web;
