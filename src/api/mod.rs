//! The server functions: the HTTP API at stable paths, used by the browser and by every other
//! client. Each is thin: authenticate, authorise, call a service, map errors.

pub mod accounts;
pub mod admin_environments;
pub mod admin_keys;
pub mod admin_pages;
pub mod admin_project_pages;
pub mod admin_sessions;
pub mod admin_tokens;
pub mod audit;
pub mod cluster_secrets;
#[cfg(feature = "ssr")]
pub mod ctx;
pub mod namespace_secrets;
pub mod pages;
pub mod projects;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod users;
