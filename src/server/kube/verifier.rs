//! The backend against a scripted API server (the controller-rs `ApiServerVerifier` pattern):
//! every request is recorded, each gets the next scripted reply, and a request beyond the
//! script gets a 500 and is recorded too, so tests see exactly what was sent.

use super::{backend::KubeBackend, fixtures};
use crate::{
    model::extra_env::{EnvSource, ExtraEnv},
    server::sessions::{
        backend::{BackendError, LiveSessions, Observed, SessionBackend, SessionRef},
        spec::{LaunchSpec, Values},
    },
};
use ::kube::client::Body;
use base64::Engine;
use serde_json::{json, Value};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

mod projects;
mod rbac;
mod watch;

type Handle = tower_test::mock::Handle<http::Request<Body>, http::Response<Body>>;

/// One request as the API server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

impl Seen {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the scripted server answers.
enum Reply {
    /// Echo the request body as the created object, with a uid and a status.
    Created,
    Json(u16, Value),
    Text(u16, &'static str),
    /// No answer until the test ends (a watch that stays open).
    Hold,
}

fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::Json(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn deleted() -> Reply {
    Reply::Json(
        200,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
    )
}

fn not_found() -> Reply {
    status(404, "NotFound", "not found")
}

fn respond(reply: Reply, body: &Value) -> http::Response<Body> {
    let (code, bytes) = match reply {
        Reply::Created => {
            let mut object = body.clone();
            object["metadata"]["uid"] = json!("pod-uid-1");
            object["metadata"]["resourceVersion"] = json!("101");
            object["metadata"]["creationTimestamp"] = json!("2026-11-22T10:00:00Z");
            if object["kind"] == "Pod" {
                object["status"] = json!({"phase": "Pending", "qosClass": "Burstable"});
            }
            (201, serde_json::to_vec(&object).unwrap())
        }
        Reply::Json(code, v) => (code, serde_json::to_vec(&v).unwrap()),
        Reply::Text(code, t) => (code, t.as_bytes().to_vec()),
        Reply::Hold => unreachable!("a held request gets no response"),
    };
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .unwrap()
}

/// A backend on a mock API server answering with `script`; the task returns every request
/// seen once the backend is dropped.
fn backend(script: Vec<Reply>) -> (KubeBackend, tokio::task::JoinHandle<Vec<Seen>>) {
    backend_with_journal(script, Journal::default())
}

/// The order of events across the API server and the test's own fakes.
type Journal = Arc<Mutex<Vec<String>>>;

fn backend_with_journal(
    script: Vec<Reply>,
    journal: Journal,
) -> (KubeBackend, tokio::task::JoinHandle<Vec<Seen>>) {
    let (client, server) = client_with_journal(script, journal);
    (KubeBackend::new(client, INSTALLATION.into()), server)
}

/// A client of a mock API server answering with `script`; the task returns every request seen
/// once every clone of the client is dropped.
fn client_with_journal(
    script: Vec<Reply>,
    journal: Journal,
) -> (::kube::Client, tokio::task::JoinHandle<Vec<Seen>>) {
    let (service, mut handle): (_, Handle) = tower_test::mock::pair();
    let server = tokio::spawn(async move {
        let mut script = script.into_iter();
        let mut seen = Vec::new();
        let mut held = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let reply = script
                .next()
                .unwrap_or_else(|| status(500, "InternalError", "unexpected request"));
            journal
                .lock()
                .unwrap()
                .push(format!("{} {}", parts.method, parts.uri.path()));
            match reply {
                Reply::Hold => held.push(send),
                reply => send.send_response(respond(reply, &body)),
            }
            seen.push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                body,
            });
        }
        seen
    });
    (::kube::Client::new(service, "default-ns"), server)
}

/// Drops the backend (ending the server) and returns what the server saw.
async fn seen(backend: KubeBackend, server: tokio::task::JoinHandle<Vec<Seen>>) -> Vec<Seen> {
    drop(backend);
    server.await.unwrap()
}

