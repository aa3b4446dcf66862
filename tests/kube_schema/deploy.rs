//! The manifests in deploy/: each passes the Kubernetes schemas, the kustomization lists exactly
//! them (and builds to exactly their objects, where kustomize is installed), and Lockbox's own
//! Deployment, Service, PodDisruptionBudget and NetworkPolicy fit together and fit the server:
//! the restricted security profile, secrets read through `_FILE` from the mounted Secret, and an
//! environment the server's own configuration parser accepts.

use super::{validate, validator_available};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{Container, Namespace, Pod, PodSpec, Service, ServiceAccount},
        networking::v1::NetworkPolicy,
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::{apis::meta::v1::LabelSelector, util::intstr::IntOrString},
};
use lockbox::server::{config::Env, kube::rules};
use serde::de::DeserializeOwned;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

const KUSTOMIZATION: &str = "kustomization.yaml";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every manifest in deploy/: the YAML files other than the kustomization, sorted.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != KUSTOMIZATION))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The objects of a YAML stream (documents holding only comments are not objects).
fn objects(text: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn objects_of(path: &Path) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let objects = objects(&text);
    for o in &objects {
        assert!(
            o["kind"].is_string() && o["apiVersion"].is_string(),
            "{}: a document without kind or apiVersion: {o:?}",
            path.display()
        );
    }
    objects
}

/// kind/namespace/name of an object.
fn identity(o: &serde_yaml::Value) -> String {
    let meta = &o["metadata"];
    format!(
        "{}/{}/{}",
        o["kind"].as_str().unwrap_or_default(),
        meta["namespace"].as_str().unwrap_or_default(),
        meta["name"].as_str().unwrap_or_default()
    )
}

#[test]
fn deploy_manifests_pass_the_kubernetes_schemas() {
    let files = manifests();
    let names: Vec<_> = files.iter().map(|f| file_name(f)).collect();
    for expected in ["rbac.yaml", "deployment.yaml", "server-network-policy.yaml"] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    if !validator_available() {
        return;
    }
    for file in files {
        let out = validate(&file).unwrap_or_else(|e| panic!("{} rejected:\n{e}", file.display()));
        // Every object in the file was looked at, not just the first.
        assert_eq!(
            out.matches(" passed for resource ").count(),
            objects_of(&file).len(),
            "{}: {out}",
            file.display()
        );
    }
}

/// The kustomization parsed: its `resources`, after checking what it must and must not hold.
fn kustomization_resources() -> Vec<String> {
    let text = std::fs::read_to_string(deploy_dir().join(KUSTOMIZATION)).unwrap();
    let k: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(k["apiVersion"], "kustomize.config.k8s.io/v1beta1");
    assert_eq!(k["kind"], "Kustomization");
    // These would move or rename objects that code and other manifests refer to by name and
    // namespace (the sessions' namespace, the service account the admission policy trusts).
    for key in ["namespace", "namePrefix", "nameSuffix"] {
        assert!(k.get(key).is_none(), "{KUSTOMIZATION} must not set {key}");
    }
    k["resources"]
        .as_sequence()
        .expect("resources: a list")
        .iter()
        .map(|r| r.as_str().expect("a resource is a file name").to_string())
        .collect()
}

/// kustomization.yaml is no Kubernetes object: it is checked here instead, on every machine.
#[test]
fn the_kustomization_lists_every_manifest_once() {
    let listed = kustomization_resources();
    let unique: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "listed twice: {listed:?}");
    let present: BTreeSet<_> = manifests().iter().map(|f| file_name(f)).collect();
    let missing: Vec<_> = present.difference(&unique).collect();
    let absent: Vec<_> = unique.difference(&present).collect();
    assert!(
        missing.is_empty() && absent.is_empty(),
        "{KUSTOMIZATION}: not listed {missing:?}; listed but not in deploy/ {absent:?}"
    );
    // Namespaces first, so a plain `kubectl apply -f` of the files in this order works too.
    assert_eq!(listed[0], "namespace.yaml");
}

