//! `lockbox sessions render`: prints the objects a Kubernetes launch would create, as a YAML
//! stream, with placeholder values. Checked by the launch form's real rules and the API
//! server's rules, so what it prints is what a launch sends (minus the values).

use super::{manifests, references, rules};
use crate::{
    model::{
        launch::{self, KnownSecret, LaunchContext, LaunchForm},
        session::SecretChoice,
        FieldError, SecretName, SecretValue,
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
/// Rendered objects carry this installation id (a real one comes from the database).
pub const EXAMPLE_INSTALLATION: &str = "0123456789abcdef0123456789abcdef";

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
    /// The size assumed for each secret's value, for the launch's size limit (render has no
    /// values).
    #[arg(long, default_value_t = 1)]
    pub value_bytes: usize,
}

fn uuid(what: &str, raw: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| format!("{what} {raw:?} is not a UUID"))
}

fn yaml<T: serde::Serialize>(object: &T) -> Result<String, String> {
    serde_yaml::to_string(object).map_err(|e| format!("writing YAML: {e}"))
}

/// Names a launch-rule error by the command-line flag it came from.
fn flag_error(args: &RenderArgs, e: &FieldError) -> String {
    let row = e
        .field
        .strip_prefix("secret-")
        .and_then(|i| i.parse::<usize>().ok());
    match (row.and_then(|i| args.secrets.get(i)), e.field.as_str()) {
        (Some(raw), _) => format!("--secret {raw}: {}", e.message),
        (None, "mount_dir") => format!("--mount-dir: {}", e.message),
        (None, "extra_env") => format!("--env: {}", e.message),
        (None, "secrets") => format!("--secret: {}", e.message),
        (None, field) => format!("{field}: {}", e.message),
    }
}

