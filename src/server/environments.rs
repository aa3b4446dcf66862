//! Environments: what a session runs. Stored in the database, managed from the command line
//! (`lockbox environments add/list/rm`) and the admin page (both through
//! [`super::environments_service`]); a fresh install has the demo environment.

use crate::model::environments::EnvironmentSpec;
use serde::{Deserialize, Serialize};

/// Everything a backend needs to run an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub description: String,
    /// Container image (Kubernetes backend).
    pub image: String,
    /// Container command and arguments (Kubernetes backend); empty means the image's own.
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// The port the session serves on, if any (a Service is made for it on Kubernetes; the
    /// local backend passes a free port as `PORT` instead).
    pub port: Option<u16>,
    pub resources: Resources,
    /// A POSIX shell command line the local backend runs with `/bin/sh -c`.
    pub local_command: String,
}

/// Container resources, as Kubernetes quantities (`500m`, `256Mi`); empty means unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_request: Option<String>,
    pub memory_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
}

pub const DEMO: &str = "demo";

/// The demo environment's local program: proves the injection by printing SHA-256 hashes
/// (never values) of the variables named in `LOCKBOX_SECRET_ENV` and of every file in
/// `SECRETS_DIR`, then stays up until stopped.
const DEMO_SCRIPT: &str = r#"echo "Lockbox demo session $LOCKBOX_SESSION_ID"
hash() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1; else cksum | cut -d' ' -f1; fi; }
for n in $LOCKBOX_SECRET_ENV; do eval "v=\${$n}"; printf 'env  %s sha256=%s\n' "$n" "$(printf %s "$v" | hash)"; done
if [ -n "$SECRETS_DIR" ] && [ -d "$SECRETS_DIR" ]; then
  for f in "$SECRETS_DIR"/*; do [ -f "$f" ] || continue; printf 'file %s sha256=%s\n' "${f##*/}" "$(hash < "$f")"; done
fi
echo "ready"
while :; do sleep 3600; done"#;

impl Environment {
    /// The environment a fresh install has: works locally with only a POSIX shell, and on
    /// Kubernetes with a small public image.
    pub fn demo() -> Self {
        Self {
            name: DEMO.into(),
            description: "Prints SHA-256 hashes of what it received, then waits.".into(),
            image: "docker.io/library/busybox:1.37".into(),
            command: vec!["/bin/sh".into(), "-c".into()],
            args: vec![DEMO_SCRIPT.into()],
            port: None,
            resources: Resources {
                cpu_request: Some("50m".into()),
                memory_request: Some("32Mi".into()),
                cpu_limit: Some("500m".into()),
                memory_limit: Some("128Mi".into()),
            },
            local_command: DEMO_SCRIPT.into(),
        }
    }

    pub fn info(&self) -> crate::model::session::EnvironmentInfo {
        crate::model::session::EnvironmentInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            image: self.image.clone(),
            port: self.port,
        }
    }
}

/// An environment's name: a DNS-1123 label (the rule is [`environments::name`], with the others
/// in [`environments::validate`]).
///
/// [`environments::name`]: crate::model::environments::name
/// [`environments::validate`]: crate::model::environments::validate
pub fn check_name(name: &str) -> Result<(), crate::model::RuleError> {
    crate::model::environments::name(name)
}

impl From<EnvironmentSpec> for Environment {
    fn from(s: EnvironmentSpec) -> Self {
        Self {
            name: s.name,
            description: s.description,
            image: s.image,
            command: s.command,
            args: s.args,
            port: s.port,
            resources: Resources {
                cpu_request: s.cpu_request,
                memory_request: s.memory_request,
                cpu_limit: s.cpu_limit,
                memory_limit: s.memory_limit,
            },
            local_command: s.local_command,
        }
    }
}

impl From<Environment> for EnvironmentSpec {
    fn from(e: Environment) -> Self {
        Self {
            name: e.name,
            description: e.description,
            image: e.image,
            command: e.command,
            args: e.args,
            port: e.port,
            local_command: e.local_command,
            cpu_request: e.resources.cpu_request,
            memory_request: e.resources.memory_request,
            cpu_limit: e.resources.cpu_limit,
            memory_limit: e.resources.memory_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("demo").is_ok());
        assert!(check_name("py-3-12").is_ok());
        for bad in ["", "Demo", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    /// The demo program runs with a POSIX shell and prints hashes, never values.
    #[test]
    fn demo_prints_hashes_not_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token.txt"), "file-sentinel-4711").unwrap();
        let script = Environment::demo()
            .local_command
            .replace("while :; do sleep 3600; done", "exit 0");
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env("LOCKBOX_SECRET_ENV", "DB_PASSWORD")
            .env("DB_PASSWORD", "env-sentinel-4711")
            .env("SECRETS_DIR", dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        use sha2::Digest;
        let env_hash = hex::encode(sha2::Sha256::digest(b"env-sentinel-4711"));
        let file_hash = hex::encode(sha2::Sha256::digest(b"file-sentinel-4711"));
        assert!(
            text.contains(&format!("env  DB_PASSWORD sha256={env_hash}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("file token.txt sha256={file_hash}")),
            "{text}"
        );
        assert!(!text.contains("sentinel"), "{text}");
    }
}
