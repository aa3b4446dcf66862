//! Automation: personal access tokens over the HTTP API, the log cursor, and the command-line
//! client, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

#[path = "../common/mod.rs"]
mod common;

mod client;
