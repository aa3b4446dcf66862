use serde::{Deserialize, Serialize};
use std::fmt;

/// The stable code of a broken field rule, sent beside the field and the message so that
/// clients and tests match codes, not wording. Codes name the kind of rule; the field names
/// where. README ("Error codes") documents each; never rename one (add a new one instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// Empty where a value is needed.
    Required,
    /// Over a length, size or count limit.
    TooLong,
    /// Under a minimum length.
    TooShort,
    /// A character the rule does not allow.
    InvalidCharacter,
    /// A first character the rule does not allow.
    InvalidFirstCharacter,
    /// Starts with `LOCKBOX_`, kept for Lockbox's own variables.
    ReservedPrefix,
    /// A name kept for something else (`.`/`..` keys, `default`, Lockbox's own variables and
    /// session Secrets, system namespaces).
    ReservedName,
    /// Holds a NUL byte, which cannot travel in an environment variable.
    NulByte,
    /// Holds a control character (or a line break where one line is expected).
    ControlCharacter,
    /// Not UTF-8 text.
    NotUtf8,
    /// Given twice in one request.
    Duplicate,
    /// Not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`).
    NotADns1123Label,
    /// Not a DNS-1123 subdomain (dot-separated DNS-1123 labels).
    NotADns1123Subdomain,
    /// Not a DNS-1035 label (a DNS-1123 label starting with a letter).
    NotADns1035Label,
    /// Not a Kubernetes label key.
    NotALabelKey,
    /// Not a Kubernetes label value.
    NotALabelValue,
    /// Not an absolute path.
    NotAbsolute,
    /// A path with a `..` component.
    ParentDirectory,
    /// The root directory itself.
    RootDirectory,
    /// Inside a system directory (`/etc`, `/usr`, `/var/run`, ...).
    SystemDirectory,
    /// An extra environment line that is not `NAME=value` or `NAME=SECRET:<secret>,<key>`.
    MalformedLine,
    /// A `SECRET:` reference without `,<key>`.
    MalformedReference,
    /// Not a port number from 1 to 65535.
    NotAPort,
    /// Not a Kubernetes quantity (`500m`, `256Mi`).
    NotAQuantity,
    /// Not a whole number in the allowed range.
    OutOfRange,
    /// Not one of the offered choices.
    InvalidChoice,
    /// A paging cursor that was not handed out by the server.
    InvalidCursor,
    /// An audit search that cannot be read.
    InvalidQuery,
    /// Names something that does not exist (or that the caller may not see).
    Unknown,
    /// Not possible where the request would run (an environment without a local command on a
    /// local server).
    Unsupported,
    /// Over a limit of the account or the server (secrets per user, bytes per session).
    LimitExceeded,
    /// Two fields that must agree do not (a new password and its confirmation).
    Mismatch,
    /// The same as what it replaces (a new password equal to the current one).
    Unchanged,
    /// A password that is not the account's.
    IncorrectPassword,
    /// A reference to a Kubernetes Secret (or key) that cannot be used.
    ReferenceRefused,
    /// Taken by something stored, or changed meanwhile: the field of a 409 answer.
    Conflict,
}

