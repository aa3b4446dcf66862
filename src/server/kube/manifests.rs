//! Pure builders of the Kubernetes objects one session is made of: a Pod, a Secret holding
//! exactly the chosen values (when any), and a Service (when the environment serves a port).
//! Names come from the session id only, never from a username.

use crate::{
    model::{extra_env::EnvSource, launch::escape_env_value, session::InjectMode},
    server::sessions::spec::{
        LaunchSpec, Values, ENV_PORT, ENV_SECRETS_DIR, ENV_SECRET_ENV, ENV_SESSION_ID,
    },
};
use k8s_openapi::{
    api::core::v1::{
        Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
        KeyToPath, Pod, PodSecurityContext, PodSpec, ResourceRequirements, SeccompProfile, Secret,
        SecretKeySelector, SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec,
        Volume, VolumeMount,
    },
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{ObjectMeta, OwnerReference},
        util::intstr::IntOrString,
    },
    ByteString,
};
use std::collections::BTreeMap;
use zeroize::Zeroize;

/// The session's only container.
pub const CONTAINER: &str = "session";
/// The volume holding file-mode secrets.
pub const SECRETS_VOLUME: &str = "secrets";
/// A writable scratch directory, as the root file system is read-only.
pub const TMP_VOLUME: &str = "tmp";
pub const TMP_DIR: &str = "/tmp";
/// The non-root user and group the session runs as (images like busybox default to root).
pub const RUN_AS: i64 = 65532;
/// Secret files are readable by their owner only.
pub const SECRET_FILE_MODE: i32 = 0o400;
/// What redacted and rendered Secrets hold instead of values.
pub const REDACTED: &str = "<redacted>";

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_SESSION: &str = "lockbox.dev/session";
pub const LABEL_USER: &str = "lockbox.dev/user";
pub const LABEL_ENVIRONMENT: &str = "lockbox.dev/environment";

/// Which installation (database) created the object: the sweep only touches its own.
pub const LABEL_INSTALLATION: &str = "lockbox.dev/installation";

/// The name prefix of every session object (Pod, Secret, Service), owned by
/// `model::references` (which refuses references to session Secrets by it on every backend).
pub const SESSION_PREFIX: &str = crate::model::references::SESSION_PREFIX;
const NAME_PREFIX: &str = SESSION_PREFIX;
/// A DNS-1035 label is at most 63 characters.
const MAX_NAME: usize = 63;

/// Everything a launch creates. `Debug` never shows Secret data.
pub struct Objects {
    pub secret: Option<Secret>,
    pub pod: Pod,
    pub service: Option<Service>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("secret", &self.secret.as_ref().map(|s| &s.metadata.name))
            .field("pod", &self.pod.metadata.name)
            .field("service", &self.service.as_ref().map(|s| &s.metadata.name))
            .finish()
    }
}

/// The name shared by the session's Pod, Secret and Service: `lockbox-s-` and the session id's
/// lower-case letters and digits (a UUID gives 32 hex digits, 42 characters in all). Starts with
/// a letter, so it is a valid DNS-1035 label for the Service too.
pub fn object_name(session_id: &str) -> String {
    let id: String = session_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(MAX_NAME - NAME_PREFIX.len())
        .collect();
    format!("{NAME_PREFIX}{id}")
}

/// The Secret key carrying one injection: `env.<TARGET>` or `file.<TARGET>`.
pub fn secret_key(mode: InjectMode, target: &str) -> String {
    format!("{}.{target}", mode.as_str())
}

