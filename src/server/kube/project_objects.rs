//! Pure builders of what a project's namespace holds for Lockbox: the Namespace itself (when
//! Lockbox creates it), and in it the RoleBinding that lets Lockbox launch sessions there, and
//! the ResourceQuota, LimitRange and NetworkPolicy that bound what those sessions may use and
//! reach. The one owner of these objects: the default project's copies in `deploy/` are checked
//! equal to what these functions build (see the tests below).
//!
//! Also the judgements the backend makes on what it reads back: whether an object carries
//! Lockbox's markers, whether a namespace was created by this installation, and what to warn
//! about when an existing namespace is adopted.

use super::manifests::{LABEL_INSTALLATION, LABEL_MANAGED_BY, LABEL_NAME};
use k8s_openapi::{
    api::{
        core::v1::{
            LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
        },
        networking::v1::{
            NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
            NetworkPolicyPort, NetworkPolicySpec,
        },
        rbac::v1::{RoleBinding, RoleRef, Subject},
    },
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{LabelSelector, ObjectMeta},
        util::intstr::IntOrString,
    },
};
use std::collections::BTreeMap;

/// The one ClusterRole a launch needs (deploy/rbac.yaml). Lockbox binds it in each project
/// namespace, and may bind no other (`bind` is restricted to this name).
pub const LAUNCH_CLUSTER_ROLE: &str = "lockbox-launch";
/// Lockbox's own ServiceAccount, in the system namespace.
pub const SERVICE_ACCOUNT: &str = "lockbox";
/// The name of each object Lockbox puts in a project namespace (the RoleBinding, ResourceQuota,
/// LimitRange and NetworkPolicy), as in the default project's namespace since before projects.
pub const OBJECT_NAME: &str = "lockbox-sessions";

/// The project a namespace belongs to.
pub const LABEL_PROJECT: &str = "lockbox.dev/project";
/// Selects the namespace for the admission policy (deploy/admission-policy.yaml).
pub const LABEL_SESSIONS: &str = "lockbox.dev/sessions";
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
/// On a namespace Lockbox created: the id of the installation that created it. Only that
/// installation ever deletes the namespace.
pub const ANNOTATION_CREATED_BY: &str = "lockbox.dev/created-by";

pub const PSA_ENFORCE: &str = "pod-security.kubernetes.io/enforce";
pub const PSA_WARN: &str = "pod-security.kubernetes.io/warn";
pub const PSA_AUDIT: &str = "pod-security.kubernetes.io/audit";
pub const RESTRICTED: &str = "restricted";

/// Where a project lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectSite<'a> {
    pub project: &'a str,
    pub namespace: &'a str,
    /// The namespace Lockbox runs in: its ServiceAccount's, and the only one whose Pods may
    /// connect to sessions (to serve "Open").
    pub system_namespace: &'a str,
}

/// The objects Lockbox puts in a project namespace, in the order they are created. The
/// RoleBinding comes last, so that no session can be launched into a namespace whose limits
/// and network policy are not in place yet; it is removed first for the same reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    LimitRange,
    ResourceQuota,
    NetworkPolicy,
    RoleBinding,
}

impl Part {
    /// Creation order.
    pub const CREATE: [Part; 4] = [
        Part::LimitRange,
        Part::ResourceQuota,
        Part::NetworkPolicy,
        Part::RoleBinding,
    ];
    /// Removal order.
    pub const REMOVE: [Part; 4] = [
        Part::RoleBinding,
        Part::NetworkPolicy,
        Part::ResourceQuota,
        Part::LimitRange,
    ];

    pub fn kind(self) -> &'static str {
        match self {
            Part::LimitRange => "LimitRange",
            Part::ResourceQuota => "ResourceQuota",
            Part::NetworkPolicy => "NetworkPolicy",
            Part::RoleBinding => "RoleBinding",
        }
    }
}

