//! `lockbox admin audit verify`: checks the audit log's hash chain on the server's host.

use crate::server::{app, audit_log, config::Config};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify every event's MAC and the chain's head; exits 1 and names the first event where
    /// the chain breaks (an edited, moved, inserted or deleted event, the newest included).
    Verify {
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: AuditCommand) -> ExitCode {
    let AuditCommand::Verify { json } = command;
    // Never begins a missing chain: that would seal whatever the log holds now.
    let (state, _) = match app::prepare_with(config, crate::server::db::audit::Begin::Refused).await
    {
        Ok(s) => s,
        // Said as a finding about the log, not as a refusal to start.
        Err(app::StartError::Audit(problem)) => {
            eprintln!("lockbox: {problem}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("lockbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    match audit_log::verify(&state.db).await {
        Ok(verdict) => {
            if json {
                println!("{}", serde_json::to_string(&verdict).unwrap_or_default());
            } else {
                println!("{}", verdict.describe());
            }
            if verdict.broken.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("lockbox: cannot read the audit log: {e}");
            ExitCode::FAILURE
        }
    }
}