pub fn labels(spec: &LaunchSpec) -> BTreeMap<String, String> {
    let name = object_name(&spec.session_id);
    [
        (LABEL_NAME, "lockbox-session".to_string()),
        (LABEL_INSTANCE, name),
        (LABEL_COMPONENT, "session".to_string()),
        (LABEL_MANAGED_BY, "lockbox".to_string()),
        (LABEL_SESSION, spec.session_id.clone()),
        (LABEL_USER, spec.user_id.clone()),
        (LABEL_ENVIRONMENT, spec.environment.name.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn metadata(spec: &LaunchSpec) -> ObjectMeta {
    ObjectMeta {
        name: Some(object_name(&spec.session_id)),
        namespace: Some(spec.namespace.clone()),
        labels: Some(labels(spec)),
        ..Default::default()
    }
}

fn has_files(spec: &LaunchSpec) -> bool {
    spec.injections.iter().any(|i| i.mode == InjectMode::File)
}

fn literal(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

fn from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Lockbox's own variables, then the env-mode secrets (always by reference), then extra env.
fn env(spec: &LaunchSpec) -> Vec<EnvVar> {
    let secret_name = object_name(&spec.session_id);
    let mut env = vec![
        literal(ENV_SESSION_ID, escape_env_value(&spec.session_id)),
        literal(
            ENV_SECRET_ENV,
            escape_env_value(&spec.env_targets().join(" ")),
        ),
    ];
    if let Some(port) = spec.environment.port {
        env.push(literal(ENV_PORT, port.to_string()));
    }
    if has_files(spec) {
        env.push(literal(ENV_SECRETS_DIR, escape_env_value(&spec.mount_dir)));
    }
    for i in spec.injections.iter().filter(|i| i.mode == InjectMode::Env) {
        let key = secret_key(i.mode, &i.target);
        env.push(from_secret(&i.target, &secret_name, &key));
    }
    for e in &spec.extra_env {
        env.push(match &e.source {
            EnvSource::Literal(v) => literal(&e.name, escape_env_value(v)),
            EnvSource::SecretRef { secret, key } => from_secret(&e.name, secret, key),
        });
    }
    env
}

fn resources(spec: &LaunchSpec) -> Option<ResourceRequirements> {
    let r = &spec.environment.resources;
    let map = |pairs: [(&str, &Option<String>); 2]| {
        let m: BTreeMap<String, Quantity> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), Quantity(v.clone()))))
            .collect();
        (!m.is_empty()).then_some(m)
    };
    let requests = map([("cpu", &r.cpu_request), ("memory", &r.memory_request)]);
    let limits = map([("cpu", &r.cpu_limit), ("memory", &r.memory_limit)]);
    (requests.is_some() || limits.is_some()).then(|| ResourceRequirements {
        requests,
        limits,
        ..Default::default()
    })
}

fn runtime_default() -> Option<SeccompProfile> {
    Some(SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    })
}

fn volumes(spec: &LaunchSpec) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let files = has_files(spec);
    // A mount directory of /tmp takes the place of the scratch directory (two volumes cannot
    // share a mount path).
    if !(files && spec.mount_dir == TMP_DIR) {
        volumes.push(Volume {
            name: TMP_VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: TMP_VOLUME.into(),
            mount_path: TMP_DIR.into(),
            ..Default::default()
        });
    }
    if files {
        let items = spec
            .injections
            .iter()
            .filter(|i| i.mode == InjectMode::File)
            .map(|i| KeyToPath {
                key: secret_key(i.mode, &i.target),
                path: i.target.clone(),
                ..Default::default()
            })
            .collect();
        volumes.push(Volume {
            name: SECRETS_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(object_name(&spec.session_id)),
                items: Some(items),
                default_mode: Some(SECRET_FILE_MODE),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: SECRETS_VOLUME.into(),
            mount_path: spec.mount_dir.clone(),
            read_only: Some(true),
            ..Default::default()
        });
    }
    (volumes, mounts)
}

