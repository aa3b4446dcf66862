//! The command line: `lockbox serve`, `lockbox admin create-user` and the operator commands
//! (`environments …`, `projects …`).

use crate::server::{accounts, app, config::Config, environments_cli, projects_cli, telemetry};
use clap::{Parser, Subcommand};
use std::{io::BufRead, process::ExitCode};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "lockbox",
    version,
    about = "Keep your secrets and hand chosen ones to your sessions"
)]
struct Cli {
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once per run: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the web server (configured by LOCKBOX_* environment variables).
    Serve,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Sessions: `render` prints the Kubernetes objects a launch would create.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Manage environments (what sessions run).
    Environments {
        #[command(subcommand)]
        command: environments_cli::EnvironmentsCommand,
    },
    /// Manage projects (each maps to a namespace) and their members.
    Projects {
        #[command(subcommand)]
        command: projects_cli::ProjectsCommand,
    },
    /// Namespace secrets on the embedded default (what `SECRET:` references resolve against).
    NamespaceSecrets {
        #[command(subcommand)]
        command: crate::server::namespace_secrets_cli::NamespaceSecretsCommand,
    },
    /// Cluster-wide secrets: `status` shows where each source stands in each project namespace.
    ClusterSecrets {
        #[command(subcommand)]
        command: crate::server::propagation::cli::ClusterSecretsCommand,
    },
    /// Master keys: `status` (and rotation progress), `rotate`, `forget-previous`.
    Keys {
        #[command(subcommand)]
        command: crate::server::keys_cli::KeysCommand,
    },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// Print, as YAML, the objects a Kubernetes launch with these options would create, with
    /// secret values redacted.
    Render(crate::server::kube::render::RenderArgs),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from the terminal, or from the first line of
    /// standard input when it is not a terminal.
    CreateUser {
        /// The new account's username.
        username: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Delete an account: stop its sessions, delete its secrets, destroy its data key.
    DeleteUser { username: String },
    /// The audit log: `verify` checks its hash chain and reports the first event where it breaks.
    Audit {
        #[command(subcommand)]
        command: crate::server::audit_cli::AuditCommand,
    },
}

fn read_password() -> std::io::Result<Zeroizing<String>> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password("Password: ")?);
        let again = Zeroizing::new(rpassword::prompt_password("Repeat password: ")?);
        if *first != *again {
            return Err(std::io::Error::other("the passwords do not match"));
        }
        Ok(first)
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(Zeroizing::new(
            line.trim_end_matches(['\r', '\n']).to_string(),
        ))
    }
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lockbox: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match app::serve(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("lockbox: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Sessions {
            command: SessionsCommand::Render(args),
        } => {
            // The demo needs no database; another environment is looked up.
            let environment = if args.environment == crate::server::environments::DEMO {
                Ok(Some(crate::server::environments::Environment::demo()))
            } else {
                match crate::server::db::Db::connect(&config).await {
                    Ok(db) => crate::server::db::environments::get(&db, &args.environment)
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            match environment {
                Ok(Some(env)) => {
                    crate::server::kube::render::run(args, env, config.limits.max_session_bytes)
                }
                Ok(None) => {
                    eprintln!(
                        "lockbox: there is no environment named {}",
                        args.environment
                    );
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("lockbox: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::NamespaceSecrets { command } => {
            crate::server::namespace_secrets_cli::main(config, command).await
        }
        Command::ClusterSecrets { command } => {
            crate::server::propagation::cli::run(config, command).await
        }
        Command::Keys { command } => crate::server::keys_cli::run(config, command).await,
        Command::Admin {
            command: AdminCommand::DeleteUser { username },
        } => crate::server::keys_cli::delete_user(config, &username).await,
        Command::Environments { command } => {
            let (state, _) = match app::prepare(config).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("lockbox: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match environments_cli::run(&state.db, command).await {
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
        Command::Projects { command } => {
            // Built as `serve` builds it, so on Kubernetes creating a project prepares its
            // namespace with the same backend.
            let (state, _) = match app::prepare(config).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("lockbox: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let projects = crate::server::projects::Projects::of(&state);
            match projects_cli::run(&projects, command).await {
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
        Command::Admin {
            command: AdminCommand::Audit { command },
        } => crate::server::audit_cli::run(config, command).await,
        Command::Admin {
            command: AdminCommand::CreateUser { username, admin },
        } => {
            let password = match read_password() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("lockbox: cannot read the password: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let (state, _) = match app::prepare(config).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("lockbox: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match accounts::create_user(&state.db, &state.keyring, &username, password, admin).await
            {
                Ok(user) => {
                    let role = if user.is_admin { "admin" } else { "user" };
                    println!("created {role} {} ({})", user.username, user.id);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let detail: Vec<String> =
                        e.field_errors().into_iter().map(|f| f.message).collect();
                    if detail.is_empty() {
                        eprintln!("lockbox: {e}");
                    } else {
                        eprintln!("lockbox: {}", detail.join(" "));
                    }
                    ExitCode::FAILURE
                }
            }
        }
    }
}
