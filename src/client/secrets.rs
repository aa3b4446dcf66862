//! `lockbox secrets list | set NAME | rm NAME`: the signed-in user's own secrets. A value is
//! read from standard input or `--from-file`, never from an argument, and never printed.

use super::{
    error::ClientError,
    http::Api,
    input,
    output::{self, Format, OutputArgs},
};
use crate::model::SecretMeta;
use std::{path::PathBuf, process::ExitCode};

#[derive(Clone, Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// List your secrets: names, descriptions and dates, never values.
    List(OutputArgs),
    /// Add a secret, or replace the value of the one with this name. The value is read from
    /// standard input (exactly as sent: use `printf %s`, not `echo`, to leave out a line
    /// break; a hidden prompt on a terminal) or from --from-file.
    Set {
        /// The secret's name: letters, digits and underscores, not starting with a digit.
        name: String,
        /// A one-line note, for a new secret (an existing secret keeps its description).
        #[arg(long)]
        description: Option<String>,
        /// Read the value from this file, exactly as stored.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Delete a secret.
    Rm {
        name: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

impl SecretsCommand {
    pub fn format(&self) -> Format {
        match self {
            Self::List(out) | Self::Set { out, .. } | Self::Rm { out, .. } => out.output,
        }
    }
}

pub async fn run(api: &Api, command: SecretsCommand) -> Result<ExitCode, ClientError> {
    let format = command.format();
    match command {
        SecretsCommand::List(_) => {
            let (list, json) = api.call_as::<Vec<SecretMeta>>("secrets/list", &[]).await?;
            match format {
                Format::Json => print!("{}", output::json(&json)),
                Format::Table if list.is_empty() => println!("You have no secrets."),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                output::time(s.created_at),
                                output::time(s.updated_at),
                                output::opt_time(s.last_used_at),
                                s.description.clone(),
                            ]
                        })
                        .collect();
                    print!(
                        "{}",
                        output::table(
                            &["NAME", "CREATED", "REPLACED", "LAST USED", "DESCRIPTION"],
                            &rows
                        )
                    );
                }
            }
        }
        SecretsCommand::Set {
            name,
            description,
            from_file,
            ..
        } => {
            let value = match &from_file {
                Some(file) => input::file_text(file, "the value")?,
                None => input::stdin_text(&format!("Value of {name}: "))?,
            };
            let (meta, json, replaced) = set(api, &name, &value, description.as_deref()).await?;
            if replaced && description.is_some() {
                eprintln!(
                    "lockbox: note: {} already existed, so only its value was replaced; its \
                     description is unchanged (to change it, `secrets rm` and `set` again)",
                    meta.name
                );
            }
            match format {
                Format::Json => print!("{}", output::json(&json)),
                Format::Table if replaced => println!("Value of {} replaced.", meta.name),
                Format::Table => println!("Secret {} added.", meta.name),
            }
        }
        SecretsCommand::Rm { name, .. } => {
            let json = api.call("secrets/delete", &[("name", &name)]).await?;
            match format {
                Format::Json => print!("{}", output::json(&json)),
                Format::Table => println!("Secret {name} deleted."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the secret; when the name is taken (409 on `name`), replaces its value instead.
/// Returns the metadata, the server's JSON, and whether it replaced.
async fn set(
    api: &Api,
    name: &str,
    value: &str,
    description: Option<&str>,
) -> Result<(SecretMeta, serde_json::Value, bool), ClientError> {
    let mut form = vec![("name", name), ("value", value)];
    if let Some(d) = description {
        form.push(("description", d));
    }
    match api.call_as::<SecretMeta>("secrets/create", &form).await {
        Ok((meta, json)) => Ok((meta, json, false)),
        Err(ClientError::Refused {
            status: 409,
            fields,
            ..
        }) if fields.iter().any(|f| f.field == "name") => {
            let (meta, json) = api
                .call_as::<SecretMeta>("secrets/replace", &[("name", name), ("value", value)])
                .await?;
            Ok((meta, json, true))
        }
        Err(e) => Err(e),
    }
}
