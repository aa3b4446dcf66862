//! Where the client finds its server and token: `lockbox login` saves both in the user's config
//! directory (`$XDG_CONFIG_HOME/lockbox/config.json`, else `~/.config/lockbox/config.json`),
//! mode 0600, written atomically; `LOCKBOX_SERVER`, and `LOCKBOX_TOKEN` or
//! `LOCKBOX_TOKEN_FILE`, override what is saved (for CI jobs that hold a token of their own).

use super::error::ClientError;
use serde::{Deserialize, Serialize};
use std::{
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

pub const SERVER_VAR: &str = "LOCKBOX_SERVER";
pub const TOKEN_VAR: &str = "LOCKBOX_TOKEN";
pub const TOKEN_FILE_VAR: &str = "LOCKBOX_TOKEN_FILE";

/// What `lockbox login` saves.
#[derive(Serialize, Deserialize)]
pub struct Saved {
    pub server: String,
    pub token: Zeroizing<String>,
}

/// The server and token a command uses.
pub struct Target {
    pub server: String,
    pub token: Zeroizing<String>,
}

/// The config file's path, from the environment (`XDG_CONFIG_HOME`, else `HOME`).
pub fn path(env: &impl Fn(&str) -> Option<String>) -> Result<PathBuf, ClientError> {
    let dir = match env("XDG_CONFIG_HOME").filter(|d| Path::new(d).is_absolute()) {
        Some(dir) => PathBuf::from(dir),
        None => match env("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Path::new(&home).join(".config"),
            None => {
                return Err(ClientError::usage(
                    "cannot find a config directory: set HOME or XDG_CONFIG_HOME",
                ))
            }
        },
    };
    Ok(dir.join("lockbox").join("config.json"))
}

/// A server URL as typed, checked and without a trailing slash: `http` or `https`, a host, and
/// no query, fragment or credentials (the token is the only credential sent).
pub fn server_url(raw: &str) -> Result<String, ClientError> {
    let bad = |why: &str| ClientError::usage(format!("server URL {raw:?} {why}"));
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold a user name or password"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Whether a token would travel unencrypted to another machine.
pub fn is_plaintext_remote(server: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(server) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    url.scheme() == "http" && !loopback
}

/// A token as read (from a file or standard input): surrounding white space is dropped, and
/// what is left must be one printable word (it goes into an HTTP header).
pub fn token(raw: Zeroizing<String>, source: &str) -> Result<Zeroizing<String>, ClientError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ClientError::usage(format!("no token in {source}")));
    }
    if trimmed
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        // Never quote it: it may be a real token with a stray character.
        return Err(ClientError::usage(format!(
            "the token in {source} must be one word of printable ASCII characters"
        )));
    }
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// Reads the saved file, if there is one. A file others may read is used, with a warning, as
/// ssh does for keys it would otherwise refuse: refusing would lock the user out of their own
/// token while it is already exposed.
pub fn load(path: &Path) -> Result<Option<Saved>, ClientError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ClientError::usage(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "lockbox: warning: {} can be read by other users; run `chmod 600` on it (or \
                 log in again) and consider revoking the token",
                path.display()
            );
        }
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|_| {
        ClientError::usage(format!(
            "{} is not a Lockbox client config; run `lockbox login --server URL` again",
            path.display()
        ))
    })
}

/// Writes the file atomically: a fresh 0600 file beside it, synced, renamed over the old one,
/// so a crash leaves either the old file or the new, never a torn or a readable one. Its
/// directory is made 0700 when it does not exist.
pub fn save(path: &Path, saved: &Saved) -> Result<(), ClientError> {
    let fail = |what: &str, e: std::io::Error| {
        ClientError::usage(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = path.parent().expect("the config path has a directory");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail("make the directory of", e))?;
    let body = Zeroizing::new(serde_json::to_vec_pretty(saved).expect("plain data serialises"));
    let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a crash once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("write", e)
    })
}

