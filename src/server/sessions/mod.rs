//! Sessions: launching with chosen secrets, listing, stopping, logs.

pub mod admin;
pub mod backend;
pub mod follow;
pub mod local;
pub mod logbuf;
pub mod service;
pub mod spec;
