//! Everything that runs only on the server.

pub mod accounts;
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
pub mod error;
pub mod keys;
pub mod kube;
pub mod namespace_secrets;
pub mod namespace_secrets_cli;
pub mod projects;
pub mod projects_cli;
pub mod propagation;
pub mod secrets;
pub mod sessions;
pub mod state;
pub mod telemetry;
pub mod web;
