//! deploy/rbac.yaml grants exactly what Lockbox uses: every Kubernetes flow runs against a
//! recording mock API server; each request is mapped to what RBAC authorises (verb, API group,
//! resource[/subresource], namespace, name) and checked against the roles deploy/rbac.yaml
//! defines, bound as it binds them (plus the RoleBinding Lockbox itself creates in each project
//! namespace); and every verb granted must have been used by some flow.
//!
//! To cover another component, add its flows to [`flows`]: each gets a `kube::Client` on the
//! recording mock and the script of replies it needs. The propagation controller's requests
//! come from its own fake API server ([`propagation_accesses`]).

use super::{projects as p, *};
use crate::server::kube::project_objects::{self, ProjectSite, LAUNCH_CLUSTER_ROLE};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};

/// The namespace Lockbox runs in, as deploy/ names it.
const SYSTEM_NAMESPACE: &str = "lockbox";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One request as RBAC authorises it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Access {
    verb: String,
    group: String,
    /// `pods`, or `pods/log` for a subresource.
    resource: String,
    /// `None` for cluster-scoped resources.
    namespace: Option<String>,
    name: Option<String>,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{} {group}/{}", self.verb, self.resource)?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " in {ns}"),
            None => write!(f, " (cluster)"),
        }
    }
}

/// What RBAC sees of a request: the verb from the method, name and `watch` query; the group,
/// resource, namespace and name from the path. Creating a RoleBinding to a ClusterRole also
/// needs `bind` on that ClusterRole (Lockbox holds none of its rights cluster-wide).
fn accesses(seen: &Seen) -> Vec<Access> {
    let segments: Vec<&str> = seen.path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => panic!("not an API path: {}", seen.path),
    };
    let (namespace, resource, name, sub) = match rest {
        ["namespaces", ns, resource, tail @ ..] => {
            (Some(ns.to_string()), *resource, tail.first(), tail.get(1))
        }
        [resource, tail @ ..] => (None, *resource, tail.first(), tail.get(1)),
        [] => panic!("no resource: {}", seen.path),
    };
    let watch = seen
        .query
        .split('&')
        .any(|q| q == "watch=true" || q == "watch=1");
    let verb = match (seen.method.as_str(), name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (m, _) => panic!("unexpected method {m} {}", seen.path),
    };
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    let mut out = vec![Access {
        verb: verb.into(),
        group: group.into(),
        resource: resource.clone(),
        namespace,
        name: name.map(|n| n.to_string()),
    }];
    if verb == "create" && group == RBAC_GROUP && resource == "rolebindings" {
        let role = &seen.body["roleRef"];
        if role["kind"] == "ClusterRole" {
            out.push(Access {
                verb: "bind".into(),
                group: RBAC_GROUP.into(),
                resource: "clusterroles".into(),
                namespace: None,
                name: role["name"].as_str().map(str::to_string),
            });
        }
    }
    out
}

/// One verb on one resource (and name, when the rule names some) that a role grants.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    /// `ClusterRole/<name>` or `Role/<namespace>/<name>`.
    role: String,
    group: String,
    resource: String,
    verb: String,
    name: Option<String>,
}

impl Grant {
    fn allows(&self, a: &Access) -> bool {
        self.group == a.group
            && self.resource == a.resource
            && self.verb == a.verb
            && self
                .name
                .as_ref()
                .is_none_or(|n| a.name.as_ref() == Some(n))
    }
}

/// deploy/rbac.yaml: the grants of each role, and where each role is bound.
struct Rbac {
    grants: Vec<Grant>,
    /// Roles bound cluster-wide.
    cluster: BTreeSet<String>,
    /// Roles bound in one namespace.
    namespaced: BTreeMap<String, BTreeSet<String>>,
}

fn strings(v: &serde_yaml::Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn role_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match kind {
        "ClusterRole" => format!("ClusterRole/{name}"),
        "Role" => format!("Role/{}/{name}", namespace.unwrap()),
        k => panic!("a binding to a {k}"),
    }
}

