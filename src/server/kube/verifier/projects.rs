//! Preparing and removing a project's namespace against the scripted API server: the exact
//! requests for a created namespace, an adopted one, one left by an earlier attempt, objects
//! in the way, failures (and what is undone after them), and removal of each kind.

use super::*;
use crate::server::sessions::backend::{ProjectNamespace, ProjectPrepared};

pub(super) const NS: &str = "lockbox-ml";
pub(super) const NAMESPACES: &str = "/api/v1/namespaces";
pub(super) const THE_NS: &str = "/api/v1/namespaces/lockbox-ml";
pub(super) const LIMIT_RANGES: &str = "/api/v1/namespaces/lockbox-ml/limitranges";
pub(super) const QUOTAS: &str = "/api/v1/namespaces/lockbox-ml/resourcequotas";
pub(super) const POLICIES: &str =
    "/apis/networking.k8s.io/v1/namespaces/lockbox-ml/networkpolicies";
pub(super) const BINDINGS: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/lockbox-ml/rolebindings";

pub(super) fn ml() -> ProjectNamespace {
    ProjectNamespace {
        project: "ml".into(),
        namespace: NS.into(),
    }
}

fn named(collection: &str) -> String {
    format!("{collection}/lockbox-sessions")
}

/// The requests of a full creation, in order.
fn creation() -> Vec<String> {
    [LIMIT_RANGES, QUOTAS, POLICIES, BINDINGS]
        .iter()
        .map(|c| format!("POST {c}"))
        .collect()
}

pub(super) fn conflict() -> Reply {
    status(409, "AlreadyExists", "already exists")
}

pub(super) fn existing_namespace(labels: Value, annotations: Value) -> Reply {
    Reply::Json(
        200,
        json!({"kind": "Namespace", "apiVersion": "v1",
               "metadata": {"name": NS, "uid": "ns-uid-7", "labels": labels,
                            "annotations": annotations},
               "status": {"phase": "Active"}}),
    )
}

pub(super) fn restricted() -> Value {
    json!({"pod-security.kubernetes.io/enforce": "restricted", "lockbox.dev/sessions": "true",
           "kubernetes.io/metadata.name": NS})
}

pub(super) fn ours() -> Value {
    json!({"app.kubernetes.io/managed-by": "lockbox", "lockbox.dev/installation": INSTALLATION})
}

/// An existing object named lockbox-sessions in the namespace, of the kind `collection` holds.
pub(super) fn existing(collection: &str, labels: Value) -> Reply {
    let (kind, api_version) = if collection == LIMIT_RANGES {
        ("LimitRange", "v1")
    } else if collection == QUOTAS {
        ("ResourceQuota", "v1")
    } else if collection == POLICIES {
        ("NetworkPolicy", "networking.k8s.io/v1")
    } else {
        ("RoleBinding", "rbac.authorization.k8s.io/v1")
    };
    let mut object = json!({"kind": kind, "apiVersion": api_version,
        "metadata": {"name": "lockbox-sessions", "namespace": NS, "uid": format!("uid-{kind}"),
                     "labels": labels}});
    if kind == "RoleBinding" {
        object["roleRef"] = json!({"apiGroup": "rbac.authorization.k8s.io",
                                   "kind": "ClusterRole", "name": "lockbox-launch"});
    }
    Reply::Json(200, object)
}

pub(super) fn created(n: usize) -> Vec<Reply> {
    (0..n).map(|_| Reply::Created).collect()
}

pub(super) const SECRETS: &str = "/api/v1/namespaces/lockbox-ml/secrets";

/// The copies of cluster-wide secrets in the namespace, as a metadata list.
pub(super) fn copies(names: &[&str]) -> Reply {
    let items: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"),
                                "labels": {"app.kubernetes.io/managed-by": "lockbox",
                                           "lockbox.dev/propagated-from": "src-uid"}}})
        })
        .collect();
    Reply::Json(
        200,
        json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
               "metadata": {}, "items": items}),
    )
}

fn uid_precondition(s: &Seen) -> &Value {
    &s.body["preconditions"]["uid"]
}

