//! Sessions as Kubernetes objects: a Pod, a Secret owned by it, and a Service for its port.
//!
//! Secret values exist here only inside the Secret being created and its request body; both
//! are wiped right after the create call, and never appear in errors or logs (the API server's
//! replies to a Secret create echo the data, so that reply is never read on success). A
//! referenced Secret is read only for its labels and key names; its body is wiped at once.
//! The API server's own texts are logged in full; users see a short text naming the step.

use super::{
    manifests::{self, Objects, CONTAINER, LABEL_INSTALLATION, LABEL_SESSION},
    observe::{ended, observe},
    pod_watch::{PodWatch, Seen},
    references::{self, SecretShape},
    rules,
};
use crate::server::sessions::{
    backend::{
        BackendError, LiveSessions, Observed, ProjectNamespace, ProjectPrepared, SessionBackend,
        SessionRef, Started,
    },
    spec::{LaunchSpec, Values},
};
use ::kube::{
    api::{Api, DeleteParams, ListParams, LogParams, PostParams},
    client::Body,
    core::{Request, Status},
    Client,
};
use bytes::Bytes;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use std::collections::BTreeMap;
use zeroize::{Zeroize, Zeroizing};

/// How much of a log is read, at most, to find its newest output and where it ends (the
/// kubelet rotates container logs at 10 MiB by default).
const LOG_SCAN_BYTES: u64 = 8 * 1024 * 1024;
/// Stands in for the Pod's uid while the objects are checked, before the Pod exists.
const PENDING_UID: &str = "pending";

pub struct KubeBackend {
    pub(super) client: Client,
    /// This installation's id, labelled on every object (see `db::sessions::installation_id`).
    pub(super) installation: String,
    /// Where Lockbox runs (`LOCKBOX_SYSTEM_NAMESPACE`): its ServiceAccount's namespace, named
    /// in the RoleBinding and NetworkPolicy of each project namespace.
    pub(super) system_namespace: String,
    /// The watches of session Pods, once the server follows sessions ([`SessionBackend::follow`]);
    /// command-line tools never start them.
    pods: std::sync::OnceLock<PodWatch>,
}

/// The system namespace until [`KubeBackend::with_system_namespace`] says otherwise.
const DEFAULT_SYSTEM_NAMESPACE: &str = "lockbox";

