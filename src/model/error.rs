use serde::{Deserialize, Serialize};

/// A rule broken by one input field, shown next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Every error a server function can return. Messages are written for users: they never carry
/// internal detail (SQL, paths) and never a secret value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("Sign in first.")]
    Unauthorized,
    /// 401 with a reason: a personal access token that was refused (unknown, expired,
    /// revoked, its account disabled) or offered where only a browser session is accepted.
    #[error("{message}")]
    NotAuthenticated { message: String },
    #[error("Incorrect username or password.")]
    InvalidCredentials,
    #[error("{message}")]
    Forbidden { message: String },
    /// 403 for an account signed in with a one-time password it has not replaced yet: only
    /// changing it (and signing out) is allowed.
    #[error("Change your one-time password first, on your account page (/settings/account).")]
    PasswordChangeRequired,
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{message}")]
    BadRequest { message: String },
    #[error("Something went wrong on the server. It has been logged.")]
    Internal,
}

impl AppError {
    /// One invalid field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::fields(vec![FieldError::new(field, message)])
    }

    /// Several invalid fields at once, so a form can show every problem together.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} fields need attention.", fields.len()),
        };
        Self::Validation { message, fields }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 422,
            Self::BadRequest { .. } => 400,
            Self::Unauthorized | Self::InvalidCredentials | Self::NotAuthenticated { .. } => 401,
            Self::Forbidden { .. } | Self::PasswordChangeRequired => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::TooManyRequests { .. } => 429,
            Self::Internal => 500,
        }
    }

    /// The errors to show next to fields.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Validation { fields, .. } => fields.clone(),
            Self::Conflict { field, message } => vec![FieldError::new(field, message.clone())],
            _ => Vec::new(),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // The request was malformed (a missing or undecodable argument): the client's fault.
            // Decoder messages can quote the input, which may be a secret value: only a
            // missing-field message (which names a field, not a value) is passed on.
            E::Args(msg) | E::Deserialization(msg) | E::MissingArg(msg) => Self::BadRequest {
                message: match msg.find("missing field") {
                    Some(at) => format!("Bad request: {}", &msg[at..]),
                    None => "Bad request: the form fields could not be read.".into(),
                },
            },
            E::UnsupportedRequestMethod(msg) => Self::BadRequest { message: msg },
            // The browser side of a failed call: keep it short and generic.
            E::Request(_) | E::Response(_) => Self::BadRequest {
                message: "The server could not be reached. Try again.".into(),
            },
            _ => Self::Internal,
        }
    }
}
