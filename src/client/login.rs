//! `lockbox login --server URL`: the token comes from standard input or `--token-file` (never
//! an argument), is checked against `/api/whoami`, then saved with the server.

use super::{
    config,
    error::ClientError,
    http::Api,
    input,
    output::{self, Format, OutputArgs},
};
use crate::model::UserInfo;
use std::{path::PathBuf, process::ExitCode};

/// Save a server and a personal access token for the client commands.
#[derive(Clone, Debug, clap::Args)]
pub struct LoginArgs {
    /// The server, for example https://lockbox.example.com.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// Read the token from this file (otherwise from standard input, or a hidden prompt).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

pub async fn run(
    args: LoginArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ExitCode, ClientError> {
    let server = config::server_url(&args.server)?;
    let path = config::path(env)?;
    let token = match &args.token_file {
        Some(file) => config::token(
            input::file_text(file, "the token")?,
            &file.display().to_string(),
        )?,
        None => config::token(input::stdin_text("Token: ")?, "standard input")?,
    };
    if config::is_plaintext_remote(&server) {
        eprintln!(
            "lockbox: warning: {server} is plain http to another machine: the token travels \
             unencrypted. Use https://."
        );
    }
    let api = Api::new(&server, &token)?;
    // whoami needs the `secrets:read` scope: a token without it is still proven genuine by
    // a 403 (a token the server does not accept is a 401), so it is saved, with a note.
    let (user, json) = match api.call_as::<Option<UserInfo>>("whoami", &[]).await {
        Ok((Some(user), json)) => (Some(user), json),
        Ok((None, _)) => {
            return Err(ClientError::NotAuthorised {
                status: 401,
                message: "The server did not accept the token (expired, revoked, or mistyped?)."
                    .into(),
            })
        }
        Err(ClientError::NotAuthorised {
            status: 403,
            message,
        }) => {
            eprintln!(
                "lockbox: note: the server accepted the token, but it cannot say whose it is \
                 ({message})"
            );
            (None, serde_json::Value::Null)
        }
        Err(e) => return Err(e),
    };
    config::save(
        &path,
        &config::Saved {
            server: server.clone(),
            token,
        },
    )?;
    match args.out.output {
        Format::Table => match &user {
            Some(user) => println!(
                "Logged in to {server} as {}. Saved to {}.",
                user.username,
                path.display()
            ),
            None => println!("Logged in to {server}. Saved to {}.", path.display()),
        },
        Format::Json => print!(
            "{}",
            output::json(&serde_json::json!({
                "server": server,
                "user": json,
                "config": path,
            }))
        ),
    }
    Ok(ExitCode::SUCCESS)
}
