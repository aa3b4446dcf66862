//! Turning internal failures into user-safe errors: the cause is logged, the user sees a generic
//! message.

use crate::model::AppError;

impl From<sqlx::Error> for AppError {
    /// `at` is where the `?` stood: the operation that failed, beside the request's and the
    /// service's spans.
    #[track_caller]
    fn from(e: sqlx::Error) -> Self {
        let at = std::panic::Location::caller();
        // PostgreSQL refuses a text holding NUL (character_not_in_repertoire): the caller's
        // input, not a fault. `web::nul_guard` refuses most such requests before they get here.
        if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("22021") {
            tracing::warn!(%at, "refused a text holding a NUL byte");
            return AppError::BadRequest {
                message: "Bad request: a field holds a NUL byte, which no field accepts.".into(),
            };
        }
        // sqlx errors carry SQL and constraint names but never bound values.
        tracing::error!(error = %e, %at, "database error");
        AppError::Internal
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "login session store error");
        AppError::Internal
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        tracing::error!(error = %e, "blocking task failed");
        AppError::Internal
    }
}

/// Logs an internal failure that has no `From` conversion and hides it from the user.
pub fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "{what}");
    AppError::Internal
}
