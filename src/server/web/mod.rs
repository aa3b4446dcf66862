//! HTTP edges: client addresses, cross-origin protection, API error statuses, security headers,
//! the flash cookie, multipart forms, NUL bytes in forms, request bodies that stall or stay
//! unread, static files.

pub mod api_errors;
pub mod assets;
pub mod audit_export;
pub mod bearer;
pub mod body_timeout;
pub mod client_addr;
pub mod cross_origin;
pub mod flash;
pub mod headers;
pub mod multipart;
pub mod nul_guard;
pub mod page_cache;
pub mod request_id;
pub mod request_metrics;
pub mod serve;
pub mod shown_once;
pub mod token_page;
pub mod unread_body;
pub mod user_created_page;
