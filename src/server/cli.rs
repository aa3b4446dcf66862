//! The command line. Operator commands run on the server's host against its database and keys
//! (`serve`, `admin …`, `environments …`, `projects …`, …); client commands (`login`,
//! `secrets …`, `submit`, `sessions list|logs|stop`, in `crate::client`) talk to a server over
//! HTTP with a token. `lockbox --help` lists them in two groups.
//!
//! `sessions` holds both kinds: `list`, `logs` and `stop` are client commands, `render` (which
//! prints what a launch would create on Kubernetes, from the server's own environments) is an
//! operator command. One group keeps `lockbox sessions …` one word for both; the help shows
//! `sessions render` in the operator group and the rest in the client group.

use crate::client;
use crate::server::{accounts, app, config::Config, environments_cli, projects_cli, telemetry};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    /// Save a server and a personal access token (read from standard input or --token-file).
    Login(client::login::LoginArgs),
    /// Your secrets on the server: list, set (value from standard input or a file), rm.
    Secrets {
        #[command(subcommand)]
        command: client::secrets::SecretsCommand,
    },
    /// Start a session on the server, Run:AI style: `-e NAME=SECRET:<secret>,<key>`.
    Submit(client::submit::SubmitArgs),
    /// Your sessions on the server: list, logs, stop. (`render` is an operator command.)
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
    #[command(flatten)]
    Client(client::sessions::SessionsCommand),
    /// [operator] Print the Kubernetes objects a launch would create (values redacted).
    ///
    /// As YAML, checked by the launch rules and the API server's rules, from this server's
    /// environments (an operator command: it reads the server's database for them).
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
    /// List the API's endpoints (method and path) from the server's registry of server
    /// functions: for proxy rules, and for tests that must cover every endpoint.
    Endpoints,
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

/// Client commands, by top-level name; `sessions` is split by its subcommands.
const CLIENT_COMMANDS: [&str; 3] = ["login", "secrets", "submit"];
const SPLIT_COMMAND: &str = "sessions";
const OPERATOR_SUBCOMMANDS: [&str; 1] = ["render"];

/// The first sentence of a command's one-line help.
fn about(cmd: &clap::Command) -> String {
    let text = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let first = text.split(". ").next().unwrap_or_default();
    first.trim_end_matches('.').to_string()
}

/// The two groups of commands, generated from the command definitions so that a new command
/// appears (as an operator command, unless it is listed above as a client one).
fn grouped_commands(cli: &clap::Command) -> String {
    let mut operator: Vec<(String, String)> = Vec::new();
    let mut client: Vec<(String, String)> = Vec::new();
    for cmd in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = cmd.get_name();
        if name == SPLIT_COMMAND {
            let (ops, clients): (Vec<_>, Vec<_>) = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .partition(|c| OPERATOR_SUBCOMMANDS.contains(&c.get_name()));
            let names =
                |v: &[&clap::Command]| v.iter().map(|c| c.get_name()).collect::<Vec<_>>().join("|");
            client.push((format!("{name} {}", names(&clients)), about(cmd)));
            for op in ops {
                let text = about(op);
                let text = text.trim_start_matches("[operator] ").to_string();
                operator.push((format!("{name} {}", op.get_name()), text));
            }
        } else if CLIENT_COMMANDS.contains(&name) {
            client.push((name.to_string(), about(cmd)));
        } else {
            operator.push((name.to_string(), about(cmd)));
        }
    }
    let width = operator
        .iter()
        .chain(&client)
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let list = |items: &[(String, String)]| {
        items
            .iter()
            .map(|(n, a)| format!("  {n:<width$}  {a}\n"))
            .collect::<String>()
    };
    format!(
        "Operator commands (on the server's host, with its database and keys):\n{}\n\
         Client commands (over HTTP with a personal access token; see `lockbox login`):\n{}\n\
         Run `lockbox <command> --help` for a command's options.\n",
        list(&operator),
        list(&client)
    )
}

/// The command line with its help in two groups (clap has one list of subcommands).
fn command() -> clap::Command {
    let cli = Cli::command();
    let groups = grouped_commands(&cli);
    cli.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{groups}\nOptions:\n{{options}}\n"
    ))
}

pub async fn run() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Client commands need nothing of the server's configuration (and must not fail on it).
    let client = match cli.command {
        Some(Command::Login(args)) => Ok(client::Command::Login(args)),
        Some(Command::Secrets { command }) => Ok(client::Command::Secrets(command)),
        Some(Command::Submit(args)) => Ok(client::Command::Submit(args)),
        Some(Command::Sessions {
            command: SessionsCommand::Client(command),
        }) => Ok(client::Command::Sessions(command)),
        other => Err(other),
    };
    let command = match client {
        Ok(command) => return client::run(command).await,
        Err(other) => other,
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lockbox: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    match command.unwrap_or(Command::Serve) {
        Command::Serve => match app::serve(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("lockbox: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Login(_)
        | Command::Secrets { .. }
        | Command::Submit(_)
        | Command::Sessions {
            command: SessionsCommand::Client(_),
        } => unreachable!("client commands are run above"),
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
            command: AdminCommand::Endpoints,
        } => {
            let mut endpoints: Vec<String> = leptos::server_fn::axum::server_fn_paths()
                .map(|(path, method)| format!("{method} {path}"))
                .collect();
            endpoints.sort();
            println!("{}", endpoints.join("\n"));
            ExitCode::SUCCESS
        }
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
            match accounts::create_user(
                &state.db,
                &state.keyring.current(),
                &username,
                password,
                admin,
            )
            .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks: no two options share a name or a short flag, and so on.
        command().debug_assert();
    }

    #[test]
    fn help_lists_operator_and_client_commands_apart() {
        let help = grouped_commands(&Cli::command());
        let (ops, clients) = help.split_once("Client commands").unwrap();
        assert!(ops.starts_with("Operator commands"));
        for c in ["serve", "admin", "sessions render", "projects"] {
            assert!(ops.contains(&format!("  {c} ")), "{c}:\n{help}");
        }
        for c in ["login", "secrets", "submit", "sessions list|logs|stop"] {
            assert!(clients.contains(&format!("  {c} ")), "{c}:\n{help}");
        }
        assert!(
            !ops.contains("  login") && !clients.contains("render"),
            "{help}"
        );
    }
}
