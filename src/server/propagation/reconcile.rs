//! The propagation rules, once for every store: (sources, project namespaces, what exists
//! there) → the writes that bring the copies in line, and the status each pair of source and
//! namespace is in. Pure: no I/O, no clock, no values (data is compared by digest), so every
//! rule is a unit test and a plan can be logged.
//!
//! The rules (issue 8, item 5):
//! - a copy of every source is kept in every project namespace, under the source's name, with
//!   the source's type, immutability and data, and Lockbox's markers: the labels
//!   [`LABEL_MANAGED_BY`]`=lockbox` and [`LABEL_PROPAGATED_FROM`]`=<source uid>`, and the
//!   annotations [`ANNOTATION_SOURCE`] (`namespace/name`), [`ANNOTATION_SOURCE_UID`] and
//!   [`ANNOTATION_SOURCE_VERSION`];
//! - a missing copy is created (a new namespace, a deleted copy); a copy that differs is updated
//!   in place (changed or removed keys, an edited copy) or, when its type changes or the source
//!   or the copy is immutable, deleted and created again;
//! - a Secret Lockbox did not create (no markers), or whose markers name another source, is
//!   never written: the pair is a **conflict**;
//! - Lockbox's copies of a source that is gone (deleted, unlabelled, or replaced by a new one of
//!   the same name) and its copies in namespaces that are no longer projects are deleted;
//! - service-account-token Secrets are never propagated: each pair is **skipped**, reported.

use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Label on every object Lockbox manages.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "lockbox";
/// Label on a copy: the uid of the source it was copied from (a label value holds no slash,
/// so the source's name is in an annotation).
pub const LABEL_PROPAGATED_FROM: &str = "lockbox.dev/propagated-from";
/// Annotation on a copy: `namespace/name` of its source.
pub const ANNOTATION_SOURCE: &str = "lockbox.dev/source";
/// Annotation on a copy: its source's uid (also in [`LABEL_PROPAGATED_FROM`]).
pub const ANNOTATION_SOURCE_UID: &str = "lockbox.dev/source-uid";
/// Annotation on a copy: the source's version (Kubernetes resourceVersion) that was copied.
pub const ANNOTATION_SOURCE_VERSION: &str = "lockbox.dev/source-version";
/// A source is a Secret in the system namespace with one of these labels set to `true`.
pub const LABEL_CLUSTER_WIDE: &str = "lockbox.dev/cluster-wide";
/// Run:AI's label, honoured for people moving from Run:AI.
pub const LABEL_RUNAI_CLUSTER_WIDE: &str = "runai/cluster-wide";
/// The type of Secrets that are never propagated: a token bound to a service account of the
/// system namespace would hand that account's rights to every project.
pub const SERVICE_ACCOUNT_TOKEN: &str = "kubernetes.io/service-account-token";

/// Whether labels make a Secret in the system namespace a cluster-wide source.
pub fn is_source<'a>(mut labels: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    labels.any(|(k, v)| (k == LABEL_CLUSTER_WIDE || k == LABEL_RUNAI_CLUSTER_WIDE) && v == "true")
}

/// SHA-256 over the data, keys in order, each key and value length-prefixed: equal digests,
/// equal data (including the set of keys).
pub type Digest = [u8; 32];

pub fn digest<'a>(data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Digest {
    let sorted: BTreeMap<&str, &[u8]> = data.into_iter().collect();
    let mut h = Sha256::new();
    for (k, v) in sorted {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v);
    }
    h.finalize().into()
}

/// A cluster-wide source as a store sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// Changes with every change of the source (Kubernetes: resourceVersion).
    pub version: String,
    /// The Secret type (`Opaque`, `kubernetes.io/tls`, …).
    pub kind: String,
    pub immutable: bool,
    pub digest: Digest,
}

impl Source {
    /// `namespace/name`, as recorded in copies and status rows.
    pub fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// What a Secret's markers say, when it carries `managed-by=lockbox` and `propagated-from`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Markers {
    pub source_uid: String,
    /// `namespace/name` of the source (empty if the annotation is missing).
    pub source: String,
    pub source_version: String,
}