const INSTALLATION: &str = "0123456789abcdef0123456789abcdef";
const PODS: &str = "/api/v1/namespaces/team-a/pods";
const SECRETS: &str = "/api/v1/namespaces/team-a/secrets";
const SERVICES: &str = "/api/v1/namespaces/team-a/services";

fn at(collection: &str) -> String {
    format!("{collection}/{}", fixtures::NAME)
}

fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

fn session() -> SessionRef {
    SessionRef {
        session_id: fixtures::SESSION.into(),
        user_id: fixtures::USER.into(),
        namespace: fixtures::NS.into(),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn assert_no_values(text: &str) {
    assert!(!text.contains("sentinel"), "a value leaked: {text}");
    assert!(
        !text.contains(&b64(fixtures::ENV_VALUE)),
        "a value leaked: {text}"
    );
}

#[tokio::test]
async fn launch_creates_pod_then_owned_secret_then_service() {
    let (b, server) = backend(vec![Reply::Created, Reply::Created, Reply::Created]);
    let started = b
        .start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap();
    assert_eq!(
        started.url.as_deref(),
        Some(format!("http://{}.team-a.svc:8080", fixtures::NAME).as_str())
    );
    let seen = seen(b, server).await;
    // Exactly three calls: no further request reached the server.
    let expected = [
        format!("POST {PODS}"),
        format!("POST {SECRETS}"),
        format!("POST {SERVICES}"),
    ];
    assert_eq!(lines(&seen), expected);

    let pod = &seen[0].body;
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], fixtures::NAME);
    assert_eq!(pod["metadata"]["namespace"], "team-a");
    let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
    let db = env.iter().find(|e| e["name"] == "DB_PASSWORD").unwrap();
    assert_eq!(db["valueFrom"]["secretKeyRef"]["key"], "env.DB_PASSWORD");
    assert!(db.get("value").is_none());
    assert_no_values(&pod.to_string());

    let secret = &seen[1].body;
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], fixtures::NAME);
    assert_eq!(secret["immutable"], true);
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(owner["uid"], "pod-uid-1");
    assert_eq!(owner["kind"], "Pod");
    assert_eq!(owner["name"], fixtures::NAME);
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    let data = secret["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["env.DB_PASSWORD", "file.tls.key"]);
    assert_eq!(data["env.DB_PASSWORD"], b64(fixtures::ENV_VALUE));
    assert_eq!(data["file.tls.key"], b64(fixtures::FILE_VALUE));

    let svc = &seen[2].body;
    assert_eq!(svc["kind"], "Service");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert_no_values(&svc.to_string());
}

#[tokio::test]
async fn launch_without_secrets_or_port_is_one_call() {
    let (b, server) = backend(vec![Reply::Created]);
    let started = b.start(&fixtures::bare(), Values(vec![])).await.unwrap();
    assert_eq!(started.url, None);
    assert_eq!(lines(&seen(b, server).await), [format!("POST {PODS}")]);
}

#[tokio::test]
async fn failed_pod_create_leaves_nothing_to_delete() {
    let forbidden = status(
        403,
        "Forbidden",
        "pods is forbidden: User \"lockbox\" cannot create",
    );
    let (b, server) = backend(vec![forbidden]);
    let err = b
        .start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    // A short text for users; the API server's own (it names users and objects) is logged.
    assert_eq!(
        m,
        "Kubernetes refused creating the Pod (Forbidden); the server log has the details."
    );
    assert!(
        !m.contains("is forbidden") && !m.contains("lockbox\""),
        "{m}"
    );
    assert_eq!(lines(&seen(b, server).await), [format!("POST {PODS}")]);
}

