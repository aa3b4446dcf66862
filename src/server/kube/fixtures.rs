//! Launches the kube tests share.

use crate::{
    model::{
        extra_env::{EnvSource, ExtraEnv},
        session::{InjectMode, Injection},
        SecretValue,
    },
    server::{
        environments::Environment,
        sessions::spec::{LaunchSpec, Values},
    },
};

pub const SESSION: &str = "0b6f3c1e-8d2a-4f5b-9c7d-1e2f3a4b5c6d";
pub const USER: &str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub const NAME: &str = "lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d";
pub const NS: &str = "team-a";
/// Values no test output may ever contain.
pub const ENV_VALUE: &str = "env-sentinel-4711";
pub const FILE_VALUE: &str = "file-sentinel-4711";

fn injection(secret: &str, mode: InjectMode, target: &str) -> Injection {
    Injection {
        secret: secret.into(),
        mode,
        target: target.into(),
    }
}

/// One env-mode and one file-mode secret, a port, a literal and a referenced extra variable.
pub fn full() -> LaunchSpec {
    let mut environment = Environment::demo();
    environment.port = Some(8080);
    LaunchSpec {
        session_id: SESSION.into(),
        user_id: USER.into(),
        project: crate::model::projects::DEFAULT_PROJECT.into(),
        namespace: NS.into(),
        environment,
        mount_dir: "/secrets".into(),
        injections: vec![
            injection("DB_PASSWORD", InjectMode::Env, "DB_PASSWORD"),
            injection("TLS_KEY", InjectMode::File, "tls.key"),
        ],
        extra_env: vec![
            ExtraEnv {
                name: "GREETING".into(),
                source: EnvSource::Literal("cost $(HOME) $5".into()),
            },
            ExtraEnv {
                name: "SHARED".into(),
                source: EnvSource::SecretRef {
                    secret: "team-creds".into(),
                    key: "token".into(),
                },
            },
        ],
    }
}

pub fn full_values() -> Values {
    Values(vec![
        SecretValue::new(ENV_VALUE.into()),
        SecretValue::new(FILE_VALUE.into()),
    ])
}

/// The demo environment with nothing injected and no port.
pub fn bare() -> LaunchSpec {
    LaunchSpec {
        injections: vec![],
        extra_env: vec![],
        environment: Environment::demo(),
        ..full()
    }
}
