//! `lockbox sessions list | logs ID [--follow] | stop ID`: the signed-in user's own sessions
//! on a server. (`sessions render`, an operator command, lives beside these in the same group:
//! see `server::cli`.)

use super::{
    error::ClientError,
    follow,
    http::Api,
    output::{self, Format, OutputArgs},
};
use crate::model::session::SessionInfo;
use std::process::ExitCode;

#[derive(Clone, Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// List your sessions on the server, newest first.
    List(OutputArgs),
    /// Print a session's output.
    Logs {
        /// The session's id (from `sessions list` or `submit`).
        id: String,
        /// Keep printing new output until the session ends (Ctrl-C stops following and leaves
        /// the session running).
        #[arg(long, short = 'f')]
        follow: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Stop a session (stopping a stopped session is fine).
    Stop {
        id: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

impl SessionsCommand {
    pub fn format(&self) -> Format {
        match self {
            Self::List(out) | Self::Logs { out, .. } | Self::Stop { out, .. } => out.output,
        }
    }
}

/// The injected secrets as `NAME→TARGET (mode)`, names only.
fn injected(s: &SessionInfo) -> String {
    if s.injected.is_empty() {
        return "-".into();
    }
    s.injected
        .iter()
        .map(|i| {
            if i.secret == i.target {
                format!("{} ({})", i.secret, i.mode.as_str())
            } else {
                format!("{}→{} ({})", i.secret, i.target, i.mode.as_str())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn table(sessions: &[SessionInfo]) -> String {
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.environment.clone(),
                s.project.clone(),
                s.status.as_str().to_string(),
                output::time(s.started_at),
                injected(s),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "ENVIRONMENT",
            "PROJECT",
            "STATUS",
            "STARTED",
            "SECRETS",
        ],
        &rows,
    )
}

pub async fn run(api: &Api, command: SessionsCommand) -> Result<ExitCode, ClientError> {
    let format = command.format();
    match command {
        SessionsCommand::List(_) => {
            let (list, json) = api
                .call_as::<Vec<SessionInfo>>("sessions/list", &[])
                .await?;
            match format {
                Format::Json => print!("{}", output::json(&json)),
                Format::Table if list.is_empty() => println!("You have no sessions."),
                Format::Table => print!("{}", table(&list)),
            }
        }
        SessionsCommand::Logs { id, follow, .. } => {
            if follow {
                return follow::follow(api, &id, 0, format).await;
            }
            let chunk = follow::read_all(api, &id, 0).await?;
            if chunk.skipped > 0 && format == Format::Table {
                eprintln!(
                    "lockbox: the oldest {} bytes of output are no longer kept",
                    chunk.skipped
                );
            }
            match format {
                Format::Json => print!(
                    "{}",
                    output::json(&serde_json::to_value(&chunk).expect("plain data"))
                ),
                Format::Table => print!("{}", chunk.text),
            }
        }
        SessionsCommand::Stop { id, .. } => {
            let (s, json) = api
                .call_as::<SessionInfo>("sessions/stop", &[("id", &id)])
                .await?;
            match format {
                Format::Json => print!("{}", output::json(&json)),
                Format::Table => println!("Session {} ({}) stopped.", s.id, s.environment),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::{InjectMode, Injection, SessionStatus};

    #[test]
    fn the_table_shows_names_and_modes_only() {
        let s = SessionInfo {
            id: "3f2b8c1d".into(),
            environment: "demo".into(),
            project: "default".into(),
            backend: "local".into(),
            status: SessionStatus::Running,
            status_detail: None,
            injected: vec![
                Injection {
                    secret: "DB".into(),
                    mode: InjectMode::Env,
                    target: "DB".into(),
                },
                Injection {
                    secret: "KEY".into(),
                    mode: InjectMode::File,
                    target: "tls.key".into(),
                },
            ],
            mount_dir: "/secrets".into(),
            started_at: 0,
            stopped_at: None,
            url: None,
        };
        assert_eq!(
            table(&[s]),
            "ID        ENVIRONMENT  PROJECT  STATUS   STARTED           SECRETS\n\
             3f2b8c1d  demo         default  running  1970-01-01 00:00  DB (env), KEY→tls.key (file)\n"
        );
    }
}