/// `kustomize build` (or `kubectl kustomize`) of deploy/, when either is installed.
fn kustomize_build() -> Option<String> {
    let dir = deploy_dir();
    let attempts: [(&str, &[&str]); 2] = [("kustomize", &["build"]), ("kubectl", &["kustomize"])];
    for (tool, args) in attempts {
        let Ok(out) = Command::new(tool).args(args).arg(&dir).output() else {
            continue;
        };
        assert!(
            out.status.success(),
            "{tool} {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Some(String::from_utf8(out.stdout).unwrap());
    }
    eprintln!(
        "\n!!!!!! SKIPPED: neither kustomize nor kubectl is installed, so deploy/ was NOT built \
         with kustomize (its resource list was still checked) !!!!!!\n"
    );
    None
}

/// What `kubectl apply -k deploy/` sends is exactly the objects of the manifests, unchanged in
/// name and namespace, and passes the schemas as one stream.
#[test]
fn the_kustomization_builds_exactly_the_manifests_objects() {
    let Some(built) = kustomize_build() else {
        return;
    };
    let mut expected: Vec<_> = manifests()
        .iter()
        .flat_map(|f| objects_of(f))
        .map(|o| identity(&o))
        .collect();
    let mut got: Vec<_> = objects(&built).iter().map(identity).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("built.yaml");
    std::fs::write(&file, &built).unwrap();
    let out = validate(&file).unwrap_or_else(|e| panic!("the built stream was rejected:\n{e}"));
    assert_eq!(out.matches(" passed for resource ").count(), got.len());
}

/// The one object of `kind` in a file of deploy/.
fn one<K: DeserializeOwned>(file: &str, kind: &str) -> K {
    let mut found: Vec<_> = objects_of(&deploy_dir().join(file))
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "{file}: one {kind}");
    serde_yaml::from_value(found.remove(0)).unwrap()
}

fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    assert!(
        selector.match_expressions.is_none(),
        "only matchLabels are judged here"
    );
    let wanted = selector.match_labels.clone().unwrap_or_default();
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

struct Server {
    deployment: Deployment,
    spec: PodSpec,
    labels: BTreeMap<String, String>,
    container: Container,
}

fn server() -> Server {
    let deployment: Deployment = one("deployment.yaml", "Deployment");
    let template = deployment.spec.template.clone();
    let spec = template.spec.unwrap();
    let labels = template.metadata.unwrap().labels.unwrap();
    assert_eq!(spec.containers.len(), 1);
    let container = spec.containers[0].clone();
    Server {
        deployment,
        spec,
        labels,
        container,
    }
}

fn env_of(c: &Container) -> BTreeMap<String, String> {
    c.env
        .iter()
        .flatten()
        .map(|e| {
            assert!(e.value_from.is_none(), "{}: a literal value", e.name);
            (e.name.clone(), e.value.clone().unwrap_or_default())
        })
        .collect()
}

/// The restricted Pod Security profile, a read-only root file system, two replicas under
/// Lockbox's own service account, the probes on the server's health endpoints.
#[test]
fn the_deployment_runs_two_restricted_replicas_under_lockboxs_account() {
    let s = server();
    let spec = &s.deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    assert!(selects(&spec.selector, &s.labels));
    let pod = &s.spec;
    let account: ServiceAccount = one("rbac.yaml", "ServiceAccount");
    assert_eq!(pod.service_account_name, account.metadata.name);
    assert_eq!(s.deployment.metadata.namespace, account.metadata.namespace);
    let psc = pod.security_context.as_ref().unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert!(psc.run_as_user.is_some_and(|u| u > 0));
    assert_eq!(
        psc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
        Some("RuntimeDefault")
    );
    let c = &s.container;
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_ne!(sc.privileged, Some(true));
    assert_ne!(sc.run_as_user, Some(0));
    let caps = sc.capabilities.as_ref().unwrap();
    assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
    assert!(caps.add.is_none());
    assert!(pod.host_network.is_none() && pod.host_pid.is_none() && pod.host_ipc.is_none());
    let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|g| g.path.clone())
    };
    assert_eq!(path(&c.readiness_probe).as_deref(), Some("/readyz"));
    assert_eq!(path(&c.liveness_probe).as_deref(), Some("/healthz"));
    let resources = c.resources.as_ref().unwrap();
    for key in ["cpu", "memory"] {
        assert!(resources.requests.as_ref().unwrap().contains_key(key));
        assert!(resources.limits.as_ref().unwrap().contains_key(key));
    }
    // Spread over nodes.
    assert!(pod
        .topology_spread_constraints
        .iter()
        .flatten()
        .any(|t| t.topology_key == "kubernetes.io/hostname"
            && t.label_selector
                .as_ref()
                .is_some_and(|l| selects(l, &s.labels))));
    // The API server's own rules, on the Pod the template makes.
    let pod = Pod {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("lockbox-0".into()),
            namespace: Some("lockbox".into()),
            labels: Some(s.labels.clone()),
            ..Default::default()
        },
        spec: Some(s.spec.clone()),
        ..Default::default()
    };
    let mut problems = Vec::new();
    rules::check_pod(&pod, &mut problems);
    assert_eq!(problems, Vec::<String>::new());
}

