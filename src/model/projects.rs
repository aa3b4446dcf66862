//! Projects: the one owner of what a project name may be and which namespace a project maps to.
//! Pure, so the command line, the admin API, the launch form and the Kubernetes side agree.

use super::rules;

/// The project every user may use; its namespace is `LOCKBOX_KUBE_NAMESPACE`.
pub const DEFAULT_PROJECT: &str = "default";
/// The longest description a project may have, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// The default namespace prefix (Run:AI's is `runai-`).
pub const DEFAULT_PREFIX: &str = "lockbox-";

/// A namespace prefix: empty, or lower-case letters, digits and '-' starting with a letter or
/// digit, short enough to leave room for a one-character project name.
pub fn prefix(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if p.len() >= rules::MAX_DNS1123_LABEL {
        return Err(format!(
            "must be at most {} characters",
            rules::MAX_DNS1123_LABEL - 1
        ));
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !p.chars().all(ok_char) || p.starts_with('-') {
        return Err(
            "must be lower-case letters, digits and '-', starting with a letter or digit".into(),
        );
    }
    Ok(())
}

/// The namespace of a project that is not the default one.
pub fn namespace(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}

/// A new project's name: a DNS-1123 label such that `<prefix><name>` is one too, and not the
/// default project's name. Returns the message shown next to the name field.
pub fn name(prefix: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter a project name.".into());
    }
    rules::dns1123_label(name).map_err(|m| format!("A project name {m}."))?;
    let room = rules::MAX_DNS1123_LABEL - prefix.len();
    if name.len() > room {
        return Err(format!(
            "A project name must be at most {room} characters, so that its namespace \
             \"{prefix}…\" is at most {} characters.",
            rules::MAX_DNS1123_LABEL
        ));
    }
    if name == DEFAULT_PROJECT {
        return Err("\"default\" is the default project's name; choose another.".into());
    }
    Ok(())
}

/// A project's description: at most [`MAX_DESCRIPTION`] characters, no control characters
/// other than line breaks.
pub fn description(d: &str) -> Result<(), String> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "A description must be at most {MAX_DESCRIPTION} characters."
        ));
    }
    if d.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("A description must not contain control characters.".into());
    }
    Ok(())
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
        assert!(err.contains("at most 55 characters"), "{err}");
        assert!(name("", &"a".repeat(63)).is_ok());
    }

    #[test]
    fn bad_names_say_why() {
        assert_eq!(name("lockbox-", "").unwrap_err(), "Enter a project name.");
        assert!(name("lockbox-", "ML").unwrap_err().contains("lower-case"));
        assert!(name("lockbox-", "-a").unwrap_err().contains("lower-case"));
        assert!(name("lockbox-", "a.b").unwrap_err().contains("lower-case"));
        assert!(name("lockbox-", "default")
            .unwrap_err()
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
}
