//! Session Pods by watch: one kube-runtime reflector per project namespace over this
//! installation's session Pods (by label), so a session's status is read from memory, and a
//! session whose Pod ends (phase Succeeded or Failed) or disappears is reported at once.
//!
//! One watch per namespace rather than one cluster-wide: RBAC cannot narrow a cluster-wide
//! `list`/`watch` of Pods to a label, and Lockbox may read Pods only where sessions run
//! (`lockbox-launch`, bound in each project namespace; deploy/README.md).
//!
//! What the store holds is only what status needs: each Pod's metadata and status; its spec
//! (which may carry literal environment values) is dropped as it arrives.

use super::{manifests::LABEL_SESSION, observe::ended};
use ::kube::{
    api::Api,
    runtime::{
        reflector::{self, ObjectRef, Store},
        watcher::{self, Event},
        WatchStreamExt,
    },
    Client,
};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{sync::mpsc, task::AbortHandle};

/// How long a Pod seen deleted is remembered as gone (long enough for the sessions service to
/// record the end; after that the session is no longer live and nobody asks).
const GONE_FOR: Duration = Duration::from_secs(600);

/// What the watch knows of one session's Pod.
#[derive(Debug)]
pub enum Seen {
    /// The Pod as last seen (metadata and status).
    Present(Arc<Pod>),
    /// The watch saw it deleted (or gone from a re-list): the session has ended.
    Gone,
    /// The watch cannot tell: not watching that namespace, not listed yet, or the Pod not shown
    /// yet (created a moment ago). Ask the API server.
    Unknown,
}

/// A session whose Pod ended, as one watch event shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    pub pod: String,
    pub session: String,
    /// The Pod is gone (deleted, or missing from a re-list), not just finished.
    pub deleted: bool,
}

/// What one watch has shown so far: the session of each Pod it knows, and those of a re-list
/// in progress.
#[derive(Default)]
pub struct Known {
    pods: HashMap<String, String>,
    listing: Option<HashMap<String, String>>,
}

fn names(pod: &Pod) -> Option<(String, String)> {
    let name = pod.metadata.name.clone()?;
    let session = pod.metadata.labels.as_ref()?.get(LABEL_SESSION)?.clone();
    Some((name, session))
}

impl Known {
    /// The sessions `event` shows ended. A Pod deleted while no watch ran is missing from the
    /// next list, which yields no delete event: the list is compared with what was known.
    pub fn ends(&mut self, event: &Event<Pod>) -> Vec<End> {
        let finished = |pod: &Pod| {
            names(pod).filter(|_| ended(pod)).map(|(pod, session)| End {
                pod,
                session,
                deleted: false,
            })
        };
        match event {
            Event::Init => {
                self.listing = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(pod) => {
                if let (Some(listing), Some((n, s))) = (self.listing.as_mut(), names(pod)) {
                    listing.insert(n, s);
                }
                finished(pod).into_iter().collect()
            }
            Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                let gone = std::mem::replace(&mut self.pods, listed);
                gone.into_iter()
                    .filter(|(pod, _)| !self.pods.contains_key(pod))
                    .map(|(pod, session)| End {
                        pod,
                        session,
                        deleted: true,
                    })
                    .collect()
            }
            Event::Apply(pod) => {
                if let Some((n, s)) = names(pod) {
                    self.pods.insert(n, s);
                }
                finished(pod).into_iter().collect()
            }
            Event::Delete(pod) => match names(pod) {
                Some((n, session)) => {
                    self.pods.remove(&n);
                    vec![End {
                        pod: n,
                        session,
                        deleted: true,
                    }]
                }
                None => Vec::new(),
            },
        }
    }
}

/// Pods seen gone, by name, and when.
type Gone = Arc<Mutex<HashMap<String, Instant>>>;

struct Watched {
    pods: Store<Pod>,
    gone: Gone,
    task: AbortHandle,
}

/// The watches, one per namespace, and where ends are reported.
pub struct PodWatch {
    client: Client,
    selector: String,
    ended: mpsc::UnboundedSender<String>,
    namespaces: Mutex<HashMap<String, Watched>>,
}

impl Drop for PodWatch {
    fn drop(&mut self) {
        let namespaces = self.namespaces.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, w) in namespaces.drain() {
            w.task.abort();
        }
    }
}

impl PodWatch {
    /// Watches nothing until [`PodWatch::align`]; the receiver gets the id of every session
    /// whose Pod ends (possibly more than once).
    pub fn new(client: Client, selector: String) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (ended, rx) = mpsc::unbounded_channel();
        let watch = Self {
            client,
            selector,
            ended,
            namespaces: Mutex::default(),
        };
        (watch, rx)
    }

    fn namespaces(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
        self.namespaces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches exactly `namespaces`: starts the missing watches, stops the others.
    pub fn align(&self, namespaces: &[String]) {
        let mut watched = self.namespaces();
        watched.retain(|ns, w| {
            let keep = namespaces.contains(ns);
            if !keep {
                w.task.abort();
                tracing::info!(namespace = %ns, "no longer watching session Pods");
            }
            keep
        });
        for ns in namespaces {
            if !watched.contains_key(ns) {
                watched.insert(ns.clone(), self.watch(ns));
            }
        }
    }

    fn watch(&self, ns: &str) -> Watched {
        let (pods, writer) = reflector::store();
        let gone = Gone::default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let config = watcher::Config::default().labels(&self.selector);
        let stream = watcher::watcher(api, config)
            .default_backoff()
            .modify(slim)
            .reflect(writer);
        let task = tokio::spawn(follow(
            stream,
            ns.to_string(),
            gone.clone(),
            self.ended.clone(),
        ))
        .abort_handle();
        tracing::info!(namespace = %ns, "watching session Pods");
        Watched { pods, gone, task }
    }

    /// What the watch of `ns` knows of the Pod `name`.
    pub fn pod(&self, ns: &str, name: &str) -> Seen {
        let watched = self.namespaces();
        let Some(w) = watched.get(ns) else {
            return Seen::Unknown;
        };
        // Until the first list completes, a missing Pod says nothing.
        if !matches!(w.pods.wait_until_ready().now_or_never(), Some(Ok(()))) {
            return Seen::Unknown;
        }
        if let Some(pod) = w.pods.get(&ObjectRef::new(name).within(ns)) {
            return Seen::Present(pod);
        }
        let gone = w.gone.lock().unwrap_or_else(|p| p.into_inner());
        if gone.contains_key(name) {
            Seen::Gone
        } else {
            Seen::Unknown
        }
    }
}

