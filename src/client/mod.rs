//! The client commands of the `lockbox` binary: `login`, `secrets …`, `submit`, `sessions
//! list|logs|stop`. They talk to a Lockbox server over HTTP with a personal access token and
//! need nothing local (no database, no keys, no server configuration).
//!
//! Exit codes: 0 success, 2 usage error (also: a launch the shared rules refuse before
//! sending, no saved login), 3 refused by the server (4xx other than 401/403), 4 not
//! authorised (401/403), 5 server fault or unreachable; 130 when Ctrl-C stops `--follow`.

pub mod config;
pub mod error;
pub mod follow;
pub mod http;
pub mod input;
pub mod login;
pub mod output;
pub mod secrets;
pub mod sessions;
pub mod submit;

use error::ClientError;
use output::Format;
use std::process::ExitCode;

/// One client command, as parsed by `server::cli`.
pub enum Command {
    Login(login::LoginArgs),
    Secrets(secrets::SecretsCommand),
    Submit(submit::SubmitArgs),
    Sessions(sessions::SessionsCommand),
}

impl Command {
    fn format(&self) -> Format {
        match self {
            Self::Login(a) => a.out.output,
            Self::Secrets(c) => c.format(),
            Self::Submit(a) => a.out.output,
            Self::Sessions(c) => c.format(),
        }
    }
}

/// The server and token to use: the variables, else the file `lockbox login` saved (read only
/// when a variable is missing).
fn connect(env: &impl Fn(&str) -> Option<String>) -> Result<http::Api, ClientError> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    let needs_file =
        !set(config::SERVER_VAR) || !(set(config::TOKEN_VAR) || set(config::TOKEN_FILE_VAR));
    let saved = if needs_file {
        config::load(&config::path(env)?)?
    } else {
        None
    };
    let target = config::resolve(env, saved)?;
    http::Api::new(&target.server, &target.token)
}

/// Runs a client command and turns its outcome into the exit code, printing an error on
/// standard error (as JSON with `--output json`).
pub async fn run(command: Command) -> ExitCode {
    let format = command.format();
    let env = |name: &str| std::env::var(name).ok();
    let result = match command {
        Command::Login(args) => login::run(args, &env).await,
        Command::Secrets(c) => match connect(&env) {
            Ok(api) => secrets::run(&api, c).await,
            Err(e) => Err(e),
        },
        Command::Submit(args) => match submit::check(&args).and_then(|()| connect(&env)) {
            Ok(api) => submit::run(&api, args).await,
            Err(e) => Err(e),
        },
        Command::Sessions(c) => match connect(&env) {
            Ok(api) => sessions::run(&api, c).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            match format {
                Format::Json => eprintln!("{}", e.json()),
                Format::Table => eprintln!("{}", e.text()),
            }
            e.exit()
        }
    }
}
