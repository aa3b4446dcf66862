//! What a backend is asked to start: a validated launch, with the plaintext values kept apart
//! so that nothing holding them is ever logged, stored or serialised.

use crate::{
    model::{
        extra_env::{EnvSource, ExtraEnv},
        session::{InjectMode, Injection},
        SecretValue,
    },
    server::environments::Environment,
};

/// A validated launch. Holds names only, never values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchSpec {
    /// A UUID; backends derive their object names from it.
    pub session_id: String,
    /// The owner's id (a UUID), never the username.
    pub user_id: String,
    /// The project the session belongs to.
    pub project: String,
    /// The project's namespace: where a Kubernetes launch goes, and where `SECRET:` references
    /// resolve.
    pub namespace: String,
    pub environment: Environment,
    /// Normalised by `model::launch::mount_dir`.
    pub mount_dir: String,
    pub injections: Vec<Injection>,
    pub extra_env: Vec<ExtraEnv>,
}

impl LaunchSpec {
    /// The variable names that carry secrets, for the session's `LOCKBOX_SECRET_ENV`: the
    /// chosen secrets given as variables, then the `SECRET:` references, in the order typed.
    pub fn env_targets(&self) -> Vec<&str> {
        let chosen = self
            .injections
            .iter()
            .filter(|i| i.mode == InjectMode::Env)
            .map(|i| i.target.as_str());
        let referenced = self.extra_env.iter().filter_map(|e| match e.source {
            EnvSource::SecretRef { .. } => Some(e.name.as_str()),
            EnvSource::Literal(_) => None,
        });
        chosen.chain(referenced).collect()
    }
}

/// The plaintext a session receives: the chosen secrets' values, in the order of
/// [`LaunchSpec::injections`]; then, for a backend that does not resolve `SECRET:` references
/// itself (the local one, from namespace secrets), one value per reference of
/// [`LaunchSpec::extra_env`], in the order typed. Kubernetes gets only the former (its Pods
/// take references through `secretKeyRef`). Zeroized when dropped; `Debug` shows only how many
/// there are.
pub struct Values(pub Vec<SecretValue>);

impl Values {
    /// The chosen secrets' values.
    pub fn chosen(&self, spec: &LaunchSpec) -> &[SecretValue] {
        &self.0[..spec.injections.len().min(self.0.len())]
    }

    /// The referenced values, one per `SECRET:` reference (empty when not resolved here).
    pub fn referenced(&self, spec: &LaunchSpec) -> &[SecretValue] {
        &self.0[spec.injections.len().min(self.0.len())..]
    }
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Values({} redacted)", self.0.len())
    }
}

/// Names of the Lockbox-set variables every session gets.
pub const ENV_SESSION_ID: &str = "LOCKBOX_SESSION_ID";
pub const ENV_SECRET_ENV: &str = "LOCKBOX_SECRET_ENV";
pub const ENV_SECRETS_DIR: &str = "SECRETS_DIR";
pub const ENV_PORT: &str = "PORT";
