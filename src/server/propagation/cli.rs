//! `lockbox cluster-secrets …`, run against the database.

use super::status;
use crate::server::{config::Config, db::Db};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ClusterSecretsCommand {
    /// Where each cluster-wide source stands in each project namespace (synced version and
    /// time, conflict, error, skipped), and whether propagation is running or stalled.
    Status {
        /// Print JSON (as the admin API returns it) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: ClusterSecretsCommand) -> ExitCode {
    match status_text(&config, command).await {
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

async fn status_text(config: &Config, command: ClusterSecretsCommand) -> Result<String, String> {
    let ClusterSecretsCommand::Status { json } = command;
    let db = Db::connect(config).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let failed = |e: sqlx::Error| format!("reading the propagation status failed: {e}");
    let rows = status::list(&db).await.map_err(failed)?;
    let controllers = status::controllers(&db, crate::server::db::now_ms())
        .await
        .map_err(failed)?;
    if json {
        let all = crate::model::propagation::ClusterSecretsReport { rows, controllers };
        return serde_json::to_string_pretty(&all).map_err(|e| e.to_string());
    }
    let mut out = status::table(&rows);
    if !controllers.is_empty() {
        out = format!("{}\n\n{out}", status::health_lines(&controllers));
    }
    Ok(out)
}