/// Installs rustls' ring provider; kube's client panics without one. Safe to call repeatedly.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl KubeBackend {
    pub fn new(client: Client, installation: String) -> Self {
        Self {
            client,
            installation,
            system_namespace: DEFAULT_SYSTEM_NAMESPACE.into(),
            pods: std::sync::OnceLock::new(),
        }
    }

    /// Sets the namespace Lockbox runs in (`Config::system_namespace`).
    #[must_use]
    pub fn with_system_namespace(mut self, namespace: String) -> Self {
        self.system_namespace = namespace;
        self
    }

    /// Connects with the kubeconfig, or the in-cluster service account.
    pub async fn from_config(installation: String) -> Result<Self, BackendError> {
        install_crypto_provider();
        let client = Client::try_default()
            .await
            .map_err(|e| BackendError::Internal(format!("Kubernetes configuration: {e}")))?;
        Ok(Self::new(client, installation))
    }

    /// The label selector of this installation's session objects.
    fn own_objects(&self) -> String {
        format!("{LABEL_SESSION},{LABEL_INSTALLATION}={}", self.installation)
    }

    pub(super) fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: ::kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Sends a request; returns the reply body (only when `read`, else empty), or the API's
    /// error status.
    async fn send(&self, request: http::Request<Body>, read: bool) -> Result<Bytes, Error> {
        let reply = self.client.send(request).await.map_err(Error::Kube)?;
        let code = reply.status();
        if code.is_success() && !read {
            return Ok(Bytes::new());
        }
        let body = reply
            .into_body()
            .collect_bytes()
            .await
            .map_err(Error::Kube)?;
        if code.is_success() {
            return Ok(body);
        }
        let text = String::from_utf8_lossy(&body);
        let status = serde_json::from_str::<Status>(&text)
            .unwrap_or_else(|_| Status::failure(text.trim(), "").with_code(code.as_u16()));
        Err(Error::Api(Box::new(status)))
    }

    /// Creates the Secret without reading the reply (which echoes the values). The request
    /// body is serialised into one exactly-sized buffer that is wiped when the HTTP client lets
    /// go of it.
    async fn create_secret(&self, ns: &str, secret: &Secret) -> Result<(), Error> {
        let body = wiped_json(secret).map_err(|_| Error::Other("encoding the Secret".into()))?;
        let request = Request::new(format!("/api/v1/namespaces/{ns}/secrets"))
            .create(&PostParams::default(), Vec::new())
            .map_err(|e| Error::Other(e.to_string()))?
            .map(|_| Body::from(Bytes::from_owner(body)));
        self.send(request, false).await.map(drop)
    }

    /// Reads a referenced Secret's labels and key names (`None` if it does not exist). Its
    /// values are skipped while parsing, and the reply body is wiped right after.
    async fn secret_shape(&self, ns: &str, name: &str) -> Result<Option<SecretShape>, Error> {
        let request = Request::new(format!("/api/v1/namespaces/{ns}/secrets"))
            .get(name, &Default::default())
            .map_err(|e| Error::Other(e.to_string()))?;
        let body = match self.send(request.map(Body::from), true).await {
            Ok(body) => body,
            Err(Error::Api(s)) if s.code == 404 => return Ok(None),
            Err(e) => return Err(e),
        };
        let body = wipe_bytes(body);
        SecretShape::parse(&body).map(Some).map_err(Error::Other)
    }

    /// Deletes a session's Secret, Pod and Service, each tried even when an earlier one fails.
    /// The Secret goes first: once the Pod is gone its name is free, and a Pod created under
    /// that name must not find the Secret still there (owner-reference collection lags).
    async fn remove_objects(&self, session: &SessionRef) -> [(&'static str, Result<(), Error>); 3] {
        let (ns, name) = (
            &session.namespace,
            manifests::object_name(&session.session_id),
        );
        [
            ("Secret", self.delete::<Secret>(ns, &name).await),
            ("Pod", self.delete::<Pod>(ns, &name).await),
            ("Service", self.delete::<Service>(ns, &name).await),
        ]
    }

    pub(super) async fn delete<K>(&self, ns: &str, name: &str) -> Result<(), Error>
    where
        K: ::kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        match self
            .api::<K>(ns)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 404 => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Deletes what a failed start created, newest first. Returns what could not be deleted.
    async fn roll_back(&self, ns: &str, name: &str, service: bool, secret: bool) -> Vec<String> {
        let mut failures = Vec::new();
        if service {
            if let Err(e) = self.delete::<Service>(ns, name).await {
                failures.push(format!("deleting the Service: {e}"));
            }
        }
        if secret {
            if let Err(e) = self.delete::<Secret>(ns, name).await {
                failures.push(format!("deleting the Secret: {e}"));
            }
        }
        if let Err(e) = self.delete::<Pod>(ns, name).await {
            failures.push(format!("deleting the Pod: {e}"));
        }
        for f in &failures {
            tracing::warn!(
                namespace = ns,
                object = name,
                "rolling back a failed start: {f}"
            );
        }
        failures
    }

    /// Removes an ended session's objects; a failure is logged, and the sweep tries again later.
    async fn remove_ended(&self, session: &SessionRef) {
        for (kind, result) in self.remove_objects(session).await {
            if let Err(e) = result {
                tracing::warn!(session = %session.session_id, "deleting the ended session's {kind} failed: {e}");
            }
        }
    }

    async fn get_pod(&self, session: &SessionRef) -> Result<Option<Pod>, Error> {
        let name = manifests::object_name(&session.session_id);
        match self.api::<Pod>(&session.namespace).get(&name).await {
            Ok(pod) => Ok(Some(pod)),
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 404 => Ok(None),
                e => Err(e),
            },
        }
    }
}

/// A Kubernetes failure, described without request bodies (and so without values).
#[derive(Debug)]
pub(super) enum Error {
    Api(Box<Status>),
    Kube(::kube::Error),
    Other(String),
}