#[tokio::test]
async fn failed_secret_create_deletes_the_pod() {
    let (b, server) = backend(vec![
        Reply::Created,
        status(500, "InternalError", "etcd timeout"),
        deleted(),
    ]);
    let err = b
        .start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap_err();
    let BackendError::Internal(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with("creating the Secret failed: etcd timeout"),
        "{m}"
    );
    assert_no_values(&format!("{err} {err:?}"));
    let expected = [
        format!("POST {PODS}"),
        format!("POST {SECRETS}"),
        format!("DELETE {}", at(PODS)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn failed_service_create_deletes_secret_and_pod() {
    let (b, server) = backend(vec![
        Reply::Created,
        Reply::Created,
        status(409, "AlreadyExists", "services \"x\" already exists"),
        deleted(),
        deleted(),
    ]);
    let err = b
        .start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        m,
        "Kubernetes refused creating the Service (AlreadyExists); the server log has the details."
    );
    let expected = [
        format!("POST {PODS}"),
        format!("POST {SECRETS}"),
        format!("POST {SERVICES}"),
        format!("DELETE {}", at(SECRETS)),
        format!("DELETE {}", at(PODS)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn failed_service_without_secret_deletes_only_the_pod_and_reports_cleanup() {
    let mut spec = fixtures::full();
    spec.injections.clear();
    let (b, server) = backend(vec![
        Reply::Created,
        status(500, "InternalError", "boom"),
        status(503, "ServiceUnavailable", "try later"),
    ]);
    let err = b.start(&spec, Values(vec![])).await.unwrap_err();
    let m = err.to_string();
    assert!(m.starts_with("creating the Service failed: boom"), "{m}");
    assert!(
        m.contains("cleaning up also failed: deleting the Pod: try later"),
        "{m}"
    );
    let expected = [
        format!("POST {PODS}"),
        format!("POST {SERVICES}"),
        format!("DELETE {}", at(PODS)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn pod_without_uid_is_rolled_back() {
    let (b, server) = backend(vec![
        Reply::Json(
            201,
            json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": fixtures::NAME}}),
        ),
        deleted(),
    ]);
    let err = b
        .start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no uid"), "{err}");
    let expected = [format!("POST {PODS}"), format!("DELETE {}", at(PODS))];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn objects_the_api_would_refuse_are_never_sent() {
    let mut spec = fixtures::full();
    spec.namespace = "Team_A".into();
    let (b, server) = backend(vec![]);
    let err = b.start(&spec, fixtures::full_values()).await.unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    assert!(m.contains("namespace \"Team_A\""), "{m}");
    assert!(seen(b, server).await.is_empty());
}

#[tokio::test]
async fn stop_deletes_pod_service_and_secret_and_forgives_404() {
    let (b, server) = backend(vec![not_found(), deleted(), not_found()]);
    b.stop(&session()).await.unwrap();
    // The Secret first: a Pod re-created under the freed name must not find it.
    let expected = [
        format!("DELETE {}", at(SECRETS)),
        format!("DELETE {}", at(PODS)),
        format!("DELETE {}", at(SERVICES)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn stop_tries_everything_and_reports_failures() {
    let (b, server) = backend(vec![
        status(500, "InternalError", "secret delete broke"),
        deleted(),
        deleted(),
    ]);
    let err = b.stop(&session()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("deleting the Secret failed: secret delete broke"),
        "{err}"
    );
    assert_eq!(seen(b, server).await.len(), 3);
}

fn pod_with(status: Value) -> Reply {
    Reply::Json(
        200,
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": fixtures::NAME, "uid": "u"},
               "status": status}),
    )
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"phase": "Pending", "containerStatuses": [{"name": "session", "image": "i", "imageID": "",
        "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}]})
}

fn terminated(phase: &str, code: i32, reason: &str) -> Value {
    json!({"phase": phase, "containerStatuses": [{"name": "session", "image": "i", "imageID": "",
        "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": code, "reason": reason}}}]})
}

#[tokio::test]
async fn status_follows_phase_and_container_state() {
    let get = format!("GET {}", at(PODS));
    let cases = [
        (
            pod_with(waiting("ContainerCreating", "")),
            Observed::Starting,
        ),
        (
            pod_with(waiting(
                "ImagePullBackOff",
                "Back-off pulling image \"nope\"",
            )),
            Observed::Failed("ImagePullBackOff: the image could not be pulled".into()),
        ),
        (
            pod_with(waiting(
                "CreateContainerConfigError",
                &format!("secret \"{}\" not found", fixtures::NAME),
            )),
            Observed::Starting,
        ),
        (pod_with(json!({"phase": "Running"})), Observed::Running),
        (not_found(), Observed::Exited("pod no longer exists".into())),
    ];
    for (reply, expected) in cases {
        let (b, server) = backend(vec![reply]);
        assert_eq!(b.status(&session()).await.unwrap(), expected);
        assert_eq!(lines(&seen(b, server).await), std::slice::from_ref(&get));
    }
    let (b, _server) = backend(vec![status(403, "Forbidden", "no get")]);
    assert!(matches!(
        b.status(&session()).await,
        Err(BackendError::Rejected(_))
    ));
}

/// The kubelet's text names other Secrets (an existence oracle) and images: users see a fixed
/// text per reason, never the kubelet's.
#[tokio::test]
async fn kubelet_messages_are_not_shown() {
    let (b, _server) = backend(vec![pod_with(waiting(
        "CreateContainerConfigError",
        "secret \"lockbox-s-11112222333344445555666677778888\" not found",
    ))]);
    let Observed::Failed(text) = b.status(&session()).await.unwrap() else {
        panic!("not failed")
    };
    assert!(
        !text.contains("lockbox-s-1111") && !text.contains("not found"),
        "{text}"
    );
    assert!(text.starts_with("CreateContainerConfigError: "), "{text}");
    let evicted = json!({"phase": "Failed", "reason": "Evicted",
        "message": "The node was low on resource: memory. node-7 10.1.2.3"});
    let (b, _server) = backend(vec![pod_with(evicted), deleted(), deleted()]);
    assert_eq!(
        b.status(&session()).await.unwrap(),
        Observed::Failed("Evicted".into())
    );
}

/// A Pod seen ended is deleted at once, with its Service (its Secret goes with the Pod, by
/// owner reference).
#[tokio::test]
async fn an_ended_pod_is_deleted_with_its_service() {
    let cases = [
        (
            terminated("Succeeded", 0, "Completed"),
            Observed::Exited("exit code 0 (Completed)".into()),
        ),
        (
            terminated("Failed", 137, "OOMKilled"),
            Observed::Failed("exit code 137 (OOMKilled)".into()),
        ),
    ];
    for (pod, expected) in cases {
        // The Service may already be gone (or never existed): a 404 is fine.
        let (b, server) = backend(vec![pod_with(pod), deleted(), deleted(), not_found()]);
        assert_eq!(b.status(&session()).await.unwrap(), expected);
        let expected_lines = [
            format!("GET {}", at(PODS)),
            format!("DELETE {}", at(SECRETS)),
            format!("DELETE {}", at(PODS)),
            format!("DELETE {}", at(SERVICES)),
        ];
        assert_eq!(lines(&seen(b, server).await), expected_lines);
    }
    // A failed delete still reports the end (the sweep retries later).
    let (b, server) = backend(vec![
        pod_with(terminated("Failed", 1, "Error")),
        status(500, "InternalError", "etcd down"),
        deleted(),
        deleted(),
    ]);
    assert_eq!(
        b.status(&session()).await.unwrap(),
        Observed::Failed("exit code 1 (Error)".into())
    );
    assert_eq!(seen(b, server).await.len(), 4);
}

#[tokio::test]
async fn logs_read_from_the_start_and_count_offsets_from_there() {
    let log = "line one\nline two\nline three\n";
    // The newest: read up to the scan limit, keep the newest bytes, say where the log ends.
    let (b, server) = backend(vec![Reply::Text(200, log)]);
    let c = b.logs(&session(), None, 11).await.unwrap();
    assert_eq!((c.text.as_str(), c.next), ("line three\n", 29));
    let asked = seen(b, server).await;
    assert_eq!(lines(&asked), [format!("GET {}/log", at(PODS))]);
    let q = &asked[0].query;
    for part in ["container=session", "limitBytes=8388608"] {
        assert!(q.contains(part), "{q}");
    }
    assert!(!q.contains("tailLines"), "{q}");
    // With a cursor: only up to `after + max` is asked for, and what follows `after` kept.
    let (b, server) = backend(vec![Reply::Text(200, "line one\nline two\n")]);
    let c = b.logs(&session(), Some(9), 9).await.unwrap();
    assert_eq!((c.text.as_str(), c.next), ("line two\n", 18));
    let asked = seen(b, server).await;
    assert!(
        asked[0].query.contains("limitBytes=18"),
        "{}",
        asked[0].query
    );
    // A cut inside a character is held back for the next read rather than garbled.
    let (b, _s) = backend(vec![Reply::Text(200, "caf\u{e9}")]);
    let c = b.logs(&session(), Some(0), 4).await.unwrap();
    assert_eq!((c.text.as_str(), c.next), ("caf", 3));
}

#[tokio::test]
async fn logs_of_missing_or_unstarted_pods_are_empty() {
    let waiting = status(
        400,
        "BadRequest",
        "container \"session\" in pod \"x\" is waiting to start: ContainerCreating",
    );
    for reply in [not_found(), waiting] {
        let (b, _s) = backend(vec![reply]);
        assert_eq!(b.logs(&session(), None, 100).await.unwrap().text, "");
    }
    let (b, _s) = backend(vec![status(500, "InternalError", "kubelet down")]);
    let err = b.logs(&session(), None, 100).await.unwrap_err();
    assert!(err.to_string().contains("kubelet down"), "{err}");
}

#[tokio::test]
async fn reap_reports_vanished_and_ended_pods() {
    let other = SessionRef {
        session_id: "11111111-2222-4333-8444-555555555555".into(),
        ..session()
    };
    let ended = SessionRef {
        session_id: "99999999-2222-4333-8444-555555555555".into(),
        ..session()
    };
    let (b, server) = backend(vec![
        not_found(),
        pod_with(json!({"phase": "Running"})),
        pod_with(terminated("Failed", 1, "Error")),
        deleted(),
        deleted(),
        deleted(),
    ]);
    let gone = b.reap(&[session(), other, ended.clone()]).await.unwrap();
    assert_eq!(gone, [fixtures::SESSION.to_string(), ended.session_id]);
    let seen = lines(&seen(b, server).await);
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(
        seen[3].starts_with("DELETE /api/v1/namespaces/team-a/secrets/lockbox-s-99999999"),
        "{seen:?}"
    );
}

/// The reply to the Secret create echoes the values; it is never decoded (nor logged), so even
/// a reply that is not JSON at all does not matter.
#[tokio::test]
async fn the_secret_create_reply_is_not_read() {
    let (b, server) = backend(vec![
        Reply::Created,
        Reply::Text(
            201,
            "{\"data\": {\"env.DB_PASSWORD\": \"env-sentinel-4711\"} (truncated",
        ),
        Reply::Created,
    ]);
    b.start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap();
    assert_eq!(seen(b, server).await.len(), 3);
}

/// A launch with one extra reference `SHARED=SECRET:<secret>,<key>` and nothing else odd.
fn referencing(secret: &str, key: &str) -> LaunchSpec {
    let mut spec = fixtures::full();
    spec.extra_env = vec![ExtraEnv {
        name: "SHARED".into(),
        source: EnvSource::SecretRef {
            secret: secret.into(),
            key: key.into(),
        },
    }];
    spec
}

/// What the service does: check the references, and start only if they pass.
async fn launch(b: &KubeBackend, spec: &LaunchSpec) -> Result<(), BackendError> {
    b.check_references(spec).await?;
    b.start(spec, fixtures::full_values()).await.map(drop)
}

fn secret_with(labels: Value, keys: &[&str]) -> Reply {
    let data: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!(b64("referenced-sentinel"))))
        .collect();
    Reply::Json(
        200,
        json!({"kind": "Secret", "apiVersion": "v1",
               "metadata": {"name": "team-creds", "namespace": "team-a", "labels": labels},
               "data": data, "type": "Opaque"}),
    )
}

fn invalid_fields(err: BackendError) -> Vec<crate::model::FieldError> {
    match err {
        BackendError::Invalid(fields) => fields,
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// Another session's Secret is refused by its name alone: not one request reaches the API
/// server, so the answer says nothing about whether it exists.
#[tokio::test]
async fn a_reference_to_a_session_secret_is_refused_without_a_request() {
    let other = "lockbox-s-11112222333344445555666677778888";
    let (b, server) = backend(vec![]);
    let fields = invalid_fields(
        launch(&b, &referencing(other, "env.DB_PASSWORD"))
            .await
            .unwrap_err(),
    );
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].field, "extra_env");
    assert!(
        fields[0]
            .message
            .starts_with(&format!("SHARED=SECRET:{other},env.DB_PASSWORD: ")),
        "{}",
        fields[0].message
    );
    assert!(seen(b, server).await.is_empty());
    // The session's own name is refused just the same.
    let (b, server) = backend(vec![]);
    assert!(launch(&b, &referencing(fixtures::NAME, "env.DB_PASSWORD"))
        .await
        .is_err());
    assert!(seen(b, server).await.is_empty());
}

/// A Secret labelled as a session Secret, a missing Secret and a missing key are each refused
/// on `extra_env` after one read, before anything is created; a good reference proceeds.
#[tokio::test]
async fn references_are_read_and_judged_before_any_create() {
    let get = format!("GET {SECRETS}/team-creds");
    let cases = [
        (
            secret_with(json!({"lockbox.dev/session": "x"}), &["token"]),
            "Lockbox session Secret",
        ),
        (
            not_found(),
            "there is no Secret team-creds in the namespace team-a",
        ),
        (
            secret_with(json!({"team": "a"}), &["password"]),
            "has no key token",
        ),
    ];
    for (reply, needle) in cases {
        let (b, server) = backend(vec![reply]);
        let fields = invalid_fields(
            launch(&b, &referencing("team-creds", "token"))
                .await
                .unwrap_err(),
        );
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0].field, "extra_env");
        let m = &fields[0].message;
        assert!(m.starts_with("SHARED=SECRET:team-creds,token: "), "{m}");
        assert!(m.contains(needle), "{m}");
        assert_no_values(m);
        assert!(!m.contains(&b64("referenced-sentinel")), "{m}");
        assert_eq!(lines(&seen(b, server).await), std::slice::from_ref(&get));
    }
    let (b, server) = backend(vec![
        secret_with(json!({"team": "a"}), &["token", "other"]),
        Reply::Created,
        Reply::Created,
        Reply::Created,
    ]);
    launch(&b, &referencing("team-creds", "token"))
        .await
        .unwrap();
    let seen = seen(b, server).await;
    let expected = [
        get,
        format!("POST {PODS}"),
        format!("POST {SECRETS}"),
        format!("POST {SERVICES}"),
    ];
    assert_eq!(lines(&seen), expected);
    let env = seen[1].body["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    let shared = env.iter().find(|e| e["name"] == "SHARED").unwrap();
    assert_eq!(shared["valueFrom"]["secretKeyRef"]["name"], "team-creds");
}

/// Several references to one Secret read it once; a lack of permission is a refusal with a
/// short text, not the API server's.
#[tokio::test]
async fn references_read_each_secret_once() {
    let mut spec = referencing("team-creds", "token");
    spec.extra_env.push(ExtraEnv {
        name: "OTHER".into(),
        source: EnvSource::SecretRef {
            secret: "team-creds".into(),
            key: "nope".into(),
        },
    });
    let (b, server) = backend(vec![secret_with(json!({}), &["token"])]);
    let fields = invalid_fields(b.check_references(&spec).await.unwrap_err());
    assert_eq!(fields.len(), 1);
    assert!(fields[0]
        .message
        .starts_with("OTHER=SECRET:team-creds,nope"));
    assert_eq!(seen(b, server).await.len(), 1);
    let (b, _server) = backend(vec![status(
        403,
        "Forbidden",
        "secrets \"team-creds\" is forbidden: User \"x\" cannot get",
    )]);
    let err = b.check_references(&spec).await.unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    assert!(!m.contains("cannot get"), "{m}");
}

/// Live sessions as a test decides, noting in the journal when it was asked.
struct FakeLive(HashSet<String>, Journal);

#[async_trait::async_trait]
impl LiveSessions for FakeLive {
    async fn live_ids(&self) -> Result<HashSet<String>, String> {
        self.1.lock().unwrap().push("live_ids".into());
        Ok(self.0.clone())
    }
}

fn metadata_list(items: &[(&str, &str)]) -> Reply {
    let items: Vec<Value> = items
        .iter()
        .map(|(name, session)| {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": name, "namespace": "team-a",
                                "labels": {"lockbox.dev/session": session,
                                           "lockbox.dev/installation": INSTALLATION}}})
        })
        .collect();
    Reply::Json(
        200,
        json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
               "metadata": {}, "items": items}),
    )
}

/// The sweep lists this installation's session Pods and Services, then asks which sessions
/// are live, and deletes the rest; live ones stay.
#[tokio::test]
async fn the_sweep_deletes_what_is_not_live_and_keeps_what_is() {
    let live = "11111111-2222-4333-8444-555555555555";
    let stale = "99999999-2222-4333-8444-555555555555";
    let live_name = "lockbox-s-11111111222243338444555555555555";
    let stale_name = "lockbox-s-99999999222243338444555555555555";
    let journal = Journal::default();
    let (b, server) = backend_with_journal(
        vec![
            metadata_list(&[(live_name, live), (stale_name, stale)]),
            metadata_list(&[(stale_name, stale)]),
            deleted(),
            deleted(),
            deleted(),
        ],
        journal.clone(),
    );
    let fake = FakeLive(HashSet::from([live.to_string()]), journal.clone());
    let deleted = b.sweep(&[fixtures::NS.into()], &fake).await.unwrap();
    assert_eq!(deleted, 2);
    let seen = seen(b, server).await;
    let expected = [
        format!("GET {PODS}"),
        format!("GET {SERVICES}"),
        "live_ids".to_string(),
        format!("DELETE {SECRETS}/{stale_name}"),
        format!("DELETE {PODS}/{stale_name}"),
        format!("DELETE {SERVICES}/{stale_name}"),
    ];
    assert_eq!(*journal.lock().unwrap(), expected);
    // Only this installation's session objects are listed.
    let selector = format!(
        "labelSelector=lockbox.dev%2Fsession%2Clockbox.dev%2Finstallation%3D{INSTALLATION}"
    );
    assert!(seen[0].query.contains(&selector), "{}", seen[0].query);
    assert!(seen[1].query.contains(&selector), "{}", seen[1].query);
    // Nothing listed: the database is not even asked.
    let journal = Journal::default();
    let (b, _server) = backend_with_journal(
        vec![metadata_list(&[]), metadata_list(&[])],
        journal.clone(),
    );
    let fake = FakeLive(HashSet::new(), journal.clone());
    assert_eq!(b.sweep(&[fixtures::NS.into()], &fake).await.unwrap(), 0);
    assert!(!journal.lock().unwrap().contains(&"live_ids".to_string()));
}

/// Every object a launch creates carries this installation's id.
#[tokio::test]
async fn created_objects_carry_the_installation_label() {
    let (b, server) = backend(vec![Reply::Created, Reply::Created, Reply::Created]);
    b.start(&fixtures::full(), fixtures::full_values())
        .await
        .unwrap();
    for s in seen(b, server).await {
        assert_eq!(
            s.body["metadata"]["labels"]["lockbox.dev/installation"],
            INSTALLATION,
            "{}",
            s.line()
        );
    }
}
