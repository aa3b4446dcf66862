//! `lockbox submit`: launches a session the Run:AI way (`-e NAME=SECRET:<secret>,<key>`),
//! with the launch form's rules and messages. The server's launch validation decides; before
//! sending, the client runs the same function (`model::launch::validate`) on what it can judge
//! alone (syntax, names, the mount directory), so a malformed command fails with exit 2 and
//! the form's own messages, without a request.

use super::{
    error::ClientError,
    follow,
    http::Api,
    output::{self, Format, OutputArgs},
    sessions,
};
use crate::model::{
    launch::{self, Backend, EnvironmentFacts, KnownSecret, LaunchContext, LaunchForm},
    projects, references,
    session::{SecretChoice, SessionInfo},
    FieldError, SecretName,
};
use std::process::ExitCode;

/// The environment a fresh install has, used when none is named.
pub const DEFAULT_ENVIRONMENT: &str = "demo";

/// Start a session on the server (Run:AI's `runai submit`).
#[derive(Clone, Debug, clap::Args)]
pub struct SubmitArgs {
    /// The environment to run.
    #[arg(default_value = DEFAULT_ENVIRONMENT)]
    pub environment: String,
    /// The project to run in (default: the default project).
    #[arg(long, short = 'p')]
    pub project: Option<String>,
    /// An extra variable: NAME=value, or NAME=SECRET:<secret>,<key> for a key of a Secret in
    /// the project's namespace (as `runai submit -e`). Repeatable.
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// One of your secrets: NAME (a variable named after it), NAME:env=VAR, NAME:file or
    /// NAME:file=FILE (a read-only file in the mount directory). Repeatable.
    #[arg(long = "secret", value_name = "NAME[:env|:file][=TARGET]")]
    pub secrets: Vec<String>,
    /// Where file secrets are mounted (default /secrets).
    #[arg(long, value_name = "DIR")]
    pub mount_dir: Option<String>,
    /// Print the session's output until it ends (Ctrl-C stops following and leaves it
    /// running).
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl SubmitArgs {
    fn rows(&self) -> Vec<SecretChoice> {
        self.secrets
            .iter()
            .map(|s| SecretChoice::from_flag(s))
            .collect()
    }

    /// The launch form's extra lines, one per `-e`.
    fn extra_env(&self) -> Result<String, ClientError> {
        if let Some(i) = self.env.iter().position(|e| e.contains(['\n', '\r'])) {
            return Err(ClientError::usage(format!(
                "-e number {}: a variable must be one line (NAME=value)",
                i + 1
            )));
        }
        Ok(self.env.join("\n"))
    }

    /// Names a form field by the option it came from.
    fn label(&self, field: &str) -> String {
        let row = field
            .strip_prefix("secret-")
            .and_then(|i| i.parse::<usize>().ok());
        match (row.and_then(|i| self.secrets.get(i)), field) {
            (Some(raw), _) => format!("--secret {raw}"),
            (None, "mount_dir") => "--mount-dir".into(),
            (None, "extra_env") => "-e".into(),
            (None, "secrets") => "--secret".into(),
            (None, "project") => "--project".into(),
            (None, "environment") => "ENVIRONMENT".into(),
            (None, other) => other.into(),
        }
    }
}

/// What the client can judge alone, by the launch rules themselves: every named secret is
/// taken to exist (the server knows which do) with no size (the server knows the sizes), the
/// environment and project to exist and run anywhere. What remains are the rules of the
/// command's own text, with the form's messages.
pub fn precheck(form: &LaunchForm<'_>) -> Result<(), Vec<FieldError>> {
    let mut known: Vec<KnownSecret> = Vec::new();
    for name in form
        .rows
        .iter()
        .filter_map(|r| r.secret.as_deref())
        .filter_map(|s| SecretName::parse(s.trim()).ok())
    {
        if !known
            .iter()
            .any(|k| k.name.eq_ignore_ascii_case(name.as_str()))
        {
            known.push(KnownSecret {
                name: name.to_string(),
                bytes: 0,
            });
        }
    }
    let ctx = LaunchContext {
        environment: Some(EnvironmentFacts {
            name: form.environment,
            runs_locally: true,
        }),
        project: Some(projects::chosen(form.project)),
        known: &known,
        backend: Backend::Kubernetes,
        max_session_bytes: usize::MAX,
    };
    let valid = launch::validate(form, &ctx)?;
    let refused = references::refuse_by_name(&valid.extra_env);
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

/// The command's own text, judged before anything else (also before a login is looked for):
/// exit 2 with the form's messages, named by option.
pub fn check(args: &SubmitArgs) -> Result<(), ClientError> {
    let rows = args.rows();
    let extra_env = args.extra_env()?;
    let project = args.project.clone().unwrap_or_default();
    let mount_dir = args.mount_dir.clone().unwrap_or_default();
    let form = LaunchForm {
        environment: &args.environment,
        project: &project,
        rows: &rows,
        mount_dir: &mount_dir,
        extra_env: &extra_env,
    };
    precheck(&form).map_err(|fields| {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", args.label(&one.field), one.message),
            _ => format!("{} options need attention.", fields.len()),
        };
        ClientError::Usage { message, fields }.relabel(|f| args.label(f))
    })
}

pub async fn run(api: &Api, args: SubmitArgs) -> Result<ExitCode, ClientError> {
    check(&args)?;
    let rows = args.rows();
    let extra_env = args.extra_env()?;
    let project = args.project.clone().unwrap_or_default();
    let mount_dir = args.mount_dir.clone().unwrap_or_default();

    let mut body: Vec<(String, String)> = vec![
        ("environment".into(), args.environment.clone()),
        ("project".into(), project.clone()),
        ("mount_dir".into(), mount_dir.clone()),
        ("extra_env".into(), extra_env.clone()),
    ];
    for (i, row) in rows.iter().enumerate() {
        body.push((
            format!("secrets[{i}][secret]"),
            row.secret.clone().unwrap_or_default(),
        ));
        body.push((format!("secrets[{i}][mode]"), row.mode.as_str().into()));
        body.push((format!("secrets[{i}][name]"), row.name.clone()));
    }
    let body: Vec<(&str, &str)> = body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (session, json) = api
        .call_as::<SessionInfo>("sessions/launch", &body)
        .await
        .map_err(|e| e.relabel(|f| args.label(f)))?;

    let format = args.out.output;
    match format {
        Format::Json if args.follow => {
            // JSON Lines: the session first, then the output reads.
            println!(
                "{}",
                serde_json::to_string(&json).expect("a JSON value serialises")
            )
        }
        Format::Json => print!("{}", output::json(&json)),
        // With --follow, standard output carries only the session's output.
        Format::Table if args.follow => {
            eprint!("{}", sessions::table(std::slice::from_ref(&session)))
        }
        Format::Table => {
            print!("{}", sessions::table(std::slice::from_ref(&session)));
            println!(
                "Follow its output with: lockbox sessions logs --follow {}",
                session.id
            );
        }
    }
    if args.follow {
        return follow::follow(api, &session.id, 0, format).await;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: SubmitArgs,
    }

    fn args(argv: &[&str]) -> SubmitArgs {
        Wrap::try_parse_from(std::iter::once("submit").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    fn check(a: &SubmitArgs) -> Result<(), Vec<FieldError>> {
        let rows = a.rows();
        let extra = a.extra_env().unwrap();
        let project = a.project.clone().unwrap_or_default();
        let mount = a.mount_dir.clone().unwrap_or_default();
        precheck(&LaunchForm {
            environment: &a.environment,
            project: &project,
            rows: &rows,
            mount_dir: &mount,
            extra_env: &extra,
        })
    }

    #[test]
    fn a_runai_style_command_passes() {
        let a = args(&[
            "-e",
            "MYUSERNAME=SECRET:my-secret,username",
            "-e",
            "MODE=train",
            "--secret",
            "DB_PASSWORD:env=PGPASSWORD",
            "--secret",
            "TLS_KEY:file=tls.key",
            "--project",
            "ml",
        ]);
        assert_eq!(a.environment, DEFAULT_ENVIRONMENT);
        check(&a).unwrap();
    }

    #[test]
    fn what_the_form_refuses_is_refused_here_with_its_words() {
        let a = args(&[
            "-e",
            "9X=1",
            "--secret",
            "A:file=../x",
            "--secret",
            "B",
            "--secret",
            "b",
            "--mount-dir",
            "/etc/x",
        ]);
        let e = check(&a).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["secret-0", "secret-2", "mount_dir", "extra_env"]);
        assert!(e[1].message.contains("chosen more than once"), "{e:?}");
        assert!(e[2].message.contains("system directory /etc"), "{e:?}");
        assert!(e[3].message.starts_with("Line 1: "), "{e:?}");
        assert_eq!(a.label("secret-2"), "--secret b");
        assert_eq!(a.label("extra_env"), "-e");
        // A session Secret is refused by its name, as the server would.
        let a = args(&["-e", "X=SECRET:lockbox-s-3f2b8c1d,DB"]);
        let e = check(&a).unwrap_err();
        assert_eq!(e[0].field, "extra_env");
        assert!(e[0].message.contains("session Secret"), "{e:?}");
    }

    #[test]
    fn what_only_the_server_knows_is_left_to_it() {
        // Secrets that may not exist, any environment, any project: the server decides.
        let a = args(&[
            "gpu-notebook",
            "--secret",
            "MAYBE_MISSING",
            "-p",
            "nobody-knows",
        ]);
        check(&a).unwrap();
    }

    #[test]
    fn a_variable_is_one_line() {
        let a = args(&["-e", "A=1\nB=2"]);
        assert_eq!(a.extra_env().unwrap_err().exit_code(), 2);
    }
}
