//! The naming rules, one function each, and nothing else owns them: Kubernetes names and labels
//! (as the API server checks them), Secret keys, file names in the mount directory, and
//! environment variable names. Pure, so the browser, the launch service, `sessions render` and
//! the check of built Kubernetes objects all give the same answer.
//!
//! Each rule returns `Err` with the rule it broke, phrased to follow the thing's description
//! ("Secret key \"..\" " + "must not be '.' or '..', nor start with '..'").

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

/// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_DNS1123_LABEL {
        return Err(format!("must be 1 to {MAX_DNS1123_LABEL} characters"));
    }
    if !label_shape(s) {
        return Err(
            "must be lower-case letters, digits and '-', starting and ending with a \
                    letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// DNS-1123 subdomain: dot-separated parts shaped like labels, at most 253 characters in all
/// (the API server does not limit each part to 63).
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_DNS1123_SUBDOMAIN {
        return Err(format!("must be 1 to {MAX_DNS1123_SUBDOMAIN} characters"));
    }
    if !s.split('.').all(label_shape) {
        return Err(
            "must be lower-case letters, digits, '-' and '.', each dot-separated part \
                    starting and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// DNS-1035 label (Service names): a DNS-1123 label that starts with a letter.
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lower-case letter".into());
    }
    Ok(())
}

/// A qualified name part: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn qualified_part(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_LABEL_PART
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be 1 to {MAX_LABEL_PART} letters, digits, '-', '_' and '.', starting and \
             ending with a letter or digit"
        ))
    }
}

/// A label key: an optional DNS-1123 subdomain prefix and `/`, then a qualified name part.
pub fn label_key(s: &str) -> Result<(), String> {
    match s.split_once('/') {
        Some((prefix, name)) => {
            dns1123_subdomain(prefix).map_err(|m| format!("prefix {m}"))?;
            qualified_part(name)
        }
        None => qualified_part(s),
    }
}

/// A label value: empty, or a qualified name part.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        Ok(())
    } else {
        qualified_part(s)
    }
}

/// A Secret data key (the API server's `IsConfigMapKey`): `[-._a-zA-Z0-9]+`, at most 253
/// characters, not `.` or `..`, and not starting with `..` (the kubelet's volume plumbing uses
/// such names).
pub fn secret_key(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_SECRET_KEY {
        return Err(format!("must be 1 to {MAX_SECRET_KEY} characters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err("may contain only letters, digits, '-', '_' and '.'".into());
    }
    if s == "." || s.starts_with("..") {
        return Err("must not be '.' or '..', nor start with '..'".into());
    }
    Ok(())
}

/// A file name in the mount directory: a valid Secret key (it is one, after `file.`) and a
/// volume item path of one component, at most 128 characters.
pub fn file_name(s: &str) -> Result<(), String> {
    if s.len() > MAX_TARGET {
        return Err(format!("must be 1 to {MAX_TARGET} characters"));
    }
    secret_key(s)
}

/// An environment variable name as every shell and Kubernetes accept it:
/// `[A-Za-z_][A-Za-z0-9_]*`. (Which names are reserved is the launch's rule, not this one.)
pub fn env_var_name(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    match chars.next() {
        None => return Err("is required".into()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err("must start with a letter or an underscore".into())
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err("may contain only letters, digits and underscores".into());
    }
    Ok(())
}

/// An environment variable name as the API server accepts it (since Kubernetes 1.34): any
/// printable ASCII but `=`. Lockbox's own names follow the stricter [`env_var_name`].
pub fn api_env_var_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must be non-empty".into());
    }
    if !s.chars().all(|c| (' '..='~').contains(&c) && c != '=') {
        return Err("must be printable ASCII without '='".into());
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
}