impl Markers {
    /// Reads the markers from labels and annotations; `None` unless both labels are there.
    pub fn read(
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Option<Self> {
        if labels.get(LABEL_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY) {
            return None;
        }
        let uid = labels.get(LABEL_PROPAGATED_FROM)?;
        let get = |k: &str| annotations.get(k).cloned().unwrap_or_default();
        Some(Self {
            source_uid: uid.clone(),
            source: get(ANNOTATION_SOURCE),
            source_version: get(ANNOTATION_SOURCE_VERSION),
        })
    }

    /// The markers of a copy of `source`: labels, then annotations.
    pub fn of(source: &Source) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let labels = BTreeMap::from([
            (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
            (LABEL_PROPAGATED_FROM.to_string(), source.uid.clone()),
        ]);
        let annotations = BTreeMap::from([
            (ANNOTATION_SOURCE.to_string(), source.path()),
            (ANNOTATION_SOURCE_UID.to_string(), source.uid.clone()),
            (
                ANNOTATION_SOURCE_VERSION.to_string(),
                source.version.clone(),
            ),
        ]);
        (labels, annotations)
    }
}

/// A Secret in a project namespace that bears on propagation: one of Lockbox's copies, or any
/// Secret with the name of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The object's own version (Kubernetes: resourceVersion), for preconditions on writes.
    pub version: String,
    /// `None`: Lockbox did not create it.
    pub markers: Option<Markers>,
    pub kind: String,
    pub immutable: bool,
    pub digest: Digest,
}

/// Everything a store knows at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The namespace sources live in; copies whose markers name a source there are Lockbox's
    /// to delete once that source is gone.
    pub system_namespace: String,
    /// Every Secret in the system namespace labelled cluster-wide, service-account tokens too.
    pub sources: Vec<Source>,
    /// The project namespaces.
    pub namespaces: BTreeSet<String>,
    /// Secrets in project namespaces (and in former ones the store still watches).
    pub existing: Vec<Existing>,
    /// Project namespaces the store cannot see yet (a watch not yet listed): nothing is
    /// planned there, and their status is left as it was.
    pub unknown: BTreeSet<String>,
}

/// Identifies the object a write replaces or deletes, so it is done only if that object is
/// still the one seen (Kubernetes: preconditions on uid and resourceVersion).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub version: String,
}

impl From<&Existing> for Target {
    fn from(e: &Existing) -> Self {
        Self {
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            uid: e.uid.clone(),
            version: e.version.clone(),
        }
    }
}

/// Why a copy is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its source was deleted, unlabelled or is not propagated.
    SourceGone,
    /// Its namespace is no longer a project's.
    NotAProject,
}

/// A write. `source` is the source's uid (the store holds its data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Create {
        source: String,
        namespace: String,
    },
    /// Rewrite the copy in place (data, removed keys, markers).
    Update {
        source: String,
        target: Target,
    },
    /// Delete the copy, then create it: a changed type, or an immutable source or copy.
    Replace {
        source: String,
        target: Target,
    },
    Delete {
        target: Target,
        why: Why,
    },
}

impl Action {
    /// The namespace the action writes in.
    pub fn namespace(&self) -> &str {
        match self {
            Action::Create { namespace, .. } => namespace,
            Action::Update { target, .. }
            | Action::Replace { target, .. }
            | Action::Delete { target, .. } => &target.namespace,
        }
    }
}

/// Where a source stands in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Synced,
    Conflict,
    Error,
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Synced => "synced",
            State::Conflict => "conflict",
            State::Error => "error",
            State::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "synced" => State::Synced,
            "conflict" => State::Conflict,
            "error" => State::Error,
            "skipped" => State::Skipped,
            _ => return None,
        })
    }
}

/// One status row as the plan implies it. `action` is the index of the write that makes the
/// pair synced: its outcome decides between synced and error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub source_uid: String,
    pub source: String,
    pub namespace: String,
    pub state: State,
    /// The source version the pair is (or will be, once `action` succeeds) synced at.
    pub version: String,
    pub detail: Option<String>,
    pub action: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub status: Vec<Planned>,
}

pub const DETAIL_UNMANAGED: &str =
    "a Secret with this name exists that Lockbox did not create; it is left alone";
pub const DETAIL_SA_TOKEN: &str = "service-account-token Secrets are not propagated";
pub const DETAIL_OWN_NAMESPACE: &str = "the source's own namespace";

