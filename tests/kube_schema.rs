//! Every object a Kubernetes launch creates, and the manifests in deploy/, checked against
//! the official Kubernetes schemas with `kubernetes-validate` (strict, Kubernetes 1.37), and
//! against Lockbox's check of the API server's own rules.
//!
//! Needs `kubernetes-validate` on PATH (`pip install kubernetes-validate==1.37.0`, done by
//! .ci/setup). Without it the tests fail, unless `LOCKBOX_SKIP_SCHEMA=1` is set (never under
//! CI=true): a skip printed by a passing test is captured by the test runner, unseen.
//! The admission policy's CEL is evaluated by cel-python (`pip install cel-python`, also done
//! by .ci/setup) through tests/support/cel_eval.py: a real CEL implementation that needs no
//! extra Rust crate compiled, next to the Python validator the schema checks already use.
#![cfg(feature = "ssr")]

use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use lockbox::server::{
    environments::Environment,
    kube::{
        manifests::Objects,
        project_objects::{self, ProjectSite},
        render::{render, RenderArgs, EXAMPLE_SESSION, EXAMPLE_USER},
        rules,
    },
};
use std::{path::Path, process::Command};

#[path = "kube_schema/deploy.rs"]
mod deploy;

const VALIDATOR: &str = "kubernetes-validate";
const K8S_VERSION: &str = "1.37.0";
/// The default `LOCKBOX_MAX_SESSION_BYTES`.
const MAX_SESSION_BYTES: usize = 1024 * 1024;

/// Set to `1` to skip the checks that need the Python tools (said on stderr); never under CI.
const SKIP_SCHEMA: &str = "LOCKBOX_SKIP_SCHEMA";

/// Whether a missing tool may skip its checks: only when asked for by name, and not under CI.
fn may_skip(tool: &str, install: &str) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = std::env::var(SKIP_SCHEMA).is_ok_and(|v| v == "1");
    assert!(
        skip && !ci,
        "{tool} is missing: run .ci/setup ({install}), or set {SKIP_SCHEMA}=1 to skip these \
         checks (not allowed under CI=true)"
    );
    eprintln!("\n!!!!!! SKIPPED ({SKIP_SCHEMA}=1): {tool} is not installed. {install} !!!!!!\n");
    false
}

/// Whether the validator can run; without it, a failure unless skipping was asked for.
fn validator_available() -> bool {
    let found = Command::new(VALIDATOR)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found || may_skip(VALIDATOR, "pip install kubernetes-validate==1.37.0")
}

