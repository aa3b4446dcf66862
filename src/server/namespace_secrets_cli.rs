//! `lockbox namespace-secrets set|rm|list`: namespace secrets on the embedded default, run
//! against the database by whoever holds it and the master key (an admin). Values come from
//! files (`KEY=@FILE`) or standard input (`KEY=-`), never from an argument: arguments are seen
//! in the process list and kept in shell history.

use crate::{
    model::{
        namespace_secrets::{NamespaceSecretInfo, Scope},
        rules, AppError, SecretValue,
    },
    server::{
        app,
        config::Config,
        db::Db,
        keys::Keyring,
        namespace_secrets::{self as service, By},
    },
};
use clap::{Args, Subcommand};
use std::{collections::BTreeMap, io::Read, path::PathBuf, process::ExitCode};
use zeroize::Zeroizing;

/// Where a secret lives: exactly one of a project and cluster scope.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// The project whose namespace holds the secret.
    #[arg(long)]
    project: Option<String>,
    /// Cluster scope: the secret resolves in every project.
    #[arg(long)]
    cluster: bool,
}

impl ScopeArgs {
    fn scope(&self) -> Scope {
        match &self.project {
            Some(p) => Scope::Project(p.clone()),
            None => Scope::Cluster,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum NamespaceSecretsCommand {
    /// Create a secret, or replace its whole data (keys not given are removed; the version is
    /// bumped). Each value comes from a file (KEY=@FILE) or standard input (KEY=-, at most
    /// once), exactly as read; never from an argument.
    Set {
        #[command(flatten)]
        scope: ScopeArgs,
        /// The secret's name, as `SECRET:<name>,<key>` references it.
        name: String,
        #[arg(required = true, value_name = "KEY=@FILE|KEY=-")]
        entries: Vec<String>,
    },
    /// Remove a secret.
    Rm {
        #[command(flatten)]
        scope: ScopeArgs,
        name: String,
    },
    /// List secrets (all, or one scope's): names, keys, sizes, versions and times, never values.
    List {
        #[arg(long, conflicts_with = "cluster")]
        project: Option<String>,
        #[arg(long)]
        cluster: bool,
    },
}

/// Where one key's value is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

/// Parses `KEY=@FILE` and `KEY=-` arguments. A `KEY=value` is refused; messages name keys and
/// paths, never anything that could be a value.
pub fn parse_entries(entries: &[String]) -> Result<Vec<(String, Source)>, String> {
    let mut out: Vec<(String, Source)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some((key, source)) = entry.split_once('=') else {
            return Err(format!(
                "argument {} after the name: expected KEY=@FILE or KEY=-",
                i + 1
            ));
        };
        if let Err(m) = rules::secret_key(key) {
            return Err(format!(
                "argument {} after the name: a Secret key {m}",
                i + 1
            ));
        }
        let source = match source {
            "-" => Source::Stdin,
            "@" => return Err(format!("{key}=@: name a file after the @")),
            s => match s.strip_prefix('@') {
                Some(path) => Source::File(PathBuf::from(path)),
                None => {
                    return Err(format!(
                        "{key}: values never come from arguments (the process list and shell \
                         history would show them); use {key}=@FILE to read a file or {key}=- \
                         to read standard input"
                    ))
                }
            },
        };
        if out.iter().any(|(k, _)| k == key) {
            return Err(format!("{key} is given twice"));
        }
        if source == Source::Stdin && out.iter().any(|(_, s)| *s == Source::Stdin) {
            return Err("at most one key may read standard input (KEY=-)".into());
        }
        out.push((key.to_string(), source));
    }
    Ok(out)
}

/// Reads every value, exactly as stored in its file or given on standard input.
fn read_values(
    entries: Vec<(String, Source)>,
    stdin: &mut dyn Read,
) -> Result<BTreeMap<String, SecretValue>, String> {
    let mut data = BTreeMap::new();
    for (key, source) in entries {
        let mut bytes = Zeroizing::new(Vec::new());
        let (read, from) = match &source {
            Source::Stdin => (stdin.read_to_end(&mut bytes), "standard input".to_string()),
            Source::File(path) => (
                std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)),
                path.display().to_string(),
            ),
        };
        read.map_err(|e| format!("{key}: cannot read {from}: {e}"))?;
        let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| {
            // The bytes are wiped with the error.
            drop(Zeroizing::new(e.into_bytes()));
            format!("{key}: {from} is not UTF-8 text (a value becomes an environment variable)")
        })?;
        data.insert(key, SecretValue::new(text));
    }
    Ok(data)
}

