//! Sessions: launching with chosen secrets, listing, stopping, logs.

pub mod backend;
pub mod spec;