/// Keeps what status needs: the spec (literal environment values among it) and managed fields
/// are dropped.
fn slim(pod: &mut Pod) {
    pod.spec = None;
    pod.metadata.managed_fields = None;
    pod.metadata.annotations = None;
}

/// Follows one namespace's watch until aborted, reporting ends. The watcher re-lists and
/// re-watches by itself, waiting with kube-runtime's default backoff after each failure.
async fn follow<S>(stream: S, ns: String, gone: Gone, ended: mpsc::UnboundedSender<String>)
where
    S: futures::Stream<Item = Result<Event<Pod>, watcher::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut known = Known::default();
    let mut failing = false;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(namespace = %ns, error = %describe(&e), "watching session Pods failed; retrying with backoff");
                failing = true;
                continue;
            }
        };
        if failing {
            tracing::info!(namespace = %ns, "watching session Pods again");
            failing = false;
        }
        for end in known.ends(&event) {
            if end.deleted {
                let mut gone = gone.lock().unwrap_or_else(|p| p.into_inner());
                gone.retain(|_, at| at.elapsed() < GONE_FOR);
                gone.insert(end.pod, Instant::now());
            }
            // The receiver is gone only when the server is shutting down.
            let _ = ended.send(end.session);
        }
    }
}

/// A watch failure in a few words, never quoting a reply body.
fn describe(e: &watcher::Error) -> String {
    let kube = |k: &::kube::Error| match k {
        ::kube::Error::Api(s) => format!("{} ({}, HTTP {})", s.message, s.reason, s.code),
        ::kube::Error::SerdeError(_) => "the API server's reply could not be decoded".into(),
        other => other.to_string(),
    };
    match e {
        watcher::Error::InitialListFailed(k) => format!("listing: {}", kube(k)),
        watcher::Error::WatchStartFailed(k) => format!("starting the watch: {}", kube(k)),
        watcher::Error::WatchError(s) => format!("the watch: {} ({})", s.message, s.code),
        watcher::Error::WatchFailed(k) => format!("the watch: {}", kube(k)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, session: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "team-a",
                         "labels": {LABEL_SESSION: session}},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    fn end(pod: &str, session: &str, deleted: bool) -> End {
        End {
            pod: pod.into(),
            session: session.into(),
            deleted,
        }
    }

    #[test]
    fn a_pod_that_finishes_or_is_deleted_ends_its_session() {
        let mut k = Known::default();
        assert!(k.ends(&Event::Apply(pod("p1", "s1", "Running"))).is_empty());
        assert_eq!(
            k.ends(&Event::Apply(pod("p1", "s1", "Failed"))),
            [end("p1", "s1", false)]
        );
        assert_eq!(
            k.ends(&Event::Apply(pod("p2", "s2", "Succeeded"))),
            [end("p2", "s2", false)]
        );
        assert_eq!(
            k.ends(&Event::Delete(pod("p1", "s1", "Running"))),
            [end("p1", "s1", true)]
        );
        assert!(k.ends(&Event::Apply(pod("p3", "s3", "Pending"))).is_empty());
    }

    /// A Pod deleted while the watch was down has no delete event: the next list lacks it.
    #[test]
    fn a_pod_missing_from_a_relist_ended_while_no_one_watched() {
        let mut k = Known::default();
        k.ends(&Event::Init);
        assert!(k
            .ends(&Event::InitApply(pod("p1", "s1", "Running")))
            .is_empty());
        assert!(k
            .ends(&Event::InitApply(pod("p2", "s2", "Running")))
            .is_empty());
        assert!(k.ends(&Event::InitDone).is_empty());
        k.ends(&Event::Init);
        assert!(k
            .ends(&Event::InitApply(pod("p2", "s2", "Running")))
            .is_empty());
        // Ended while unwatched: reported as soon as it is listed.
        assert_eq!(
            k.ends(&Event::InitApply(pod("p3", "s3", "Failed"))),
            [end("p3", "s3", false)]
        );
        assert_eq!(k.ends(&Event::InitDone), [end("p1", "s1", true)]);
        // What was listed is what is known now.
        assert_eq!(
            k.ends(&Event::Delete(pod("p2", "s2", "Running"))),
            [end("p2", "s2", true)]
        );
    }

    /// A Pod without the session label (not one of Lockbox's) ends nothing.
    #[test]
    fn a_pod_without_a_session_label_is_ignored() {
        let mut k = Known::default();
        let mut p = pod("p1", "s1", "Failed");
        p.metadata.labels = None;
        assert!(k.ends(&Event::Apply(p.clone())).is_empty());
        assert!(k.ends(&Event::Delete(p)).is_empty());
    }

    #[test]
    fn the_store_keeps_no_spec() {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "session", "env": [{"name": "X", "value": "literal"}]}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        slim(&mut p);
        assert!(p.spec.is_none() && p.metadata.annotations.is_none());
        assert_eq!(p.status.unwrap().phase.as_deref(), Some("Running"));
    }
}
