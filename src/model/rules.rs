//! The naming rules, one function each, and nothing else owns them: Kubernetes names and labels
//! (as the API server checks them), Secret keys, file names in the mount directory, and
//! environment variable names. Pure, so the browser, the launch service, `sessions render` and
//! the check of built Kubernetes objects all give the same answer.
//!
//! Each rule returns `Err` with the rule it broke: its [`Code`] and a message phrased to follow
//! the thing's description ("Secret key \"..\" " + "must not be '.' or '..', nor start with
//! '..'").

use super::{Code, RuleError};

/// A DNS-1123 label (namespaces, volume and container names) is at most 63 characters.
pub const MAX_DNS1123_LABEL: usize = 63;
/// A DNS-1123 subdomain (most object names) is at most 253 characters.
pub const MAX_DNS1123_SUBDOMAIN: usize = 253;
/// A label value, and the name part of a label key, is at most 63 characters.
pub const MAX_LABEL_PART: usize = 63;
/// A Secret (or ConfigMap) key is at most 253 characters.
pub const MAX_SECRET_KEY: usize = 253;
/// The longest variable or file name a secret may be given.
pub const MAX_TARGET: usize = 128;

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, with no length limit (the shared part of labels and
/// subdomain parts).
fn label_shape(s: &str) -> bool {
    s.starts_with(lower_alnum)
        && s.ends_with(lower_alnum)
        && s.chars().all(|c| lower_alnum(c) || c == '-')
}

/// The length rule shared by names: empty is `required`, longer than `max` bytes `too_long`,
/// with one message for both ("must be 1 to N characters").
fn length(s: &str, max: usize) -> Result<(), RuleError> {
    let message = || format!("must be 1 to {max} characters");
    if s.is_empty() {
        return Err(RuleError::new(Code::Required, message()));
    }
    if s.len() > max {
        return Err(RuleError::new(Code::TooLong, message()));
    }
    Ok(())
}

/// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn dns1123_label(s: &str) -> Result<(), RuleError> {
    length(s, MAX_DNS1123_LABEL)?;
    if !label_shape(s) {
        return Err(RuleError::new(
            Code::NotADns1123Label,
            "must be lower-case letters, digits and '-', starting and ending with a letter or \
             digit",
        ));
    }
    Ok(())
}

/// DNS-1123 subdomain: dot-separated parts shaped like labels, at most 253 characters in all
/// (the API server does not limit each part to 63).
pub fn dns1123_subdomain(s: &str) -> Result<(), RuleError> {
    length(s, MAX_DNS1123_SUBDOMAIN)?;
    if !s.split('.').all(label_shape) {
        return Err(RuleError::new(
            Code::NotADns1123Subdomain,
            "must be lower-case letters, digits, '-' and '.', each dot-separated part starting \
             and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// DNS-1035 label (Service names): a DNS-1123 label that starts with a letter.
pub fn dns1035_label(s: &str) -> Result<(), RuleError> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(RuleError::new(
            Code::NotADns1035Label,
            "must start with a lower-case letter",
        ));
    }
    Ok(())
}

/// A qualified name part: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn qualified_part(s: &str, code: Code) -> Result<(), RuleError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_LABEL_PART
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(RuleError::new(
            code,
            format!(
                "must be 1 to {MAX_LABEL_PART} letters, digits, '-', '_' and '.', starting and \
                 ending with a letter or digit"
            ),
        ))
    }
}

/// A label key: an optional DNS-1123 subdomain prefix and `/`, then a qualified name part.
/// Every way it fails is `not_a_label_key`.
pub fn label_key(s: &str) -> Result<(), RuleError> {
    match s.split_once('/') {
        Some((prefix, name)) => {
            dns1123_subdomain(prefix)
                .map_err(|e| RuleError::new(Code::NotALabelKey, format!("prefix {}", e.message)))?;
            qualified_part(name, Code::NotALabelKey)
        }
        None => qualified_part(s, Code::NotALabelKey),
    }
}

/// A label value: empty, or a qualified name part.
pub fn label_value(s: &str) -> Result<(), RuleError> {
    if s.is_empty() {
        Ok(())
    } else {
        qualified_part(s, Code::NotALabelValue)
    }
}

