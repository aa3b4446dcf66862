//! Projects: the one owner of what a project name may be and which namespace a project maps to.
//! Pure, so the command line, the admin API, the launch form and the Kubernetes side agree.

use super::{rules, Code, RuleError};
use serde::{Deserialize, Serialize};

/// The project every user may use; its namespace is `LOCKBOX_KUBE_NAMESPACE`.
pub const DEFAULT_PROJECT: &str = "default";
/// The longest description a project may have, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// The default namespace prefix (Run:AI's is `runai-`).
pub const DEFAULT_PREFIX: &str = "lockbox-";

/// A namespace prefix: empty, or lower-case letters, digits and '-' starting with a letter or
/// digit, short enough to leave room for a one-character project name.
pub fn prefix(p: &str) -> Result<(), RuleError> {
    if p.is_empty() {
        return Ok(());
    }
    if p.len() >= rules::MAX_DNS1123_LABEL {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "must be at most {} characters",
                rules::MAX_DNS1123_LABEL - 1
            ),
        ));
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !p.chars().all(ok_char) || p.starts_with('-') {
        return Err(RuleError::new(
            Code::NotADns1123Label,
            "must be lower-case letters, digits and '-', starting with a letter or digit",
        ));
    }
    Ok(())
}

/// The namespace of a project that is not the default one.
pub fn namespace(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}

/// A new project's name: a DNS-1123 label such that `<prefix><name>` is one too, and not the
/// default project's name. Returns the message shown next to the name field.
pub fn name(prefix: &str, name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return Err(RuleError::new(Code::Required, "Enter a project name."));
    }
    rules::dns1123_label(name).map_err(|e| e.map_message(|m| format!("A project name {m}.")))?;
    let room = rules::MAX_DNS1123_LABEL - prefix.len();
    if name.len() > room {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "A project name must be at most {room} characters, so that its namespace \
                 \"{prefix}…\" is at most {} characters.",
                rules::MAX_DNS1123_LABEL
            ),
        ));
    }
    if name == DEFAULT_PROJECT {
        return Err(RuleError::new(
            Code::ReservedName,
            "\"default\" is the default project's name; choose another.",
        ));
    }
    Ok(())
}

/// A project's description: at most [`MAX_DESCRIPTION`] characters, no control characters
/// other than line breaks.
pub fn description(d: &str) -> Result<(), RuleError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(RuleError::new(
            Code::TooLong,
            format!("A description must be at most {MAX_DESCRIPTION} characters."),
        ));
    }
    if d.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(RuleError::new(
            Code::ControlCharacter,
            "A description must not contain control characters.",
        ));
    }
    Ok(())
}

/// Namespaces a project may never map to, whatever the prefix: Kubernetes' own, where a
/// project's RoleBinding and copies of cluster-wide secrets must never go.
const RESERVED_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// A new project's namespace must be none that Lockbox or Kubernetes already uses for
/// something else: not the default project's (`default_ns`), not Lockbox's own system namespace
/// (`system_ns`, where cluster-wide sources live), not one of Kubernetes' own (`kube-*`).
/// Returns the message shown next to the name field.
pub fn namespace_free(namespace: &str, default_ns: &str, system_ns: &str) -> Result<(), RuleError> {
    let taken_by = if namespace == default_ns {
        Some("the default project's namespace")
    } else if namespace == system_ns {
        Some("Lockbox's own system namespace")
    } else if RESERVED_NAMESPACES.contains(&namespace) || namespace.starts_with("kube-") {
        Some("reserved by Kubernetes")
    } else {
        None
    };
    match taken_by {
        Some(what) => Err(RuleError::new(
            Code::ReservedName,
            format!(
                "This project's namespace would be \"{namespace}\", which is {what}; choose \
                 another name."
            ),
        )),
        None => Ok(()),
    }
}

/// The project a launch goes to: the one named, or the default one when none is.
pub fn chosen(raw: &str) -> &str {
    match raw.trim() {
        "" => DEFAULT_PROJECT,
        name => name,
    }
}

/// Whether a user may launch into a project, as far as the launch form is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchAccess {
    /// The project exists and the user may use it.
    Allowed,
    /// No project has that name (told only to admins, who can list every project anyway).
    Unknown,
    /// Refused (403). A non-admin gets this for a project that does not exist too, with the
    /// same message, so that launching cannot be used to learn which projects exist.
    Refused,
}

/// Decides [`LaunchAccess`]: `may_use` is `None` when no project has the name, else whether
/// the user may use it (the default project, or a member).
pub fn launch_access(may_use: Option<bool>, is_admin: bool) -> LaunchAccess {
    match may_use {
        Some(true) => LaunchAccess::Allowed,
        Some(false) => LaunchAccess::Refused,
        None if is_admin => LaunchAccess::Unknown,
        None => LaunchAccess::Refused,
    }
}

/// The longest project name quoted back in a message (names longer than a label are invalid
/// anyway).
const MAX_QUOTED: usize = 63;

