//! Every object a Kubernetes launch creates, and the manifests in deploy/, checked against
//! the official Kubernetes schemas with `kubernetes-validate` (strict, Kubernetes 1.37), and
//! against Lockbox's check of the API server's own rules.
//!
//! Needs `kubernetes-validate` on PATH (`pip install kubernetes-validate==1.37.0`, done by
//! .ci/setup). Without it the test fails when CI=true and is skipped loudly otherwise.
#![cfg(feature = "ssr")]

use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use lockbox::server::{
    environments::Environment,
    kube::{
        manifests::Objects,
        render::{render, RenderArgs, EXAMPLE_SESSION, EXAMPLE_USER},
        rules,
    },
};
use std::{path::Path, process::Command};

const VALIDATOR: &str = "kubernetes-validate";
const K8S_VERSION: &str = "1.37.0";

/// Whether the validator can run; fails under CI when it cannot.
fn validator_available() -> bool {
    let found = Command::new(VALIDATOR)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "{VALIDATOR} is missing; run .ci/setup");
        eprintln!(
            "\n!!!!!! SKIPPED: {VALIDATOR} is not installed, so the Kubernetes objects were NOT \
             validated. Install it: pip install kubernetes-validate==1.37.0 !!!!!!\n"
        );
    }
    found
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
        let yaml = render(&args, env).unwrap_or_else(|e| panic!("{name}: {e}"));
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
        let yaml = render(&args, env).unwrap_or_else(|e| panic!("{name}: {e}"));
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

#[test]
fn deploy_manifests_pass_the_kubernetes_schemas() {
    if !validator_available() {
        return;
    }
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut files: Vec<_> = std::fs::read_dir(&deploy)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        let out = validate(&file).unwrap_or_else(|e| panic!("{} rejected:\n{e}", file.display()));
        assert!(out.contains(" passed for resource "), "{out}");
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
    let good = render(&args(), Environment::demo()).unwrap();
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