/// Everything a project namespace holds for Lockbox.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectObjects {
    pub namespace: Namespace,
    pub limit_range: LimitRange,
    pub resource_quota: ResourceQuota,
    pub network_policy: NetworkPolicy,
    pub role_binding: RoleBinding,
}

fn string_map<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn quantities<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, Quantity> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect()
}

/// The labels of the objects in the namespace; with `installation` when Lockbox creates them
/// (the copies in deploy/ have none, and so are never taken for Lockbox's own).
fn object_meta(site: &ProjectSite<'_>, installation: Option<&str>) -> ObjectMeta {
    let mut labels = string_map([
        (LABEL_NAME, "lockbox"),
        (LABEL_MANAGED_BY, "lockbox"),
        (LABEL_PROJECT, site.project),
    ]);
    if let Some(id) = installation {
        labels.insert(LABEL_INSTALLATION.into(), id.into());
    }
    ObjectMeta {
        name: Some(OBJECT_NAME.into()),
        namespace: Some(site.namespace.into()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// The project's namespace: Pod Security `restricted` (enforced, and warned and audited at the
/// same level), selected by the admission policy, labelled with its project. When
/// `installation` is given it is labelled and annotated as created by that installation.
pub fn namespace(site: &ProjectSite<'_>, installation: Option<&str>) -> Namespace {
    let mut labels = string_map([
        (LABEL_PART_OF, "lockbox"),
        (LABEL_MANAGED_BY, "lockbox"),
        (LABEL_PROJECT, site.project),
        (LABEL_SESSIONS, "true"),
        (PSA_ENFORCE, RESTRICTED),
        (PSA_WARN, RESTRICTED),
        (PSA_AUDIT, RESTRICTED),
    ]);
    let annotations = installation.map(|id| {
        labels.insert(LABEL_INSTALLATION.into(), id.into());
        string_map([(ANNOTATION_CREATED_BY, id)])
    });
    Namespace {
        metadata: ObjectMeta {
            name: Some(site.namespace.into()),
            labels: Some(labels),
            annotations,
            ..Default::default()
        },
        spec: None,
        status: None,
    }
}

/// Grants Lockbox's ServiceAccount the launch ClusterRole in the project namespace only.
pub fn role_binding(site: &ProjectSite<'_>, installation: Option<&str>) -> RoleBinding {
    RoleBinding {
        metadata: object_meta(site, installation),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: LAUNCH_CLUSTER_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            api_group: None,
            kind: "ServiceAccount".into(),
            name: SERVICE_ACCOUNT.into(),
            namespace: Some(site.system_namespace.into()),
        }]),
    }
}

/// Bounds on what the namespace's sessions may use together, so they cannot exhaust the
/// cluster. A starting point: admins edit it in place (Lockbox never overwrites it).
pub fn resource_quota(site: &ProjectSite<'_>, installation: Option<&str>) -> ResourceQuota {
    ResourceQuota {
        metadata: object_meta(site, installation),
        spec: Some(ResourceQuotaSpec {
            hard: Some(quantities([
                ("pods", "100"),
                ("services", "100"),
                ("secrets", "200"),
                ("requests.cpu", "20"),
                ("requests.memory", "40Gi"),
                ("limits.cpu", "50"),
                ("limits.memory", "100Gi"),
                ("requests.ephemeral-storage", "100Gi"),
            ])),
            ..Default::default()
        }),
        status: None,
    }
}

/// Gives every container a request and a limit when its environment sets none (which the
/// quota needs: a quota on requests refuses Pods that do not state them), and caps each.
pub fn limit_range(site: &ProjectSite<'_>, installation: Option<&str>) -> LimitRange {
    LimitRange {
        metadata: object_meta(site, installation),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default_request: Some(quantities([
                    ("cpu", "100m"),
                    ("memory", "256Mi"),
                    ("ephemeral-storage", "256Mi"),
                ])),
                default: Some(quantities([
                    ("cpu", "1"),
                    ("memory", "1Gi"),
                    ("ephemeral-storage", "1Gi"),
                ])),
                max: Some(quantities([
                    ("cpu", "4"),
                    ("memory", "8Gi"),
                    ("ephemeral-storage", "10Gi"),
                ])),
                ..Default::default()
            }],
        }),
    }
}

