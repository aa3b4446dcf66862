//! `lockbox sessions render`: prints the objects a Kubernetes launch would create, as a YAML
//! stream, with placeholder values. Checked by the launch form's real rules and the API
//! server's rules, so what it prints is what a launch sends (minus the values).

use super::{manifests, rules};
use crate::{
    model::{
        extra_env,
        launch::mount_dir,
        session::{check_choices, check_extra_env_names, InjectMode, SecretChoice},
        SecretValue,
    },
    server::{
        environments::Environment,
        sessions::spec::{LaunchSpec, Values},
    },
};
use std::process::ExitCode;

pub const EXAMPLE_SESSION: &str = "3f2b8c1d-5e6a-4b7c-9d8e-0f1a2b3c4d5e";
pub const EXAMPLE_USER: &str = "6c5d4e3f-2a1b-4c0d-8e9f-a0b1c2d3e4f5";
/// Rendered Secrets name this as their owner's uid, which only exists once the Pod is created.
pub const POD_UID_PLACEHOLDER: &str = "<uid of the created Pod>";

/// Prints what a session of an environment would create on Kubernetes (values redacted).
#[derive(Clone, Debug, clap::Args)]
pub struct RenderArgs {
    /// The environment to run.
    #[arg(default_value = crate::server::environments::DEMO)]
    pub environment: String,
    /// A secret to inject: NAME, NAME:env, NAME:file, each optionally =TARGET (the variable
    /// or file name; default the secret's name). Repeatable.
    #[arg(long = "secret", value_name = "NAME[:env|:file][=TARGET]")]
    pub secrets: Vec<String>,
    /// Where file-mode secrets are mounted.
    #[arg(long, default_value = "/secrets")]
    pub mount_dir: String,
    /// An extra environment line, NAME=value or NAME=SECRET:<secret>,<key>. Repeatable.
    #[arg(long = "env", value_name = "LINE")]
    pub env: Vec<String>,
    #[arg(long, default_value = EXAMPLE_SESSION)]
    pub session_id: String,
    #[arg(long, default_value = EXAMPLE_USER)]
    pub user_id: String,
    #[arg(long, default_value = "lockbox-sessions")]
    pub namespace: String,
    /// Overrides the environment's image.
    #[arg(long)]
    pub image: Option<String>,
    /// Overrides the environment's port.
    #[arg(long)]
    pub port: Option<u16>,
}

/// `NAME[:env|:file][=TARGET]` as a launch-form row.
fn choice(raw: &str) -> SecretChoice {
    let (head, target) = raw.split_once('=').unwrap_or((raw, ""));
    let (secret, mode) = match head.rsplit_once(':') {
        Some((s, m)) => match InjectMode::parse(m) {
            Some(mode) => (s, mode),
            // Not a mode: left whole, so the name check reports it.
            None => (head, InjectMode::Env),
        },
        None => (head, InjectMode::Env),
    };
    SecretChoice {
        secret: Some(secret.to_string()),
        mode,
        name: target.to_string(),
    }
}

fn uuid(what: &str, raw: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| format!("{what} {raw:?} is not a UUID"))
}

fn yaml<T: serde::Serialize>(object: &T) -> Result<String, String> {
    serde_yaml::to_string(object).map_err(|e| format!("writing YAML: {e}"))
}

/// The objects for `args` in `environment`, as a `---`-separated YAML stream: the Secret (if
/// any secret is chosen), the Pod, the Service (if there is a port). Errors name every broken
/// rule.
pub fn render(args: &RenderArgs, mut environment: Environment) -> Result<String, String> {
    if let Some(image) = &args.image {
        environment.image = image.clone();
    }
    if args.port.is_some() {
        environment.port = args.port;
    }
    let rows: Vec<SecretChoice> = args.secrets.iter().map(|s| choice(s)).collect();
    // Every named secret counts as known: there is no user here to own them.
    let injections = check_choices(&rows, |_| true).map_err(|errors| {
        errors
            .iter()
            .map(|e| {
                let row = e
                    .field
                    .strip_prefix("secret-")
                    .and_then(|i| i.parse::<usize>().ok());
                match row.and_then(|i| args.secrets.get(i)) {
                    Some(raw) => format!("--secret {raw}: {}", e.message),
                    None => e.message.clone(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mount_dir = mount_dir(&args.mount_dir).map_err(|e| format!("--mount-dir: {e}"))?;
    let extra_env = extra_env::parse(&args.env.join("\n")).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("--env {}: {}", args.env[e.line - 1], e.message))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    check_extra_env_names(&injections, &extra_env).map_err(|e| format!("--env: {e}"))?;
    let spec = LaunchSpec {
        session_id: uuid("--session-id", &args.session_id)?,
        user_id: uuid("--user-id", &args.user_id)?,
        namespace: args.namespace.clone(),
        environment,
        mount_dir,
        injections,
        extra_env,
    };
    let placeholders = spec
        .injections
        .iter()
        .map(|_| SecretValue::new(manifests::REDACTED.into()))
        .collect();
    let objects = manifests::build(&spec, Values(placeholders), POD_UID_PLACEHOLDER)?;
    let violations = rules::check(&objects);
    if !violations.is_empty() {
        return Err(format!(
            "Kubernetes would refuse these objects:\n{}",
            violations.join("\n")
        ));
    }
    let mut docs = Vec::new();
    if let Some(secret) = &objects.secret {
        docs.push(yaml(secret)?);
    }
    docs.push(yaml(&objects.pod)?);
    if let Some(service) = &objects.service {
        docs.push(yaml(service)?);
    }
    Ok(docs.iter().map(|d| format!("---\n{d}")).collect::<String>())
}

/// Prints the rendered objects, or the problems and exits with 2.
pub fn run(args: RenderArgs, environment: Environment) -> ExitCode {
    match render(&args, environment) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests;
