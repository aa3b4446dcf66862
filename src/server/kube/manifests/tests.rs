use super::*;
use crate::server::kube::fixtures::{self, NAME, SESSION, USER};
use k8s_openapi::api::core::v1::EnvVar;

fn env_of(pod: &Pod) -> Vec<EnvVar> {
    pod.spec.as_ref().unwrap().containers[0]
        .env
        .clone()
        .unwrap()
}

fn find<'a>(env: &'a [EnvVar], name: &str) -> &'a EnvVar {
    env.iter().find(|e| e.name == name).unwrap()
}

#[test]
fn names_come_from_the_session_id_and_fit_every_kind() {
    assert_eq!(object_name(SESSION), NAME);
    assert_eq!(NAME.len(), 42);
    // Anything odd is reduced to letters and digits and cut to 63 characters.
    let long = object_name(&format!("{}/../X_{}", SESSION, "a".repeat(80)));
    assert_eq!(long.len(), 63);
    assert!(long
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
}

#[test]
fn pod_env_order_and_references() {
    let spec = fixtures::full();
    let pod = pod(&spec);
    let env = env_of(&pod);
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "LOCKBOX_SESSION_ID",
            "LOCKBOX_SECRET_ENV",
            "PORT",
            "SECRETS_DIR",
            "DB_PASSWORD",
            "GREETING",
            "SHARED"
        ]
    );
    assert_eq!(
        find(&env, "LOCKBOX_SESSION_ID").value.as_deref(),
        Some(SESSION)
    );
    assert_eq!(
        find(&env, "LOCKBOX_SECRET_ENV").value.as_deref(),
        Some("DB_PASSWORD SHARED")
    );
    assert_eq!(find(&env, "PORT").value.as_deref(), Some("8080"));
    assert_eq!(find(&env, "SECRETS_DIR").value.as_deref(), Some("/secrets"));
    // Secrets travel by reference only, never inline.
    let db = find(&env, "DB_PASSWORD");
    assert_eq!(db.value, None);
    let r = db
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!((r.name.as_str(), r.key.as_str()), (NAME, "env.DB_PASSWORD"));
    // Literals are escaped so Kubernetes does not expand $(HOME).
    assert_eq!(
        find(&env, "GREETING").value.as_deref(),
        Some("cost $$(HOME) $$5")
    );
    let shared = find(&env, "SHARED").value_from.as_ref().unwrap();
    let r = shared.secret_key_ref.as_ref().unwrap();
    assert_eq!((r.name.as_str(), r.key.as_str()), ("team-creds", "token"));
}

#[test]
fn pod_is_locked_down() {
    let pod = pod(&fixtures::full());
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    assert_eq!(spec.enable_service_links, Some(false));
    let psc = spec.security_context.as_ref().unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(
        (psc.run_as_user, psc.run_as_group, psc.fs_group),
        (Some(RUN_AS), Some(RUN_AS), Some(RUN_AS))
    );
    assert_eq!(
        psc.seccomp_profile.as_ref().unwrap().type_,
        "RuntimeDefault"
    );
    let c = &spec.containers[0];
    assert_eq!(c.name, "session");
    assert_eq!(c.image.as_deref(), Some("docker.io/library/busybox:1.37"));
    assert_eq!(c.command.as_ref().unwrap()[0], "/bin/sh");
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref(),
        Some(&["ALL".to_string()][..])
    );
    assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    let res = c.resources.as_ref().unwrap();
    assert_eq!(res.limits.as_ref().unwrap()["memory"].0, "128Mi");
    assert_eq!(res.requests.as_ref().unwrap()["cpu"].0, "50m");
    assert_eq!(c.ports.as_ref().unwrap()[0].container_port, 8080);
    let labels = pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["lockbox.dev/session"], SESSION);
    assert_eq!(labels["lockbox.dev/user"], USER);
    assert_eq!(labels["lockbox.dev/environment"], "demo");
    assert_eq!(labels["app.kubernetes.io/instance"], NAME);
    assert_eq!(pod.metadata.namespace.as_deref(), Some("team-a"));
}

