//! The launch form's extra environment lines, one per line: `NAME=value`, or
//! `NAME=SECRET:<kubernetes-secret>,<key>` for a key of a Secret that already exists in the
//! project's namespace (the Run:AI form). Blank lines and lines starting with `#` are skipped.

use super::{names::RESERVED_PREFIX, rules, Code, RuleError};
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
    pub code: Code,
    pub message: String,
}

const SECRET_PREFIX: &str = "SECRET:";
/// The longest literal value: well inside the kernel's 128 KiB limit on one environment
/// string, so an accepted value never makes the session fail to start.
pub const MAX_LITERAL: usize = 64 * 1024;

/// A literal value: no NUL byte (it cannot travel in an environment variable, and the local
/// sandbox passes variables NUL-separated) and at most [`MAX_LITERAL`] bytes.
fn check_literal(value: &str) -> Result<(), RuleError> {
    if value.contains('\0') {
        return Err(RuleError::new(
            Code::NulByte,
            "a value must not contain a NUL byte",
        ));
    }
    if value.len() > MAX_LITERAL {
        return Err(RuleError::new(
            Code::TooLong,
            format!(
                "a value must be at most {MAX_LITERAL} bytes (it has {})",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// An extra variable's name: the variable-name rule, and not one of Lockbox's `LOCKBOX_` names.
pub fn check_env_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return Err(RuleError::new(
            Code::Required,
            "a variable name is required before '='",
        ));
    }
    rules::env_var_name(name)
        .map_err(|e| e.map_message(|m| format!("variable name {name:?} {m}")))?;
    if name.to_ascii_uppercase().starts_with(RESERVED_PREFIX) {
        return Err(RuleError::new(
            Code::ReservedPrefix,
            format!("variable name {name:?} is reserved ({RESERVED_PREFIX} prefix)"),
        ));
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<ExtraEnv, RuleError> {
    let Some((name, value)) = line.split_once('=') else {
        return Err(RuleError::new(
            Code::MalformedLine,
            "expected NAME=value or NAME=SECRET:<secret>,<key>",
        ));
    };
    let name = name.trim();
    check_env_name(name)?;
    // Spaces around the reference are forgiven; a literal value is kept exactly as typed.
    let source = match value.trim_start().strip_prefix(SECRET_PREFIX) {
        None => {
            check_literal(value)?;
            EnvSource::Literal(value.to_string())
        }
        Some(reference) => {
            let Some((secret, key)) = reference.split_once(',') else {
                return Err(RuleError::new(
                    Code::MalformedReference,
                    "a secret reference is SECRET:<secret-name>,<key>",
                ));
            };
            let (secret, key) = (secret.trim(), key.trim());
            rules::dns1123_subdomain(secret)
                .map_err(|e| e.map_message(|m| format!("Secret name {secret:?} {m}")))?;
            rules::secret_key(key)
                .map_err(|e| e.map_message(|m| format!("Secret key {key:?} {m}")))?;
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
                        code: Code::Duplicate,
                        message: format!("{} is set twice", entry.name),
                    });
                } else {
                    entries.push(entry);
                }
            }
            Err(e) => errors.push(LineError {
                line: number,
                code: e.code,
                message: e.message,
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
    fn literal_values_hold_no_nul_and_have_a_limit() {
        let errors = parse("A=x\0--bind\0/\0/host").unwrap_err();
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[0].code, Code::NulByte, "{errors:?}");
        let long = format!("B={}", "x".repeat(MAX_LITERAL + 1));
        assert_eq!(parse(&long).unwrap_err()[0].code, Code::TooLong);
        let fits = format!("B={}", "x".repeat(MAX_LITERAL));
        assert!(parse(&fits).is_ok());
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
        let codes: Vec<Code> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                Code::MalformedLine,
                Code::InvalidFirstCharacter,
                Code::InvalidCharacter,
                Code::Required,
                Code::ReservedPrefix,
                Code::Duplicate,
                Code::NotADns1123Subdomain,
                Code::MalformedReference,
                Code::InvalidCharacter,
                Code::NotADns1123Subdomain,
            ]
        );
        // The messages say which part is wrong.
        let text_of = |line: usize| {
            errors
                .iter()
                .find(|e| e.line == line)
                .unwrap()
                .message
                .clone()
        };
        assert!(text_of(7).contains("OK is set twice"));
        assert!(text_of(10).contains("Secret key"));
    }

    #[test]
    fn references_follow_the_kubernetes_rules() {
        let reference = |secret: &str, key: &str| parse(&format!("X=SECRET:{secret},{key}"));
        assert!(reference(&"a".repeat(253), "k").is_ok());
        assert!(reference(&"a".repeat(254), "k").is_err());
        assert!(reference("a..b", "k").is_err());
        assert!(reference("s", &"k".repeat(253)).is_ok());
        assert!(reference("s", &"k".repeat(254)).is_err());
        assert!(reference("s", "..").is_err());
        assert!(reference("s", "a b").is_err());
    }
}