/// Session Pods accept connections only from the system namespace (which serves "Open") and
/// may send only DNS queries.
pub fn network_policy(site: &ProjectSite<'_>, installation: Option<&str>) -> NetworkPolicy {
    let dns_port = |protocol: &str| NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(53)),
        end_port: None,
    };
    NetworkPolicy {
        metadata: object_meta(site, installation),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(LabelSelector {
                        match_labels: Some(string_map([(
                            "kubernetes.io/metadata.name",
                            site.system_namespace,
                        )])),
                        match_expressions: None,
                    }),
                    ..Default::default()
                }]),
                ports: None,
            }]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(LabelSelector::default()),
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(string_map([("k8s-app", "kube-dns")])),
                        match_expressions: None,
                    }),
                    ip_block: None,
                }]),
                ports: Some(vec![dns_port("UDP"), dns_port("TCP")]),
            }]),
        }),
    }
}

/// Everything, labelled (and the namespace annotated) with `installation` when given.
pub fn build(site: &ProjectSite<'_>, installation: Option<&str>) -> ProjectObjects {
    ProjectObjects {
        namespace: namespace(site, installation),
        limit_range: limit_range(site, installation),
        resource_quota: resource_quota(site, installation),
        network_policy: network_policy(site, installation),
        role_binding: role_binding(site, installation),
    }
}

fn label<'m>(meta: &'m ObjectMeta, key: &str) -> Option<&'m str> {
    meta.labels.as_ref()?.get(key).map(String::as_str)
}

/// Whether an object in a namespace is Lockbox's own, from this installation: the only kind of
/// object Lockbox tolerates finding in its way, or removes from a namespace it adopted.
pub fn is_ours(meta: &ObjectMeta, installation: &str) -> bool {
    label(meta, LABEL_MANAGED_BY) == Some("lockbox")
        && label(meta, LABEL_INSTALLATION) == Some(installation)
}

/// Whether the namespace says, by its own annotation, that this installation created it.
pub fn created_by(ns: &Namespace, installation: &str) -> bool {
    ns.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_CREATED_BY))
        .is_some_and(|id| id == installation)
}

/// A namespace that is being deleted cannot be adopted: what Lockbox creates in it would go
/// with it.
pub fn is_terminating(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some()
        || ns
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Terminating")
}

