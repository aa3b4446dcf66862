//! `lockbox environments add/list/rm`: managing environments until the admin view has them.

use crate::server::{
    db::{self, Db},
    environments::{check_name, Environment, Resources},
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
        /// The port the session serves on.
        #[arg(long)]
        port: Option<u16>,
        /// A shell command line for the local backend (`/bin/sh -c`).
        #[arg(long, default_value = "")]
        local_command: String,
        #[arg(long)]
        cpu_request: Option<String>,
        #[arg(long)]
        memory_request: Option<String>,
        #[arg(long)]
        cpu_limit: Option<String>,
        #[arg(long)]
        memory_limit: Option<String>,
    },
    /// Remove an environment (sessions already started keep running).
    Rm { name: String },
}

/// Runs one command; the error is a message for the terminal.
pub async fn run(db: &Db, command: EnvironmentsCommand) -> Result<String, String> {
    let fail = |e: sqlx::Error| format!("database error: {e}");
    match command {
        EnvironmentsCommand::List => {
            let envs = db::environments::list(db).await.map_err(fail)?;
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
            check_name(&name)?;
            if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
                return Err("--image must be an image reference without spaces".into());
            }
            if port == Some(0) {
                return Err("--port must be between 1 and 65535".into());
            }
            let env = Environment {
                name: name.clone(),
                description,
                image,
                command,
                args,
                port,
                resources: Resources {
                    cpu_request,
                    memory_request,
                    cpu_limit,
                    memory_limit,
                },
                local_command,
            };
            if db::environments::insert(db, &env, db::now_ms())
                .await
                .map_err(fail)?
            {
                Ok(format!("added environment {name}"))
            } else {
                Err(format!("an environment named {name} already exists"))
            }
        }
        EnvironmentsCommand::Rm { name } => {
            if db::environments::delete(db, &name).await.map_err(fail)? {
                Ok(format!("removed environment {name}"))
            } else {
                Err(format!("there is no environment named {name}"))
            }
        }
    }
}
