pub mod confirm_dialog;
pub mod form;
pub mod header;
pub mod log_follow;
pub mod signed_in;
pub mod time;