fn parse_rbac() -> Rbac {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rbac.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut rbac = Rbac {
        grants: Vec::new(),
        cluster: BTreeSet::new(),
        namespaced: BTreeMap::new(),
    };
    for doc in serde_yaml::Deserializer::from_str(&text) {
        use serde::Deserialize;
        let v = serde_yaml::Value::deserialize(doc).unwrap();
        let kind = v["kind"].as_str().unwrap_or_default();
        let name = v["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = v["metadata"]["namespace"].as_str();
        match kind {
            "ClusterRole" | "Role" => {
                let role = role_key(kind, namespace, name);
                for rule in v["rules"].as_sequence().unwrap() {
                    let names = strings(&rule["resourceNames"]);
                    let names: Vec<Option<String>> = if names.is_empty() {
                        vec![None]
                    } else {
                        names.into_iter().map(Some).collect()
                    };
                    for group in strings(&rule["apiGroups"]) {
                        for resource in strings(&rule["resources"]) {
                            for verb in strings(&rule["verbs"]) {
                                for name in &names {
                                    rbac.grants.push(Grant {
                                        role: role.clone(),
                                        group: group.clone(),
                                        resource: resource.clone(),
                                        verb: verb.clone(),
                                        name: name.clone(),
                                    });
                                }
                            }
                        }
                    }
                }
            }
            "ClusterRoleBinding" | "RoleBinding" => {
                let role_ref = &v["roleRef"];
                let ref_kind = role_ref["kind"].as_str().unwrap();
                let role = role_key(ref_kind, namespace, role_ref["name"].as_str().unwrap());
                let subjects = v["subjects"].as_sequence().unwrap();
                assert!(
                    subjects.iter().all(|s| s["kind"] == "ServiceAccount"
                        && s["name"] == "lockbox"
                        && s["namespace"] == SYSTEM_NAMESPACE),
                    "{kind} {name} binds someone other than Lockbox"
                );
                match namespace {
                    Some(ns) if kind == "RoleBinding" => {
                        rbac.namespaced.entry(ns.into()).or_default().insert(role);
                    }
                    _ => {
                        rbac.cluster.insert(role);
                    }
                }
            }
            _ => {}
        }
    }
    rbac
}

impl Rbac {
    /// The roles that apply to a request in `namespace`: those bound cluster-wide, those bound
    /// there by deploy/, and in a project namespace (any but the system one) the ClusterRole
    /// Lockbox's own RoleBinding grants there.
    fn roles_in(&self, namespace: Option<&str>) -> BTreeSet<String> {
        let mut roles = self.cluster.clone();
        if let Some(ns) = namespace {
            roles.extend(self.namespaced.get(ns).cloned().unwrap_or_default());
            if ns != SYSTEM_NAMESPACE {
                let site = ProjectSite {
                    project: "any",
                    namespace: ns,
                    system_namespace: SYSTEM_NAMESPACE,
                };
                let binding = project_objects::role_binding(&site, None);
                roles.insert(role_key(
                    &binding.role_ref.kind,
                    Some(ns),
                    &binding.role_ref.name,
                ));
            }
        }
        roles
    }

    /// The grants that authorise `a`.
    fn authorising<'a>(&'a self, a: &'a Access) -> impl Iterator<Item = &'a Grant> + 'a {
        let roles = self.roles_in(a.namespace.as_deref());
        self.grants
            .iter()
            .filter(move |g| roles.contains(&g.role) && g.allows(a))
    }
}

/// A Kubernetes flow: what it does on a client of the recording mock, and the replies it
/// needs. Each flow asserts it took the path meant (so an error does not silently skip
/// requests).
struct Flow {
    name: &'static str,
    script: Vec<Reply>,
    run: fn(::kube::Client) -> BoxFuture<'static, ()>,
}

fn kube_backend(client: ::kube::Client) -> KubeBackend {
    KubeBackend::new(client, INSTALLATION.into())
}