/// The settings the server needs come from the environment, secrets only as `_FILE`s from the
/// mounted Secret, and the server's own configuration parser accepts them as given: PostgreSQL,
/// the Kubernetes backend, a data directory on a writable volume.
#[test]
fn the_deployment_configures_the_server_it_runs() {
    let s = server();
    let env = env_of(&s.container);
    for secret in [
        "LOCKBOX_DATABASE_URL",
        "LOCKBOX_MASTER_KEY",
        "LOCKBOX_PREVIOUS_MASTER_KEYS",
    ] {
        assert!(!env.contains_key(secret), "{secret} given inline");
    }
    for (name, value) in [
        ("LOCKBOX_KUBE", "1"),
        ("LOCKBOX_SECURE_COOKIES", "1"),
        ("LOCKBOX_LISTEN", "0.0.0.0:3000"),
        ("LOCKBOX_METRICS_LISTEN", "0.0.0.0:9464"),
    ] {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name}");
    }
    // Each _FILE names an item of the mounted Secret volume.
    let mounts = s.container.volume_mounts.clone().unwrap_or_default();
    let volumes = s.spec.volumes.clone().unwrap_or_default();
    let secret_files: BTreeMap<String, String> = mounts
        .iter()
        .filter_map(|m| {
            let v = volumes.iter().find(|v| v.name == m.name)?;
            let secret = v.secret.as_ref()?;
            assert_eq!(m.read_only, Some(true), "{}", m.name);
            Some(secret.items.iter().flatten().map(move |i| {
                (
                    format!("{}/{}", m.mount_path.trim_end_matches('/'), i.path),
                    i.key.clone(),
                )
            }))
        })
        .flatten()
        .collect();
    let files: Vec<_> = env.iter().filter(|(k, _)| k.ends_with("_FILE")).collect();
    assert_eq!(files.len(), 3, "{files:?}");
    // Sample contents for each key, to hand the parser files that exist.
    let dir = tempfile::tempdir().unwrap();
    let sample = |key: &str| match key {
        "database-url" => "postgres://lockbox:pw@db.example:5432/lockbox\n".to_string(),
        "master-key" => "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n".to_string(),
        "previous-master-keys" => String::new(),
        other => panic!("no sample for the Secret key {other}"),
    };
    let mut given = env.clone();
    for (name, path) in &files {
        let key = secret_files
            .get(*path)
            .unwrap_or_else(|| panic!("{name}={path} is no file of the mounted Secret"));
        let local = dir.path().join(key);
        std::fs::write(&local, sample(key)).unwrap();
        given.insert(name.to_string(), local.display().to_string());
    }
    let config = Env(|name: &str| given.get(name).cloned())
        .config()
        .unwrap_or_else(|e| panic!("the server refuses the Deployment's settings: {e}"));
    assert!(config.is_postgres());
    assert!(config.kube);
    assert!(config.secure_cookies);
    assert_eq!(config.listen.port(), 3000);
    assert_eq!(config.previous_master_keys.len(), 0);
    // The data directory lies inside a writable emptyDir (the root file system is read-only),
    // below its top, which belongs to root: the server makes its own directory there.
    let data = config.data_dir.display().to_string();
    let writable = mounts.iter().find(|m| {
        volumes
            .iter()
            .any(|v| v.name == m.name && v.empty_dir.is_some())
    });
    let writable = writable.expect("an emptyDir mount");
    assert_ne!(writable.read_only, Some(true));
    assert!(
        data.starts_with(&format!("{}/", writable.mount_path.trim_end_matches('/'))),
        "{data} is not below {}",
        writable.mount_path
    );
}

fn port_named(c: &Container, name: &str) -> i32 {
    c.ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no container port {name}"))
        .container_port
}

