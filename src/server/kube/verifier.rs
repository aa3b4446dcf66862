//! The backend against a scripted API server (the controller-rs `ApiServerVerifier` pattern):
//! every request is recorded, each gets the next scripted reply, and a request beyond the
//! script gets a 500 and is recorded too, so tests see exactly what was sent.

use super::{backend::KubeBackend, fixtures};
use crate::server::sessions::{
    backend::{BackendError, Observed, SessionBackend, SessionRef},
    spec::Values,
};
use ::kube::client::Body;
use base64::Engine;
use serde_json::{json, Value};

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
    let (service, mut handle): (_, Handle) = tower_test::mock::pair();
    let server = tokio::spawn(async move {
        let mut script = script.into_iter();
        let mut seen = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let reply = script
                .next()
                .unwrap_or_else(|| status(500, "InternalError", "unexpected request"));
            send.send_response(respond(reply, &body));
            seen.push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                body,
            });
        }
        seen
    });
    let client = ::kube::Client::new(service, "default-ns");
    (KubeBackend::new(client), server)
}

/// Drops the backend (ending the server) and returns what the server saw.
async fn seen(backend: KubeBackend, server: tokio::task::JoinHandle<Vec<Seen>>) -> Vec<Seen> {
    drop(backend);
    server.await.unwrap()
}

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
    assert!(
        m.starts_with("creating the Pod failed: pods is forbidden"),
        "{m}"
    );
    assert!(m.contains("Forbidden, HTTP 403"), "{m}");
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
    assert!(
        m.starts_with("creating the Service failed: services"),
        "{m}"
    );
    assert!(m.contains("AlreadyExists, HTTP 409"), "{m}");
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
    let (b, server) = backend(vec![deleted(), not_found(), not_found()]);
    b.stop(&session()).await.unwrap();
    let expected = [
        format!("DELETE {}", at(PODS)),
        format!("DELETE {}", at(SERVICES)),
        format!("DELETE {}", at(SECRETS)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

#[tokio::test]
async fn stop_tries_everything_and_reports_failures() {
    let (b, server) = backend(vec![
        status(500, "InternalError", "pod delete broke"),
        deleted(),
        deleted(),
    ]);
    let err = b.stop(&session()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("deleting the Pod failed: pod delete broke"),
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
            Observed::Failed("ImagePullBackOff: Back-off pulling image \"nope\"".into()),
        ),
        (
            pod_with(waiting(
                "CreateContainerConfigError",
                "secret \"team-creds\" not found",
            )),
            Observed::Failed("CreateContainerConfigError: secret \"team-creds\" not found".into()),
        ),
        (
            pod_with(waiting(
                "CreateContainerConfigError",
                &format!("secret \"{}\" not found", fixtures::NAME),
            )),
            Observed::Starting,
        ),
        (pod_with(json!({"phase": "Running"})), Observed::Running),
        (
            pod_with(terminated("Succeeded", 0, "Completed")),
            Observed::Exited("exit code 0 (Completed)".into()),
        ),
        (
            pod_with(terminated("Failed", 137, "OOMKilled")),
            Observed::Failed("exit code 137 (OOMKilled)".into()),
        ),
        (not_found(), Observed::Exited("pod no longer exists".into())),
    ];
    for (reply, expected) in cases {
        let (b, server) = backend(vec![reply]);
        assert_eq!(b.status(&session()).await.unwrap(), expected);
        assert_eq!(lines(&seen(b, server).await), [format!("GET {}", at(PODS))]);
    }
    let (b, _server) = backend(vec![status(403, "Forbidden", "no get")]);
    assert!(matches!(
        b.status(&session()).await,
        Err(BackendError::Rejected(_))
    ));
}

#[tokio::test]
async fn logs_ask_for_the_tail_and_keep_the_newest_bytes() {
    let (b, server) = backend(vec![Reply::Text(200, "line one\nline two\nline three\n")]);
    assert_eq!(b.logs(&session(), 11).await.unwrap(), "line three\n");
    let seen = seen(b, server).await;
    assert_eq!(lines(&seen), [format!("GET {}/log", at(PODS))]);
    let q = &seen[0].query;
    for part in ["container=session", "limitBytes=44", "tailLines=500"] {
        assert!(q.contains(part), "{q}");
    }
    // A cut inside a character is decoded leniently rather than failing.
    let (b, _s) = backend(vec![Reply::Text(200, "caf\u{e9}")]);
    assert_eq!(b.logs(&session(), 2).await.unwrap(), "\u{e9}");
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
        assert_eq!(b.logs(&session(), 100).await.unwrap(), "");
    }
    let (b, _s) = backend(vec![status(500, "InternalError", "kubelet down")]);
    let err = b.logs(&session(), 100).await.unwrap_err();
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
        seen[3].starts_with("DELETE /api/v1/namespaces/team-a/pods/lockbox-s-99999999"),
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
