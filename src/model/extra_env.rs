//! The launch form's extra environment lines, one per line: `NAME=value`, or
//! `NAME=SECRET:<kubernetes-secret>,<key>` for a key of a Secret that already exists in the
//! project's namespace (the Run:AI form). Blank lines and lines starting with `#` are skipped.

use serde::{Deserialize, Serialize};

/// Where an extra variable's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvSource {
    /// The value as typed (not secret: it may end up in a pod spec).
    Literal(String),
    /// `valueFrom.secretKeyRef` to an existing Kubernetes Secret.
    SecretRef { secret: String, key: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraEnv {
    pub name: String,
    pub source: EnvSource,
}

/// A broken rule, with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

const SECRET_PREFIX: &str = "SECRET:";
const MAX_DNS_SUBDOMAIN: usize = 253;

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, valid for a process and for
/// Kubernetes alike; `LOCKBOX_` names are Lockbox's own.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("a variable name is required before '='".into()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err(format!(
                "variable name {name:?} must start with a letter or an underscore"
            ))
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(format!(
            "variable name {name:?} may contain only letters, digits and underscores"
        ));
    }
    if name.to_ascii_uppercase().starts_with("LOCKBOX_") {
        return Err(format!(
            "variable name {name:?} is reserved (LOCKBOX_ prefix)"
        ));
    }
    Ok(())
}

/// A Kubernetes object name: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.',
/// starting and ending with a letter or digit, at most 253 characters).
pub fn check_dns_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_DNS_SUBDOMAIN {
        return Err(format!(
            "Secret name must be 1 to {MAX_DNS_SUBDOMAIN} characters"
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    // Each dot-separated label: lower-case letters, digits and '-', starting and ending with a
    // letter or digit (the API server's DNS-1123 subdomain rule).
    let label_ok = |label: &str| {
        label.starts_with(alnum)
            && label.ends_with(alnum)
            && label.chars().all(|c| alnum(c) || c == '-')
    };
    if !name.split('.').all(label_ok) {
        return Err(format!(
            "Secret name {name:?} must be lower-case letters, digits, '-' and '.', \
             each dot-separated part starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// A Kubernetes Secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters.
pub fn check_secret_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_DNS_SUBDOMAIN {
        return Err(format!(
            "Secret key must be 1 to {MAX_DNS_SUBDOMAIN} characters"
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(format!(
            "Secret key {key:?} may contain only letters, digits, '-', '.' and '_'"
        ));
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<ExtraEnv, String> {
    let Some((name, value)) = line.split_once('=') else {
        return Err("expected NAME=value or NAME=SECRET:<secret>,<key>".into());
    };
    let name = name.trim();
    check_env_name(name)?;
    // Spaces around the reference are forgiven; a literal value is kept exactly as typed.
    let source = match value.trim_start().strip_prefix(SECRET_PREFIX) {
        None => EnvSource::Literal(value.to_string()),
        Some(reference) => {
            let Some((secret, key)) = reference.split_once(',') else {
                return Err("a secret reference is SECRET:<secret-name>,<key>".into());
            };
            let (secret, key) = (secret.trim(), key.trim());
            check_dns_subdomain(secret)?;
            check_secret_key(key)?;
            EnvSource::SecretRef {
                secret: secret.to_string(),
                key: key.to_string(),
            }
        }
    };
    Ok(ExtraEnv {
        name: name.to_string(),
        source,
    })
}

/// Parses every line, reporting every broken line at once; a name given twice is an error on
/// its second line.
pub fn parse(text: &str) -> Result<Vec<ExtraEnv>, Vec<LineError>> {
    let mut entries: Vec<ExtraEnv> = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let number = index + 1;
        match parse_line(line) {
            Ok(entry) => {
                if entries.iter().any(|e| e.name == entry.name) {
                    errors.push(LineError {
                        line: number,
                        message: format!("{} is set twice", entry.name),
                    });
                } else {
                    entries.push(entry);
                }
            }
            Err(message) => errors.push(LineError {
                line: number,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(name: &str, value: &str) -> ExtraEnv {
        ExtraEnv {
            name: name.into(),
            source: EnvSource::Literal(value.into()),
        }
    }

    #[test]
    fn literals_and_secret_references() {
        let text = "# settings\nMODE=train\n\nEMPTY=\nURL=postgres://h/db?a=b\r\nDB_PASS=SECRET:db-creds,password\nTOKEN = SECRET: my.secret , api_key\n";
        let parsed = parse(text).unwrap();
        assert_eq!(
            parsed,
            vec![
                literal("MODE", "train"),
                literal("EMPTY", ""),
                literal("URL", "postgres://h/db?a=b"),
                ExtraEnv {
                    name: "DB_PASS".into(),
                    source: EnvSource::SecretRef {
                        secret: "db-creds".into(),
                        key: "password".into()
                    },
                },
                ExtraEnv {
                    name: "TOKEN".into(),
                    source: EnvSource::SecretRef {
                        secret: "my.secret".into(),
                        key: "api_key".into()
                    },
                },
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = "OK=1\nno equals sign\n9X=1\nA-B=1\n=v\nLOCKBOX_X=1\nOK=2\nR=SECRET:Bad_Name,k\nS=SECRET:name\nT=SECRET:name,bad/key\nU=SECRET:-x,k\n";
        let errors = parse(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let text_of = |line: usize| {
            errors
                .iter()
                .find(|e| e.line == line)
                .unwrap()
                .message
                .clone()
        };
        assert!(text_of(2).contains("expected NAME=value"));
        assert!(text_of(3).contains("must start with a letter"));
        assert!(text_of(4).contains("only letters, digits and underscores"));
        assert!(text_of(5).contains("name is required"));
        assert!(text_of(6).contains("reserved"));
        assert!(text_of(7).contains("OK is set twice"));
        assert!(text_of(8).contains("lower-case"));
        assert!(text_of(9).contains("SECRET:<secret-name>,<key>"));
        assert!(text_of(10).contains("Secret key"));
        assert!(text_of(11).contains("starting and ending"));
    }

    #[test]
    fn kubernetes_name_limits() {
        assert!(check_dns_subdomain(&"a".repeat(253)).is_ok());
        assert!(check_dns_subdomain(&"a".repeat(254)).is_err());
        assert!(check_dns_subdomain("a.b-c.9").is_ok());
        assert!(check_dns_subdomain("a..b").is_err());
        assert!(check_dns_subdomain("a.-b").is_err());
        assert!(check_dns_subdomain("a-.b").is_err());
        assert!(check_dns_subdomain("A").is_err());
        assert!(check_secret_key(&"k".repeat(253)).is_ok());
        assert!(check_secret_key(&"k".repeat(254)).is_err());
        assert!(check_secret_key("tls.crt").is_ok());
        assert!(check_secret_key("a b").is_err());
    }
}
