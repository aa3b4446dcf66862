//! Projects on the local backend, over HTTP and the command line, on SQLite and PostgreSQL:
//! who may launch where, what admins manage, and what deleting a project needs.
#![cfg(feature = "ssr")]

#[path = "../common/mod.rs"]
mod common;

mod membership;
