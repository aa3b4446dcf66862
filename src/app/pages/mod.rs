pub mod admin;
pub mod home;
pub mod launch;
pub mod login;
pub mod not_found;
pub mod secrets;
pub mod sessions;
pub mod signup;