/// A failed request as one line: the field messages, or the error itself.
fn message(e: AppError) -> String {
    let fields: Vec<String> = e.field_errors().into_iter().map(|f| f.message).collect();
    if fields.is_empty() {
        e.to_string()
    } else {
        fields.join(" ")
    }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn line(s: &NamespaceSecretInfo) -> String {
    let copy = if s.propagated_from.is_some() {
        " (copy)"
    } else {
        ""
    };
    format!(
        "{}\t{}{copy}\t{}\t{}\t{}\t{}\t{}",
        s.project.as_deref().unwrap_or("(cluster)"),
        s.name,
        s.keys.join(","),
        s.size,
        s.version,
        time(s.created_at),
        time(s.updated_at),
    )
}

/// Runs one command; the error is a message for the terminal.
pub async fn run(
    db: &Db,
    keyring: &Keyring,
    max_value_bytes: usize,
    command: NamespaceSecretsCommand,
    stdin: &mut dyn Read,
) -> Result<String, String> {
    match command {
        NamespaceSecretsCommand::Set {
            scope,
            name,
            entries,
        } => {
            let entries = parse_entries(&entries)?;
            let data = read_values(entries, stdin)?;
            let scope = scope.scope();
            let s = service::set(
                db,
                keyring,
                max_value_bytes,
                By::CommandLine,
                &scope,
                &name,
                data,
            )
            .await
            .map_err(message)?;
            Ok(format!(
                "set {} in {scope}: keys {} ({} bytes), version {}",
                s.name,
                s.keys.join(", "),
                s.size,
                s.version
            ))
        }
        NamespaceSecretsCommand::Rm { scope, name } => {
            let scope = scope.scope();
            service::delete(db, By::CommandLine, &scope, &name)
                .await
                .map_err(message)?;
            Ok(format!("removed {name} in {scope}"))
        }
        NamespaceSecretsCommand::List { project, cluster } => {
            let scope = match (project, cluster) {
                (Some(p), _) => Some(Scope::Project(p)),
                (None, true) => Some(Scope::Cluster),
                (None, false) => None,
            };
            let all = service::list(db, scope.as_ref()).await.map_err(message)?;
            if all.is_empty() {
                return Ok("no namespace secrets".into());
            }
            let mut lines =
                vec!["PROJECT\tNAME\tKEYS\tBYTES\tVERSION\tCREATED\tUPDATED".to_string()];
            lines.extend(all.iter().map(line));
            Ok(lines.join("\n"))
        }
    }
}

/// `lockbox namespace-secrets …`: opens the installation and runs the command.
pub async fn main(config: Config, command: NamespaceSecretsCommand) -> ExitCode {
    if config.kube {
        eprintln!(
            "lockbox: note: this server runs sessions on Kubernetes, where references resolve \
             against the project namespace's Secrets; namespace secrets are used by the \
             embedded default only"
        );
    }
    let (state, _) = match app::prepare(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lockbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    let max = state.limits().max_value_bytes;
    let mut stdin = std::io::stdin().lock();
    match run(
        &state.db,
        &state.keyring.current(),
        max,
        command,
        &mut stdin,
    )
    .await
    {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lockbox: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn files_and_standard_input() {
        let parsed =
            parse_entries(&args(&["user=@/tmp/u", "password=-", "tls.crt=@rel/c"])).unwrap();
        assert_eq!(
            parsed,
            [
                ("user".to_string(), Source::File("/tmp/u".into())),
                ("password".to_string(), Source::Stdin),
                ("tls.crt".to_string(), Source::File("rel/c".into())),
            ]
        );
    }

    #[test]
    fn a_value_in_an_argument_is_refused_without_repeating_it() {
        let e = parse_entries(&args(&["password=hunter2-sentinel"])).unwrap_err();
        assert!(e.contains("values never come from arguments"), "{e}");
        assert!(
            e.contains("password=@FILE") && e.contains("password=-"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = parse_entries(&args(&["hunter2-sentinel"])).unwrap_err();
        assert!(!e.contains("hunter2") && e.contains("argument 1"), "{e}");
        let e = parse_entries(&args(&["bad/key=@f"])).unwrap_err();
        assert!(e.contains("argument 1") && e.contains("Secret key"), "{e}");
        // A value starting with '-' or '@@' is still a value.
        assert!(parse_entries(&args(&["k=--x"])).is_err());
        assert!(parse_entries(&args(&["k=@"]))
            .unwrap_err()
            .contains("name a file"));
    }

    #[test]
    fn standard_input_once_and_each_key_once() {
        let e = parse_entries(&args(&["a=-", "b=-"])).unwrap_err();
        assert!(e.contains("at most one"), "{e}");
        let e = parse_entries(&args(&["a=@x", "a=@y"])).unwrap_err();
        assert!(e.contains("a is given twice"), "{e}");
    }

    #[test]
    fn values_are_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v");
        std::fs::write(&file, "from a file\n").unwrap();
        let entries = vec![
            ("f".to_string(), Source::File(file.clone())),
            ("s".to_string(), Source::Stdin),
        ];
        let mut stdin: &[u8] = b"from stdin";
        let data = read_values(entries, &mut stdin).unwrap();
        assert_eq!(data["f"].expose(), "from a file\n");
        assert_eq!(data["s"].expose(), "from stdin");
        std::fs::write(&file, [0xff, 0xfe, b's', b'e', b'n']).unwrap();
        let e = read_values(vec![("f".into(), Source::File(file))], &mut &b""[..]).unwrap_err();
        assert!(e.contains("not UTF-8"), "{e}");
        let e = read_values(
            vec![("f".into(), Source::File(dir.path().join("missing")))],
            &mut &b""[..],
        )
        .unwrap_err();
        assert!(e.starts_with("f: cannot read"), "{e}");
    }
}
