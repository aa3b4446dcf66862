//! Automation: personal access tokens over the HTTP API (scopes, expiry, revocation, no cookie
//! or login session from a token, the token at rest only as a hash, cross-site rules kept), the
//! log cursor, and the command-line client, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

#[path = "../common/mod.rs"]
mod common;

mod client;
mod tokens;