/// Runs the validator on one file: Ok(output) when it accepts every document in it.
fn validate(file: &Path) -> Result<String, String> {
    let out = Command::new(VALIDATOR)
        .args(["--strict", "--kubernetes-version", K8S_VERSION])
        .arg(file)
        .output()
        .expect("running kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn args() -> RenderArgs {
    RenderArgs {
        environment: "demo".into(),
        secrets: vec![],
        mount_dir: "/secrets".into(),
        env: vec![],
        session_id: EXAMPLE_SESSION.into(),
        user_id: EXAMPLE_USER.into(),
        namespace: "lockbox-sessions".into(),
        image: None,
        port: None,
        value_bytes: 1,
    }
}

fn with(secrets: &[String], env: &[String], port: Option<u16>) -> RenderArgs {
    RenderArgs {
        secrets: secrets.to_vec(),
        env: env.to_vec(),
        port,
        ..args()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The representative launches: (case name, arguments, environment).
fn cases() -> Vec<(&'static str, RenderArgs, Environment)> {
    let demo = Environment::demo();
    let fifty: Vec<String> = (0..50)
        .map(|i| match i % 3 {
            0 => format!("S{i}"),
            1 => format!("S{i}:file=s{i}.pem"),
            _ => format!("S{i}:env=VAR_{i}"),
        })
        .collect();
    let mut long_env = demo.clone();
    long_env.name = format!("e{}", "x".repeat(61) + "1");
    let long_secret_ref = format!("REF=SECRET:{},{}", "a".repeat(253), "k".repeat(253));
    let mut limits = with(
        &[
            format!("A={}", "V".repeat(128)),
            format!("B:file={}", "f".repeat(128)),
        ],
        &[long_secret_ref],
        Some(65535),
    );
    limits.session_id = "ffffffff-ffff-4fff-bfff-ffffffffffff".into();
    let mut served = demo.clone();
    served.port = Some(8888);
    served.command = vec![];
    served.args = vec![];
    served.resources = Default::default();
    vec![
        ("no-secrets", args(), demo.clone()),
        (
            "env-only",
            with(&strings(&["DB_PASSWORD", "API:env=TOKEN"]), &[], None),
            demo.clone(),
        ),
        (
            "files-only",
            with(&strings(&["TLS_KEY:file=tls.key", "CA:file"]), &[], None),
            demo.clone(),
        ),
        (
            "both",
            with(
                &strings(&["DB_PASSWORD", "TLS_KEY:file=tls.key"]),
                &[],
                Some(8080),
            ),
            demo.clone(),
        ),
        ("fifty-mixed", with(&fifty, &[], None), demo.clone()),
        ("limits", limits, long_env),
        (
            "extra-env",
            with(
                &strings(&["DB_PASSWORD"]),
                &strings(&[
                    "LITERAL=a $(HOME) $$ b $(",
                    "SHARED=SECRET:team-creds,token",
                    "EMPTY=",
                ]),
                None,
            ),
            demo.clone(),
        ),
        ("port-no-command", args(), served),
        (
            "mount-tmp",
            RenderArgs {
                mount_dir: "/tmp".into(),
                ..with(&strings(&["K:file"]), &[], None)
            },
            demo,
        ),
    ]
}

/// Reads a rendered stream back into objects, so the Rust rules see what was printed.
fn objects(yaml: &str) -> Objects {
    let (mut secret, mut pod, mut service) = (None, None, None);
    for doc in yaml.split("---\n").filter(|d| !d.trim().is_empty()) {
        let v: serde_yaml::Value = serde_yaml::from_str(doc).unwrap();
        match v["kind"].as_str().unwrap() {
            "Secret" => secret = Some(serde_yaml::from_value::<Secret>(v).unwrap()),
            "Pod" => pod = Some(serde_yaml::from_value::<Pod>(v).unwrap()),
            "Service" => service = Some(serde_yaml::from_value::<Service>(v).unwrap()),
            other => panic!("unexpected kind {other}"),
        }
    }
    Objects {
        secret,
        pod: pod.expect("a Pod"),
        service,
    }
}

#[test]
fn rendered_objects_pass_the_rust_rules() {
    for (name, args, env) in cases() {
        let yaml = render(&args, env, MAX_SESSION_BYTES).unwrap_or_else(|e| panic!("{name}: {e}"));
        let o = objects(&yaml);
        assert_eq!(rules::check(&o), Vec::<String>::new(), "{name}");
        let has_secret = !args.secrets.is_empty();
        assert_eq!(o.secret.is_some(), has_secret, "{name}");
    }
}

#[test]
fn rendered_objects_pass_the_kubernetes_schemas() {
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, args, env) in cases() {
        let yaml = render(&args, env, MAX_SESSION_BYTES).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        let out = validate(&file).unwrap_or_else(|e| panic!("{name} rejected:\n{e}\n{yaml}"));
        // Every document was looked at, not just the first.
        let kinds = yaml.matches("\nkind: ").count();
        assert_eq!(
            out.matches(" passed for resource ").count(),
            kinds,
            "{name}: {out}"
        );
    }
}

/// The projects whose namespace objects are checked: a short name, the longest name the
/// default prefix allows, a Run:AI prefix, no prefix at all, and another system namespace.
fn project_sites() -> Vec<(String, String, &'static str)> {
    let longest = "a".repeat(63 - "lockbox-".len());
    let whole = format!("z{}", "9".repeat(62));
    [
        ("ml".to_string(), "lockbox-", "lockbox"),
        (longest, "lockbox-", "lockbox"),
        ("team-a".to_string(), "runai-", "runai"),
        (whole, "", "platform-system"),
    ]
    .into_iter()
    .map(|(name, prefix, system)| {
        lockbox::model::projects::name(prefix, &name).unwrap();
        let ns = lockbox::model::projects::namespace(prefix, &name);
        (name, ns, system)
    })
    .collect()
}

/// Every object Lockbox puts in a project namespace, as one YAML stream.
fn project_yaml(project: &str, namespace: &str, system: &str) -> String {
    let site = ProjectSite {
        project,
        namespace,
        system_namespace: system,
    };
    let o = project_objects::build(&site, Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(
        rules::check_project(&o),
        Vec::<String>::new(),
        "{namespace}"
    );
    [
        serde_yaml::to_string(&o.namespace),
        serde_yaml::to_string(&o.limit_range),
        serde_yaml::to_string(&o.resource_quota),
        serde_yaml::to_string(&o.network_policy),
        serde_yaml::to_string(&o.role_binding),
    ]
    .into_iter()
    .map(|d| format!("---\n{}", d.unwrap()))
    .collect()
}

#[test]
fn project_objects_pass_the_kubernetes_schemas() {
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (project, namespace, system) in project_sites() {
        let yaml = project_yaml(&project, &namespace, system);
        let file = dir.path().join(format!("{namespace}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        let out = validate(&file).unwrap_or_else(|e| panic!("{namespace} rejected:\n{e}\n{yaml}"));
        assert_eq!(
            out.matches(" passed for resource ").count(),
            5,
            "{namespace}: {out}"
        );
    }
}

/// The validator is not a rubber stamp: a bad field, a wrong type and a missing required
/// field are each rejected, even after a valid document.
#[test]
fn the_validator_rejects_invalid_objects() {
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = render(&args(), Environment::demo(), MAX_SESSION_BYTES).unwrap();
    let bad = [
        (
            "unknown-field",
            good.replace(
                "restartPolicy: Never",
                "restartPolicy: Never\n  restartPolicyy: Never",
            ),
        ),
        (
            "wrong-type",
            good.replace(
                "automountServiceAccountToken: false",
                "automountServiceAccountToken: 'no'",
            ),
        ),
        ("missing-name", good.replace("    name: session\n", "")),
    ];
    for (name, yaml) in bad {
        assert_ne!(yaml, good, "{name}: the mutation did not apply");
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, format!("{good}{yaml}")).unwrap();
        let err = validate(&file).expect_err(name);
        assert!(err.contains("did not validate"), "{name}: {err}");
    }
}

/// Whether cel-python can run; without it, a failure unless skipping was asked for.
fn cel_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import celpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    found || may_skip("cel-python", "pip install cel-python")
}

/// The admission request of a Pod create by `username`.
fn create_by(username: &str) -> serde_json::Value {
    serde_json::json!({"operation": "CREATE", "userInfo": {"username": username}})
}

/// Lockbox's own service account, as deploy/rbac.yaml names it.
const LOCKBOX_SA: &str = "system:serviceaccount:lockbox:lockbox";

/// Runs the admission policy in deploy/ on each (object, request) with cel-python, as the API
/// server would; returns each verdict (true, false, or an evaluation error's text).
fn admission_verdicts(cases: &[(serde_json::Value, serde_json::Value)]) -> Vec<serde_json::Value> {
    policy_verdicts("lockbox-session-secrets", cases, None)
}

/// Runs the named admission policy in deploy/ on each (object, request), with `old` objects
/// (for deletes) when given.
fn policy_verdicts(
    name: &str,
    cases: &[(serde_json::Value, serde_json::Value)],
    old: Option<&[serde_json::Value]>,
) -> Vec<serde_json::Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/admission-policy.yaml");
    let text = std::fs::read_to_string(file).unwrap();
    let policy = text
        .split("\n---\n")
        .filter(|d| d.contains("\nkind: ") || d.starts_with("kind: "))
        .map(|d| serde_yaml::from_str::<serde_json::Value>(d).unwrap())
        .find(|d| d["kind"] == "ValidatingAdmissionPolicy" && d["metadata"]["name"] == name)
        .expect("the ValidatingAdmissionPolicy");
    let variables = match &policy["spec"]["variables"] {
        serde_json::Value::Null => serde_json::json!([]),
        v => v.clone(),
    };
    let input = serde_json::json!({
        "oldObjects": old,
        "variables": variables,
        "validations": policy["spec"]["validations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["expression"].clone())
            .collect::<Vec<_>>(),
        "objects": cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        "requests": cases.iter().map(|c| c.1.clone()).collect::<Vec<_>>(),
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cel_eval.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A Pod named `name` with `spec` (JSON).
fn pod(name: Option<&str>, spec: serde_json::Value) -> serde_json::Value {
    let metadata = match name {
        Some(n) => serde_json::json!({"name": n, "namespace": "lockbox-sessions"}),
        None => serde_json::json!({"generateName": "x-", "namespace": "lockbox-sessions"}),
    };
    serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

fn env_ref(secret: &str) -> serde_json::Value {
    serde_json::json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}])
}

/// The admission policy's CEL, evaluated by cel-python (a real CEL implementation) on sample
/// Pods: a session's own Pod and Pods that use no session Secret are admitted (also without
/// env, volumes or init containers, and without a name); every way of naming another session's
/// Secret is refused.
#[test]
fn the_admission_policy_admits_own_secrets_and_refuses_others() {
    if !cel_available() {
        return;
    }
    use serde_json::json;
    let own = "lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d";
    let other = "lockbox-s-99999999222243338444555555555555";
    // A session Pod exactly as Lockbox renders it: file and env secrets, a reference.
    let rendered = render(
        &with(
            &strings(&["DB_PASSWORD", "TLS_KEY:file=tls.key"]),
            &strings(&["SHARED=SECRET:team-creds,token"]),
            Some(8080),
        ),
        Environment::demo(),
        MAX_SESSION_BYTES,
    )
    .unwrap();
    let rendered_pod: serde_json::Value = rendered
        .split("---\n")
        .filter(|d| d.contains("\nkind: Pod"))
        .map(|d| serde_yaml::from_str(d).unwrap())
        .next()
        .unwrap();
    let c = |extra: serde_json::Value| {
        let mut c = json!({"name": "c", "image": "busybox"});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let admitted = [
        ("rendered session pod", rendered_pod.clone()),
        (
            "bare",
            pod(Some(own), json!({"containers": [c(json!({}))]})),
        ),
        (
            "no name, nothing used",
            pod(None, json!({"containers": [c(json!({}))]})),
        ),
        (
            "own secret everywhere",
            pod(
                Some(own),
                json!({
                    "containers": [c(json!({"env": env_ref(own), "envFrom": [{"secretRef": {"name": own}}]}))],
                    "initContainers": [c(json!({"env": env_ref(own)}))],
                    "volumes": [{"name": "a", "secret": {"secretName": own}},
                                {"name": "b", "projected": {"sources": [{"secret": {"name": own}}]}}]
                }),
            ),
        ),
        (
            "other secrets, odd shapes",
            pod(
                Some("web"),
                json!({
                    "containers": [c(json!({"env": [{"name": "A", "value": "x"},
                                                    {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                            "envFrom": [{"configMapRef": {"name": "cm"}}]}))],
                    "ephemeralContainers": [c(json!({"env": env_ref("team-creds")}))],
                    "volumes": [{"name": "a", "emptyDir": {}},
                                {"name": "b", "secret": {"secretName": "lockbox-sessions-x"}},
                                {"name": "c", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
                                {"name": "d", "secret": {}},
                                {"name": "e", "csi": {"driver": "d.example"}},
                                {"name": "f", "csi": {"driver": "d.example", "nodePublishSecretRef": {"name": "team-creds"}}}]
                }),
            ),
        ),
    ];
    let refused = [
        (
            "secret volume",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))],
                "volumes": [{"name": "a", "secret": {"secretName": other}}]}),
            ),
        ),
        (
            "projected source",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))],
                "volumes": [{"name": "a", "projected": {"sources": [{"configMap": {"name": "x"}}, {"secret": {"name": other}}]}}]}),
            ),
        ),
        (
            "inline CSI volume's publish secret",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))],
                "volumes": [{"name": "a", "csi": {"driver": "d.example", "nodePublishSecretRef": {"name": other}}}]}),
            ),
        ),
        (
            "container env",
            pod(
                Some(own),
                json!({"containers": [c(json!({"env": env_ref(other)}))]}),
            ),
        ),
        (
            "container envFrom",
            pod(
                Some(own),
                json!({"containers": [c(json!({"envFrom": [{"secretRef": {"name": other}}]}))]}),
            ),
        ),
        (
            "init container env",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))], "initContainers": [c(json!({"env": env_ref(other)}))]}),
            ),
        ),
        (
            "init container envFrom",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))], "initContainers": [c(json!({"envFrom": [{"secretRef": {"name": other}}]}))]}),
            ),
        ),
        (
            "ephemeral container env",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))], "ephemeralContainers": [c(json!({"env": env_ref(other)}))]}),
            ),
        ),
        (
            "ephemeral container envFrom",
            pod(
                Some(own),
                json!({"containers": [c(json!({}))], "ephemeralContainers": [c(json!({"envFrom": [{"secretRef": {"name": other}}]}))]}),
            ),
        ),
        (
            "unnamed pod using a session secret",
            pod(
                None,
                json!({"containers": [c(json!({"env": env_ref(own)}))]}),
            ),
        ),
        ("another pod using the rendered session's secret", {
            let mut p = rendered_pod.clone();
            p["metadata"]["name"] = json!("intruder");
            p
        }),
    ];
    // All of the above as if Lockbox sent them; then who sends a request matters too.
    let by_lockbox =
        |(name, p): &(&'static str, serde_json::Value)| (*name, p.clone(), create_by(LOCKBOX_SA));
    let ephemeral_by = |user: &str| {
        json!({"operation": "UPDATE", "subResource": "ephemeralcontainers",
               "userInfo": {"username": user}})
    };
    let mut admitted: Vec<_> = admitted.iter().map(by_lockbox).collect();
    admitted.extend([
        (
            "someone's own pod, nothing of a session",
            pod(Some("web"), json!({"containers": [c(json!({}))]})),
            create_by("alice"),
        ),
        (
            "a controller updating a session pod (finalizers, labels)",
            rendered_pod.clone(),
            json!({"operation": "UPDATE", "subResource": "",
                   "userInfo": {"username": "system:serviceaccount:kube-system:generic-garbage-collector"}}),
        ),
        (
            "Lockbox adding an ephemeral container to its pod",
            rendered_pod.clone(),
            ephemeral_by(LOCKBOX_SA),
        ),
    ]);
    let mut refused: Vec<_> = refused.iter().map(by_lockbox).collect();
    refused.extend([
        (
            "someone else taking a session's name (freed when its pod went)",
            pod(
                Some(own),
                json!({"containers": [c(json!({"env": env_ref(own)}))]}),
            ),
            create_by("alice"),
        ),
        (
            "someone else creating a bare pod under a session name",
            pod(Some(own), json!({"containers": [c(json!({}))]})),
            create_by("system:serviceaccount:team-a:default"),
        ),
        (
            "someone else adding an ephemeral container to a session pod",
            rendered_pod.clone(),
            ephemeral_by("alice"),
        ),
    ]);
    let cases: Vec<_> = admitted
        .iter()
        .chain(refused.iter())
        .map(|(_, p, r)| (p.clone(), r.clone()))
        .collect();
    let verdicts = admission_verdicts(&cases);
    for ((name, _, _), verdict) in admitted.iter().zip(&verdicts) {
        assert_eq!(verdict, &json!(true), "{name} should be admitted");
    }
    for ((name, _, _), verdict) in refused.iter().zip(&verdicts[admitted.len()..]) {
        assert_eq!(verdict, &json!(false), "{name} should be refused");
    }
}