/// The server and token for a command: each variable wins over the saved file. Setting both
/// `LOCKBOX_TOKEN` and `LOCKBOX_TOKEN_FILE` is an error, as for the server's `*_FILE` settings.
pub fn resolve(
    env: &impl Fn(&str) -> Option<String>,
    saved: Option<Saved>,
) -> Result<Target, ClientError> {
    let login_hint = "run `lockbox login --server URL` first";
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let server = match (env(SERVER_VAR), &saved) {
        (Some(s), _) => server_url(&s)?,
        (None, Some(saved)) => saved.server.clone(),
        (None, None) => {
            return Err(ClientError::usage(format!(
                "no server: {login_hint}, or set {SERVER_VAR}"
            )))
        }
    };
    let token = match (env(TOKEN_VAR), env(TOKEN_FILE_VAR)) {
        (Some(_), Some(_)) => {
            return Err(ClientError::usage(format!(
                "set {TOKEN_VAR} or {TOKEN_FILE_VAR}, not both"
            )))
        }
        (Some(t), None) => token(Zeroizing::new(t), TOKEN_VAR)?,
        (None, Some(file)) => {
            let raw = std::fs::read_to_string(&file).map_err(|e| {
                ClientError::usage(format!("cannot read {TOKEN_FILE_VAR} ({file}): {e}"))
            })?;
            token(Zeroizing::new(raw), &file)?
        }
        (None, None) => match saved {
            Some(saved) => saved.token,
            None => {
                return Err(ClientError::usage(format!(
                    "no token: {login_hint}, or set {TOKEN_VAR} or {TOKEN_FILE_VAR}"
                )))
            }
        },
    };
    Ok(Target { server, token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn saved() -> Saved {
        Saved {
            server: "https://lockbox.example".into(),
            token: Zeroizing::new("saved-token".into()),
        }
    }

    #[test]
    fn the_path_follows_xdg_then_home() {
        let p = path(&env(&[("XDG_CONFIG_HOME", "/x/cfg"), ("HOME", "/home/a")])).unwrap();
        assert_eq!(p, Path::new("/x/cfg/lockbox/config.json"));
        // A relative XDG_CONFIG_HOME is ignored, as the specification says.
        let p = path(&env(&[("XDG_CONFIG_HOME", "cfg"), ("HOME", "/home/a")])).unwrap();
        assert_eq!(p, Path::new("/home/a/.config/lockbox/config.json"));
        assert_eq!(path(&env(&[])).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn server_urls_are_checked_and_normalised() {
        assert_eq!(
            server_url("https://lb.example/").unwrap(),
            "https://lb.example"
        );
        assert_eq!(
            server_url(" http://127.0.0.1:3000 ").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            server_url("https://h.example/lockbox/").unwrap(),
            "https://h.example/lockbox"
        );
        for bad in [
            "lb.example",
            "ftp://lb.example",
            "https://lb.example/?a=b",
            "https://u:p@lb.example",
            "",
        ] {
            assert_eq!(server_url(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert!(is_plaintext_remote("http://lb.example"));
        assert!(!is_plaintext_remote("https://lb.example"));
        assert!(!is_plaintext_remote("http://127.0.0.1:3000"));
        assert!(!is_plaintext_remote("http://localhost:3000"));
        assert!(!is_plaintext_remote("http://[::1]:3000"));
    }

    #[test]
    fn tokens_are_trimmed_and_never_quoted() {
        let t = token(Zeroizing::new("  lbx_abc123\n".into()), "stdin").unwrap();
        assert_eq!(t.as_str(), "lbx_abc123");
        assert!(token(Zeroizing::new("\n".into()), "stdin").is_err());
        let e = token(Zeroizing::new("lbx_abc 123".into()), "stdin").unwrap_err();
        assert!(!e.message().contains("abc"), "{}", e.message());
    }

    #[test]
    fn variables_override_the_saved_file() {
        let t = resolve(&env(&[]), Some(saved())).unwrap();
        assert_eq!(
            (t.server.as_str(), t.token.as_str()),
            ("https://lockbox.example", "saved-token")
        );
        let t = resolve(
            &env(&[
                (SERVER_VAR, "http://127.0.0.1:9/"),
                (TOKEN_VAR, "env-token"),
            ]),
            Some(saved()),
        )
        .unwrap();
        assert_eq!(
            (t.server.as_str(), t.token.as_str()),
            ("http://127.0.0.1:9", "env-token")
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "file-token\n").unwrap();
        let file = file.to_str().unwrap();
        let t = resolve(&env(&[(TOKEN_FILE_VAR, file)]), Some(saved())).unwrap();
        assert_eq!(t.token.as_str(), "file-token");
        let both = resolve(
            &env(&[(TOKEN_FILE_VAR, file), (TOKEN_VAR, "x")]),
            Some(saved()),
        );
        assert_eq!(both.err().unwrap().exit_code(), 2);
        // Nothing saved and nothing set: a usage error that says how to log in.
        let none = resolve(&env(&[]), None).err().unwrap();
        assert!(
            none.message().contains("lockbox login"),
            "{}",
            none.message()
        );
        let no_token = resolve(&env(&[(SERVER_VAR, "https://a.example")]), None)
            .err()
            .unwrap();
        assert!(no_token.message().contains(TOKEN_VAR));
    }

    #[test]
    fn saving_is_private_and_replaces_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/lockbox/config.json");
        save(&path, &saved()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let again = Saved {
            server: "https://other.example".into(),
            token: Zeroizing::new("t2".into()),
        };
        save(&path, &again).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded.server, "https://other.example");
        assert_eq!(loaded.token.as_str(), "t2");
        assert_eq!(mode(&path), 0o600);
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config.json"]);
        assert!(load(&dir.path().join("absent.json")).unwrap().is_none());
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(load(&path).err().unwrap().exit_code(), 2);
    }
}