#[tokio::test]
async fn a_new_project_creates_its_namespace_and_objects_binding_last() {
    let (b, server) = backend(created(5));
    let prepared = b.prepare_project(&ml()).await.unwrap();
    assert_eq!(
        prepared,
        ProjectPrepared {
            created: true,
            warnings: vec![]
        }
    );
    let sent = seen(b, server).await;
    let mut expected = vec![format!("POST {NAMESPACES}")];
    expected.extend(creation());
    assert_eq!(lines(&sent), expected);

    let ns = &sent[0].body;
    assert_eq!(ns["kind"], "Namespace");
    assert_eq!(ns["metadata"]["name"], NS);
    let labels = &ns["metadata"]["labels"];
    assert_eq!(labels["lockbox.dev/project"], "ml");
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert_eq!(labels["lockbox.dev/sessions"], "true");
    assert_eq!(
        ns["metadata"]["annotations"]["lockbox.dev/created-by"],
        INSTALLATION
    );
    for s in &sent[1..] {
        assert_eq!(s.body["metadata"]["namespace"], NS, "{}", s.line());
        assert_eq!(s.body["metadata"]["name"], "lockbox-sessions");
        assert_eq!(
            s.body["metadata"]["labels"]["lockbox.dev/installation"],
            INSTALLATION
        );
    }
    let binding = &sent[4].body;
    assert_eq!(binding["roleRef"]["name"], "lockbox-launch");
    assert_eq!(binding["subjects"][0]["namespace"], "lockbox");
    let policy = &sent[3].body;
    assert_eq!(
        policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
            ["kubernetes.io/metadata.name"],
        "lockbox"
    );
}