impl Code {
    /// Every code, in README order.
    pub const ALL: [Code; 36] = [
        Code::Required,
        Code::TooLong,
        Code::TooShort,
        Code::InvalidCharacter,
        Code::InvalidFirstCharacter,
        Code::ReservedPrefix,
        Code::ReservedName,
        Code::NulByte,
        Code::ControlCharacter,
        Code::NotUtf8,
        Code::Duplicate,
        Code::NotADns1123Label,
        Code::NotADns1123Subdomain,
        Code::NotADns1035Label,
        Code::NotALabelKey,
        Code::NotALabelValue,
        Code::NotAbsolute,
        Code::ParentDirectory,
        Code::RootDirectory,
        Code::SystemDirectory,
        Code::MalformedLine,
        Code::MalformedReference,
        Code::NotAPort,
        Code::NotAQuantity,
        Code::OutOfRange,
        Code::InvalidChoice,
        Code::InvalidCursor,
        Code::InvalidQuery,
        Code::Unknown,
        Code::Unsupported,
        Code::LimitExceeded,
        Code::Mismatch,
        Code::Unchanged,
        Code::IncorrectPassword,
        Code::ReferenceRefused,
        Code::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Required => "required",
            Code::TooLong => "too_long",
            Code::TooShort => "too_short",
            Code::InvalidCharacter => "invalid_character",
            Code::InvalidFirstCharacter => "invalid_first_character",
            Code::ReservedPrefix => "reserved_prefix",
            Code::ReservedName => "reserved_name",
            Code::NulByte => "nul_byte",
            Code::ControlCharacter => "control_character",
            Code::NotUtf8 => "not_utf8",
            Code::Duplicate => "duplicate",
            Code::NotADns1123Label => "not_a_dns1123_label",
            Code::NotADns1123Subdomain => "not_a_dns1123_subdomain",
            Code::NotADns1035Label => "not_a_dns1035_label",
            Code::NotALabelKey => "not_a_label_key",
            Code::NotALabelValue => "not_a_label_value",
            Code::NotAbsolute => "not_absolute",
            Code::ParentDirectory => "parent_directory",
            Code::RootDirectory => "root_directory",
            Code::SystemDirectory => "system_directory",
            Code::MalformedLine => "malformed_line",
            Code::MalformedReference => "malformed_reference",
            Code::NotAPort => "not_a_port",
            Code::NotAQuantity => "not_a_quantity",
            Code::OutOfRange => "out_of_range",
            Code::InvalidChoice => "invalid_choice",
            Code::InvalidCursor => "invalid_cursor",
            Code::InvalidQuery => "invalid_query",
            Code::Unknown => "unknown",
            Code::Unsupported => "unsupported",
            Code::LimitExceeded => "limit_exceeded",
            Code::Mismatch => "mismatch",
            Code::Unchanged => "unchanged",
            Code::IncorrectPassword => "incorrect_password",
            Code::ReferenceRefused => "reference_refused",
            Code::Conflict => "conflict",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field error's code (a string on the wire, so that a client keeps working when a newer
/// server sends a code it does not know) compares with a [`Code`].
impl PartialEq<Code> for String {
    fn eq(&self, other: &Code) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.as_str()
    }
}

/// A broken rule: its stable code and a message for people (which never quotes a secret
/// value). Each rule function returns its own, so a rule's code and wording have one owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub code: Code,
    pub message: String,
}

impl RuleError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The same rule with its message rewritten (prefixed with what was checked, say).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        Self {
            code: self.code,
            message: f(self.message),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// A rule broken by one input field, shown next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    /// A [`Code`]; absent (empty) from servers older than the codes.
    #[serde(default)]
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, rule: RuleError) -> Self {
        Self {
            field: field.to_string(),
            code: rule.code.as_str().to_string(),
            message: rule.message,
        }
    }
}

/// Every error a server function can return. Messages are written for users: they never carry
/// internal detail (SQL, paths) and never a secret value.
///
/// On the wire (JSON) it is an object tagged by `error` (the variant, snake_case) with its
/// fields, and a stable top-level `code` (see [`AppError::code`]).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, thiserror::Error)]
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
    /// A fault on the server (500, code `internal`, its cause logged) after which the user needs
    /// to know where things stand: that a failed key rotation was undone, say. The message never
    /// carries the cause itself.
    #[error("{message}")]
    Failed { message: String },
}

impl AppError {
    /// One invalid field.
    pub fn field(field: &str, rule: RuleError) -> Self {
        Self::fields(vec![FieldError::new(field, rule)])
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
            Self::Internal | Self::Failed { .. } => 500,
        }
    }

    /// The variant's tag on the wire (`error`), as serde names it.
    fn tag(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::Unauthorized => "unauthorized",
            Self::NotAuthenticated { .. } => "not_authenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden { .. } => "forbidden",
            Self::PasswordChangeRequired => "password_change_required",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::BadRequest { .. } => "bad_request",
            Self::Internal => "internal",
            Self::Failed { .. } => "failed",
        }
    }

    /// The stable top-level code (README, "Error codes"). The field errors carry their own.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation_failed",
            Self::Failed { .. } => "internal",
            other => other.tag(),
        }
    }

    /// Every top-level code, in README order.
    pub const CODES: [&'static str; 11] = [
        "validation_failed",
        "bad_request",
        "unauthorized",
        "not_authenticated",
        "invalid_credentials",
        "forbidden",
        "password_change_required",
        "not_found",
        "conflict",
        "too_many_requests",
        "internal",
    ];

    /// The errors to show next to fields.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Validation { fields, .. } => fields.clone(),
            Self::Conflict { field, message } => {
                vec![FieldError::new(
                    field,
                    RuleError::new(Code::Conflict, message.clone()),
                )]
            }
            _ => Vec::new(),
        }
    }
}