impl From<::kube::Error> for Error {
    fn from(e: ::kube::Error) -> Self {
        match e {
            ::kube::Error::Api(s) => Self::Api(s),
            e => Self::Kube(e),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api(s) => {
                let reason = if s.reason.is_empty() {
                    "Error"
                } else {
                    &s.reason
                };
                write!(f, "{} ({reason}, HTTP {})", s.message, s.code)
            }
            // A reply that cannot be decoded is described without quoting it.
            Self::Kube(::kube::Error::SerdeError(_)) => {
                f.write_str("the API server's reply could not be decoded")
            }
            Self::Kube(e) => write!(f, "{e}"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

/// A Kubernetes reason (`Forbidden`, `AlreadyExists`): a short word, or nothing.
fn safe_reason(s: &Status) -> Option<&str> {
    let r = s.reason.as_str();
    (!r.is_empty() && r.len() <= 40 && r.chars().all(|c| c.is_ascii_alphanumeric())).then_some(r)
}

impl Error {
    /// A refusal of the request itself (4xx) is the launch's fault; the rest is ours. The API
    /// server's text (it names objects, users, quotas) is logged here, in full; a refusal
    /// shows users only the step and the reason.
    pub(super) fn into_backend(self, step: &str) -> BackendError {
        tracing::warn!(error = %self, "Kubernetes: {step} failed");
        match self {
            Self::Api(s) if (400..500).contains(&s.code) => {
                let why =
                    safe_reason(&s).map_or_else(|| format!("HTTP {}", s.code), str::to_string);
                BackendError::Rejected(format!(
                    "Kubernetes refused {step} ({why}); the server log has the details."
                ))
            }
            e => BackendError::Internal(format!("{step} failed: {e}")),
        }
    }
}

/// Serialises `value` into an exactly-sized, zeroizing buffer: counted first, so writing never
/// reallocates (a reallocation would leave an unwiped copy behind).
fn wiped_json<T: serde::Serialize>(value: &T) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(count.0));
    serde_json::to_writer(&mut *buf, value)?;
    Ok(buf)
}

/// Copies a reply body into a zeroizing buffer and wipes the original when it is ours alone.
fn wipe_bytes(body: Bytes) -> Zeroizing<Vec<u8>> {
    let copy = Zeroizing::new(body.to_vec());
    if let Ok(mut own) = body.try_into_mut() {
        own.zeroize();
    }
    copy
}

/// Holds the Secret being created and wipes its values however the start ends.
struct Wiped(Option<Secret>);

impl Drop for Wiped {
    fn drop(&mut self) {
        if let Some(s) = &mut self.0 {
            manifests::wipe(s);
        }
    }
}

/// A failed start whose clean-up failed too (the failures are logged by `roll_back`).
pub(super) fn with_cleanup(error: BackendError, failures: Vec<String>) -> BackendError {
    if failures.is_empty() {
        return error;
    }
    let extra = "; some of its objects could not be removed yet";
    match error {
        BackendError::Rejected(m) => BackendError::Rejected(m + extra),
        BackendError::Internal(m) => BackendError::Internal(format!(
            "{m}; cleaning up also failed: {}",
            failures.join("; ")
        )),
        e @ BackendError::Invalid(_) => e,
    }
}

#[async_trait::async_trait]
impl SessionBackend for KubeBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn kube_client(&self) -> Option<kube::Client> {
        Some(self.client.clone())
    }

    async fn start(&self, spec: &LaunchSpec, values: Values) -> Result<Started, BackendError> {
        let ns = spec.namespace.as_str();
        let name = manifests::object_name(&spec.session_id);
        // Built before anything is created so the whole set can be checked first.
        let mut objects =
            manifests::build(spec, values, PENDING_UID).map_err(BackendError::Internal)?;
        objects.set_installation(&self.installation);
        let violations = rules::check(&objects);
        let Objects {
            secret,
            pod,
            service,
        } = objects;
        let mut secret = Wiped(secret);
        if !violations.is_empty() {
            return Err(BackendError::Rejected(format!(
                "Kubernetes would refuse this session: {}",
                violations.join("; ")
            )));
        }

        let created = self
            .api::<Pod>(ns)
            .create(&PostParams::default(), &pod)
            .await
            .map_err(|e| Error::from(e).into_backend("creating the Pod"))?;
        let Some(uid) = created.metadata.uid else {
            let error = BackendError::Internal("the created Pod has no uid".into());
            return Err(with_cleanup(
                error,
                self.roll_back(ns, &name, false, false).await,
            ));
        };

        let has_secret = secret.0.is_some();
        if let Some(s) = &mut secret.0 {
            s.metadata.owner_references = Some(vec![manifests::owned_by_pod(&name, &uid)]);
            let result = self.create_secret(ns, s).await;
            drop(secret);
            if let Err(e) = result {
                let error = e.into_backend("creating the Secret");
                return Err(with_cleanup(
                    error,
                    self.roll_back(ns, &name, false, false).await,
                ));
            }
        }

        let url = match (&service, spec.environment.port) {
            (Some(svc), Some(port)) => {
                if let Err(e) = self
                    .api::<Service>(ns)
                    .create(&PostParams::default(), svc)
                    .await
                {
                    let error = Error::from(e).into_backend("creating the Service");
                    let failures = self.roll_back(ns, &name, false, has_secret).await;
                    return Err(with_cleanup(error, failures));
                }
                Some(format!("http://{name}.{ns}.svc:{port}"))
            }
            _ => None,
        };
        tracing::info!(namespace = ns, pod = %name, "session started");
        Ok(Started { url })
    }

    async fn stop(&self, session: &SessionRef) -> Result<(), BackendError> {
        let failures: Vec<String> = self
            .remove_objects(session)
            .await
            .into_iter()
            .filter_map(|(kind, r)| r.err().map(|e| format!("deleting the {kind} failed: {e}")))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(BackendError::Internal(failures.join("; ")))
        }
    }