/// Every Kubernetes flow Lockbox has. Add new components' flows here.
fn flows() -> Vec<Flow> {
    let ended = || pod_with(terminated("Failed", 1, "Error"));
    let mut adopt_script = vec![
        p::conflict(),
        p::existing_namespace(p::restricted(), json!({})),
    ];
    for collection in [p::LIMIT_RANGES, p::QUOTAS, p::POLICIES, p::BINDINGS] {
        adopt_script.push(p::conflict());
        adopt_script.push(p::existing(collection, p::ours()));
    }
    let mut remove_adopted = vec![p::copies(&["registry-creds"]), deleted()];
    for collection in [p::BINDINGS, p::POLICIES, p::QUOTAS, p::LIMIT_RANGES] {
        remove_adopted.push(p::existing(collection, p::ours()));
        remove_adopted.push(deleted());
    }
    vec![
        Flow {
            name: "launch with a reference",
            script: vec![
                secret_with(json!({}), &["token"]),
                Reply::Created,
                Reply::Created,
                Reply::Created,
            ],
            run: |c| {
                Box::pin(async move {
                    launch(&kube_backend(c), &fixtures::full()).await.unwrap();
                })
            },
        },
        Flow {
            name: "failed launch rolled back",
            script: vec![
                Reply::Created,
                Reply::Created,
                status(500, "InternalError", "x"),
                deleted(),
                deleted(),
            ],
            run: |c| {
                Box::pin(async move {
                    let b = kube_backend(c);
                    let r = b.start(&fixtures::full(), fixtures::full_values()).await;
                    r.unwrap_err();
                })
            },
        },
        Flow {
            name: "stop",
            script: vec![deleted(), deleted(), deleted()],
            run: |c| Box::pin(async move { kube_backend(c).stop(&session()).await.unwrap() }),
        },
        Flow {
            name: "status of an ended session",
            script: vec![ended(), deleted(), deleted(), deleted()],
            run: |c| {
                Box::pin(async move {
                    let seen = kube_backend(c).status(&session()).await.unwrap();
                    assert!(matches!(seen, Observed::Failed(_)));
                })
            },
        },
        Flow {
            name: "watch session Pods (status and ends by watch)",
            script: vec![
                Reply::Json(
                    200,
                    json!({"kind": "PodList", "apiVersion": "v1",
                           "metadata": {"resourceVersion": "1"}, "items": []}),
                ),
                Reply::Hold,
            ],
            run: |c| {
                Box::pin(async move {
                    let b = kube_backend(c);
                    let _ended = b.follow().unwrap();
                    b.follow_namespaces(&[fixtures::NS.into()]);
                    // The list, then the watch (held open) are sent at once.
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                })
            },
        },
        Flow {
            name: "logs",
            script: vec![Reply::Text(200, "out\n")],
            run: |c| {
                Box::pin(async move {
                    kube_backend(c).logs(&session(), None, 100).await.unwrap();
                })
            },
        },
        Flow {
            name: "reap",
            script: vec![ended(), deleted(), deleted(), deleted()],
            run: |c| {
                Box::pin(async move {
                    let gone = kube_backend(c).reap(&[session()]).await.unwrap();
                    assert_eq!(gone.len(), 1);
                })
            },
        },
        Flow {
            name: "sweep",
            script: vec![
                metadata_list(&[(fixtures::NAME, fixtures::SESSION)]),
                metadata_list(&[(fixtures::NAME, fixtures::SESSION)]),
                deleted(),
                deleted(),
                deleted(),
            ],
            run: |c| {
                Box::pin(async move {
                    let live = FakeLive(HashSet::new(), Journal::default());
                    let n = kube_backend(c)
                        .sweep(&[fixtures::NS.into()], &live)
                        .await
                        .unwrap();
                    assert_eq!(n, 2);
                })
            },
        },
        Flow {
            name: "prepare a new project",
            script: p::created(5),
            run: |c| {
                Box::pin(async move {
                    let r = kube_backend(c).prepare_project(&p::ml()).await.unwrap();
                    assert!(r.created);
                })
            },
        },
        Flow {
            name: "adopt a namespace holding Lockbox's objects",
            script: adopt_script,
            run: |c| {
                Box::pin(async move {
                    let r = kube_backend(c).prepare_project(&p::ml()).await.unwrap();
                    assert!(!r.created);
                })
            },
        },
        Flow {
            name: "remove a created project",
            script: vec![
                p::existing_namespace(
                    p::restricted(),
                    json!({"lockbox.dev/created-by": INSTALLATION}),
                ),
                deleted(),
            ],
            run: |c| {
                Box::pin(async move {
                    kube_backend(c)
                        .remove_project(&p::ml(), true)
                        .await
                        .unwrap();
                })
            },
        },
        Flow {
            name: "remove an adopted project",
            script: remove_adopted,
            run: |c| {
                Box::pin(async move {
                    kube_backend(c)
                        .remove_project(&p::ml(), false)
                        .await
                        .unwrap();
                })
            },
        },
    ]
}

