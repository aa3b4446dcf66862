//! Sessions as the browser and API clients see them, and the launch form's rules for chosen
//! secrets (pure, so they can run anywhere).

use super::{extra_env, rules, Code, FieldError, RuleError, SecretName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a chosen secret reaches the session.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum InjectMode {
    /// An environment variable.
    #[default]
    Env,
    /// A read-only file in the mount directory.
    File,
}

impl InjectMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::File => "file",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "env" => Some(Self::Env),
            "file" => Some(Self::File),
            _ => None,
        }
    }
}

/// One row of the launch form. A row without `secret` was not chosen (a plain HTML form sends
/// the mode and name of every row, but the secret only when its box is ticked).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretChoice {
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub mode: InjectMode,
    /// The variable or file name; empty means the secret's own name.
    #[serde(default)]
    pub name: String,
}

impl SecretChoice {
    /// A row as the command line writes it, `NAME[:env|:file][=TARGET]` (`lockbox submit` and
    /// `lockbox sessions render`): the mode defaults to env and the target to the secret's name.
    pub fn from_flag(raw: &str) -> Self {
        let (head, target) = raw.split_once('=').unwrap_or((raw, ""));
        let (secret, mode) = match head.rsplit_once(':') {
            Some((s, m)) => match InjectMode::parse(m) {
                Some(mode) => (s, mode),
                // Not a mode: left whole, so the name check reports it.
                None => (head, InjectMode::Env),
            },
            None => (head, InjectMode::Env),
        };
        Self {
            secret: Some(secret.to_string()),
            mode,
            name: target.to_string(),
        }
    }
}

/// A chosen secret after validation: which secret, how, and under which name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injection {
    pub secret: String,
    pub mode: InjectMode,
    /// The environment variable name or the file name.
    pub target: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Starting,
    Running,
    Failed,
    Stopped,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "starting" => Some(Self::Starting),
            "running" => Some(Self::Running),
            "failed" => Some(Self::Failed),
            "stopped" => Some(Self::Stopped),
            _ => None,
        }
    }

    /// Whether the session may still be using resources (and can be stopped).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Starting | Self::Running)
    }
}

/// A session as listed: what it runs, what it received (names and modes, never values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub environment: String,
    /// The project it was launched into (by name: the record outlives the project).
    pub project: String,
    pub backend: String,
    pub status: SessionStatus,
    /// Why it failed or stopped, when known.
    pub status_detail: Option<String>,
    pub injected: Vec<Injection>,
    pub mount_dir: String,
    /// Unix time in milliseconds.
    pub started_at: i64,
    pub stopped_at: Option<i64>,
    /// Where "Open" goes, when the environment serves a port.
    pub url: Option<String>,
}

/// An environment as the launch form offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    pub name: String,
    pub description: String,
    pub image: String,
    pub port: Option<u16>,
}

/// Variables Lockbox sets itself in every session; a secret may not take their names.
pub const RESERVED_ENV: [&str; 2] = ["PORT", "SECRETS_DIR"];
pub use super::rules::MAX_TARGET;
/// The most secrets one session may receive.
pub const MAX_INJECTIONS: usize = 100;

/// A file name in the mount directory (the one rule: [`rules::file_name`]).
pub fn check_file_name(name: &str) -> Result<(), RuleError> {
    rules::file_name(name).map_err(|e| e.map_message(|m| format!("File name {name:?} {m}.")))
}

