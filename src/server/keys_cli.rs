//! `lockbox keys status|rotate|forget-previous` and `lockbox admin delete-user`: operator
//! commands run on the server's host against its database and keys.

use crate::server::{
    account_deletion, app,
    config::Config,
    db::{self, Db},
    keys::{self, Keyring},
    projects::By,
    rotation::{self, RotationStatus},
};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Which master key ids wrap how many data keys, and the rotation's progress.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// With the generated key file: write a new master key, keeping the old one in
    /// master.key.previous until nothing uses it. With keys from the environment: print the
    /// rolling procedure.
    Rotate,
    /// Destroy the keys in master.key.previous that no longer wrap anything (the server does
    /// this by itself once a rotation completes).
    ForgetPrevious,
}

async fn open(config: &Config) -> Result<(Db, Keyring), String> {
    crate::server::data_dir::secure_dir(&config.data_dir).map_err(|e| e.to_string())?;
    let db = Db::connect(config).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let keyring = keys::load(config, &db).await.map_err(|e| e.to_string())?;
    Ok((db, keyring))
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The status as people read it.
pub fn render(status: &RotationStatus) -> String {
    let mut out = format!("active key id: {}\n", status.active_key_id);
    out.push_str(&format!(
        "{:<18} {:>10} {:>13}  state\n",
        "key id", "user keys", "purpose keys"
    ));
    for k in &status.keys {
        let state = match (k.active, k.held, k.user_keys + k.purpose_keys) {
            (true, _, _) => "active",
            (false, false, _) => "NOT HELD",
            (false, true, 0) => "previous, wraps nothing (can be dropped)",
            (false, true, _) => "previous, still needed",
        };
        out.push_str(&format!(
            "{:<18} {:>10} {:>13}  {state}\n",
            k.key_id, k.user_keys, k.purpose_keys
        ));
    }
    out.push_str(&format!(
        "progress: {}/{} wrapped keys under the active key; ",
        status.done, status.total
    ));
    out.push_str(if status.rotation_needed {
        "rotation needed (a running server rewraps in the background)\n"
    } else {
        "no rotation needed\n"
    });
    if status.started_at.is_some() {
        out.push_str(&format!(
            "last rotation to the active key: started {}, completed {}\n",
            when(status.started_at),
            when(status.completed_at)
        ));
    }
    out
}

/// `lockbox keys rotate` with the generated key file: the admin page's function
/// ([`keys::rotate`]); a running server picks the new key up when restarted.
async fn rotate(config: &Config, db: &Db, keyring: &Keyring) -> Result<String, String> {
    // The rotation is audited, so the audit key must be loaded to seal the event.
    crate::server::audit_log::open(db, keyring, crate::server::db::audit::Begin::Allowed).await?;
    let (_, rotated) = keys::rotate(config, db, keyring, &By::CommandLine)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "new master key id {} written to {}; the old key {} is kept in {} until nothing uses \
         it.\nRestart `lockbox serve`: it rewraps every data key under the new key in the \
         background (`lockbox keys status` shows progress) and then deletes the old key from \
         {}. Until then a running server keeps its old key (and refuses the admin page's \
         \"Start a rotation\", which does the same without a restart where it is offered).\n",
        rotated.new_key_id,
        keys::key_file_path(config).display(),
        rotated.old_key_id,
        keys::previous_key_file_path(config).display(),
        keys::previous_key_file_path(config).display(),
    ))
}

/// The rolling procedure, for keys supplied through the environment.
pub const ROLLING_PROCEDURE: &str = "\
The master key comes from LOCKBOX_MASTER_KEY (or LOCKBOX_MASTER_KEY_FILE), so Lockbox does not
rotate it itself. Nothing was changed. To rotate with no downtime, on every replica:
  1. Generate a new key (openssl rand -base64 32) and add it to LOCKBOX_PREVIOUS_MASTER_KEYS
     (comma- or newline-separated base64) everywhere; restart the replicas one by one.
  2. Make the new key LOCKBOX_MASTER_KEY and move the old one to LOCKBOX_PREVIOUS_MASTER_KEYS;
     restart the replicas one by one. The newest one rewraps every data key under the new key
     in the background while all of them serve.
  3. Wait until `lockbox keys status` shows no rotation needed (the old key wraps nothing).
  4. Remove the old key from LOCKBOX_PREVIOUS_MASTER_KEYS everywhere, restart, and destroy it
     (this is what makes backups taken before unreadable).
";

pub async fn run(config: Config, command: KeysCommand) -> ExitCode {
    let result = match command {
        KeysCommand::Status { json } => match open(&config).await {
            Ok((db, keyring)) => rotation::status(&db, &keyring)
                .await
                .map_err(|e| e.to_string())
                .map(|s| {
                    if json {
                        serde_json::to_string_pretty(&s).expect("status serialises")
                    } else {
                        render(&s)
                    }
                }),
            Err(e) => Err(e),
        },
        KeysCommand::Rotate if config.master_key.is_some() => Ok(ROLLING_PROCEDURE.to_string()),
        KeysCommand::Rotate => match open(&config).await {
            Ok((db, keyring)) => rotate(&config, &db, &keyring).await,
            Err(e) => Err(e),
        },
        KeysCommand::ForgetPrevious => match open(&config).await {
            Ok((db, keyring)) => match db::rotation::use_by_key(&db).await {
                Ok(in_use) if config.master_key.is_some() => {
                    let s = rotation::summarise(&keyring, &in_use);
                    Ok(if s.droppable.is_empty() {
                        "every previous key still wraps something (or none is given)\n".into()
                    } else {
                        format!(
                            "previous keys come from LOCKBOX_PREVIOUS_MASTER_KEYS: remove key \
                             id(s) {} from it and destroy them\n",
                            s.droppable.join(", ")
                        )
                    })
                }
                Ok(in_use) => keys::forget_unused_previous(&config, &in_use, keyring.active().id())
                    .await
                    .map(|ids| {
                        if ids.is_empty() {
                            "no previous key could be forgotten (none, or all still needed)\n"
                                .to_string()
                        } else {
                            format!("destroyed previous key id(s) {}\n", ids.join(", "))
                        }
                    })
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lockbox: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `lockbox admin delete-user NAME`.
pub async fn delete_user(config: Config, username: &str) -> ExitCode {
    let (state, _) = match app::prepare(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lockbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    match account_deletion::delete_user(&state, account_deletion::By::CommandLine, username).await {
        Ok(d) => {
            println!(
                "deleted user {} ({}): {} secrets deleted, {} sessions stopped, data key destroyed",
                d.username, d.id, d.secrets, d.sessions_stopped
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lockbox: {e}");
            ExitCode::FAILURE
        }
    }
}
