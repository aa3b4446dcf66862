//! Namespace secrets on the embedded default: what Kubernetes Secrets are in a project's
//! namespace, kept by Lockbox itself when there is no cluster. The rules for what an admin may
//! set, and what is shown of one (names, keys and sizes, never a value). Pure, so the command
//! line, the admin API and the admin pages agree.

use super::{references, rules, Code, FieldError, RuleError, SecretValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most one namespace secret may hold, keys and values together: a Kubernetes Secret's
/// limit, so anything set here could be a Secret too.
pub const MAX_TOTAL_BYTES: usize = 1024 * 1024;

/// What the lists and replies show of a namespace secret. There is deliberately no value field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSecretInfo {
    /// The project it belongs to; `None` for cluster scope (resolved in every project).
    pub project: Option<String>,
    pub name: String,
    /// Its key names, sorted.
    pub keys: Vec<String>,
    /// The bytes of all its values together.
    pub size: i64,
    /// Bumped by every change.
    pub version: i64,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// On a copy made by propagation: the id of the cluster-scope secret it copies.
    pub propagated_from: Option<String>,
}

impl NamespaceSecretInfo {
    /// `project P` or `cluster`, as the command line prints it.
    pub fn scope_text(&self) -> String {
        match &self.project {
            Some(p) => format!("project {p}"),
            None => "cluster".into(),
        }
    }
}

/// Where a namespace secret lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One project's namespace, by the project's name.
    Project(String),
    /// Every project's namespace.
    Cluster,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Project(p) => write!(f, "project {p}"),
            Self::Cluster => f.write_str("cluster scope"),
        }
    }
}

/// The scope a request names: a project, or cluster scope, exactly one of them.
pub fn scope(project: &str, cluster: bool) -> Result<Scope, FieldError> {
    match (project.trim(), cluster) {
        ("", true) => Ok(Scope::Cluster),
        ("", false) => Err(FieldError::new(
            "project",
            RuleError::new(
                Code::Required,
                "Choose a project, or cluster scope for a secret every project sees.",
            ),
        )),
        (_, true) => Err(FieldError::new(
            "project",
            RuleError::new(
                Code::InvalidChoice,
                "Choose a project or cluster scope, not both.",
            ),
        )),
        (p, false) => Ok(Scope::Project(p.to_string())),
    }
}

/// A namespace secret's name: a Kubernetes Secret name (a DNS-1123 subdomain), and not one a
/// reference would be refused by (Lockbox's session Secrets).
pub fn name(n: &str) -> Result<(), RuleError> {
    if n.is_empty() {
        return Err(RuleError::new(Code::Required, "Enter a secret name."));
    }
    rules::dns1123_subdomain(n).map_err(|e| e.map_message(|m| format!("A secret name {m}.")))?;
    if references::is_session_object_name(n) {
        return Err(RuleError::new(
            Code::ReservedPrefix,
            format!(
                "A secret name must not start with {}: that is Lockbox's session Secrets' \
                 prefix, and references to it are refused.",
                references::SESSION_PREFIX
            ),
        ));
    }
    Ok(())
}

/// The field a key's error is shown on, as the admin API names the key's input.
pub fn data_field(key: &str) -> String {
    format!("data[{key}]")
}