/// An environment variable a secret is given to.
pub fn check_env_target(name: &str) -> Result<(), RuleError> {
    if name.len() > MAX_TARGET {
        return Err(RuleError::new(
            Code::TooLong,
            format!("Variable name must be at most {MAX_TARGET} characters."),
        ));
    }
    extra_env::check_env_name(name).map_err(|e| e.map_message(|m| capitalise(&m) + "."))?;
    if RESERVED_ENV.contains(&name) {
        return Err(RuleError::new(
            Code::ReservedName,
            format!("{name} is set by Lockbox itself; choose another name."),
        ));
    }
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The form field of row `i`'s name override (errors about a row are shown there).
pub fn row_field(i: usize) -> String {
    format!("secret-{i}")
}

/// Checks the chosen secrets: each exists (`known`), is chosen once, and gets a valid name
/// that no other secret (or extra variable, `taken_env`) gets. Returns them in form order.
pub fn check_choices(
    rows: &[SecretChoice],
    known: impl Fn(&str) -> bool,
) -> Result<Vec<Injection>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen_secret = BTreeSet::new();
    // (mode, target) → the secret that took it first.
    let mut targets: BTreeMap<(InjectMode, String), String> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(secret) = row
            .secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let field = row_field(i);
        let name = match SecretName::parse(secret) {
            Ok(n) if known(n.as_str()) => n,
            _ => {
                errors.push(FieldError::new(
                    &field,
                    RuleError::new(
                        Code::Unknown,
                        format!("You have no secret named {secret:?}."),
                    ),
                ));
                continue;
            }
        };
        if !seen_secret.insert(name.key()) {
            errors.push(FieldError::new(
                &field,
                RuleError::new(Code::Duplicate, format!("{name} is chosen more than once.")),
            ));
            continue;
        }
        let target = match row.name.trim() {
            "" => name.as_str().to_string(),
            t => t.to_string(),
        };
        let check = match row.mode {
            InjectMode::Env => check_env_target(&target),
            InjectMode::File => check_file_name(&target),
        };
        if let Err(m) = check {
            errors.push(FieldError::new(&field, m));
            continue;
        }
        if let Some(first) = targets.get(&(row.mode, target.clone())) {
            let what = match row.mode {
                InjectMode::Env => "environment variable",
                InjectMode::File => "file",
            };
            errors.push(FieldError::new(
                &field,
                RuleError::new(
                    Code::Duplicate,
                    format!(
                        "{first} and {name} are both given the {what} name {target}; names must \
                         be unique."
                    ),
                ),
            ));
            continue;
        }
        targets.insert((row.mode, target.clone()), name.as_str().to_string());
        out.push(Injection {
            secret: name.as_str().to_string(),
            mode: row.mode,
            target,
        });
    }
    if out.len() > MAX_INJECTIONS {
        errors.push(FieldError::new(
            "secrets",
            RuleError::new(
                Code::LimitExceeded,
                format!("A session can receive at most {MAX_INJECTIONS} secrets."),
            ),
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Extra variables must not take a name a chosen secret or Lockbox already uses.
pub fn check_extra_env_names(
    injections: &[Injection],
    extra: &[extra_env::ExtraEnv],
) -> Result<(), RuleError> {
    for e in extra {
        if RESERVED_ENV.contains(&e.name.as_str()) {
            return Err(RuleError::new(
                Code::ReservedName,
                format!("{} is set by Lockbox itself; remove that line.", e.name),
            ));
        }
        if let Some(i) = injections
            .iter()
            .find(|i| i.mode == InjectMode::Env && i.target == e.name)
        {
            return Err(RuleError::new(
                Code::Duplicate,
                format!(
                    "{} is already given to the secret {}; use another name.",
                    e.name, i.secret
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(secret: &str, mode: InjectMode, name: &str) -> SecretChoice {
        SecretChoice {
            secret: Some(secret.into()),
            mode,
            name: name.into(),
        }
    }

    fn known(s: &str) -> bool {
        ["DB_PASSWORD", "API_TOKEN", "TLS_KEY"].contains(&s)
    }

    #[test]
    fn command_line_rows() {
        assert_eq!(
            SecretChoice::from_flag("DB"),
            row("DB", InjectMode::Env, "")
        );
        assert_eq!(
            SecretChoice::from_flag("DB:env=PGPASS"),
            row("DB", InjectMode::Env, "PGPASS")
        );
        assert_eq!(
            SecretChoice::from_flag("K:file"),
            row("K", InjectMode::File, "")
        );
        assert_eq!(
            SecretChoice::from_flag("K:file=tls.key"),
            row("K", InjectMode::File, "tls.key")
        );
        // An unknown mode stays part of the name, which the name rule then refuses.
        assert_eq!(
            SecretChoice::from_flag("K:dir"),
            row("K:dir", InjectMode::Env, "")
        );
        assert_eq!(
            SecretChoice::from_flag("K=a=b"),
            row("K", InjectMode::Env, "a=b")
        );
    }

    #[test]
    fn unchosen_rows_are_skipped_and_names_default() {
        let rows = vec![
            SecretChoice {
                secret: None,
                mode: InjectMode::File,
                name: "ignored".into(),
            },
            row("DB_PASSWORD", InjectMode::Env, ""),
            row("API_TOKEN", InjectMode::File, " token.txt "),
        ];
        let got = check_choices(&rows, known).unwrap();
        assert_eq!(
            got,
            vec![
                Injection {
                    secret: "DB_PASSWORD".into(),
                    mode: InjectMode::Env,
                    target: "DB_PASSWORD".into()
                },
                Injection {
                    secret: "API_TOKEN".into(),
                    mode: InjectMode::File,
                    target: "token.txt".into()
                },
            ]
        );
        assert_eq!(check_choices(&[], known).unwrap(), vec![]);
    }

    #[test]
    fn two_secrets_mapped_to_one_name_is_an_error() {
        let rows = vec![
            row("DB_PASSWORD", InjectMode::Env, "PASS"),
            row("API_TOKEN", InjectMode::Env, "PASS"),
        ];
        let e = check_choices(&rows, known).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "secret-1");
        assert_eq!(e[0].code, Code::Duplicate);
        assert!(
            e[0].message.contains("DB_PASSWORD and API_TOKEN"),
            "{}",
            e[0].message
        );
        // The same name as a variable and as a file does not clash.
        let rows = vec![
            row("DB_PASSWORD", InjectMode::Env, "PASS"),
            row("API_TOKEN", InjectMode::File, "PASS"),
        ];
        assert!(check_choices(&rows, known).is_ok());
        // A default name colliding with an override.
        let rows = vec![
            row("DB_PASSWORD", InjectMode::File, "API_TOKEN"),
            row("API_TOKEN", InjectMode::File, ""),
        ];
        assert_eq!(
            check_choices(&rows, known).unwrap_err()[0].field,
            "secret-1"
        );
    }

    #[test]
    fn bad_names_unknown_and_repeated_secrets() {
        let rows = vec![
            row("DB_PASSWORD", InjectMode::Env, "1BAD"),
            row("API_TOKEN", InjectMode::File, "../etc/passwd"),
            row("TLS_KEY", InjectMode::Env, "PORT"),
            row("NOPE", InjectMode::Env, ""),
        ];
        let e = check_choices(&rows, known).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["secret-0", "secret-1", "secret-2", "secret-3"]);
        let codes: Vec<_> = e.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "invalid_first_character",
                "invalid_character",
                "reserved_name",
                "unknown"
            ]
        );
        assert!(e[3].message.contains("no secret named \"NOPE\""));
        let rows = vec![
            row("DB_PASSWORD", InjectMode::Env, ""),
            row("DB_PASSWORD", InjectMode::File, ""),
        ];
        let e = check_choices(&rows, known).unwrap_err();
        assert_eq!(e[0].code, Code::Duplicate);
    }

    #[test]
    fn file_names() {
        for ok in [
            "token",
            "db.password",
            "a-b_c.txt",
            ".hidden",
            "x".repeat(128).as_str(),
        ] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "..x", "a/b", "a b", "ü", &"x".repeat(129)] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extra_env_cannot_shadow_a_secret_or_lockbox() {
        let inj = vec![Injection {
            secret: "DB_PASSWORD".into(),
            mode: InjectMode::Env,
            target: "PGPASSWORD".into(),
        }];
        let extra = extra_env::parse("PGPASSWORD=x").unwrap();
        let e = check_extra_env_names(&inj, &extra).unwrap_err();
        assert_eq!(e.code, Code::Duplicate);
        assert!(e.message.contains("DB_PASSWORD"));
        let extra = extra_env::parse("PORT=1").unwrap();
        assert_eq!(
            check_extra_env_names(&inj, &extra).unwrap_err().code,
            Code::ReservedName
        );
        let extra = extra_env::parse("OTHER=1").unwrap();
        assert!(check_extra_env_names(&inj, &extra).is_ok());
    }
}

/// A piece of a session's output, read with a cursor (`/api/sessions/logs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    /// The output from the requested offset on (or the newest, without one).
    pub text: String,
    /// The absolute byte offset just after `text` (over everything the session wrote): pass it
    /// as `after` next time to get what follows, with no repeat and no gap.
    pub next: u64,
    /// Bytes after the requested offset that are no longer kept (the buffer dropped them
    /// before they were read), so `text` does not follow on directly; 0 normally.
    #[serde(default)]
    pub skipped: u64,
}
