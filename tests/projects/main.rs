//! Projects and namespace secrets, over HTTP and the command line, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

#[path = "../common/mod.rs"]
mod common;
mod namespace_secrets;