    /// From the watch when it knows the Pod (no request); otherwise (not watching, not listed
    /// yet, or created a moment ago and not shown yet) from one GET. A Pod the watch saw go
    /// has ended, and what it left goes too.
    async fn status(&self, session: &SessionRef) -> Result<Observed, BackendError> {
        let name = manifests::object_name(&session.session_id);
        let seen = match self.pods.get() {
            Some(watch) => watch.pod(&session.namespace, &name),
            None => Seen::Unknown,
        };
        let pod = match seen {
            Seen::Present(pod) => pod,
            Seen::Gone => {
                self.remove_ended(session).await;
                return Ok(Observed::Exited("pod no longer exists".into()));
            }
            Seen::Unknown => match self.get_pod(session).await {
                Ok(Some(pod)) => std::sync::Arc::new(pod),
                // Not taken for a clean-up: a launch may be about to create it.
                Ok(None) => return Ok(Observed::Exited("pod no longer exists".into())),
                Err(e) => return Err(e.into_backend("reading the Pod")),
            },
        };
        let seen = observe(&pod);
        if let Some(text) = &seen.log {
            tracing::info!(session = %session.session_id, "Kubernetes says: {text}");
        }
        if ended(&pod) {
            // Nothing runs any more: remove it now.
            self.remove_ended(session).await;
        }
        Ok(seen.observed)
    }