/// Written by hand (the derive cannot add a computed field): the tagged form serde derives,
/// plus `code`. Deserialising ignores `code` (and the `message` the API layer adds), so the
/// JSON stays what older clients read.
impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("error", self.tag())?;
        match self {
            Self::Validation { message, fields } => {
                m.serialize_entry("message", message)?;
                m.serialize_entry("fields", fields)?;
            }
            Self::NotAuthenticated { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::BadRequest { message }
            | Self::Failed { message } => m.serialize_entry("message", message)?,
            Self::Conflict { field, message } => {
                m.serialize_entry("field", field)?;
                m.serialize_entry("message", message)?;
            }
            Self::TooManyRequests {
                message,
                retry_after_secs,
            } => {
                m.serialize_entry("message", message)?;
                m.serialize_entry("retry_after_secs", retry_after_secs)?;
            }
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::PasswordChangeRequired
            | Self::Internal => {}
        }
        m.serialize_entry("code", self.code())?;
        m.end()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn every_error() -> Vec<AppError> {
        vec![
            AppError::field("name", RuleError::new(Code::Required, "Name is required.")),
            AppError::Unauthorized,
            AppError::NotAuthenticated {
                message: "m".into(),
            },
            AppError::InvalidCredentials,
            AppError::forbidden("m"),
            AppError::PasswordChangeRequired,
            AppError::not_found("m"),
            AppError::Conflict {
                field: "name".into(),
                message: "m".into(),
            },
            AppError::TooManyRequests {
                message: "m".into(),
                retry_after_secs: 3,
            },
            AppError::BadRequest {
                message: "m".into(),
            },
            AppError::Internal,
            AppError::Failed {
                message: "m".into(),
            },
        ]
    }

    #[test]
    fn the_wire_form_adds_codes_and_reads_back() {
        let mut codes = Vec::new();
        for e in every_error() {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["code"], e.code(), "{json}");
            codes.push(e.code());
            // What older clients read is unchanged: the tag and the variant's fields.
            let back: AppError = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, e, "{json}");
        }
        codes.sort();
        codes.dedup();
        let mut all = AppError::CODES.to_vec();
        all.sort();
        assert_eq!(codes, all, "CODES lists every variant's code");
        let json = serde_json::to_value(&every_error()[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "error": "validation",
                "message": "name: Name is required.",
                "fields": [{"field": "name", "code": "required", "message": "Name is required."}],
                "code": "validation_failed",
            })
        );
    }

    #[test]
    fn a_body_from_an_older_server_still_reads() {
        let old =
            r#"{"error":"validation","message":"m","fields":[{"field":"name","message":"x"}]}"#;
        let e: AppError = serde_json::from_str(old).unwrap();
        assert_eq!(e.field_errors()[0].code, "");
        // A code this client does not know is kept as text.
        let new = r#"{"error":"validation","message":"m","fields":[{"field":"n","code":"from_the_future","message":"x"}],"code":"validation_failed"}"#;
        let e: AppError = serde_json::from_str(new).unwrap();
        assert_eq!(e.field_errors()[0].code, "from_the_future");
    }

    #[test]
    fn codes_are_distinct_snake_case_and_documented() {
        let readme = include_str!("../../README.md");
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{s}"
            );
            assert!(
                readme.contains(&format!("`{s}`")),
                "README does not document {s}"
            );
        }
        for s in AppError::CODES {
            assert!(
                readme.contains(&format!("| `{s}` |")),
                "README does not document {s}"
            );
        }
        assert_eq!(
            AppError::Conflict {
                field: "name".into(),
                message: "m".into()
            }
            .field_errors()[0]
                .code,
            Code::Conflict
        );
    }
}