/// The session's Pod. It refers to the Secret before the Secret exists: the kubelet waits for
/// it (the Pod stays in ContainerCreating), which lets the Secret be owned by the Pod.
pub fn pod(spec: &LaunchSpec) -> Pod {
    let environment = &spec.environment;
    let (volumes, volume_mounts) = volumes(spec);
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let container = Container {
        name: CONTAINER.into(),
        image: Some(environment.image.clone()),
        command: non_empty(&environment.command),
        args: non_empty(&environment.args),
        env: Some(env(spec)),
        ports: environment.port.map(|p| {
            vec![ContainerPort {
                name: Some("http".into()),
                container_port: i32::from(p),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]
        }),
        resources: resources(spec),
        volume_mounts: Some(volume_mounts),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            seccomp_profile: runtime_default(),
            ..Default::default()
        }),
        ..Default::default()
    };
    Pod {
        metadata: metadata(spec),
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUN_AS),
                run_as_group: Some(RUN_AS),
                fs_group: Some(RUN_AS),
                seccomp_profile: runtime_default(),
                ..Default::default()
            }),
            volumes: Some(volumes),
            ..Default::default()
        }),
        status: None,
    }
}

/// The owner reference that makes Kubernetes delete the Secret with its Pod.
pub fn owned_by_pod(pod_name: &str, pod_uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: pod_name.into(),
        uid: pod_uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The immutable Secret holding exactly the chosen values (in the order of the injections), or
/// `None` when no secret is injected. `values` are copied in and dropped (zeroized) here.
pub fn secret(spec: &LaunchSpec, values: Values, pod_uid: &str) -> Result<Option<Secret>, String> {
    if values.0.len() != spec.injections.len() {
        return Err(format!(
            "{} values for {} chosen secrets",
            values.0.len(),
            spec.injections.len()
        ));
    }
    if spec.injections.is_empty() {
        return Ok(None);
    }
    let data = spec
        .injections
        .iter()
        .zip(values.0.iter())
        .map(|(i, v)| {
            let key = secret_key(i.mode, &i.target);
            (key, ByteString(v.expose().as_bytes().to_vec()))
        })
        .collect();
    drop(values);
    let mut meta = metadata(spec);
    meta.owner_references = Some(vec![owned_by_pod(&object_name(&spec.session_id), pod_uid)]);
    Ok(Some(Secret {
        metadata: meta,
        data: Some(data),
        immutable: Some(true),
        type_: Some("Opaque".into()),
        string_data: None,
    }))
}

/// The ClusterIP Service for the environment's port, if it has one.
pub fn service(spec: &LaunchSpec) -> Option<Service> {
    let port = i32::from(spec.environment.port?);
    let selector = BTreeMap::from([(LABEL_SESSION.to_string(), spec.session_id.clone())]);
    Some(Service {
        metadata: metadata(spec),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port,
                target_port: Some(IntOrString::Int(port)),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    })
}

/// All of a launch's objects; the Secret is owned by a Pod with uid `pod_uid`.
pub fn build(spec: &LaunchSpec, values: Values, pod_uid: &str) -> Result<Objects, String> {
    Ok(Objects {
        secret: secret(spec, values, pod_uid)?,
        pod: pod(spec),
        service: service(spec),
    })
}

impl Objects {
    /// Labels every object with the installation that creates it.
    pub fn set_installation(&mut self, installation: &str) {
        let metas = [
            self.secret.as_mut().map(|s| &mut s.metadata),
            Some(&mut self.pod.metadata),
            self.service.as_mut().map(|s| &mut s.metadata),
        ];
        for meta in metas.into_iter().flatten() {
            meta.labels
                .get_or_insert_with(Default::default)
                .insert(LABEL_INSTALLATION.into(), installation.into());
        }
    }
}

/// Replaces every Secret data value by `<redacted>`, wiping the value first.
pub fn redact(secret: &mut Secret) {
    for v in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        v.0.zeroize();
        v.0 = REDACTED.as_bytes().to_vec();
    }
}

/// Wipes the values of a Secret that is no longer needed (after its create call).
pub fn wipe(secret: &mut Secret) {
    for v in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        v.0.zeroize();
    }
    secret.data = None;
}

#[cfg(test)]
mod tests;
