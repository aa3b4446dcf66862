//! `lockbox projects list|create|delete|members|add-member|remove-member`: managing projects on
//! the server's host, against its database, through the same service as the admin API (so on
//! Kubernetes `create` prepares the namespace and `delete` removes it).

use crate::{
    model::AppError,
    server::projects::{By, Projects},
};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ProjectsCommand {
    /// List the projects with their namespaces, members and live sessions.
    List,
    /// Create a project (and, on Kubernetes, its namespace).
    Create {
        /// Its name: lower-case letters, digits and '-' (the namespace is <prefix><name>).
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a project that has no live sessions (and, on Kubernetes, the namespace Lockbox
    /// created for it).
    Delete { name: String },
    /// List a project's members.
    Members { name: String },
    /// Let a user launch sessions into a project.
    AddMember { name: String, username: String },
    /// Stop a user from launching sessions into a project (running ones keep running).
    RemoveMember { name: String, username: String },
}

/// The terminal's message for an error: the field messages when there are any.
fn message(e: AppError) -> String {
    let fields: Vec<String> = e.field_errors().into_iter().map(|f| f.message).collect();
    if fields.is_empty() {
        e.to_string()
    } else {
        fields.join(" ")
    }
}

/// Runs one command; the error is a message for the terminal.
pub async fn run(projects: &Projects<'_>, command: ProjectsCommand) -> Result<String, String> {
    let by = By::CommandLine;
    match command {
        ProjectsCommand::List => {
            let all = projects.list().await.map_err(message)?;
            let mut lines =
                vec!["NAME\tNAMESPACE\tMEMBERS\tLIVE SESSIONS\tDESCRIPTION".to_string()];
            for p in all {
                let members = if p.is_default {
                    "everyone".to_string()
                } else {
                    p.members.to_string()
                };
                lines.push(format!(
                    "{}\t{}\t{members}\t{}\t{}",
                    p.name,
                    p.namespace,
                    p.live_sessions,
                    p.description.replace(['\n', '\r', '\t'], " ")
                ));
            }
            Ok(lines.join("\n"))
        }
        ProjectsCommand::Create { name, description } => {
            let created = projects
                .create(&by, &name, &description)
                .await
                .map_err(message)?;
            let how = if created.project.namespace_created {
                "created"
            } else {
                "adopted"
            };
            let mut out = vec![format!(
                "created project {} (namespace {}, {how})",
                created.project.name, created.project.namespace
            )];
            out.extend(created.warnings.iter().map(|w| format!("warning: {w}")));
            Ok(out.join("\n"))
        }
        ProjectsCommand::Delete { name } => {
            projects.delete(&by, &name).await.map_err(message)?;
            Ok(format!("deleted project {}", name.trim()))
        }
        ProjectsCommand::Members { name } => {
            let members = projects.members(&name).await.map_err(message)?;
            if name.trim() == crate::model::projects::DEFAULT_PROJECT {
                return Ok("every user may use the default project".into());
            }
            if members.is_empty() {
                return Ok(format!("project {} has no members", name.trim()));
            }
            Ok(members
                .into_iter()
                .map(|m| m.username)
                .collect::<Vec<_>>()
                .join("\n"))
        }
        ProjectsCommand::AddMember { name, username } => {
            let m = projects
                .add_member(&by, &name, &username)
                .await
                .map_err(message)?;
            Ok(format!("added {} to project {}", m.username, name.trim()))
        }
        ProjectsCommand::RemoveMember { name, username } => {
            projects
                .remove_member(&by, &name, &username)
                .await
                .map_err(message)?;
            Ok(format!(
                "removed {} from project {}",
                username.trim(),
                name.trim()
            ))
        }
    }
}
