//! Projects and namespace secrets on the local backend, over HTTP and the command line, on
//! SQLite and PostgreSQL: who may launch where, what admins manage, what deleting a project
//! needs, and what `SECRET:` references resolve to.
#![cfg(feature = "ssr")]

#[path = "../common/mod.rs"]
mod common;

mod admin_pages;
mod membership;
mod namespace_secrets;
