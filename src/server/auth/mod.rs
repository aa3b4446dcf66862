//! Authentication: password hashing, sign-in throttling and the login session.

pub mod password;
pub mod session;
pub mod throttle;