/// What the propagation controller's flows use (new source, update, delete, new namespace,
/// conflict, failed and resumed watch: `propagation::kube_store` records them on its own fake
/// API server), and the Lease that elects the replica that propagates. kube-lease-manager's
/// requests are not run here: its get, create and patch are listed as its source sends them.
async fn propagation_accesses() -> Vec<(&'static str, Access)> {
    use crate::server::propagation::{kube_store::tests::recorded_requests, LEASE_NAME};
    let mut all: Vec<(&'static str, Access)> = recorded_requests()
        .await
        .into_iter()
        .map(|r| {
            let a = Access {
                verb: r.verb,
                group: String::new(),
                resource: r.resource,
                namespace: Some(r.namespace),
                name: r.name,
            };
            ("propagation", a)
        })
        .collect();
    for verb in ["get", "create", "patch"] {
        let name = (verb != "create").then(|| LEASE_NAME.to_string());
        all.push((
            "propagation lease",
            Access {
                verb: verb.into(),
                group: "coordination.k8s.io".into(),
                resource: "leases".into(),
                namespace: Some(SYSTEM_NAMESPACE.into()),
                name,
            },
        ));
    }
    all
}

/// Runs every flow on a recording mock; returns each request with the flow that sent it.
async fn record_all() -> Vec<(&'static str, Seen)> {
    let mut all = Vec::new();
    for flow in flows() {
        let script_len = flow.script.len();
        let (client, server) = client_with_journal(flow.script, Journal::default());
        (flow.run)(client).await;
        let seen = server.await.unwrap();
        assert_eq!(
            seen.len(),
            script_len,
            "{}: the flow sent {:?}, not one request per scripted reply",
            flow.name,
            lines(&seen)
        );
        all.extend(seen.into_iter().map(|s| (flow.name, s)));
    }
    all
}

#[test]
fn requests_map_to_what_rbac_authorises() {
    let seen = |method: &str, path: &str, query: &str| Seen {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        body: Value::Null,
    };
    let one = |s: Seen| accesses(&s).remove(0).to_string();
    assert_eq!(
        one(seen("GET", "/api/v1/namespaces/a/pods/p/log", "")),
        "get core/pods/log \"p\" in a"
    );
    assert_eq!(
        one(seen("GET", "/api/v1/namespaces/a/secrets", "watch=true")),
        "watch core/secrets in a"
    );
    assert_eq!(
        one(seen(
            "GET",
            "/api/v1/namespaces/a/secrets",
            "labelSelector=x"
        )),
        "list core/secrets in a"
    );
    assert_eq!(
        one(seen("GET", "/api/v1/namespaces/a", "")),
        "get core/namespaces \"a\" (cluster)"
    );
    assert_eq!(
        one(seen(
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/lockbox/leases/l",
            ""
        )),
        "update coordination.k8s.io/leases \"l\" in lockbox"
    );
    assert_eq!(
        one(seen("DELETE", "/api/v1/namespaces/a/secrets", "")),
        "deletecollection core/secrets in a"
    );
    let mut binding = seen(
        "POST",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings",
        "",
    );
    binding.body = json!({"roleRef": {"kind": "ClusterRole", "name": "lockbox-launch"}});
    let all: Vec<String> = accesses(&binding).iter().map(|a| a.to_string()).collect();
    assert_eq!(
        all,
        [
            "create rbac.authorization.k8s.io/rolebindings in a",
            "bind rbac.authorization.k8s.io/clusterroles \"lockbox-launch\" (cluster)"
        ]
    );
}

/// The check is not vacuous: a grant narrowed by name refuses other names, a namespaced role
/// applies only where it is bound, and the launch role is bound in project namespaces only.
#[test]
fn the_model_of_rbac_refuses_what_is_not_granted() {
    let rbac = parse_rbac();
    let access =
        |verb: &str, group: &str, resource: &str, ns: Option<&str>, name: Option<&str>| Access {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: ns.map(str::to_string),
            name: name.map(str::to_string),
        };
    let allowed = |a: &Access| rbac.authorising(a).next().is_some();
    assert!(allowed(&access(
        "create",
        "",
        "pods",
        Some("lockbox-ml"),
        None
    )));
    assert!(!allowed(&access(
        "create",
        "",
        "pods",
        Some("lockbox"),
        None
    )));
    assert!(!allowed(&access("create", "", "pods", None, None)));
    // Secrets are read in project namespaces and by watch in the system namespace, never
    // across the cluster, and nothing else of the system namespace's Secrets.
    assert!(allowed(&access(
        "list",
        "",
        "secrets",
        Some("lockbox-ml"),
        None
    )));
    assert!(!allowed(&access("list", "", "secrets", None, None)));
    assert!(!allowed(&access(
        "get",
        "",
        "secrets",
        Some(SYSTEM_NAMESPACE),
        Some("lockbox-tls")
    )));
    assert!(!allowed(&access(
        "patch",
        "",
        "secrets",
        Some("lockbox-ml"),
        None
    )));
    let bind = |name| access("bind", RBAC_GROUP, "clusterroles", None, Some(name));
    assert!(allowed(&bind(LAUNCH_CLUSTER_ROLE)));
    assert!(!allowed(&bind("cluster-admin")));
    let delete_binding = |name| access("delete", RBAC_GROUP, "rolebindings", Some("x"), Some(name));
    assert!(allowed(&delete_binding("lockbox-sessions")));
    assert!(!allowed(&delete_binding("admins")));
    assert!(allowed(&access(
        "delete",
        "",
        "namespaces",
        None,
        Some("x")
    )));
    assert!(!allowed(&access("list", "", "namespaces", None, None)));
}

#[tokio::test]
async fn every_verb_granted_is_used_and_every_verb_used_is_granted() {
    let rbac = parse_rbac();
    let recorded = record_all().await;
    let mut unauthorised = BTreeSet::new();
    let mut used: BTreeSet<&Grant> = BTreeSet::new();
    let mut accesses: Vec<(&str, Access)> = recorded
        .iter()
        .flat_map(|(flow, s)| accesses(s).into_iter().map(move |a| (*flow, a)))
        .collect();
    accesses.extend(propagation_accesses().await);
    for (flow, a) in &accesses {
        let grants: Vec<&Grant> = rbac.authorising(a).collect();
        if grants.is_empty() {
            unauthorised.insert(format!("{a} (flow: {flow})"));
        }
        used.extend(grants);
    }
    let unused: Vec<String> = rbac
        .grants
        .iter()
        .filter(|g| !used.contains(g))
        .map(|g| format!("{g:?}"))
        .collect();
    assert!(
        unauthorised.is_empty(),
        "used but not granted by deploy/rbac.yaml:\n{}",
        unauthorised.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        unused.is_empty(),
        "granted by deploy/rbac.yaml but used by no flow:\n{}",
        unused.join("\n")
    );
    // Every binding names a role that exists.
    for role in rbac
        .cluster
        .iter()
        .chain(rbac.namespaced.values().flatten())
    {
        assert!(
            rbac.grants.iter().any(|g| &g.role == role),
            "{role} is bound but not defined"
        );
    }
}