fn quoted(name: &str) -> String {
    let short: String = name.chars().take(MAX_QUOTED).collect();
    if short.len() < name.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

/// The message of a refused launch: the same whether the project exists or not.
pub fn refused_message(name: &str) -> String {
    format!(
        "You cannot launch into the project {}: it does not exist, or you are not one of its \
         members. Ask an admin to add you.",
        quoted(name)
    )
}

/// The message of a launch into a project that does not exist (shown to admins).
pub fn unknown_message(name: &str) -> String {
    format!("There is no project named {}.", quoted(name))
}

/// A project as the launch form offers it to a user who may use it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub name: String,
    pub description: String,
    pub is_default: bool,
}

/// A project as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDetail {
    pub name: String,
    pub description: String,
    pub is_default: bool,
    /// The Kubernetes namespace its sessions go to (also shown on the local backend, where it
    /// names where the project's namespace secrets belong).
    pub namespace: String,
    /// Whether Lockbox created the namespace (deleting the project deletes it) or adopted it.
    pub namespace_created: bool,
    /// How many members it has (the default project has none: everyone may use it).
    pub members: i64,
    /// How many of its sessions are starting or running.
    pub live_sessions: i64,
    /// Unix time in milliseconds (0 for the default project made by the migration).
    pub created_at: i64,
}

/// A member of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMember {
    pub username: String,
    /// Unix time in milliseconds.
    pub added_at: i64,
}

/// What creating a project did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCreated {
    pub project: ProjectDetail,
    /// For the admin: an adopted namespace that is not Pod Security `restricted`, say.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_leave_room_for_the_prefix() {
        assert!(name("lockbox-", "ml-team").is_ok());
        let longest = "a".repeat(63 - "lockbox-".len());
        assert!(name("lockbox-", &longest).is_ok());
        assert!(rules::dns1123_label(&namespace("lockbox-", &longest)).is_ok());
        let err = name("lockbox-", &format!("{longest}a")).unwrap_err();
        assert_eq!(err.code, Code::TooLong);
        assert!(err.message.contains("at most 55 characters"), "{err}");
        assert!(name("", &"a".repeat(63)).is_ok());
    }

    #[test]
    fn bad_names_say_why() {
        let code = |n: &str| name("lockbox-", n).unwrap_err().code;
        assert_eq!(code(""), Code::Required);
        assert_eq!(code("ML"), Code::NotADns1123Label);
        assert_eq!(code("-a"), Code::NotADns1123Label);
        assert_eq!(code("a.b"), Code::NotADns1123Label);
        assert_eq!(code("default"), Code::ReservedName);
        assert!(name("lockbox-", "default")
            .unwrap_err()
            .message
            .contains("default project"));
    }

    #[test]
    fn prefixes() {
        for ok in ["", "lockbox-", "runai-", "p"] {
            assert!(prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["-x", "Lockbox-", "a_b", &"a".repeat(63)] {
            assert!(prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions() {
        assert!(description("Team ML\nshared GPUs").is_ok());
        assert!(description(&"é".repeat(MAX_DESCRIPTION)).is_ok());
        assert!(description(&"é".repeat(MAX_DESCRIPTION + 1)).is_err());
        assert!(description("a\u{0}b").is_err());
    }

    #[test]
    fn namespaces_already_in_use_are_refused() {
        assert!(namespace_free("lockbox-ml", "lockbox-sessions", "lockbox").is_ok());
        let e = namespace_free("lockbox-sessions", "lockbox-sessions", "lockbox").unwrap_err();
        assert_eq!(e.code, Code::ReservedName);
        assert!(e.message.contains("default project's namespace"), "{e}");
        let e = namespace_free("lockbox", "sessions", "lockbox").unwrap_err();
        assert!(e.message.contains("system namespace"), "{e}");
        for k in [
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "kube-x",
            "default",
        ] {
            let e = namespace_free(k, "sessions", "lockbox").unwrap_err();
            assert!(e.message.contains("reserved by Kubernetes"), "{k}: {e}");
        }
    }

    #[test]
    fn an_empty_choice_is_the_default_project() {
        assert_eq!(chosen(""), DEFAULT_PROJECT);
        assert_eq!(chosen("  "), DEFAULT_PROJECT);
        assert_eq!(chosen(" ml "), "ml");
    }

    #[test]
    fn launch_access_hides_unknown_projects_from_non_admins() {
        use LaunchAccess::*;
        assert_eq!(launch_access(Some(true), false), Allowed);
        assert_eq!(launch_access(Some(true), true), Allowed);
        assert_eq!(launch_access(Some(false), false), Refused);
        // Admins are not members by right: they add themselves to launch.
        assert_eq!(launch_access(Some(false), true), Refused);
        assert_eq!(launch_access(None, false), Refused);
        assert_eq!(launch_access(None, true), Unknown);
        // One message for both refusals, naming the project but not saying which it was.
        assert!(refused_message("ml").contains("\"ml\""));
        assert!(unknown_message("ml").contains("There is no project named \"ml\""));
        let long = "x".repeat(5000);
        assert!(refused_message(&long).len() < 300);
    }
}
