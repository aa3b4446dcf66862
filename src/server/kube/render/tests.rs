use super::*;
use clap::Parser;

/// The default `LOCKBOX_MAX_SESSION_BYTES`.
const MAX: usize = 1024 * 1024;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: RenderArgs,
}

fn args(argv: &[&str]) -> RenderArgs {
    let mut full = vec!["render"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full).unwrap().args
}

fn docs(text: &str) -> Vec<serde_yaml::Value> {
    text.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect()
}

#[test]
fn defaults_render_the_demo_pod_alone() {
    let a = args(&[]);
    assert_eq!(a.environment, "demo");
    assert_eq!(a.mount_dir, "/secrets");
    assert_eq!(a.namespace, "lockbox-sessions");
    let text = render(&a, Environment::demo(), MAX).unwrap();
    assert!(text.starts_with("---\n"));
    let d = docs(&text);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["kind"], "Pod");
    assert_eq!(d[0]["metadata"]["namespace"], "lockbox-sessions");
    assert_eq!(
        d[0]["metadata"]["labels"]["lockbox.dev/session"],
        EXAMPLE_SESSION
    );
}

#[test]
fn secrets_modes_targets_and_overrides() {
    let a = args(&[
        "--secret",
        "DB_PASSWORD",
        "--secret",
        "TLS_KEY:file=tls.key",
        "--secret",
        "API_TOKEN:env=TOKEN",
        "--env",
        "MODE=a $(B)",
        "--image",
        "example.org/app:1",
        "--port",
        "8080",
        "--mount-dir",
        "/run-secrets/",
    ]);
    let d = docs(&render(&a, Environment::demo(), MAX).unwrap());
    let kinds: Vec<&str> = d.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Secret", "Pod", "Service"]);
    let data = d[0]["data"].as_mapping().unwrap();
    let keys: Vec<&str> = data.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(keys, ["env.DB_PASSWORD", "env.TOKEN", "file.tls.key"]);
    // Every value is the placeholder (base64 of "<redacted>").
    for v in data.values() {
        assert_eq!(v.as_str(), Some("PHJlZGFjdGVkPg=="));
    }
    assert_eq!(
        d[0]["metadata"]["ownerReferences"][0]["uid"],
        POD_UID_PLACEHOLDER
    );
    let c = &d[1]["spec"]["containers"][0];
    assert_eq!(c["image"], "example.org/app:1");
    let env = c["env"].as_sequence().unwrap();
    let get = |n: &str| env.iter().find(|e| e["name"] == n).unwrap().clone();
    assert_eq!(get("LOCKBOX_SECRET_ENV")["value"], "DB_PASSWORD TOKEN");
    assert_eq!(get("SECRETS_DIR")["value"], "/run-secrets");
    assert_eq!(get("MODE")["value"], "a $$(B)");
    assert_eq!(
        get("TOKEN")["valueFrom"]["secretKeyRef"]["key"],
        "env.TOKEN"
    );
    assert_eq!(d[2]["spec"]["ports"][0]["port"], 8080);
}

#[test]
fn launch_rules_are_enforced() {
    let err = |argv: &[&str]| render(&args(argv), Environment::demo(), MAX).unwrap_err();
    assert!(err(&["--secret", "A", "--secret", "A:file"])
        .contains("--secret A:file: A is chosen more than once"));
    assert!(err(&["--secret", "A=PORT"]).contains("set by Lockbox"));
    assert!(err(&["--secret", "A:file=../x"]).contains("--secret A:file=../x: File name"));
    assert!(err(&["--secret", "A:bogus"]).contains("no secret named"));
    assert!(err(&["--mount-dir", "/etc/x"]).starts_with("--mount-dir: "));
    assert!(err(&["--env", "9X=1"]).contains("--env: Line 1: variable name"));
    assert!(err(&["--secret", "A", "--env", "A=1"]).contains("already given to the secret A"));
    assert!(err(&["--session-id", "alice"]).contains("--session-id \"alice\" is not a UUID"));
    // The API server's rules run too: an invalid namespace is refused.
    assert!(err(&["--namespace", "Bad_NS"]).contains("namespace \"Bad_NS\""));
}

#[test]
fn run_exits_2_on_errors() {
    assert_eq!(
        run(args(&["--mount-dir", "rel"]), Environment::demo(), MAX),
        ExitCode::from(2)
    );
    assert_eq!(run(args(&[]), Environment::demo(), MAX), ExitCode::SUCCESS);
}

/// Render applies the same launch rules as the service (one function owns them): the size
/// limit, the reference rule and the Kubernetes-only features.
#[test]
fn render_applies_the_size_and_backend_checks() {
    let err = |argv: &[&str]| render(&args(argv), Environment::demo(), MAX).unwrap_err();
    // Two secrets of 600 KiB each exceed 1 MiB, whatever else is asked.
    let e = err(&[
        "--secret",
        "A",
        "--secret",
        "B:file",
        "--value-bytes",
        "614400",
        "--env",
        "REF=SECRET:team-creds,token",
    ]);
    assert_eq!(
        e,
        "--secret: Together the chosen secrets and extra values are 1228800 bytes; a session \
         can receive at most 1048576 bytes (1024 KiB)."
    );
    // The limit comes from the configuration, as for a launch.
    let a = args(&["--secret", "A", "--value-bytes", "100", "--env", "X=12345"]);
    assert!(render(&a, Environment::demo(), 106).is_ok());
    assert!(render(&a, Environment::demo(), 105).is_err());
    // Another session's Secret cannot be referenced.
    let e = err(&[
        "--env",
        "X=SECRET:lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d,env.A",
    ]);
    assert!(e.starts_with("--env: X=SECRET:lockbox-s-"), "{e}");
    assert!(e.contains("Lockbox session Secret"), "{e}");
    // A file name the API server refuses as a key is refused here too.
    assert!(err(&["--secret", "A:file=.."]).contains("--secret A:file=..: File name"));
}

#[test]
fn rendered_objects_carry_the_installation_label() {
    let text = render(
        &args(&["--secret", "A", "--port", "80"]),
        Environment::demo(),
        MAX,
    )
    .unwrap();
    for d in docs(&text) {
        assert_eq!(
            d["metadata"]["labels"]["lockbox.dev/installation"],
            EXAMPLE_INSTALLATION
        );
    }
}