#[test]
fn file_secrets_are_a_read_only_secret_volume() {
    let pod = pod(&fixtures::full());
    let spec = pod.spec.as_ref().unwrap();
    let volumes = spec.volumes.as_ref().unwrap();
    let names: Vec<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["tmp", "secrets"]);
    assert!(volumes[0].empty_dir.is_some());
    let s = volumes[1].secret.as_ref().unwrap();
    assert_eq!(s.secret_name.as_deref(), Some(NAME));
    assert_eq!(s.default_mode, Some(256));
    let items = s.items.as_ref().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].key.as_str(), items[0].path.as_str()),
        ("file.tls.key", "tls.key")
    );
    let mounts = spec.containers[0].volume_mounts.as_ref().unwrap();
    assert_eq!(mounts[1].mount_path, "/secrets");
    assert_eq!(mounts[1].read_only, Some(true));
    assert_eq!(mounts[0].mount_path, "/tmp");
    assert_eq!(mounts[0].read_only, None);
}

#[test]
fn mount_dir_tmp_replaces_the_scratch_volume() {
    let mut spec = fixtures::full();
    spec.mount_dir = "/tmp".into();
    let pod = pod(&spec);
    let mounts = pod.spec.unwrap().containers[0]
        .volume_mounts
        .clone()
        .unwrap();
    assert_eq!(mounts.len(), 1);
    assert_eq!(
        (mounts[0].name.as_str(), mounts[0].mount_path.as_str()),
        ("secrets", "/tmp")
    );
}

#[test]
fn secret_holds_exactly_the_values_and_is_owned_by_the_pod() {
    let spec = fixtures::full();
    let s = secret(&spec, fixtures::full_values(), "uid-1")
        .unwrap()
        .unwrap();
    assert_eq!(s.immutable, Some(true));
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert_eq!(s.metadata.name.as_deref(), Some(NAME));
    let data = s.data.as_ref().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["env.DB_PASSWORD", "file.tls.key"]);
    assert_eq!(data["env.DB_PASSWORD"].0, fixtures::ENV_VALUE.as_bytes());
    assert_eq!(data["file.tls.key"].0, fixtures::FILE_VALUE.as_bytes());
    let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("Pod", NAME, "uid-1")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    assert_eq!(owner.api_version, "v1");
}

#[test]
fn no_secret_no_service_when_nothing_is_asked() {
    let spec = fixtures::bare();
    let objects = build(&spec, Values(vec![]), "uid").unwrap();
    assert!(objects.secret.is_none());
    assert!(objects.service.is_none());
    let env = env_of(&objects.pod);
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["LOCKBOX_SESSION_ID", "LOCKBOX_SECRET_ENV"]);
    let volumes = objects.pod.spec.unwrap().volumes.unwrap();
    assert_eq!(volumes.len(), 1);
    // A value count that does not match the injections is refused.
    assert!(secret(&fixtures::full(), Values(vec![]), "uid").is_err());
}

#[test]
fn service_selects_the_session_pod() {
    let svc = service(&fixtures::full()).unwrap();
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.selector.unwrap()["lockbox.dev/session"], SESSION);
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.port, 8080);
    assert_eq!(port.target_port, Some(IntOrString::Int(8080)));
    assert_eq!(svc.metadata.name.as_deref(), Some(NAME));
}

#[test]
fn redaction_and_debug_hide_values() {
    let mut objects = build(&fixtures::full(), fixtures::full_values(), "uid").unwrap();
    let debug = format!("{objects:?}");
    // A value would show as text, or (a Secret's data are byte strings) as its bytes' numbers.
    for value in [fixtures::ENV_VALUE, fixtures::FILE_VALUE] {
        let bytes = format!("{:?}", value.as_bytes());
        let numbers = bytes.trim_start_matches('[').trim_end_matches(']');
        assert!(!debug.contains(value), "{debug}");
        assert!(!debug.contains(numbers), "{debug}");
    }
    let secret = objects.secret.as_mut().unwrap();
    redact(secret);
    for v in secret.data.as_ref().unwrap().values() {
        assert_eq!(v.0, b"<redacted>");
    }
    wipe(secret);
    assert!(secret.data.is_none());
}
