//! `lockbox environments add/list/rm`: the operator's side of the admin page's environments,
//! through the same service and the same rules ([`crate::model::environments::validate`]).

use crate::{
    model::{environments::EnvironmentForm, AppError},
    server::{
        db::{self, Db},
        environments_service as service,
        projects::By,
    },
};
use clap::Subcommand;

// Parsed once per run: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum EnvironmentsCommand {
    /// List the environments.
    List,
    /// Add an environment.
    Add {
        /// Its name: lower-case letters, digits and '-'.
        name: String,
        /// Container image for the Kubernetes backend.
        #[arg(long)]
        image: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Container command (repeat for each word); the image's own when left out.
        #[arg(long = "command")]
        command: Vec<String>,
        /// Container arguments (repeat for each).
        #[arg(long = "arg")]
        args: Vec<String>,
        /// The port the session serves on (1 to 65535).
        #[arg(long, default_value = "")]
        port: String,
        /// A shell command line for the local backend (`/bin/sh -c`).
        #[arg(long, default_value = "")]
        local_command: String,
        /// Kubernetes quantities, such as 500m or 256Mi.
        #[arg(long, default_value = "")]
        cpu_request: String,
        #[arg(long, default_value = "")]
        memory_request: String,
        #[arg(long, default_value = "")]
        cpu_limit: String,
        #[arg(long, default_value = "")]
        memory_limit: String,
    },
    /// Remove an environment (sessions already started keep running).
    Rm { name: String },
}

/// What the terminal shows for a refusal: each field's message on a line of its own (the same
/// messages the admin page shows next to its fields).
fn message(e: AppError) -> String {
    let fields = e.field_errors();
    if fields.is_empty() {
        e.to_string()
    } else {
        fields
            .into_iter()
            .map(|f| f.message)
            .collect::<Vec<_>>()
            .join("\nlockbox: ")
    }
}

/// Runs one command; the error is a message for the terminal.
pub async fn run(db: &Db, command: EnvironmentsCommand) -> Result<String, String> {
    match command {
        EnvironmentsCommand::List => {
            let envs = db::environments::list(db)
                .await
                .map_err(|e| format!("database error: {e}"))?;
            if envs.is_empty() {
                return Ok("no environments".into());
            }
            let lines: Vec<String> = envs
                .iter()
                .map(|e| {
                    let port = e.port.map(|p| format!(" port {p}")).unwrap_or_default();
                    format!("{}\t{}{port}\t{}", e.name, e.image, e.description)
                })
                .collect();
            Ok(lines.join("\n"))
        }
        EnvironmentsCommand::Add {
            name,
            image,
            description,
            command,
            args,
            port,
            local_command,
            cpu_request,
            memory_request,
            cpu_limit,
            memory_limit,
        } => {
            let form = EnvironmentForm {
                name,
                description,
                image,
                command,
                args,
                port,
                local_command,
                cpu_request,
                memory_request,
                cpu_limit,
                memory_limit,
            };
            let env = service::create(db, &By::CommandLine, &form)
                .await
                .map_err(message)?;
            Ok(format!("added environment {}", env.name))
        }
        EnvironmentsCommand::Rm { name } => {
            service::delete(db, &By::CommandLine, &name)
                .await
                .map_err(message)?;
            Ok(format!("removed environment {}", name.trim()))
        }
    }
}