/// The Service, the disruption budget and the network policy select the server's Pods and use
/// the ports it listens on.
#[test]
fn the_service_budget_and_policy_fit_the_deployment() {
    let s = server();
    let service: Service = one("service.yaml", "Service");
    let spec = service.spec.as_ref().unwrap();
    assert!(spec
        .selector
        .as_ref()
        .is_some_and(|sel| sel.iter().all(|(k, v)| s.labels.get(k) == Some(v))));
    let mut problems = Vec::new();
    rules::check_service(&service, &mut problems);
    assert_eq!(problems, Vec::<String>::new());
    let mut ports: Vec<_> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let target = match &p.target_port {
                Some(IntOrString::String(name)) => port_named(&s.container, name),
                Some(IntOrString::Int(n)) => *n,
                None => p.port,
            };
            (p.name.clone().unwrap(), p.port, target)
        })
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        [
            ("http".to_string(), 3000, 3000),
            ("metrics".to_string(), 9464, 9464)
        ]
    );

    let budget: PodDisruptionBudget = one("disruption-budget.yaml", "PodDisruptionBudget");
    let b = budget.spec.unwrap();
    assert_eq!(b.min_available, Some(IntOrString::Int(1)));
    assert!(selects(b.selector.as_ref().unwrap(), &s.labels));

    // The server's policy (the other file is the sessions' policy).
    let policy: NetworkPolicy = one("server-network-policy.yaml", "NetworkPolicy");
    let p = policy.spec.unwrap();
    assert!(selects(&p.pod_selector.clone().unwrap(), &s.labels));
    assert_eq!(
        p.policy_types.as_deref(),
        Some(&["Ingress".to_string(), "Egress".to_string()][..])
    );
    // Who may reach which port: the web port from the ingress' namespaces, the metrics port
    // only from monitoring namespaces, nothing else.
    let ingress: Vec<_> = p
        .ingress
        .iter()
        .flatten()
        .map(|rule| {
            let ports: Vec<_> = rule
                .ports
                .iter()
                .flatten()
                .map(|p| p.port.clone().unwrap())
                .collect();
            let from: Vec<_> = rule
                .from
                .iter()
                .flatten()
                .map(|peer| {
                    assert!(peer.ip_block.is_none() && peer.pod_selector.is_none());
                    peer.namespace_selector
                        .clone()
                        .unwrap()
                        .match_labels
                        .unwrap()
                })
                .collect();
            (ports, from)
        })
        .collect();
    let labelled = |k: &str| vec![BTreeMap::from([(k.to_string(), "true".to_string())])];
    assert_eq!(
        ingress,
        [
            (
                vec![IntOrString::Int(port_named(&s.container, "http"))],
                labelled("lockbox.dev/ingress")
            ),
            (
                vec![IntOrString::Int(port_named(&s.container, "metrics"))],
                labelled("lockbox.dev/monitoring")
            ),
        ]
    );
    // Out: DNS, PostgreSQL, the API server, and session Pods in session namespaces.
    let egress = p.egress.unwrap_or_default();
    let ports_of = |i: usize| -> Vec<i32> {
        egress[i]
            .ports
            .iter()
            .flatten()
            .map(|p| match p.port {
                Some(IntOrString::Int(n)) => n,
                ref other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(egress.len(), 4);
    assert_eq!(ports_of(0), [53, 53]);
    assert_eq!(ports_of(1), [5432]);
    assert_eq!(ports_of(2), [443, 6443]);
    let sessions = &egress[3].to.as_ref().unwrap()[0];
    assert!(
        egress[3].ports.is_none(),
        "a session's port is its environment's"
    );
    // It selects what a launch renders, in the default project's namespace and in the
    // namespaces Lockbox creates for projects.
    let rendered = super::render(
        &super::args(),
        lockbox::server::environments::Environment::demo(),
        super::MAX_SESSION_BYTES,
    )
    .unwrap();
    let session_pod = objects(&rendered)
        .into_iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap();
    let session_pod: Pod = serde_yaml::from_value(session_pod).unwrap();
    assert!(selects(
        sessions.pod_selector.as_ref().unwrap(),
        session_pod.metadata.labels.as_ref().unwrap()
    ));
    let namespaces: Vec<Namespace> = objects_of(&deploy_dir().join("namespace.yaml"))
        .into_iter()
        .map(|o| serde_yaml::from_value(o).unwrap())
        .collect();
    let created = lockbox::server::kube::project_objects::build(
        &lockbox::server::kube::project_objects::ProjectSite {
            project: "ml",
            namespace: "lockbox-ml",
            system_namespace: "lockbox",
        },
        Some("0123456789abcdef0123456789abcdef"),
    )
    .namespace;
    let selector = sessions.namespace_selector.as_ref().unwrap();
    for ns in namespaces.iter().chain([&created]) {
        let name = ns.metadata.name.as_deref().unwrap();
        let chosen = selects(selector, ns.metadata.labels.as_ref().unwrap());
        assert_eq!(chosen, name != "lockbox", "{name}");
    }
}
