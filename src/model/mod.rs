//! Types shared by server and browser. Validation lives here so it runs in both.

pub mod admin_sessions;
pub mod admin_tokens;
pub mod audit;
pub mod audit_query;
mod dto;
pub mod environments;
mod error;
pub mod extra_env;
/// The fuzzing invariants, shared by the fuzz targets and the corpus replay in the lib tests.
#[cfg(any(test, feature = "fuzzing"))]
pub mod invariants;
pub mod keys;
pub mod launch;
mod limits;
mod names;
pub mod namespace_secrets;
pub mod paging;
pub mod projects;
pub mod propagation;
#[cfg(test)]
pub(crate) mod proptests;
pub mod references;
pub mod rules;
pub mod session;
pub mod sorting;
pub mod tokens;
pub mod users;
mod value;

pub use dto::{Flash, SecretMeta, UserInfo};
pub use error::{AppError, Code, FieldError, RuleError};
pub use limits::Limits;
pub use names::{Password, SecretName, Username};
pub use value::{Description, SecretValue};