/// A Secret data key (the API server's `IsConfigMapKey`): `[-._a-zA-Z0-9]+`, at most 253
/// characters, not `.` or `..`, and not starting with `..` (the kubelet's volume plumbing uses
/// such names).
pub fn secret_key(s: &str) -> Result<(), RuleError> {
    length(s, MAX_SECRET_KEY)?;
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(RuleError::new(
            Code::InvalidCharacter,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    if s == "." || s.starts_with("..") {
        return Err(RuleError::new(
            Code::ReservedName,
            "must not be '.' or '..', nor start with '..'",
        ));
    }
    Ok(())
}

/// A file name in the mount directory: a valid Secret key (it is one, after `file.`) and a
/// volume item path of one component, at most 128 characters.
pub fn file_name(s: &str) -> Result<(), RuleError> {
    if s.len() > MAX_TARGET {
        return Err(RuleError::new(
            Code::TooLong,
            format!("must be 1 to {MAX_TARGET} characters"),
        ));
    }
    secret_key(s)
}

/// An environment variable name as every shell and Kubernetes accept it:
/// `[A-Za-z_][A-Za-z0-9_]*`. (Which names are reserved is the launch's rule, not this one.)
pub fn env_var_name(s: &str) -> Result<(), RuleError> {
    let mut chars = s.chars();
    match chars.next() {
        None => return Err(RuleError::new(Code::Required, "is required")),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err(RuleError::new(
                Code::InvalidFirstCharacter,
                "must start with a letter or an underscore",
            ))
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(RuleError::new(
            Code::InvalidCharacter,
            "may contain only letters, digits and underscores",
        ));
    }
    Ok(())
}

/// An environment variable name as the API server accepts it (since Kubernetes 1.34): any
/// printable ASCII but `=`. Lockbox's own names follow the stricter [`env_var_name`].
pub fn api_env_var_name(s: &str) -> Result<(), RuleError> {
    if s.is_empty() {
        return Err(RuleError::new(Code::Required, "must be non-empty"));
    }
    if !s.chars().all(|c| (' '..='~').contains(&c) && c != '=') {
        return Err(RuleError::new(
            Code::InvalidCharacter,
            "must be printable ASCII without '='",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(dns1123_label(&"a".repeat(63)).is_ok());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(dns1123_label("1abc").is_ok());
        for bad in ["", "-a", "a-", "A", "a.b", "a_b"] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
        assert!(dns1123_subdomain("a.b-c.9").is_ok());
        assert!(dns1123_subdomain(&"a".repeat(253)).is_ok());
        assert!(dns1123_subdomain(&"a".repeat(254)).is_err());
        for bad in ["", "a..b", "a.-b", "a-.b", ".a", "a.", "A"] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
        assert!(dns1035_label("abc").is_ok());
        assert!(dns1035_label("1abc").is_err());
    }

    #[test]
    fn labels() {
        assert!(label_key("app.kubernetes.io/name").is_ok());
        assert!(label_key("Simple_Key.1").is_ok());
        assert!(label_key("a/b/c").is_err());
        assert!(label_key(&format!("{}/x", "a".repeat(254))).is_err());
        assert!(label_key(&"k".repeat(64)).is_err());
        assert!(label_value("").is_ok());
        assert!(label_value(&"v".repeat(63)).is_ok());
        assert!(label_value(&"v".repeat(64)).is_err());
        assert!(label_value("-v").is_err());
    }

    #[test]
    fn keys_files_and_variables() {
        for ok in ["tls.key", ".hidden", "a..b", "x.", "-", "_"] {
            assert!(secret_key(ok).is_ok(), "{ok}");
            assert!(file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "..x", "...", "a/b", "a b", "ü"] {
            assert!(secret_key(bad).is_err(), "{bad}");
            assert!(file_name(bad).is_err(), "{bad}");
        }
        assert!(secret_key(&"k".repeat(253)).is_ok());
        assert!(secret_key(&"k".repeat(254)).is_err());
        assert!(file_name(&"k".repeat(128)).is_ok());
        assert!(file_name(&"k".repeat(129)).is_err());
        for ok in ["A", "_", "a1", "LOCKBOX_X"] {
            assert!(env_var_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A=B", "A B", "Ä"] {
            assert!(env_var_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_rule_has_its_code() {
        let code = |r: Result<(), RuleError>| r.unwrap_err().code;
        assert_eq!(code(dns1123_label("")), Code::Required);
        assert_eq!(code(dns1123_label(&"a".repeat(64))), Code::TooLong);
        assert_eq!(code(dns1123_label("A")), Code::NotADns1123Label);
        assert_eq!(code(dns1123_subdomain("a..b")), Code::NotADns1123Subdomain);
        assert_eq!(code(dns1035_label("1a")), Code::NotADns1035Label);
        assert_eq!(code(label_key("a/b/c")), Code::NotALabelKey);
        assert_eq!(code(label_key("-x/y")), Code::NotALabelKey);
        assert_eq!(code(label_value("-v")), Code::NotALabelValue);
        assert_eq!(code(secret_key("a b")), Code::InvalidCharacter);
        assert_eq!(code(secret_key("..")), Code::ReservedName);
        assert_eq!(code(file_name(&"k".repeat(129))), Code::TooLong);
        assert_eq!(code(env_var_name("")), Code::Required);
        assert_eq!(code(env_var_name("1A")), Code::InvalidFirstCharacter);
        assert_eq!(code(env_var_name("A-B")), Code::InvalidCharacter);
        assert_eq!(code(api_env_var_name("")), Code::Required);
        assert_eq!(code(api_env_var_name("A=B")), Code::InvalidCharacter);
    }
}