/// Lockbox's service account may delete a namespace only when it is annotated as created by
/// Lockbox; everyone else's deletes are not this policy's business.
#[test]
fn the_admission_policy_lets_lockbox_delete_only_namespaces_it_created() {
    if !cel_available() {
        return;
    }
    use serde_json::json;
    let ns = |annotations: serde_json::Value| {
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "lockbox-ml", "annotations": annotations}})
    };
    let bare =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}});
    let delete_by = |user: &str| json!({"operation": "DELETE", "userInfo": {"username": user}});
    let cases = [
        (
            ns(json!({"lockbox.dev/created-by": "0123456789abcdef0123456789abcdef"})),
            LOCKBOX_SA,
            true,
        ),
        (ns(json!({"owner": "platform"})), LOCKBOX_SA, false),
        (bare.clone(), LOCKBOX_SA, false),
        (bare, "alice", true),
        (
            ns(json!({})),
            "system:serviceaccount:kube-system:namespace-controller",
            true,
        ),
    ];
    let requests: Vec<_> = cases
        .iter()
        .map(|(_, user, _)| (serde_json::Value::Null, delete_by(user)))
        .collect();
    let old: Vec<_> = cases.iter().map(|(o, _, _)| o.clone()).collect();
    let verdicts = policy_verdicts("lockbox-namespace-deletes", &requests, Some(&old));
    for ((o, user, expected), verdict) in cases.iter().zip(&verdicts) {
        assert_eq!(verdict, &json!(expected), "{user} deleting {o}");
    }
}