/// The objects for `args` in `environment`, as a `---`-separated YAML stream: the Secret (if
/// any secret is chosen), the Pod, the Service (if there is a port). The launch is checked by
/// the launch rules (`model::launch::validate`, with every named secret taken as
/// `--value-bytes` long and `max_session_bytes` as the limit), by the reference rule, and by
/// the API server's rules. Errors name every broken rule.
pub fn render(
    args: &RenderArgs,
    mut environment: Environment,
    max_session_bytes: usize,
) -> Result<String, String> {
    if let Some(image) = &args.image {
        environment.image = image.clone();
    }
    if args.port == Some(0) {
        // A Pod's containerPort and a Service's port start at 1: the API server refuses 0.
        return Err("--port: a port is 1 to 65535, not 0".into());
    }
    if args.port.is_some() {
        environment.port = args.port;
    }
    let rows: Vec<SecretChoice> = args
        .secrets
        .iter()
        .map(|s| SecretChoice::from_flag(s))
        .collect();
    // Every well-formed secret name counts as one of the user's, with the assumed size.
    let mut known: Vec<KnownSecret> = Vec::new();
    for row in &rows {
        let Some(name) = row
            .secret
            .as_deref()
            .and_then(|s| SecretName::parse(s).ok())
        else {
            continue;
        };
        if !known
            .iter()
            .any(|k| k.name.eq_ignore_ascii_case(name.as_str()))
        {
            known.push(KnownSecret {
                name: name.to_string(),
                bytes: args.value_bytes,
            });
        }
    }
    let extra_text = args.env.join("\n");
    let form = LaunchForm {
        environment: &args.environment,
        project: "",
        rows: &rows,
        mount_dir: &args.mount_dir,
        extra_env: &extra_text,
    };
    let ctx = LaunchContext {
        environment: Some(launch::EnvironmentFacts {
            name: &environment.name,
            runs_locally: !environment.local_command.trim().is_empty(),
        }),
        project: Some(crate::model::projects::DEFAULT_PROJECT),
        known: &known,
        backend: launch::Backend::Kubernetes,
        max_session_bytes,
    };
    let valid = launch::validate(&form, &ctx)
        .and_then(|v| {
            let refused = references::refuse_by_name(&v.extra_env);
            if refused.is_empty() {
                Ok(v)
            } else {
                Err(refused)
            }
        })
        .map_err(|errors| {
            errors
                .iter()
                .map(|e| flag_error(args, e))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    let spec = LaunchSpec {
        session_id: uuid("--session-id", &args.session_id)?,
        user_id: uuid("--user-id", &args.user_id)?,
        project: crate::model::projects::DEFAULT_PROJECT.into(),
        namespace: args.namespace.clone(),
        environment,
        mount_dir: valid.mount_dir,
        injections: valid.injections,
        extra_env: valid.extra_env,
    };
    let placeholders = spec
        .injections
        .iter()
        .map(|_| SecretValue::new(manifests::REDACTED.into()))
        .collect();
    let mut objects = manifests::build(&spec, Values(placeholders), POD_UID_PLACEHOLDER)?;
    objects.set_installation(EXAMPLE_INSTALLATION);
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
pub fn run(args: RenderArgs, environment: Environment, max_session_bytes: usize) -> ExitCode {
    match render(&args, environment, max_session_bytes) {
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

#[cfg(test)]
mod proptests {
    //! `sessions render` over generated arguments: it never panics, and what it prints is a
    //! YAML stream of objects whose names and variables the API server accepts.

    use super::*;
    use crate::model::proptests::{around, k8s_secret_key, k8s_subdomain, label_like};
    use proptest::prelude::*;

    fn args() -> impl Strategy<Value = RenderArgs> {
        (
            prop::collection::vec(
                around("[A-D][A-D_]{0,3}(:env|:file)?(=[A-Za-z_.]{1,6})?"),
                0..4,
            ),
            prop::collection::vec(
                around("[A-Z_]{1,5}=([ -~]{0,10}|SECRET:[a-z]{1,5},[a-z.]{1,5})"),
                0..4,
            ),
            prop_oneof![Just("/secrets".to_string()), around("/[a-z./]{0,20}")],
            prop_oneof![Just("lockbox-sessions".to_string()), around(label_like())],
            prop::option::of(0u16..3),
            (0usize..2_000_000, any::<bool>()),
        )
            .prop_map(
                |(secrets, env, mount_dir, namespace, port, (value_bytes, bad_id))| RenderArgs {
                    environment: crate::server::environments::DEMO.into(),
                    secrets,
                    mount_dir,
                    env,
                    session_id: if bad_id {
                        "not-a-uuid".into()
                    } else {
                        EXAMPLE_SESSION.into()
                    },
                    user_id: EXAMPLE_USER.into(),
                    namespace,
                    image: None,
                    port,
                    value_bytes,
                },
            )
    }

    fn names(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let (Some(serde_json::Value::String(n)), true) = (
                    map.get("name"),
                    map.contains_key("value") || map.contains_key("valueFrom"),
                ) {
                    out.push(n.clone());
                }
                map.values().for_each(|v| names(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| names(v, out)),
            _ => {}
        }
    }

    /// Every port number in an object (`containerPort`, `port`, `targetPort`).
    fn ports(value: &serde_json::Value, out: &mut Vec<i64>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v.as_i64()) {
                        ("containerPort" | "port" | "targetPort", Some(p)) => out.push(p),
                        _ => ports(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| ports(v, out)),
            _ => {}
        }
    }

    proptest! {
        #[test]
        fn render_arguments(args in args()) {
            match render(&args, Environment::demo(), 1024 * 1024) {
                Ok(text) => {
                    prop_assert!(!text.contains('\0'));
                    for doc in text.split("---\n").filter(|d| !d.trim().is_empty()) {
                        let object: serde_json::Value = serde_yaml::from_str(doc).unwrap();
                        let mut numbers = Vec::new();
                        ports(&object, &mut numbers);
                        prop_assert!(numbers.iter().all(|p| (1..=65535).contains(p)), "{:?}", numbers);
                        let name = object["metadata"]["name"].as_str().unwrap();
                        prop_assert!(k8s_subdomain(name), "{:?}", name);
                        if object["kind"] == "Secret" {
                            for key in object["data"].as_object().into_iter().flat_map(|m| m.keys())
                                .chain(object["stringData"].as_object().into_iter().flat_map(|m| m.keys()))
                            {
                                prop_assert!(k8s_secret_key(key), "{:?}", key);
                            }
                        }
                        if object["kind"] == "Pod" {
                            let mut env = Vec::new();
                            for c in object["spec"]["containers"].as_array().unwrap() {
                                names(&c["env"], &mut env);
                            }
                            let distinct: std::collections::BTreeSet<&String> = env.iter().collect();
                            prop_assert_eq!(distinct.len(), env.len(), "{:?}", env);
                            for n in &env {
                                prop_assert!(!n.is_empty() && !n.contains('=') && n.is_ascii(), "{:?}", n);
                            }
                        }
                    }
                }
                Err(message) => prop_assert!(!message.is_empty()),
            }
        }
    }
}