/// What an admin should know about an existing namespace Lockbox adopts (and whose labels it
/// leaves as they are).
pub fn adoption_warnings(ns: &Namespace, project: &str) -> Vec<String> {
    let name = ns.metadata.name.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    match label(&ns.metadata, PSA_ENFORCE) {
        Some(RESTRICTED) => {}
        level => out.push(format!(
            "The namespace {name} enforces Pod Security {} rather than \"restricted\": Lockbox's \
             sessions would run there, but so could Pods with more privileges. Label it \
             {PSA_ENFORCE}={RESTRICTED}.",
            level.map_or_else(|| "nothing".to_string(), |l| format!("{l:?}"))
        )),
    }
    if label(&ns.metadata, LABEL_SESSIONS) != Some("true") {
        out.push(format!(
            "The namespace {name} is not labelled {LABEL_SESSIONS}=true, so the admission \
             policy that keeps Pods from using other sessions' Secrets does not cover it. Label \
             it {LABEL_SESSIONS}=true."
        ));
    }
    if let Some(other) = label(&ns.metadata, LABEL_PROJECT).filter(|p| *p != project) {
        out.push(format!(
            "The namespace {name} is labelled as belonging to the project {other:?}."
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    const INSTALLATION: &str = "0123456789abcdef0123456789abcdef";

    fn site() -> ProjectSite<'static> {
        ProjectSite {
            project: "ml",
            namespace: "lockbox-ml",
            system_namespace: "lockbox",
        }
    }

    /// The documents of a file in deploy/ whose kind is `kind`, as typed objects.
    fn deployed<K: DeserializeOwned>(file: &str, kind: &str) -> Vec<K> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde_yaml::Value::deserialize(d).unwrap())
            .filter(|v| v["kind"].as_str() == Some(kind))
            .map(|v| serde_yaml::from_value(v).unwrap())
            .collect()
    }
    use serde::Deserialize;

    /// The default project's namespace in deploy/ (created by an admin, so without an
    /// installation) holds exactly what Lockbox would create in a project namespace.
    #[test]
    fn deploy_holds_what_the_builders_build_for_the_default_project() {
        let default = ProjectSite {
            project: crate::model::projects::DEFAULT_PROJECT,
            namespace: "lockbox-sessions",
            system_namespace: "lockbox",
        };
        let built = build(&default, None);
        let hint = "deploy/ and src/server/kube/project_objects.rs disagree: change both";
        let namespaces: Vec<Namespace> = deployed("namespace.yaml", "Namespace");
        let sessions: Vec<_> = namespaces
            .iter()
            .filter(|n| n.metadata.name.as_deref() == Some("lockbox-sessions"))
            .collect();
        assert_eq!(sessions, [&built.namespace], "{hint}");
        assert_eq!(
            deployed::<ResourceQuota>("limits.yaml", "ResourceQuota"),
            [built.resource_quota],
            "{hint}"
        );
        assert_eq!(
            deployed::<LimitRange>("limits.yaml", "LimitRange"),
            [built.limit_range],
            "{hint}"
        );
        assert_eq!(
            deployed::<NetworkPolicy>("network-policy.yaml", "NetworkPolicy"),
            [built.network_policy],
            "{hint}"
        );
        assert_eq!(
            deployed::<RoleBinding>("rbac.yaml", "RoleBinding")
                .into_iter()
                .filter(|b| b.metadata.namespace.as_deref() == Some("lockbox-sessions"))
                .collect::<Vec<_>>(),
            [built.role_binding],
            "{hint}"
        );
        // And the objects deploy/ makes are never taken for an installation's own.
        let deployed_quota = &deployed::<ResourceQuota>("limits.yaml", "ResourceQuota")[0];
        assert!(!is_ours(&deployed_quota.metadata, INSTALLATION));
    }

    #[test]
    fn a_created_namespace_is_restricted_labelled_and_annotated() {
        let ns = namespace(&site(), Some(INSTALLATION));
        let labels = ns.metadata.labels.as_ref().unwrap();
        assert_eq!(ns.metadata.name.as_deref(), Some("lockbox-ml"));
        assert_eq!(labels[LABEL_PROJECT], "ml");
        for psa in [PSA_ENFORCE, PSA_WARN, PSA_AUDIT] {
            assert_eq!(labels[psa], "restricted");
        }
        assert_eq!(labels[LABEL_SESSIONS], "true");
        assert_eq!(labels[LABEL_MANAGED_BY], "lockbox");
        assert_eq!(labels[LABEL_INSTALLATION], INSTALLATION);
        assert!(created_by(&ns, INSTALLATION));
        assert!(!created_by(&ns, "another-installation"));
        assert!(!created_by(&namespace(&site(), None), INSTALLATION));
        assert!(adoption_warnings(&ns, "ml").is_empty());
    }

    #[test]
    fn objects_carry_the_markers_and_sit_in_the_namespace() {
        let o = build(&site(), Some(INSTALLATION));
        let metas = [
            &o.limit_range.metadata,
            &o.resource_quota.metadata,
            &o.network_policy.metadata,
            &o.role_binding.metadata,
        ];
        for meta in metas {
            assert_eq!(meta.name.as_deref(), Some(OBJECT_NAME));
            assert_eq!(meta.namespace.as_deref(), Some("lockbox-ml"));
            assert!(is_ours(meta, INSTALLATION));
            assert!(!is_ours(meta, "another-installation"));
        }
        let rb = &o.role_binding;
        assert_eq!(rb.role_ref.kind, "ClusterRole");
        assert_eq!(rb.role_ref.name, LAUNCH_CLUSTER_ROLE);
        let subject = &rb.subjects.as_ref().unwrap()[0];
        assert_eq!(
            (
                subject.kind.as_str(),
                subject.name.as_str(),
                subject.namespace.as_deref()
            ),
            ("ServiceAccount", "lockbox", Some("lockbox"))
        );
        // Ingress only from where Lockbox runs, whatever that namespace is called.
        let other = ProjectSite {
            system_namespace: "platform",
            ..site()
        };
        let np = network_policy(&other, None);
        let from = &np.spec.unwrap().ingress.unwrap()[0].from.clone().unwrap()[0];
        assert_eq!(
            from.namespace_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["kubernetes.io/metadata.name"],
            "platform"
        );
        assert_eq!(
            role_binding(&other, None).subjects.unwrap()[0]
                .namespace
                .as_deref(),
            Some("platform")
        );
    }

    #[test]
    fn markers_need_both_labels() {
        let meta = |labels: &[(&str, &str)]| ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        assert!(!is_ours(&ObjectMeta::default(), INSTALLATION));
        assert!(!is_ours(
            &meta(&[(LABEL_MANAGED_BY, "lockbox")]),
            INSTALLATION
        ));
        assert!(!is_ours(
            &meta(&[(LABEL_INSTALLATION, INSTALLATION)]),
            INSTALLATION
        ));
        assert!(!is_ours(
            &meta(&[
                (LABEL_MANAGED_BY, "helm"),
                (LABEL_INSTALLATION, INSTALLATION)
            ]),
            INSTALLATION
        ));
        assert!(is_ours(
            &meta(&[
                (LABEL_MANAGED_BY, "lockbox"),
                (LABEL_INSTALLATION, INSTALLATION)
            ]),
            INSTALLATION
        ));
    }

    #[test]
    fn adopting_warns_about_what_it_will_not_change() {
        let bare = Namespace {
            metadata: ObjectMeta {
                name: Some("team-a".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let w = adoption_warnings(&bare, "ml");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("team-a enforces Pod Security nothing"),
            "{w:?}"
        );
        assert!(w[1].contains("lockbox.dev/sessions=true"), "{w:?}");
        let mut baseline = bare.clone();
        baseline.metadata.labels = Some(string_map([
            (PSA_ENFORCE, "baseline"),
            (LABEL_SESSIONS, "true"),
            (LABEL_PROJECT, "other"),
        ]));
        let w = adoption_warnings(&baseline, "ml");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("\"baseline\" rather than \"restricted\""),
            "{w:?}"
        );
        assert!(w[1].contains("project \"other\""), "{w:?}");
        let mut fine = bare;
        fine.metadata.labels = Some(string_map([
            (PSA_ENFORCE, "restricted"),
            (LABEL_SESSIONS, "true"),
        ]));
        assert!(adoption_warnings(&fine, "ml").is_empty());
        assert!(!is_terminating(&fine));
        fine.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
            phase: Some("Terminating".into()),
            conditions: None,
        });
        assert!(is_terminating(&fine));
    }

    #[test]
    fn orders_put_the_role_binding_last_in_and_first_out() {
        assert_eq!(Part::CREATE.last(), Some(&Part::RoleBinding));
        assert_eq!(Part::REMOVE.first(), Some(&Part::RoleBinding));
        let mut reversed = Part::CREATE;
        reversed.reverse();
        assert_eq!(reversed, Part::REMOVE);
    }
}