/// Checks a whole secret's data (at least one key; each key a Secret key; each value UTF-8
/// text without NUL bytes, as it becomes an environment variable, of at most
/// `max_value_bytes`; all together within [`MAX_TOTAL_BYTES`]) and reports every broken rule.
/// Messages name keys and sizes, never a value.
pub fn data(data: &BTreeMap<String, SecretValue>, max_value_bytes: usize) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if data.is_empty() {
        errors.push(FieldError::new(
            "data",
            RuleError::new(Code::Required, "Give at least one key and its value."),
        ));
    }
    let mut total = 0usize;
    for (key, value) in data {
        total += key.len() + value.len();
        if let Err(e) = rules::secret_key(key) {
            errors.push(FieldError::new(
                &data_field(key),
                e.map_message(|m| format!("Secret key {key:?} {m}.")),
            ));
            continue;
        }
        if value.expose().contains('\0') {
            errors.push(FieldError::new(
                &data_field(key),
                RuleError::new(
                    Code::NulByte,
                    format!("The value of {key} must not contain NUL bytes."),
                ),
            ));
        }
        if value.len() > max_value_bytes {
            errors.push(FieldError::new(
                &data_field(key),
                RuleError::new(
                    Code::TooLong,
                    format!(
                        "The value of {key} must be at most {} KiB ({max_value_bytes} bytes); \
                         it has {} bytes.",
                        max_value_bytes / 1024,
                        value.len()
                    ),
                ),
            ));
        }
    }
    if total > MAX_TOTAL_BYTES {
        errors.push(FieldError::new(
            "data",
            RuleError::new(
                Code::TooLong,
                format!(
                    "Together the keys and values are {total} bytes; a secret holds at most \
                     {MAX_TOTAL_BYTES} bytes (1 MiB)."
                ),
            ),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, SecretValue> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), SecretValue::new(v.to_string())))
            .collect()
    }

    #[test]
    fn scopes() {
        assert_eq!(scope("ml", false).unwrap(), Scope::Project("ml".into()));
        assert_eq!(scope(" ml ", false).unwrap(), Scope::Project("ml".into()));
        assert_eq!(scope("", true).unwrap(), Scope::Cluster);
        assert!(scope("", false)
            .unwrap_err()
            .message
            .contains("Choose a project"));
        assert!(scope("ml", true).unwrap_err().message.contains("not both"));
        assert_eq!(scope("ml", true).unwrap_err().field, "project");
    }

    #[test]
    fn names() {
        assert!(name("team-creds").is_ok());
        assert!(name("db.creds").is_ok());
        assert!(name(&"a".repeat(253)).is_ok());
        assert!(name(&"a".repeat(254)).is_err());
        assert_eq!(name("Team").unwrap_err().code, Code::NotADns1123Subdomain);
        assert_eq!(name("").unwrap_err().code, Code::Required);
        let session = name("lockbox-s-1234").unwrap_err();
        assert_eq!(session.code, Code::ReservedPrefix);
        assert!(session.message.contains("session"));
        assert!(name("lockbox-sessions").is_ok());
    }

    #[test]
    fn good_data_passes() {
        let d = map(&[
            ("user", "app"),
            ("password", "s3cret"),
            ("tls.crt", ""),
            ("A_B-c", "x"),
        ]);
        assert!(data(&d, 64 * 1024).is_empty());
    }

    #[test]
    fn bad_data_names_the_key_never_the_value() {
        let d = map(&[
            ("bad/key", "v1-sentinel"),
            ("nul", "a\0b-sentinel"),
            ("big", "sentinel-xxxxxxxxxxxxxxxx"),
        ]);
        let errors = data(&d, 20);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["data[bad/key]", "data[big]", "data[nul]"]);
        assert!(errors[1].message.contains("it has 25 bytes"));
        assert!(errors[2].message.contains("NUL"));
        for e in &errors {
            assert!(!e.message.contains("sentinel"), "{e:?}");
        }
        assert_eq!(data(&BTreeMap::new(), 4)[0].field, "data");
    }

    #[test]
    fn the_total_is_bounded_exactly() {
        // Keys count with their values.
        let value = "v".repeat(MAX_TOTAL_BYTES / 2 - 1);
        let fits = map(&[("a", &value), ("b", &value)]);
        assert!(data(&fits, MAX_TOTAL_BYTES).is_empty());
        let over = map(&[("a", &value), ("bb", &value)]);
        let errors = data(&over, MAX_TOTAL_BYTES);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "data");
        assert!(errors[0]
            .message
            .contains(&format!("{} bytes", MAX_TOTAL_BYTES + 1)));
    }
}