    fn follow(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<String>> {
        let (watch, ended) = PodWatch::new(self.client.clone(), self.own_objects());
        self.pods.set(watch).ok()?;
        Some(ended)
    }

    fn follow_namespaces(&self, namespaces: &[String]) {
        if let Some(watch) = self.pods.get() {
            watch.align(namespaces);
        }
    }

    /// Offsets count from the start of the container's current log (what the kubelet keeps:
    /// a log rotation starts them again). The log is read from its start: up to `after` plus
    /// `max_bytes` with a cursor, up to [`LOG_SCAN_BYTES`] for the newest.
    async fn logs(
        &self,
        session: &SessionRef,
        after: Option<u64>,
        max_bytes: usize,
    ) -> Result<crate::model::session::LogChunk, BackendError> {
        use crate::server::sessions::logbuf;
        let name = manifests::object_name(&session.session_id);
        let limit = match after {
            Some(a) => a.saturating_add(max_bytes as u64),
            None => LOG_SCAN_BYTES,
        };
        let params = LogParams {
            container: Some(CONTAINER.into()),
            limit_bytes: Some(i64::try_from(limit).unwrap_or(i64::MAX)),
            ..Default::default()
        };
        let request = Request::new(format!("/api/v1/namespaces/{}/pods", session.namespace))
            .logs(&name, &params)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        match self.send(request.map(Body::from), true).await {
            // Logs may be cut inside a character: `chunk` never splits one.
            Ok(body) => Ok(logbuf::chunk(&body, 0, after, max_bytes)),
            Err(Error::Api(s)) if s.code == 404 => Ok(Default::default()),
            Err(Error::Api(s)) if s.code == 400 && s.message.contains("waiting to start") => {
                Ok(Default::default())
            }
            Err(e) => Err(e.into_backend("reading the logs")),
        }
    }

    async fn reap(&self, live: &[SessionRef]) -> Result<Vec<String>, BackendError> {
        let mut gone = Vec::new();
        for session in live {
            let pod = self
                .get_pod(session)
                .await
                .map_err(|e| e.into_backend("reading the Pod"))?;
            let phase = pod.as_ref().and_then(|p| p.status.as_ref()?.phase.clone());
            match (pod, phase.as_deref()) {
                (None, _) => gone.push(session.session_id.clone()),
                // Ended while no one watched: nothing will stop it later, so remove it now.
                (Some(_), Some("Succeeded" | "Failed")) => {
                    if let Err(e) = self.stop(session).await {
                        tracing::warn!(session = %session.session_id, "reaping: {e}");
                    }
                    gone.push(session.session_id.clone());
                }
                _ => {}
            }
        }
        Ok(gone)
    }

    async fn check_references(&self, spec: &LaunchSpec) -> Result<(), BackendError> {
        // Session Secrets are refused by name before any request: the answer reveals nothing.
        let refused = references::refuse_by_name(&spec.extra_env);
        if !refused.is_empty() {
            return Err(BackendError::Invalid(refused));
        }
        let ns = spec.namespace.as_str();
        let mut read: BTreeMap<&str, Option<SecretShape>> = BTreeMap::new();
        let mut errors = Vec::new();
        for r in references::of(&spec.extra_env) {
            if !read.contains_key(r.secret) {
                let shape = self
                    .secret_shape(ns, r.secret)
                    .await
                    .map_err(|e| e.into_backend("reading a referenced Secret"))?;
                read.insert(r.secret, shape);
            }
            if let Some(e) = references::judge(&r, ns, read[r.secret].as_ref()) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(BackendError::Invalid(errors))
        }
    }

    async fn prepare_project(
        &self,
        project: &ProjectNamespace,
    ) -> Result<ProjectPrepared, BackendError> {
        self.prepare_namespace(project).await
    }

    async fn remove_project(
        &self,
        project: &ProjectNamespace,
        created: bool,
    ) -> Result<(), BackendError> {
        self.remove_namespace(project, created).await
    }

    async fn sweep(
        &self,
        namespaces: &[String],
        live: &dyn LiveSessions,
    ) -> Result<usize, BackendError> {
        // Listed before the database is asked: a session is recorded before its objects are
        // created, so anything listed here that is live is in the answer below.
        // One namespace that cannot be listed (being deleted, its RoleBinding removed) does
        // not keep the others from being swept; only when none can be is the sweep an error.
        let params = ListParams::default().labels(&self.own_objects());
        let mut found: Vec<(&str, &'static str, String, String)> = Vec::new();
        let mut failures = Vec::new();
        for ns in namespaces {
            let listed = match self.api::<Pod>(ns).list_metadata(&params).await {
                Ok(pods) => match self.api::<Service>(ns).list_metadata(&params).await {
                    Ok(services) => Ok((pods, services)),
                    Err(e) => Err(("listing session Services", Error::from(e))),
                },
                Err(e) => Err(("listing session Pods", Error::from(e))),
            };
            let (pods, services) = match listed {
                Ok(lists) => lists,
                Err((step, e)) => {
                    tracing::warn!(namespace = %ns, "sweeping: {step} failed: {e}");
                    failures.push((step, e));
                    continue;
                }
            };
            let metas = pods
                .items
                .into_iter()
                .map(|o| ("Pod", o.metadata))
                .chain(services.items.into_iter().map(|o| ("Service", o.metadata)));
            for (kind, meta) in metas {
                let session = meta
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_SESSION))
                    .cloned()
                    .unwrap_or_default();
                if let Some(name) = meta.name {
                    found.push((ns, kind, name, session));
                }
            }
        }
        if failures.len() == namespaces.len() {
            if let Some((step, e)) = failures.into_iter().next() {
                return Err(e.into_backend(step));
            }
        }
        if found.is_empty() {
            return Ok(0);
        }
        let live = live.live_ids().await.map_err(BackendError::Internal)?;
        let mut deleted = 0;
        for (ns, kind, name, session) in found.iter().filter(|f| !live.contains(&f.3)) {
            let result = match *kind {
                // Its Secret first, for the reason given at `remove_objects`.
                "Pod" => match self.delete::<Secret>(ns, name).await {
                    Ok(()) => self.delete::<Pod>(ns, name).await,
                    Err(e) => Err(e),
                },
                _ => self.delete::<Service>(ns, name).await,
            };
            match result {
                Ok(()) => {
                    tracing::info!(namespace = %ns, session = %session, "swept the {kind} {name}");
                    deleted += 1;
                }
                Err(e) => tracing::warn!(namespace = %ns, "sweeping the {kind} {name} failed: {e}"),
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::kube::fixtures;

    /// The Secret's request body is written once into a buffer of exactly its size: no
    /// reallocation on the way left an unwiped copy of the values behind.
    #[test]
    fn the_secret_body_is_one_exactly_sized_buffer() {
        let objects = manifests::build(&fixtures::full(), fixtures::full_values(), "u").unwrap();
        let secret = objects.secret.unwrap();
        let body = wiped_json(&secret).unwrap();
        assert_eq!(*body, serde_json::to_vec(&secret).unwrap());
        assert_eq!(body.capacity(), body.len());
    }

    #[test]
    fn a_reply_is_copied_whole_before_its_wipe() {
        let copy = wipe_bytes(Bytes::from(b"{\"data\":{\"k\":\"c2VjcmV0\"}}".to_vec()));
        assert_eq!(&copy[..], b"{\"data\":{\"k\":\"c2VjcmV0\"}}");
    }
}