/// The plan for one snapshot.
pub fn reconcile(snap: &Snapshot) -> Plan {
    let mut plan = Plan::default();
    let mut sources: Vec<&Source> = snap.sources.iter().collect();
    sources.sort_by(|a, b| (&a.name, &a.uid).cmp(&(&b.name, &b.uid)));
    sources.dedup_by(|a, b| a.uid == b.uid);
    let all_uids: BTreeSet<&str> = sources.iter().map(|s| s.uid.as_str()).collect();
    let propagated: HashMap<&str, &Source> = sources
        .iter()
        .filter(|s| s.kind != SERVICE_ACCOUNT_TOKEN)
        .map(|s| (s.uid.as_str(), *s))
        .collect();
    let by_place: HashMap<(&str, &str), &Existing> = snap
        .existing
        .iter()
        .map(|e| ((e.namespace.as_str(), e.name.as_str()), e))
        .collect();
    // Existing objects a rule below has already decided about.
    let mut handled: BTreeSet<(&str, &str)> = BTreeSet::new();
    let ours = |m: &Markers| {
        m.source
            .split_once('/')
            .is_some_and(|(ns, _)| ns == snap.system_namespace)
    };

    for s in &sources {
        for ns in &snap.namespaces {
            let mut row = Planned {
                source_uid: s.uid.clone(),
                source: s.path(),
                namespace: ns.clone(),
                state: State::Synced,
                version: s.version.clone(),
                detail: None,
                action: None,
            };
            if *ns == s.namespace {
                row.state = State::Skipped;
                row.detail = Some(DETAIL_OWN_NAMESPACE.into());
                plan.status.push(row);
                continue;
            }
            if s.kind == SERVICE_ACCOUNT_TOKEN {
                row.state = State::Skipped;
                row.detail = Some(DETAIL_SA_TOKEN.into());
                plan.status.push(row);
                continue;
            }
            let action = match by_place.get(&(ns.as_str(), s.name.as_str())) {
                None => Some(Action::Create {
                    source: s.uid.clone(),
                    namespace: ns.clone(),
                }),
                Some(e) => {
                    handled.insert((&e.namespace, &e.name));
                    match &e.markers {
                        None => {
                            row.state = State::Conflict;
                            row.detail = Some(DETAIL_UNMANAGED.into());
                            None
                        }
                        Some(m) if m.source_uid == s.uid => bring_in_line(s, e),
                        // Lockbox's copy of a source of this name that is gone (deleted and
                        // created again): make way for the current one.
                        Some(m) if ours(m) && !all_uids.contains(m.source_uid.as_str()) => {
                            Some(Action::Replace {
                                source: s.uid.clone(),
                                target: (*e).into(),
                            })
                        }
                        Some(m) => {
                            row.state = State::Conflict;
                            let from = if m.source.is_empty() {
                                m.source_uid.clone()
                            } else {
                                m.source.clone()
                            };
                            row.detail = Some(format!(
                                "a Secret with this name is a copy of another source ({from}); \
                                 it is left alone"
                            ));
                            None
                        }
                    }
                }
            };
            if let Some(a) = action {
                row.action = Some(plan.actions.len());
                plan.actions.push(a);
            }
            plan.status.push(row);
        }
    }

    // Lockbox's copies that no rule above keeps: their source is gone or not propagated, or
    // their namespace is no longer a project's.
    let mut orphans: Vec<&Existing> = snap
        .existing
        .iter()
        .filter(|e| !handled.contains(&(e.namespace.as_str(), e.name.as_str())))
        .filter(|e| e.markers.as_ref().is_some_and(ours))
        .collect();
    orphans.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    for e in orphans {
        let m = e.markers.as_ref().expect("filtered");
        let why = if !snap.namespaces.contains(&e.namespace) {
            Why::NotAProject
        } else {
            match propagated.get(m.source_uid.as_str()) {
                // A copy under another name than its source's is not a copy Lockbox keeps.
                Some(s) if s.name == e.name => continue,
                _ => Why::SourceGone,
            }
        };
        plan.actions.push(Action::Delete {
            target: e.into(),
            why,
        });
    }
    plan
}

/// The write that makes Lockbox's copy `e` equal to the source, if any.
fn bring_in_line(s: &Source, e: &Existing) -> Option<Action> {
    let m = e.markers.as_ref()?;
    let content_same = e.kind == s.kind && e.immutable == s.immutable && e.digest == s.digest;
    let markers_same = m.source == s.path() && m.source_version == s.version;
    if content_same && markers_same {
        return None;
    }
    // An immutable Secret's data cannot change, nor can any Secret's type: delete and create.
    // Markers alone can be rewritten in place, immutable or not.
    if !content_same && (e.kind != s.kind || e.immutable || s.immutable) {
        return Some(Action::Replace {
            source: s.uid.clone(),
            target: e.into(),
        });
    }
    Some(Action::Update {
        source: s.uid.clone(),
        target: e.into(),
    })
}

#[cfg(test)]
mod tests;