/// The copies propagation writes (an Opaque source and an immutable TLS one, with Lockbox's
/// markers) pass the schemas and the Rust rules.
#[test]
fn propagated_copies_pass_the_kubernetes_schemas() {
    use lockbox::server::propagation::{kube_store::copy_of, reconcile::Source};
    let sources = [
        (
            "registry-creds",
            serde_json::json!({"type": "Opaque", "data": {"token": "dDE=", "user": "dQ=="}}),
        ),
        (
            "wildcard-tls",
            serde_json::json!({"type": "kubernetes.io/tls", "immutable": true,
                               "data": {"tls.crt": "Yw==", "tls.key": "aw=="}}),
        ),
    ];
    let mut docs = Vec::new();
    for (name, body) in sources {
        let mut obj = body;
        obj["metadata"] = serde_json::json!({"name": name, "namespace": "lockbox",
            "uid": "6f1c2a44-0d7e-4a8e-9d57-3f0b8f1e2a10", "resourceVersion": "4711",
            "labels": {"lockbox.dev/cluster-wide": "true"}});
        let secret: Secret = serde_json::from_value(obj).unwrap();
        let source = Source {
            uid: "6f1c2a44-0d7e-4a8e-9d57-3f0b8f1e2a10".into(),
            namespace: "lockbox".into(),
            name: name.into(),
            version: "4711".into(),
            kind: secret.type_.clone().unwrap(),
            immutable: secret.immutable == Some(true),
            digest: [0; 32],
        };
        let mut copy = copy_of(&secret, &source, "lockbox-ml-team");
        let mut problems = Vec::new();
        rules::check_secret(&copy, &mut problems);
        assert_eq!(problems, Vec::<String>::new(), "{name}");
        // What is sent: apiVersion and kind are added by the client.
        let mut v = serde_json::to_value(&copy).unwrap();
        v["apiVersion"] = "v1".into();
        v["kind"] = "Secret".into();
        docs.push(serde_yaml::to_string(&v).unwrap());
        copy.data = None;
    }
    if !validator_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copies.yaml");
    let yaml = docs.join("---\n");
    std::fs::write(&file, &yaml).unwrap();
    let out = validate(&file).unwrap_or_else(|e| panic!("copies rejected:\n{e}\n{yaml}"));
    assert_eq!(out.matches(" passed for resource ").count(), 2, "{out}");
}