/// The system namespace given to the backend is the one bound and let in.
#[tokio::test]
async fn the_system_namespace_is_the_one_configured() {
    let (b, server) = backend(created(5));
    let b = b.with_system_namespace("platform".into());
    b.prepare_project(&ml()).await.unwrap();
    let sent = seen(b, server).await;
    assert_eq!(sent[4].body["subjects"][0]["namespace"], "platform");
    assert_eq!(
        sent[3].body["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
            ["kubernetes.io/metadata.name"],
        "platform"
    );
}

/// An existing namespace is adopted: read, never written (none of its labels change), with a
/// warning for each way it falls short; the objects are created in it.
#[tokio::test]
async fn an_existing_namespace_is_adopted_as_it_is_with_warnings() {
    let labels = json!({"pod-security.kubernetes.io/enforce": "baseline", "team": "ml"});
    let mut script = vec![conflict(), existing_namespace(labels, json!({}))];
    script.extend((0..4).map(|_| Reply::Created));
    let (b, server) = backend(script);
    let prepared = b.prepare_project(&ml()).await.unwrap();
    assert!(!prepared.created);
    assert_eq!(prepared.warnings.len(), 2, "{:?}", prepared.warnings);
    assert!(prepared.warnings[0].contains("\"baseline\" rather than \"restricted\""));
    assert!(prepared.warnings[1].contains("lockbox.dev/sessions=true"));
    let mut expected = vec![format!("POST {NAMESPACES}"), format!("GET {THE_NS}")];
    expected.extend(creation());
    assert_eq!(lines(&seen(b, server).await), expected);

    // A restricted one gives no warning.
    let mut script = vec![conflict(), existing_namespace(restricted(), json!({}))];
    script.extend((0..4).map(|_| Reply::Created));
    let (b, _server) = backend(script);
    assert_eq!(
        b.prepare_project(&ml()).await.unwrap(),
        ProjectPrepared::default()
    );
}

/// A namespace this installation created for this project in an earlier attempt is its own
/// (created), and its objects found there are taken as they are.
#[tokio::test]
async fn an_earlier_attempt_is_resumed() {
    let mut labels = restricted();
    labels["lockbox.dev/project"] = json!("ml");
    let script = vec![
        conflict(),
        existing_namespace(labels, json!({"lockbox.dev/created-by": INSTALLATION})),
        conflict(),
        existing(LIMIT_RANGES, ours()),
        Reply::Created,
        Reply::Created,
        Reply::Created,
    ];
    let (b, server) = backend(script);
    let prepared = b.prepare_project(&ml()).await.unwrap();
    assert!(prepared.created);
    assert!(prepared.warnings.is_empty());
    let expected = [
        format!("POST {NAMESPACES}"),
        format!("GET {THE_NS}"),
        format!("POST {LIMIT_RANGES}"),
        format!("GET {}", named(LIMIT_RANGES)),
        format!("POST {QUOTAS}"),
        format!("POST {POLICIES}"),
        format!("POST {BINDINGS}"),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

/// Another installation's namespace is adopted, never taken for created.
#[tokio::test]
async fn another_installations_namespace_is_only_adopted() {
    let mut labels = restricted();
    labels["lockbox.dev/project"] = json!("ml");
    let mut script = vec![
        conflict(),
        existing_namespace(labels, json!({"lockbox.dev/created-by": "f".repeat(32)})),
    ];
    script.extend((0..4).map(|_| Reply::Created));
    let (b, _server) = backend(script);
    assert!(!b.prepare_project(&ml()).await.unwrap().created);
}

/// An object Lockbox did not create in the way stops the preparation (it is not changed), and
/// what this attempt created in the adopted namespace is deleted again; the namespace stays.
#[tokio::test]
async fn a_foreign_object_in_the_way_is_refused_and_the_attempt_undone() {
    let script = vec![
        conflict(),
        existing_namespace(restricted(), json!({})),
        Reply::Created,
        conflict(),
        existing(QUOTAS, json!({"app.kubernetes.io/managed-by": "helm"})),
        deleted(),
    ];
    let (b, server) = backend(script);
    let err = b.prepare_project(&ml()).await.unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        m,
        "The namespace lockbox-ml already has a ResourceQuota named lockbox-sessions that \
         Lockbox did not create; remove or rename it, then try again."
    );
    let expected = [
        format!("POST {NAMESPACES}"),
        format!("GET {THE_NS}"),
        format!("POST {LIMIT_RANGES}"),
        format!("POST {QUOTAS}"),
        format!("GET {}", named(QUOTAS)),
        format!("DELETE {}", named(LIMIT_RANGES)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

/// Another installation's object is not Lockbox's own either.
#[tokio::test]
async fn another_installations_object_is_in_the_way_too() {
    let other = json!({"app.kubernetes.io/managed-by": "lockbox",
                       "lockbox.dev/installation": "f".repeat(32)});
    let script = vec![
        conflict(),
        existing_namespace(restricted(), json!({})),
        conflict(),
        existing(LIMIT_RANGES, other),
    ];
    let (b, server) = backend(script);
    assert!(matches!(
        b.prepare_project(&ml()).await,
        Err(BackendError::Rejected(_))
    ));
    // Nothing was created, so nothing is deleted.
    assert_eq!(seen(b, server).await.len(), 4);
}

/// A failure after the namespace was created deletes the namespace (and so everything in it),
/// by the uid it was created with.
#[tokio::test]
async fn a_failure_in_a_created_namespace_deletes_the_namespace() {
    let script = vec![
        Reply::Created,
        Reply::Created,
        status(500, "InternalError", "etcd timeout"),
        deleted(),
    ];
    let (b, server) = backend(script);
    let err = b.prepare_project(&ml()).await.unwrap_err();
    let BackendError::Internal(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with("creating the ResourceQuota failed: etcd timeout"),
        "{m}"
    );
    let sent = seen(b, server).await;
    let expected = [
        format!("POST {NAMESPACES}"),
        format!("POST {LIMIT_RANGES}"),
        format!("POST {QUOTAS}"),
        format!("DELETE {THE_NS}"),
    ];
    assert_eq!(lines(&sent), expected);
    assert_eq!(uid_precondition(&sent[3]), "pod-uid-1");
}

/// Undoing can fail too: the error says so.
#[tokio::test]
async fn a_failed_undo_is_reported() {
    let script = vec![
        Reply::Created,
        status(403, "Forbidden", "limitranges is forbidden: User \"x\""),
        status(500, "InternalError", "etcd down"),
    ];
    let (b, _server) = backend(script);
    let err = b.prepare_project(&ml()).await.unwrap_err();
    let BackendError::Rejected(m) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        m,
        "Kubernetes refused creating the LimitRange (Forbidden); the server log has the \
         details.; some of its objects could not be removed yet"
    );
}

#[tokio::test]
async fn namespace_failures_are_refusals_or_errors() {
    let (b, server) = backend(vec![status(403, "Forbidden", "namespaces is forbidden")]);
    let err = b.prepare_project(&ml()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kubernetes refused creating the namespace (Forbidden); the server log has the details."
    );
    assert_eq!(seen(b, server).await.len(), 1);
    // Being deleted: refused after one read, nothing created.
    let terminating = Reply::Json(
        200,
        json!({"kind": "Namespace", "apiVersion": "v1",
               "metadata": {"name": NS, "uid": "u", "deletionTimestamp": "2026-11-27T10:00:00Z"},
               "status": {"phase": "Terminating"}}),
    );
    let (b, server) = backend(vec![conflict(), terminating]);
    let err = b.prepare_project(&ml()).await.unwrap_err();
    assert!(err.to_string().contains("is being deleted"), "{err}");
    assert_eq!(seen(b, server).await.len(), 2);
    // A name the API would refuse is never sent.
    let (b, server) = backend(vec![]);
    let bad = ProjectNamespace {
        project: "ml".into(),
        namespace: "Lockbox_ML".into(),
    };
    assert!(matches!(
        b.prepare_project(&bad).await,
        Err(BackendError::Rejected(_))
    ));
    assert!(seen(b, server).await.is_empty());
}

/// A namespace Lockbox created (flag and annotation agree) is deleted whole, by its uid.
#[tokio::test]
async fn removing_a_created_project_deletes_its_namespace() {
    let script = vec![
        existing_namespace(
            restricted(),
            json!({"lockbox.dev/created-by": INSTALLATION}),
        ),
        deleted(),
    ];
    let (b, server) = backend(script);
    b.remove_project(&ml(), true).await.unwrap();
    let sent = seen(b, server).await;
    assert_eq!(
        lines(&sent),
        [format!("GET {THE_NS}"), format!("DELETE {THE_NS}")]
    );
    assert_eq!(uid_precondition(&sent[1]), "ns-uid-7");
    // Already gone: done.
    let (b, server) = backend(vec![not_found()]);
    b.remove_project(&ml(), true).await.unwrap();
    assert_eq!(lines(&seen(b, server).await), [format!("GET {THE_NS}")]);
}

/// The flag alone is not enough: a namespace whose annotation does not name this installation
/// (re-created by someone else since) is treated as adopted.
#[tokio::test]
async fn a_created_flag_without_the_annotation_removes_only_own_objects() {
    let script = vec![
        existing_namespace(restricted(), json!({})),
        copies(&[]),
        not_found(),
        existing(POLICIES, ours()),
        deleted(),
        existing(QUOTAS, json!({"team": "ml"})),
        not_found(),
    ];
    let (b, server) = backend(script);
    b.remove_project(&ml(), true).await.unwrap();
    let expected = [
        format!("GET {THE_NS}"),
        format!("GET {SECRETS}"),
        format!("GET {}", named(BINDINGS)),
        format!("GET {}", named(POLICIES)),
        format!("DELETE {}", named(POLICIES)),
        format!("GET {}", named(QUOTAS)),
        format!("GET {}", named(LIMIT_RANGES)),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);
}

/// In an adopted namespace propagation's copies go first (listed by both markers, metadata
/// only, deleted by uid, while the RoleBinding still grants the right), then exactly Lockbox's
/// four objects, the RoleBinding first, each by the uid that was judged; the namespace is
/// never touched.
#[tokio::test]
async fn removing_an_adopted_project_removes_only_lockboxs_objects() {
    let script = vec![
        copies(&["registry-creds"]),
        deleted(),
        existing(BINDINGS, ours()),
        deleted(),
        existing(POLICIES, ours()),
        deleted(),
        existing(QUOTAS, ours()),
        deleted(),
        existing(LIMIT_RANGES, ours()),
        deleted(),
    ];
    let (b, server) = backend(script);
    b.remove_project(&ml(), false).await.unwrap();
    let sent = seen(b, server).await;
    let mut expected = vec![
        format!("GET {SECRETS}"),
        format!("DELETE {SECRETS}/registry-creds"),
    ];
    expected.extend(
        [BINDINGS, POLICIES, QUOTAS, LIMIT_RANGES]
            .iter()
            .flat_map(|c| [format!("GET {}", named(c)), format!("DELETE {}", named(c))]),
    );
    assert_eq!(lines(&sent), expected);
    assert!(
        sent[0].query.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dlockbox%2Clockbox.dev%2Fpropagated-from"),
        "{}",
        sent[0].query
    );
    assert_eq!(uid_precondition(&sent[1]), &json!("uid-registry-creds"));
    let sent = &sent[2..];
    for (s, kind) in sent.iter().skip(1).step_by(2).zip([
        "RoleBinding",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
    ]) {
        assert_eq!(uid_precondition(s), &json!(format!("uid-{kind}")));
    }
    assert!(!lines(sent).iter().any(|l| l.ends_with(THE_NS)));
}

/// A failure removing one object does not stop the others; the error names it.
#[tokio::test]
async fn a_failed_removal_is_reported_after_trying_the_rest() {
    let script = vec![
        status(403, "Forbidden", "secrets is forbidden"),
        status(500, "InternalError", "etcd down"),
        existing(POLICIES, ours()),
        status(409, "Conflict", "Precondition failed: UID in precondition"),
        not_found(),
        existing(LIMIT_RANGES, ours()),
        deleted(),
    ];
    let (b, server) = backend(script);
    let err = b.remove_project(&ml(), false).await.unwrap_err();
    let m = err.to_string();
    assert!(
        m.contains("removing the RoleBinding failed: etcd down"),
        "{m}"
    );
    assert!(
        m.contains("removing the NetworkPolicy failed: Precondition failed"),
        "{m}"
    );
    assert!(
        m.contains("removing the copies of cluster-wide secrets failed"),
        "{m}"
    );
    assert_eq!(seen(b, server).await.len(), 7);
}

/// A session of the project: its references resolve in the project's namespace, and its
/// objects are created, read and deleted there; nothing goes to another namespace.
#[tokio::test]
async fn a_projects_session_lives_in_the_projects_namespace() {
    let mut spec = fixtures::full();
    spec.project = "ml".into();
    spec.namespace = NS.into();
    let secrets = format!("{THE_NS}/secrets");
    let (b, server) = backend(vec![
        secret_with(json!({}), &["token"]),
        Reply::Created,
        Reply::Created,
        Reply::Created,
    ]);
    launch(&b, &spec).await.unwrap();
    let sent = seen(b, server).await;
    let expected = [
        format!("GET {secrets}/team-creds"),
        format!("POST {THE_NS}/pods"),
        format!("POST {secrets}"),
        format!("POST {THE_NS}/services"),
    ];
    assert_eq!(lines(&sent), expected);
    for s in &sent[1..] {
        assert_eq!(s.body["metadata"]["namespace"], NS, "{}", s.line());
    }
    let pod = &sent[1].body;
    assert_eq!(
        pod["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "SHARED")
            .unwrap()["valueFrom"]["secretKeyRef"]["name"],
        "team-creds"
    );

    // A missing Secret is reported in the project's namespace.
    let (b, server) = backend(vec![not_found()]);
    let fields = invalid_fields(b.check_references(&spec).await.unwrap_err());
    assert!(
        fields[0]
            .message
            .contains("no Secret team-creds in the namespace lockbox-ml"),
        "{}",
        fields[0].message
    );
    assert_eq!(
        lines(&seen(b, server).await),
        [format!("GET {secrets}/team-creds")]
    );

    // Status, logs and stop of the session go to the same namespace.
    let session = SessionRef {
        namespace: NS.into(),
        ..session()
    };
    let (b, server) = backend(vec![
        pod_with(json!({"phase": "Running"})),
        Reply::Text(200, "hello\n"),
        deleted(),
        deleted(),
        deleted(),
    ]);
    b.status(&session).await.unwrap();
    b.logs(&session, None, 100).await.unwrap();
    b.stop(&session).await.unwrap();
    let sent = lines(&seen(b, server).await);
    assert_eq!(sent.len(), 5);
    assert!(
        sent.iter().all(|l| l.contains(&format!("{THE_NS}/"))),
        "{sent:?}"
    );
}

/// The sweep goes through every namespace it is given; one that cannot be listed (its
/// RoleBinding already removed, say) is skipped, not the end of the sweep. Only when none can
/// be listed is it an error.
#[tokio::test]
async fn the_sweep_covers_every_namespace_and_survives_one_failing() {
    let stale = "99999999-2222-4333-8444-555555555555";
    let stale_name = "lockbox-s-99999999222243338444555555555555";
    let (b, server) = backend(vec![
        status(403, "Forbidden", "pods is forbidden"),
        metadata_list(&[(stale_name, stale)]),
        metadata_list(&[]),
        deleted(),
        deleted(),
    ]);
    let live = FakeLive(HashSet::new(), Journal::default());
    let namespaces = [fixtures::NS.to_string(), NS.to_string()];
    assert_eq!(b.sweep(&namespaces, &live).await.unwrap(), 1);
    let expected = [
        format!("GET {PODS}"),
        format!("GET {THE_NS}/pods"),
        format!("GET {THE_NS}/services"),
        format!("DELETE {THE_NS}/secrets/{stale_name}"),
        format!("DELETE {THE_NS}/pods/{stale_name}"),
    ];
    assert_eq!(lines(&seen(b, server).await), expected);

    let (b, _server) = backend(vec![
        status(403, "Forbidden", "pods is forbidden"),
        metadata_list(&[]),
        status(500, "InternalError", "etcd down"),
    ]);
    let err = b.sweep(&namespaces, &live).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kubernetes refused listing session Pods (Forbidden); the server log has the details."
    );
}

/// The default project's namespace is deploy/'s: preparing or removing it sends nothing.
#[tokio::test]
async fn the_default_project_is_left_to_deploy() {
    let default = ProjectNamespace {
        project: "default".into(),
        namespace: "lockbox-sessions".into(),
    };
    let (b, server) = backend(vec![]);
    assert_eq!(
        b.prepare_project(&default).await.unwrap(),
        ProjectPrepared::default()
    );
    b.remove_project(&default, true).await.unwrap();
    assert!(seen(b, server).await.is_empty());
}
