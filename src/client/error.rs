//! What can go wrong in a client command, and the exit code each outcome has. Scripts branch
//! on the code, people read the message: the server's own message and the field it names.

use crate::model::{AppError, FieldError};
use std::process::ExitCode;

/// A failed client command. No variant ever holds a token or a secret value: messages come
/// from the server's error (written for users, never quoting a value) or from the client's own
/// wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The command line or the local setup is wrong (exit 2): a bad option, an unreadable
    /// file, no saved server or token, a launch the shared rules refuse before sending.
    Usage {
        message: String,
        fields: Vec<FieldError>,
    },
    /// The server refused the request with a 4xx other than 401/403 (exit 3).
    Refused {
        status: u16,
        message: String,
        fields: Vec<FieldError>,
    },
    /// 401 or 403 (exit 4): no valid token, or the token lacks the scope.
    NotAuthorised { status: u16, message: String },
    /// A 5xx, an answer that makes no sense, or no answer at all (exit 5).
    Server { message: String },
}

impl ClientError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn server(message: impl Into<String>) -> Self {
        Self::Server {
            message: message.into(),
        }
    }

    /// The error for an HTTP reply that is not a success, from its status and body (the
    /// server's JSON `AppError`, when it is one).
    pub fn from_reply(status: u16, body: &str) -> Self {
        let parsed = serde_json::from_str::<AppError>(body).ok();
        let message = match &parsed {
            Some(e) => e.to_string(),
            None => format!("the server answered HTTP {status}"),
        };
        let fields = parsed.map(|e| e.field_errors()).unwrap_or_default();
        match status {
            401 | 403 => Self::NotAuthorised { status, message },
            400..=499 => Self::Refused {
                status,
                message,
                fields,
            },
            _ => Self::Server {
                // A 5xx carries no detail worth more than its status; keep the server's words.
                message: format!("{message} (HTTP {status})"),
            },
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. } => 2,
            Self::Refused { .. } => 3,
            Self::NotAuthorised { .. } => 4,
            Self::Server { .. } => 5,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Usage { message, .. }
            | Self::Refused { message, .. }
            | Self::NotAuthorised { message, .. }
            | Self::Server { message } => message,
        }
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Usage { fields, .. } | Self::Refused { fields, .. } => fields,
            _ => &[],
        }
    }

    /// Names each field by the option it came from (`extra_env` is `-e`, …), so a person sees
    /// which part of their command to fix. `label` turns a field name into that text.
    pub fn relabel(mut self, label: impl Fn(&str) -> String) -> Self {
        if let Self::Usage { fields, message }
        | Self::Refused {
            fields, message, ..
        } = &mut self
        {
            // One field: the message says "field: rule" (see `AppError::fields`); relabel it too.
            if let [only] = fields.as_slice() {
                if *message == format!("{}: {}", only.field, only.message) {
                    *message = format!("{}: {}", label(&only.field), only.message);
                }
            }
            for f in fields {
                f.field = label(&f.field);
            }
        }
        self
    }

    /// The text printed on standard error: the message, then each field and its rule.
    pub fn text(&self) -> String {
        let mut out = format!("lockbox: {}", self.message());
        for f in self.fields() {
            // A single-field validation message already reads "field: rule"; repeat it only
            // when there are several, or when the field was relabelled.
            if self.message() != format!("{}: {}", f.field, f.message) {
                out.push_str(&format!("\n  {}: {}", f.field, f.message));
            }
        }
        out
    }

    /// The same, as JSON for scripts (`--output json`).
    pub fn json(&self) -> serde_json::Value {
        let kind = match self {
            Self::Usage { .. } => "usage",
            Self::Refused { .. } => "refused",
            Self::NotAuthorised { .. } => "not_authorised",
            Self::Server { .. } => "server",
        };
        let status = match self {
            Self::Refused { status, .. } | Self::NotAuthorised { status, .. } => Some(*status),
            _ => None,
        };
        serde_json::json!({
            "error": kind,
            "status": status,
            "message": self.message(),
            "fields": self.fields(),
        })
    }

    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_documented_exit_codes() {
        let refused = ClientError::from_reply(
            409,
            r#"{"error":"conflict","field":"name","message":"You already have a secret named A."}"#,
        );
        assert_eq!(refused.exit_code(), 3);
        assert_eq!(refused.message(), "You already have a secret named A.");
        assert_eq!(
            refused.fields(),
            [FieldError::new(
                "name",
                crate::model::RuleError::new(
                    crate::model::Code::Conflict,
                    "You already have a secret named A."
                )
            )]
        );
        assert_eq!(ClientError::from_reply(422, "{}").exit_code(), 3);
        assert_eq!(ClientError::from_reply(404, "").exit_code(), 3);
        assert_eq!(ClientError::from_reply(429, "").exit_code(), 3);
        assert_eq!(
            ClientError::from_reply(401, r#"{"error":"unauthorized"}"#).exit_code(),
            4
        );
        let forbidden = ClientError::from_reply(
            403,
            r#"{"error":"forbidden","message":"This token lacks the scope sessions."}"#,
        );
        assert_eq!(forbidden.exit_code(), 4);
        assert_eq!(forbidden.message(), "This token lacks the scope sessions.");
        assert_eq!(
            ClientError::from_reply(500, r#"{"error":"internal"}"#).exit_code(),
            5
        );
        assert_eq!(
            ClientError::from_reply(502, "<html>bad gateway</html>").exit_code(),
            5
        );
        assert_eq!(ClientError::usage("x").exit_code(), 2);
    }

    #[test]
    fn the_text_names_every_field() {
        let body = r#"{"error":"validation","message":"2 fields need attention.","fields":[
            {"field":"extra_env","message":"Line 1: expected NAME=value."},
            {"field":"mount_dir","message":"Mount directory must be an absolute path (starting with /)."}]}"#;
        let e = ClientError::from_reply(422, body).relabel(|f| format!("[{f}]"));
        assert_eq!(
            e.text(),
            "lockbox: 2 fields need attention.\n  [extra_env]: Line 1: expected NAME=value.\n  \
             [mount_dir]: Mount directory must be an absolute path (starting with /)."
        );
        // One field: the message already says it.
        let one = r#"{"error":"validation","message":"name: Name is required.","fields":[{"field":"name","message":"Name is required."}]}"#;
        assert_eq!(
            ClientError::from_reply(422, one).text(),
            "lockbox: name: Name is required."
        );
        let json = ClientError::from_reply(422, body).json();
        assert_eq!(json["error"], "refused");
        assert_eq!(json["status"], 422);
        assert_eq!(json["fields"][1]["field"], "mount_dir");
    }

    #[test]
    fn field_codes_reach_scripts() {
        let body = r#"{"error":"validation","message":"name: Name is required.","fields":[
            {"field":"name","code":"required","message":"Name is required."}],"code":"validation_failed"}"#;
        let e = ClientError::from_reply(422, body);
        assert_eq!(e.fields()[0].code, crate::model::Code::Required);
        assert_eq!(e.json()["fields"][0]["code"], "required");
        // The text for people is as before.
        assert_eq!(e.text(), "lockbox: name: Name is required.");
    }
}
